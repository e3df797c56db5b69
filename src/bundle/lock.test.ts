import {describe, expect, it} from 'vitest'
import {ExitCode, IntegrityError, UnsupportedError} from '../errors.js'
import {digestOf} from '../oci/digest.js'
import {createLock, parseLock, serializeLock, type LockInput} from './lock.js'

const D = (c: string): string => `sha256:${c.repeat(64)}`
const index = Buffer.from('{"schemaVersion":2,"manifests":[]}\n')

function input(): LockInput {
  return {
    createdBy: 'airgap/0.1.0',
    epoch: 1_700_000_000,
    indexJson: index,
    images: [
      {source: 'docker.io/library/redis:7', digest: D('b'), mediaType: 'application/vnd.oci.image.index.v1+json', size: 300, platforms: ['linux/arm64/v8', 'linux/amd64'], bytes: 5000},
      {
        source: 'docker.io/acme/app:1.0',
        digest: D('a'),
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        size: 500,
        platforms: ['linux/amd64'],
        bytes: 9000,
        discoveredBy: [{chart: 'operator', valuesPath: 'image', source: 'acme/app:1.0'}],
      },
    ],
    charts: [{name: 'operator', version: '1.2.3', source: 'https://charts.example/', digest: D('c'), tgzDigest: D('d')}],
    blobs: {count: 12, bytes: 14000},
    specBytes: Buffer.from('apiVersion: airgap.dev/v1alpha1\n'),
  }
}

function expectLockError(bytes: string | Buffer, cls: typeof IntegrityError | typeof UnsupportedError, message: RegExp): void {
  let err: unknown
  try {
    parseLock(Buffer.from(bytes), 'bundle b.tar airgap/lock.json')
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(cls)
  expect((err as Error).message).toMatch(message)
}

describe('bundle lock', () => {
  it('serialises deterministically: sorted keys and entries, created from the epoch, index and spec pinned', () => {
    const lock = createLock(input())
    const text = serializeLock(lock).toString('utf8')
    expect(text.endsWith('}\n')).toBe(true)
    expect(lock.created).toBe('2023-11-14T22:13:20Z')
    expect(lock.index).toEqual({digest: digestOf(index), size: index.length})
    expect(lock.spec).toEqual({file: 'airgap/spec.yaml', digest: digestOf(input().specBytes!)})
    expect(lock.images.map((i) => i.source)).toEqual(['docker.io/acme/app:1.0', 'docker.io/library/redis:7'])
    expect(lock.images[1]!.platforms).toEqual(['linux/amd64', 'linux/arm64/v8'])
    const top = Object.keys(JSON.parse(text) as object)
    expect(top).toEqual([...top].sort())
    expect(text.indexOf('"apiVersion"')).toBeLessThan(text.indexOf('"blobs"'))
    // Reordered input gives the same bytes.
    const shuffled = {...input(), images: [...input().images].reverse()}
    expect(serializeLock(createLock(shuffled)).equals(serializeLock(lock))).toBe(true)
  })

  it('round-trips through parseLock', () => {
    const bytes = serializeLock(createLock(input()))
    expect(serializeLock(parseLock(bytes, 'x')).equals(bytes)).toBe(true)
  })

  it('refuses an unknown formatVersion with UnsupportedError (exit 1) that names the version', () => {
    const raw = JSON.parse(serializeLock(createLock(input())).toString()) as Record<string, unknown>
    expectLockError(JSON.stringify({...raw, formatVersion: 2}), UnsupportedError, /bundle format version 2 is not supported \(this airgap reads version 1\)/)
    expectLockError(JSON.stringify({...raw, kind: 'Other'}), UnsupportedError, /not an airgap bundle lock/)
    expect(new UnsupportedError('x').exitCode).toBe(ExitCode.GENERAL)
  })

  it('refuses damaged or hostile locks with IntegrityError naming the JSON path', () => {
    const raw = JSON.parse(serializeLock(createLock(input())).toString()) as any
    const variant = (f: (x: any) => void): string => {
      const c = structuredClone(raw)
      f(c)
      return JSON.stringify(c)
    }
    expectLockError('{"apiVersion": ', IntegrityError, /not valid JSON/)
    expectLockError(variant((x) => (x.index.digest = 'sha256:xyz')), IntegrityError, /\$\.index\.digest "sha256:xyz" is not a valid digest/)
    expectLockError(variant((x) => (x.images[0].size = -1)), IntegrityError, /\$\.images\[0\]\.size must be a whole number/)
    expectLockError(variant((x) => (x.blobs.bytes = 2 ** 60)), IntegrityError, /\$\.blobs\.bytes must be a whole number from 0 to/)
    expectLockError(variant((x) => (x.images[1].extra = true)), IntegrityError, /\$\.images\[1\] has unknown field "extra"/)
    expectLockError(variant((x) => x.images.push(x.images[0])), IntegrityError, /\$\.images\[2\] duplicate source "docker\.io\/acme\/app:1\.0"/)
    expectLockError(variant((x) => (x.spec.file = '../etc/passwd')), IntegrityError, /\$\.spec\.file must be "airgap\/spec\.yaml"/)
    expectLockError(variant((x) => (x.created = 'yesterday')), IntegrityError, /\$\.created must be an ISO 8601 UTC time/)
    expectLockError(variant((x) => delete x.charts), IntegrityError, /\$\.charts must be an array/)
    expectLockError(variant((x) => (x.images = new Array(100_001).fill(0))), IntegrityError, /\$\.images has 100001 entries, over the limit/)
  })

  it('records how each image was found and its values shape (optional, strict, round-trips)', () => {
    const discoveredBy = [
      {chart: 'operator-wandb/redis', valuesPath: 'redis.image', source: 'docker.io/bitnamilegacy/redis:7.2.4', kind: 'values' as const, shape: 'bitnami' as const},
      {chart: 'operator-wandb/reloader', valuesPath: 'reloader.reloader.deployment.image', source: 'ghcr.io/stakater/reloader:v1.3.0', kind: 'values' as const, shape: 'name-tag' as const},
      {chart: 'operator-wandb', template: 'templates/tests/t.yaml', source: 'docker.io/library/busybox:latest', kind: 'template' as const},
    ]
    const base = input()
    const lock = createLock({...base, images: [{...base.images[1]!, discoveredBy}]})
    expect(parseLock(serializeLock(lock), 'x').images[0]!.discoveredBy).toEqual(discoveredBy)
    const raw = JSON.parse(serializeLock(createLock(input())).toString()) as any
    const withD = (d: Record<string, unknown>): string => JSON.stringify({...raw, images: raw.images.map((i: any) => (i.discoveredBy ? {...i, discoveredBy: [d]} : i))})
    expect(parseLock(Buffer.from(withD({chart: 'c', source: 's'})), 'x').images[0]!.discoveredBy).toEqual([{chart: 'c', source: 's'}]) // older locks
    expectLockError(withD({chart: 'c', source: 's', kind: 'guess'}), IntegrityError, /discoveredBy\[0\]\.kind must be one of "values", "annotation", "template", "spec"/)
    expectLockError(withD({chart: 'c', source: 's', shape: 'name'}), IntegrityError, /discoveredBy\[0\]\.shape must be one of "repository-tag", "bitnami", "name-tag", "string"/)
  })

  it('records images found but not carried under missing (sorted, optional, strict)', () => {
    const missing = [
      {source: 'docker.io/wandb/mcp-server:0.3.5', reason: 'not found', discoveredBy: [{chart: 'operator-wandb', valuesPath: 'mcp-server.image', source: 'docker.io/wandb/mcp-server:0.3.5'}]},
      {source: 'docker.io/bitnami/os-shell:12', reason: 'not found'},
    ]
    const lock = createLock({...input(), missing})
    expect(lock.missing!.map((m) => m.source)).toEqual(['docker.io/bitnami/os-shell:12', 'docker.io/wandb/mcp-server:0.3.5'])
    const bytes = serializeLock(lock)
    expect(parseLock(bytes, 'x').missing).toEqual(lock.missing)
    expect(createLock(input()).missing).toBeUndefined()
    expect(serializeLock(createLock({...input(), missing: []})).toString()).not.toContain('missing')
    const raw = JSON.parse(bytes.toString()) as any
    expectLockError(JSON.stringify({...raw, missing: [{source: 'a:1', reason: 'x', extra: 1}]}), IntegrityError, /\$\.missing\[0\] has unknown field "extra"/)
    expectLockError(JSON.stringify({...raw, missing: [{source: 'a:1'}]}), IntegrityError, /\$\.missing\[0\]\.reason must be a non-empty string/)
    expectLockError(JSON.stringify({...raw, missing: [{source: 'docker.io/library/redis:7', reason: 'x'}]}), IntegrityError, /also carried in \$\.images/)
  })
})

describe('lock serverManifest (W&B v2)', () => {
  const manifest = {source: 'reg.example/wandb/server-manifest:0.99.0', version: '0.99.0', digest: D('e'), mediaType: 'application/vnd.oci.image.index.v1+json', size: 700, requiredOperatorVersion: '^2.0.0', operatorChartVersion: '2.0.0-beta.3'}

  it('round-trips, and a lock without it (older bundles) stays valid', () => {
    const lock = createLock({...input(), serverManifest: manifest})
    expect(lock.serverManifest).toEqual(manifest)
    expect(parseLock(serializeLock(lock), 'x').serverManifest).toEqual(manifest)
    expect(createLock(input()).serverManifest).toBeUndefined()
  })

  it('refuses a damaged entry naming the field', () => {
    const lock = JSON.parse(serializeLock(createLock({...input(), serverManifest: manifest})).toString()) as Record<string, Record<string, unknown>>
    lock['serverManifest']!['digest'] = 'sha256:nope'
    expectLockError(JSON.stringify(lock), IntegrityError, /serverManifest\.digest/)
    delete lock['serverManifest']!['digest']
    lock['serverManifest']!['extra'] = 1
    expectLockError(JSON.stringify(lock), IntegrityError, /serverManifest/)
  })
})
