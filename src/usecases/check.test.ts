/**
 * checkReceipt against the real plain registry (test services) and a file:// Helm repository:
 * every row's state, and the one error checkFailure makes of them.
 */
import {mkdir, mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {pathToFileURL} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {IntegrityError, NotFoundError} from '../errors.js'
import {indexEntryFor, mergeIndex} from '../helm/repo-index.js'
import {digestOf} from '../oci/digest.js'
import {writeReceipt, type PushReceipt, type ReceiptChart, type ReceiptImage} from '../mirror/receipt.js'
import {describeWithServices, services, uniqueName} from '../../test/support/services.js'
import {loadInto, makeHelmChart, makeImage, type GeneratedChart, type GeneratedImage} from '../../test/support/images.js'
import {checkFailure, checkReceipt, type CheckResult} from './check.js'
import {Session} from './session.js'

const D0 = `sha256:${'0'.repeat(64)}`

function receiptOf(registry: string, images: ReceiptImage[], charts: ReceiptChart[]): PushReceipt {
  return {
    apiVersion: 'airgap.dev/v1alpha1',
    kind: 'PushReceipt',
    complete: true,
    bundle: {path: '/b.tar', lockDigest: D0, authenticity: 'verified', signer: D0},
    registry,
    keepSourceHost: false,
    images,
    charts,
    stats: {blobsPushed: 0, blobsSkipped: 0, blobsMounted: 0, manifestsPushed: 0, manifestsSkipped: 0, bytes: 0},
    started: '2026-01-01T00:00:00.000Z',
    finished: '2026-01-01T00:00:01.000Z',
    seconds: 1,
  }
}

const image = (source: string, mirror: string, digest: string): ReceiptImage => ({source, mirror, digest, mediaType: 'application/vnd.oci.image.manifest.v1+json', platforms: [], status: 'pushed', discoveredBy: []})

describe('checkFailure', () => {
  const row = (state: CheckResult['rows'][number]['state']) => ({kind: 'image' as const, name: `a/${state}`, where: `m/${state}`, want: D0, state})
  const result = (...states: CheckResult['rows'][number]['state'][]): CheckResult => {
    const counts = {ok: 0, missing: 0, mismatch: 0, error: 0, skipped: 0}
    for (const s of states) counts[s]++
    return {receipt: 'r.json', registry: 'm', ok: counts.missing + counts.mismatch + counts.error === 0, rows: states.map(row), counts}
  }

  it('is nothing when every row holds or was skipped', () => {
    expect(checkFailure(result('ok', 'skipped'))).toBeUndefined()
  })

  it('a missing item is NotFound; any mismatch makes it an integrity failure; both list only the bad rows', () => {
    const missing = checkFailure(result('ok', 'missing'))
    expect(missing).toBeInstanceOf(NotFoundError)
    expect(missing!.message).toContain('1 of 2 item(s)')
    expect(missing!.message).not.toContain('a/ok')
    const mixed = checkFailure(result('missing', 'mismatch', 'error'))
    expect(mixed).toBeInstanceOf(IntegrityError)
    expect(mixed!.message).toMatch(/a\/missing.*a\/mismatch.*a\/error/)
  })
})

describeWithServices('checkReceipt against the plain registry and a file:// repository', () => {
  let dir: string
  let app: GeneratedImage
  let other: GeneratedImage
  let chart: GeneratedChart
  let host: string
  let prefix: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-check-'))
    host = services().registries.plain.host
    prefix = uniqueName('check')
    app = await makeImage({seed: 'check-app', layers: 1})
    other = await makeImage({seed: 'check-other', layers: 1})
    chart = await makeHelmChart({name: 'demo', version: '1.2.3'})
    const session = new Session({plainHttp: [host]})
    try {
      await loadInto(session.repository(`${host}/${prefix}/app:1`, 'destination').repository, app, '1')
      await loadInto(session.repository(`${host}/${prefix}/moved:1`, 'destination').repository, other, '1')
    } finally {
      await session.close()
    }
    const repo = join(dir, 'charts')
    await mkdir(repo)
    await writeFile(join(repo, 'demo-1.2.3.tgz'), chart.chartTgz)
    await writeFile(join(repo, 'index.yaml'), mergeIndex(undefined, [indexEntryFor({name: 'demo', version: '1.2.3', apiVersion: 'v2'} as never, chart.chartTgz, 'demo-1.2.3.tgz', '2026-01-01T00:00:00Z')], '2026-01-01T00:00:00Z'))
  })
  afterAll(async () => rm(dir, {recursive: true, force: true}))

  it('reports ok, missing, mismatch and skipped per row and counts them', async () => {
    const repoUrl = pathToFileURL(join(dir, 'charts')).href
    const tgz = digestOf(chart.chartTgz)
    const file = join(dir, 'receipt.json')
    await writeReceipt(
      file,
      receiptOf(
        `${host}/${prefix}`,
        [
          image('docker.io/acme/app:1', `${host}/${prefix}/app:1`, app.root.digest),
          image('docker.io/acme/moved:1', `${host}/${prefix}/moved:1`, app.root.digest),
          image('docker.io/acme/gone:1', `${host}/${prefix}/gone:1`, app.root.digest),
        ],
        [
          {name: 'demo', version: '1.2.3', digest: D0, tgzDigest: tgz, repoUrl, status: 'pushed'},
          {name: 'demo', version: '9.9.9', digest: D0, tgzDigest: tgz, repoUrl, status: 'pushed'},
          {name: 'tampered', version: '1.2.3', digest: D0, tgzDigest: D0, repoUrl, status: 'pushed'},
          {name: 'left', version: '1.0.0', digest: D0, tgzDigest: D0, status: 'skipped', error: 'no Helm repository given'},
        ],
      ),
    )
    const res = await checkReceipt({receipt: file, plainHttp: [host]})
    const states = Object.fromEntries(res.rows.map((r) => [`${r.kind}:${r.name}`, r.state]))
    expect(states).toEqual({
      'image:docker.io/acme/app:1': 'ok',
      'image:docker.io/acme/moved:1': 'mismatch',
      'image:docker.io/acme/gone:1': 'missing',
      'chart:demo@1.2.3': 'ok',
      'chart:demo@9.9.9': 'missing',
      'chart:tampered@1.2.3': 'missing',
      'chart:left@1.0.0': 'skipped',
    })
    expect(res.rows.find((r) => r.name === 'docker.io/acme/moved:1')?.detail).toContain(other.root.digest)
    expect(res.counts).toEqual({ok: 2, missing: 3, mismatch: 1, error: 0, skipped: 1})
    expect(res.ok).toBe(false)
    expect(checkFailure(res)).toBeInstanceOf(IntegrityError)
  })
})
