/**
 * A first push asks about each blob and tag once. A repeat push into a mirror that already holds
 * everything asks one question per image (HEAD of its tag) and writes nothing; a tag that was
 * moved meanwhile is put back. In-process against the real plain registry, every request recorded.
 */
import {readFileSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {pushBundle} from '../../src/usecases/push/index.js'
import {digestOf} from '../../src/oci/digest.js'
import {MediaType} from '../../src/oci/types.js'
import {loadPublicKey} from '../../src/signing/index.js'
import {describeWithServices, services} from '../support/services.js'
import {buildFixture, type PushFixture} from './push-fixtures.js'
import {clientFor, recordRequests} from './registry-support.js'

describeWithServices('repeat push (real registry, requests recorded)', () => {
  let dir: string
  let fx: PushFixture

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-push-repeat-'))
    fx = await buildFixture({dir, seed: `repeat-${process.pid}`})
  }, 60_000)

  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('asks about each blob and tag once the first time; sends nothing the second time: one HEAD per image, no upload, no manifest or tag PUT; a moved tag is put back', async () => {
    const plain = services().registries.plain
    const prefix = `repeat-${process.pid}`
    const opts = {
      bundle: fx.bundle,
      registry: {host: plain.host, prefix},
      plainHttp: [plain.host],
      publicKey: loadPublicKey(readFileSync(fx.pubFile, 'utf8')),
      receipt: join(dir, 'receipt.json'),
    }
    const rec1 = recordRequests(plain.host)
    const first = await pushBundle(opts).finally(rec1.stop)
    expect(first.images).toEqual({total: 3, pushed: 3, failed: 0})
    // The first push asks about each blob, tag and manifest once: the upload does not HEAD a blob
    // the copy just found absent, and the rollback check reads the tags the survey resolved.
    const asked = (pattern: RegExp): string[] => rec1.requests.filter((r) => r.method === 'HEAD' && pattern.test(r.path)).map((r) => r.path)
    const twice = (paths: string[]): string[] => paths.filter((p, i) => paths.indexOf(p) !== i)
    expect(asked(/\/blobs\//).length, 'blobs were asked about').toBeGreaterThan(0)
    expect(twice(asked(/\/blobs\//)), 'blob HEADs asked twice').toEqual([])
    expect(twice(asked(/\/manifests\/(?!sha256:)/)), 'tag HEADs asked twice').toEqual([])
    // ... and each manifest once: the copy engine does not ask again for a root the survey found absent.
    expect(asked(/\/manifests\/sha256:/).length, 'manifests were asked about').toBeGreaterThanOrEqual(3)
    expect(twice(asked(/\/manifests\/sha256:/)), 'manifest HEADs asked twice').toEqual([])

    const rec = recordRequests(plain.host)
    const again = await pushBundle(opts).finally(rec.stop)
    expect(again.images).toEqual({total: 3, pushed: 3, failed: 0})
    expect(again.stats.bytesCopied).toBe(0)
    expect(rec.requests.filter((r) => r.method !== 'HEAD' && r.method !== 'GET')).toEqual([])
    const heads = rec.requests.filter((r) => r.method === 'HEAD')
    expect(heads.map((r) => r.path).sort()).toEqual([`/v2/${prefix}/acme/app/manifests/2.0`, `/v2/${prefix}/acme/multi/manifests/1.0`, `/v2/${prefix}/legacy/tool/manifests/3`])

    // Someone points acme/app:2.0 at another image: the next push puts the tag back.
    const client = clientFor(plain, 'admin')
    const app = client.repository(`${prefix}/acme/app`)
    const appRoot = fx.images.get('docker.io/acme/app:2.0')!
    const configBytes = Buffer.from(JSON.stringify({architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: []}}))
    const config = {mediaType: MediaType.OciConfig, digest: digestOf(configBytes), size: configBytes.length}
    await app.push(config, Readable.from([configBytes]))
    const manifestBytes = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: []}))
    const stranger = {mediaType: MediaType.OciManifest, digest: digestOf(manifestBytes), size: manifestBytes.length}
    await app.pushReference(stranger, Readable.from([manifestBytes]), '2.0')
    expect((await app.resolve('2.0')).digest).toBe(stranger.digest)
    const rec2 = recordRequests(plain.host)
    const fixed = await pushBundle(opts).finally(rec2.stop)
    expect(fixed.images.failed).toBe(0)
    expect(rec2.requests.filter((r) => r.method === 'PUT').map((r) => r.path)).toEqual([`/v2/${prefix}/acme/app/manifests/2.0`])
    expect((await app.resolve('2.0')).digest).toBe(appRoot)
    await client.close()
  }, 120_000)
})
