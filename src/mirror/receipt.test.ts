import {mkdtemp, readdir, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {SpecError, UnsupportedError} from '../errors.js'
import {parseReceipt, readReceipt, receiptToMirrorMap, writeReceipt, type PushReceipt} from './receipt.js'

const D = `sha256:${'b'.repeat(64)}`

function receipt(): PushReceipt {
  return {
    apiVersion: 'airgap.dev/v1alpha1',
    kind: 'PushReceipt',
    complete: false,
    bundle: {path: '/b.tar', lockDigest: D, authenticity: 'verified', signer: D},
    registry: 'm:5000/pre',
    keepSourceHost: false,
    helmRepo: 'https://charts.corp/helm',
    images: [
      {
        source: 'docker.io/wandb/local:1',
        mirror: 'm:5000/pre/wandb/local:1',
        digest: D,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        platforms: ['linux/amd64'],
        status: 'pushed',
        discoveredBy: [
          {chart: 'operator-wandb', valuesPath: 'app.image', source: 'wandb/local:1'},
          {chart: 'operator-wandb/x', template: 'templates/t.yaml', source: 'wandb/local:1'},
        ],
      },
      {source: 'docker.io/library/redis:7', mirror: 'm:5000/pre/library/redis:7', digest: D, mediaType: 'x', platforms: [], status: 'failed', error: 'boom', discoveredBy: []},
    ],
    charts: [
      {name: 'a', version: '1.0.0', digest: D, tgzDigest: D, repoUrl: 'https://charts.corp/helm', status: 'pushed'},
      {name: 'b', version: '1.0.0', digest: D, tgzDigest: D, status: 'failed', error: 'x'},
    ],
    stats: {blobsPushed: 1, blobsSkipped: 0, blobsMounted: 0, manifestsPushed: 1, manifestsSkipped: 0, bytes: 10},
    started: '2026-01-01T00:00:00.000Z',
    finished: '2026-01-01T00:00:01.000Z',
    seconds: 1,
  }
}

let dir: string | undefined
afterEach(async () => {
  if (dir) await rm(dir, {recursive: true, force: true})
})

describe('push receipt', () => {
  it('writes atomically (no temporary file left) and reads back the same receipt', async () => {
    dir = await mkdtemp(join(tmpdir(), 'receipt-'))
    const file = join(dir, 'r.json')
    await writeReceipt(file, receipt())
    expect(await readdir(dir)).toEqual(['r.json'])
    expect(await readReceipt(file)).toEqual(receipt())
    expect((await readFile(file, 'utf8')).endsWith('}\n')).toBe(true)
  })

  it('refuses other kinds and malformed entries', () => {
    expect(() => parseReceipt('{"apiVersion":"airgap.dev/v1alpha1","kind":"BundleLock"}', 'f')).toThrow(UnsupportedError)
    const bad = {...receipt(), images: [{source: 'x'}]}
    expect(() => parseReceipt(JSON.stringify(bad), 'f')).toThrow(SpecError)
    expect(() => parseReceipt('nope', 'f')).toThrow(/not valid JSON/)
  })

  it('becomes the MirrorMap of airgap rewrite with pushed items only and origins from the lock', () => {
    const map = receiptToMirrorMap(receipt())
    expect(map.registry).toBe('m:5000/pre')
    expect(map.images).toEqual([
      {
        source: 'docker.io/wandb/local:1',
        mirror: 'm:5000/pre/wandb/local:1',
        digest: D,
        origins: [
          {chart: 'operator-wandb', valuesPath: 'app.image', source: 'values'},
          {chart: 'operator-wandb/x', template: 'templates/t.yaml', source: 'template'},
        ],
      },
    ])
    expect(map.charts).toEqual([{name: 'a', version: '1.0.0', repoUrl: 'https://charts.corp/helm'}])
  })

  it('takes the discovery kind and values shape recorded in the lock instead of guessing', () => {
    const r = receipt()
    r.images[0]!.discoveredBy = [
      {chart: 'operator-wandb/redis', valuesPath: 'redis.image', source: 'bitnami/redis:7', kind: 'values', shape: 'bitnami'},
      {chart: 'operator-wandb/reloader', valuesPath: 'reloader.reloader.deployment.image', source: 'ghcr.io/stakater/reloader:v1.3.0', kind: 'values', shape: 'name-tag'},
      {chart: 'operator-wandb', valuesPath: 'x.image', source: 'wandb/local:1', kind: 'annotation'},
      {chart: 'operator-wandb', source: 'wandb/local:1', kind: 'spec'},
    ]
    expect(receiptToMirrorMap(r).images[0]!.origins).toEqual([
      {chart: 'operator-wandb/redis', valuesPath: 'redis.image', source: 'values', shape: 'bitnami'},
      {chart: 'operator-wandb/reloader', valuesPath: 'reloader.reloader.deployment.image', source: 'values', shape: 'name-tag'},
      {chart: 'operator-wandb', valuesPath: 'x.image', source: 'annotation'}, // a guess would have said values
      {chart: 'operator-wandb', source: 'spec'},
    ])
  })

  it('reads path rules and the connection when present, and older receipts without them', () => {
    const withThem = {...receipt(), pathRules: {maxNestedPaths: 2}, connection: {plainHttp: ['m:5000'], caFiles: ['/etc/ca.pem']}}
    const parsed = parseReceipt(JSON.stringify(withThem), 'r.json')
    expect(parsed.pathRules).toEqual({maxNestedPaths: 2})
    expect(parsed.connection).toEqual({plainHttp: ['m:5000'], caFiles: ['/etc/ca.pem']})
    const old = parseReceipt(JSON.stringify(receipt()), 'old.json')
    expect(old.pathRules).toBeUndefined()
    expect(old.connection).toBeUndefined()
    expect(() => parseReceipt(JSON.stringify({...receipt(), pathRules: {maxNestedPaths: 0}}), 'r.json')).toThrow(SpecError)
    expect(() => parseReceipt(JSON.stringify({...receipt(), connection: {plainHttp: 'm:5000', caFiles: []}}), 'r.json')).toThrow(/connection/)
  })
})
