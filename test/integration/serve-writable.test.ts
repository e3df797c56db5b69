/**
 * `airgap serve --writable` over an OCI layout folder, pushed to by real clients: skopeo, the
 * `airgap copy` CLI, our registry client (chunked uploads) and plain HTTP for the refusals.
 */
import {createHash} from 'node:crypto'
import {mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {StaticCredentialStore} from '../../src/auth/store.js'
import {readAll} from '../../src/content/verify.js'
import {copy} from '../../src/copy/index.js'
import {MediaType} from '../../src/oci/types.js'
import {startServer, type RequestLog, type RunningServer} from '../../src/serve/index.js'
import {OciLayout, readIndexFile} from '../../src/layout/index.js'
import {RegistryClient} from '../../src/registry/index.js'
import {runCli} from '../support/cli.js'
import {blob, loadInto, makeImage, makeIndex, type GeneratedImage, type GeneratedIndex} from '../support/images.js'
import {skopeo} from './serve-support.js'

let dir: string
let src: string
let served: OciLayout
let server: RunningServer
let host: string
let multi: GeneratedIndex
let big: GeneratedImage
const logs: RequestLog[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-serve-writable-'))
  src = join(dir, 'src')
  multi = await makeIndex({seed: 'serve-writable-multi', sharedLayers: 1, layers: 1})
  big = await makeImage({seed: 'serve-writable-big', layers: 1, files: 2, fileSize: 150_000})
  const layout = await OciLayout.open(src, {create: true})
  await loadInto(layout, multi, 'multi')
  await loadInto(layout, big, 'big')
  served = await OciLayout.open(join(dir, 'served'), {create: true})
  server = await startServer({store: served, writable: true, addr: '127.0.0.1:0', onRequest: (l) => logs.push(l)})
  host = server.address
})

afterAll(async () => {
  await server?.close()
  if (dir) await rm(dir, {recursive: true, force: true})
})

const req = (path: string, init: RequestInit = {}): Promise<Response> => fetch(`${server.url}${path}`, init)

async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as {errors: Array<{code: string; message: string}>}
  return `${body.errors[0]!.code}: ${body.errors[0]!.message}`
}

function client(extra: {chunkThreshold?: number; chunkSize?: number} = {}): RegistryClient {
  return new RegistryClient(host, {httpOptions: {plainHttp: [host], retry: {retries: 0, baseDelayMs: 10}}, credentials: new StaticCredentialStore({}), ...extra})
}

describe('airgap serve --writable: pushes into an OCI layout', () => {
  it('skopeo copy --all pushes an index; inspect --raw returns it and the layout names it ns/app:1', async () => {
    await skopeo('copy', '--all', '--dest-tls-verify=false', `oci:${src}:multi`, `docker://${host}/ns/app:1`)
    expect(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${host}/ns/app:1`)).toBe(multi.index.bytes.toString())
    const {manifests} = await readIndexFile(served.indexPath)
    expect(manifests.map((m) => [m.annotations?.['org.opencontainers.image.ref.name'], m.digest])).toEqual([['ns/app:1', multi.root.digest]])
    for (const b of multi.blobs) expect(await served.exists(b.descriptor), b.descriptor.digest).toBe(true)
    // nothing is left in the ingest folder
    expect(await readdir(join(served.dir, 'ingest'))).toEqual([])
    // and the same layout serves it again to a puller
    const out = join(dir, 'pulled')
    await skopeo('copy', '--all', '--src-tls-verify=false', `docker://${host}/ns/app:1`, `oci:${out}:x`)
    expect((await readIndexFile(join(out, 'index.json'))).manifests[0]!.digest).toBe(multi.root.digest)
  })

  it('airgap copy (the CLI) pushes into it; blobs already there are skipped or mounted', async () => {
    const r = await runCli(['copy', '--plain-http', host, `oci:${src}:multi`, `${host}/other/app:2`])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect((await served.resolve('other/app:2')).digest).toBe(multi.root.digest)
    const tags = (await (await req('/v2/other/app/tags/list')).json()) as {tags: string[]}
    expect(tags.tags).toEqual(['2'])
  })

  it('accepts chunked uploads (PATCH with Content-Range, then PUT ?digest=) from our registry client', async () => {
    const c = client({chunkThreshold: 64 * 1024, chunkSize: 50 * 1024})
    try {
      const repo = c.repository('chunked/app')
      const before = logs.length
      await copy(await OciLayout.open(src), 'big', repo, 'v1')
      const layer = big.layers[0]!
      expect(layer.bytes.length).toBeGreaterThan(64 * 1024)
      expect(await served.exists(layer.descriptor)).toBe(true)
      const back = await readAll(await served.fetch(layer.descriptor), 10 << 20, 'test')
      expect(back.equals(layer.bytes)).toBe(true)
      expect((await served.resolve('chunked/app:v1')).digest).toBe(big.root.digest)
      const patches = logs.slice(before).filter((l) => l.method === 'PATCH' && l.status === 202)
      expect(patches.length).toBeGreaterThanOrEqual(Math.ceil(layer.bytes.length / (50 * 1024)))
    } finally {
      await c.close()
    }
  })

  it('speaks the upload protocol: status, out-of-order chunk (416), single-POST, mount, cancel', async () => {
    const data = Buffer.from('hello airgap serve upload protocol')
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`
    const start = await req('/v2/proto/x/blobs/uploads/', {method: 'POST'})
    expect(start.status).toBe(202)
    const location = start.headers.get('location')!
    expect(start.headers.get('docker-upload-uuid')).toBeTruthy()
    const p1 = await req(location, {method: 'PATCH', body: data.subarray(0, 10), headers: {'content-range': '0-9'}})
    expect(p1.status).toBe(202)
    expect(p1.headers.get('range')).toBe('0-9')
    const wrong = await req(location, {method: 'PATCH', body: data.subarray(10), headers: {'content-range': '5-20'}})
    expect(wrong.status).toBe(416)
    const status = await req(location)
    expect(status.status).toBe(204)
    expect(status.headers.get('range')).toBe('0-9')
    const put = await req(`${location}?digest=${digest}`, {method: 'PUT', body: data.subarray(10)})
    expect(put.status).toBe(201)
    expect(put.headers.get('docker-content-digest')).toBe(digest)
    expect(Buffer.from(await (await req(`/v2/proto/x/blobs/${digest}`)).arrayBuffer()).equals(data)).toBe(true)

    const mono = blob('single post upload', 'application/octet-stream')
    const single = await req(`/v2/proto/y/blobs/uploads/?digest=${mono.descriptor.digest}`, {method: 'POST', body: mono.bytes})
    expect(single.status).toBe(201)
    const mount = await req(`/v2/proto/z/blobs/uploads/?mount=${digest}&from=proto/x`, {method: 'POST'})
    expect(mount.status).toBe(201)
    expect(mount.headers.get('location')).toBe(`/v2/proto/z/blobs/${digest}`)
    const noMount = await req(`/v2/proto/z/blobs/uploads/?mount=sha256:${'1'.repeat(64)}&from=proto/x`, {method: 'POST'})
    expect(noMount.status).toBe(202)
    const cancel = await req(noMount.headers.get('location')!, {method: 'DELETE'})
    expect(cancel.status).toBe(204)
    expect((await req(noMount.headers.get('location')!)).status).toBe(404)
  })

  it('refuses a blob whose content does not match the digest (400 DIGEST_INVALID) and keeps nothing', async () => {
    const start = await req('/v2/bad/blob/blobs/uploads/', {method: 'POST'})
    const wrongDigest = `sha256:${'a'.repeat(64)}`
    const put = await req(`${start.headers.get('location')!}?digest=${wrongDigest}`, {method: 'PUT', body: 'not what the digest says'})
    expect(put.status).toBe(400)
    expect(await errorCode(put)).toMatch(/^DIGEST_INVALID: uploaded content hashes to sha256:/)
    expect(await served.exists({mediaType: 'x', digest: wrongDigest, size: 24})).toBe(false)
    expect(await readdir(join(served.dir, 'ingest'))).toEqual([])
  })

  it('refuses a manifest whose blobs are missing (400 MANIFEST_BLOB_UNKNOWN), also from skopeo-free clients', async () => {
    const img = await makeImage({seed: 'serve-writable-missing', layers: 1})
    const res = await req('/v2/bad/manifest/manifests/1', {method: 'PUT', body: img.manifest.bytes, headers: {'content-type': MediaType.OciManifest}})
    expect(res.status).toBe(400)
    expect(await errorCode(res)).toMatch(/^MANIFEST_BLOB_UNKNOWN: .*sha256:/)
    await expect(served.resolve('bad/manifest:1')).rejects.toThrow(/not found/)
  })

  it('refuses a manifest whose body mediaType contradicts Content-Type (400 MANIFEST_INVALID)', async () => {
    const res = await req('/v2/bad/manifest/manifests/2', {method: 'PUT', body: multi.images[0]!.manifest.bytes, headers: {'content-type': MediaType.DockerManifest}})
    expect(res.status).toBe(400)
    expect(await errorCode(res)).toMatch(/^MANIFEST_INVALID/)
  })

  it('stores a manifest pushed by digest without naming it, and refuses a digest that does not match', async () => {
    const m = multi.images[1]!.manifest
    const ok = await req(`/v2/ns/app/manifests/${m.descriptor.digest}`, {method: 'PUT', body: m.bytes, headers: {'content-type': MediaType.OciManifest}})
    expect(ok.status).toBe(201)
    const bad = await req(`/v2/ns/app/manifests/sha256:${'b'.repeat(64)}`, {method: 'PUT', body: m.bytes, headers: {'content-type': MediaType.OciManifest}})
    expect(bad.status).toBe(400)
    expect(await errorCode(bad)).toMatch(/^DIGEST_INVALID/)
  })

  it('takes a blob pushed through the Pusher contract of our registry client (HEAD, POST, PUT)', async () => {
    const c = client()
    try {
      const repo = c.repository('contract/app')
      const b = blob('pushed through the contract', 'application/octet-stream')
      await repo.push(b.descriptor, Readable.from([b.bytes]))
      expect(await repo.exists(b.descriptor)).toBe(true)
    } finally {
      await c.close()
    }
  })
})
