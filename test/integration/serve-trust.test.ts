/**
 * `airgap serve --writable` against clients that push what they should not: names that do not
 * follow the distribution grammar, a repository of another source host next to an existing one,
 * uploads that are too large or abandoned, chart artifacts that cannot be listed, and manifests
 * that lie about their children. Each case is pushed over HTTP (skopeo where a real client can
 * send it) into a real server, and the server must keep serving everything else, also after a
 * restart.
 */
import {createHash, randomUUID} from 'node:crypto'
import {mkdir, mkdtemp, readdir, rm, utimes, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'
import {MediaType} from '../../src/oci/types.js'
import {startServer, type RunningServer} from '../../src/serve/index.js'
import {OciLayout, readIndexFile} from '../../src/layout/index.js'
import {blob, jsonBlob, loadInto, makeHelmChart, makeImage, type BlobData, type GeneratedImage} from '../support/images.js'
import {skopeo, skopeoError} from './serve-support.js'

let dir: string
let src: OciLayout
const images: Record<'docker1' | 'docker1b' | 'quay1' | 'quay2' | 'plain3', GeneratedImage> = {} as never

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-serve-trust-'))
  src = await OciLayout.open(join(dir, 'src'), {create: true})
  for (const name of Object.keys({docker1: 0, docker1b: 0, quay1: 0, quay2: 0, plain3: 0}) as Array<keyof typeof images>) {
    images[name] = await makeImage({seed: `serve-trust-${name}`, layers: 1})
    await loadInto(src, images[name], name)
  }
})

afterAll(async () => {
  if (dir) await rm(dir, {recursive: true, force: true})
})

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

async function errorOf(res: Response): Promise<string> {
  const body = (await res.json()) as {errors: Array<{code: string; message: string}>}
  return `${body.errors[0]!.code}: ${body.errors[0]!.message}`
}

/** A writable server over the layout folder `name` (opened again on each call: a restart). */
async function serveLayout(name: string, extra: Partial<Parameters<typeof startServer>[0]> = {}): Promise<{server: RunningServer; layout: OciLayout; warnings: string[]}> {
  const layout = await OciLayout.open(join(dir, name), {create: true})
  const warnings: string[] = []
  const server = await startServer({store: layout, writable: true, addr: '127.0.0.1:0', onWarning: (m) => warnings.push(m), ...extra})
  return {server, layout, warnings}
}

/** Push one blob with a single POST (?digest=). */
async function pushBlob(server: RunningServer, b: BlobData | Buffer): Promise<void> {
  const bytes = Buffer.isBuffer(b) ? b : b.bytes
  const res = await fetch(`${server.url}/v2/any/blobs/uploads/?digest=${sha256(bytes)}`, {method: 'POST', body: bytes})
  expect(res.status, await res.clone().text()).toBe(201)
}

async function putManifest(server: RunningServer, name: string, ref: string, m: BlobData): Promise<Response> {
  return fetch(`${server.url}/v2/${name}/manifests/${ref}`, {method: 'PUT', body: m.bytes, headers: {'content-type': m.descriptor.mediaType}})
}

describe('airgap serve --writable: names', () => {
  it('refuses repository names outside the distribution grammar (400 NAME_INVALID) and bad references (TAG_INVALID, DIGEST_INVALID)', async () => {
    const {server, layout} = await serveLayout('names-invalid')
    try {
      for (const name of ['a:b/c', 'Upper/app', 'a..b/c', 'a/-b', 'a//b', '_a/b', `${'a'.repeat(256)}`]) {
        const res = await fetch(`${server.url}/v2/${name}/blobs/uploads/`, {method: 'POST'})
        expect(res.status, name).toBe(400)
        expect(await errorOf(res), name).toMatch(/^NAME_INVALID: invalid repository name/)
      }
      const img = images.docker1
      for (const b of img.blobs.slice(0, -1)) await pushBlob(server, b)
      const colonName = await putManifest(server, 'a:b/c', '1', img.manifest)
      expect(colonName.status).toBe(400)
      const badTag = await putManifest(server, 'team/app', '-1', img.manifest)
      expect(await errorOf(badTag)).toMatch(/^TAG_INVALID/)
      const notADigest = await putManifest(server, 'team/app', 'foo:bar', img.manifest)
      expect(await errorOf(notADigest)).toMatch(/^DIGEST_INVALID/)
      expect((await readIndexFile(layout.indexPath)).manifests).toEqual([])
      // skopeo's own grammar agrees: a valid name pushes
      await skopeo('copy', '--dest-tls-verify=false', `oci:${src.dir}:docker1`, `docker://${server.address}/team/app-1_x.y:1`)
      expect((await layout.resolve('team/app-1_x.y:1')).digest).toBe(img.root.digest)
    } finally {
      await server.close()
    }
  })

  it('a repository pushed under another source host, or a host-less push, never makes an existing name unreachable or change (also after a restart)', async () => {
    let {server, layout} = await serveLayout('names-hosts')
    const push = (name: string, ref: string): Promise<string> => skopeo('copy', '--dest-tls-verify=false', `oci:${src.dir}:${name}`, `docker://${server.address}/${ref}`)
    const digestOf = async (path: string): Promise<string | null> => (await fetch(`${server.url}/v2/${path}`)).headers.get('docker-content-digest')
    try {
      await push('docker1', 'docker.io/acme/app:1')
      expect(await digestOf('acme/app/manifests/1')).toBe(images.docker1.root.digest)
      // another host's repository of the same path: acme/app keeps standing for docker.io's
      await push('quay1', 'quay.io/acme/app:1')
      await push('quay2', 'quay.io/acme/app:2')
      expect(await digestOf('acme/app/manifests/1')).toBe(images.docker1.root.digest)
      expect(await digestOf('quay.io/acme/app/manifests/1')).toBe(images.quay1.root.digest)
      expect(await digestOf('acme/app/manifests/1?ns=quay.io')).toBe(images.quay1.root.digest)
      const elsewhere = await fetch(`${server.url}/v2/acme/app/manifests/2`)
      expect(elsewhere.status).toBe(404)
      expect(await errorOf(elsewhere)).toMatch(/^MANIFEST_UNKNOWN: .*acme\/app has no tag 2 \(quay\.io\/acme\/app:2 exists/)
      // a push through the short name goes to the repository it stands for, and reads back
      await push('plain3', 'acme/app:3')
      expect(await digestOf('acme/app/manifests/3')).toBe(images.plain3.root.digest)
      expect((await layout.resolve('docker.io/acme/app:3')).digest).toBe(images.plain3.root.digest)
      // re-tagging the first repository's only original tag keeps its place
      await push('docker1b', 'docker.io/acme/app:1')
      expect(await digestOf('acme/app/manifests/1')).toBe(images.docker1b.root.digest)
      const tags = (await (await fetch(`${server.url}/v2/acme/app/tags/list`)).json()) as {tags: string[]}
      expect(tags.tags).toEqual(['1', '3'])
      // restart: the same names give the same content
      await server.close()
      ;({server, layout} = await serveLayout('names-hosts'))
      expect(await digestOf('acme/app/manifests/1')).toBe(images.docker1b.root.digest)
      expect(await digestOf('acme/app/manifests/3')).toBe(images.plain3.root.digest)
      expect(await digestOf('quay.io/acme/app/manifests/2')).toBe(images.quay2.root.digest)
      expect(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${server.address}/acme/app:1`)).toBe(images.docker1b.manifest.bytes.toString())
    } finally {
      await server.close()
    }
  })
})

describe('airgap serve --writable: uploads', () => {
  const MiB = 1024 * 1024

  it('refuses an upload over --max-upload-size with 413 SIZE_INVALID (declared, streamed, chunked, and from skopeo) and keeps nothing', async () => {
    const {server, layout} = await serveLayout('uploads-cap', {maxUploadSize: MiB})
    try {
      const big = Buffer.alloc(MiB + 1, 7)
      const declared = await fetch(`${server.url}/v2/team/big/blobs/uploads/?digest=${sha256(big)}`, {method: 'POST', body: big})
      expect(declared.status).toBe(413)
      expect(await errorOf(declared)).toMatch(/^SIZE_INVALID: upload .* is larger than 1048576 bytes/)
      // streamed without a length (chunked transfer encoding)
      const start = await fetch(`${server.url}/v2/team/big/blobs/uploads/`, {method: 'POST'})
      const location = `${server.url}${start.headers.get('location')!}`
      const half = Buffer.alloc(MiB / 2, 1)
      expect((await fetch(location, {method: 'PATCH', body: half})).status).toBe(202)
      const stream = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(half)
          c.enqueue(Buffer.alloc(16, 2))
          c.close()
        },
      })
      const over = await fetch(location, {method: 'PATCH', body: stream, duplex: 'half'} as RequestInit)
      expect(over.status).toBe(413)
      expect((await fetch(location)).status).toBe(404) // the upload is gone
      const err = await skopeoError('copy', '--dest-tls-verify=false', `oci:${src.dir}:docker1`, `docker://${server.address}/team/ok:1`)
      expect(err).toBe('') // small layers pass
      const huge = await makeImage({seed: 'serve-trust-huge', layers: 1, files: 1, fileSize: 2 * MiB})
      await loadInto(src, huge, 'huge')
      // The server answers 413 and closes; skopeo, still writing, may report the closed connection instead.
      expect(await skopeoError('copy', '--dest-tls-verify=false', `oci:${src.dir}:huge`, `docker://${server.address}/team/huge:1`)).toMatch(/413|SIZE_INVALID|too large|larger than|broken pipe|connection reset/i)
      await new Promise((r) => setTimeout(r, 100))
      expect(await readdir(join(layout.dir, 'ingest'))).toEqual([])
      expect(await layout.exists(huge.layers[0]!.descriptor)).toBe(false)
    } finally {
      await server.close()
    }
  })

  it('drops uploads idle longer than the limit, with their file', async () => {
    const {server, layout} = await serveLayout('uploads-idle', {uploadIdleMs: 300})
    try {
      const start = await fetch(`${server.url}/v2/team/idle/blobs/uploads/`, {method: 'POST'})
      const location = `${server.url}${start.headers.get('location')!}`
      expect((await fetch(location, {method: 'PATCH', body: 'some bytes'})).status).toBe(202)
      expect(await readdir(join(layout.dir, 'ingest'))).toHaveLength(1)
      await new Promise((r) => setTimeout(r, 900))
      const gone = await fetch(location)
      expect(gone.status).toBe(404)
      expect(await errorOf(gone)).toMatch(/^BLOB_UPLOAD_UNKNOWN/)
      expect(await readdir(join(layout.dir, 'ingest'))).toEqual([])
    } finally {
      await server.close()
    }
  })

  it('removes what interrupted uploads left in the ingest folder when it starts', async () => {
    const folder = join(dir, 'uploads-leftover')
    const ingest = join(folder, 'ingest')
    await OciLayout.open(folder, {create: true})
    await mkdir(ingest, {recursive: true})
    const leftover = join(ingest, `upload-${randomUUID()}`)
    const staleTemp = join(ingest, `0123456789abcdef-${randomUUID()}`)
    const freshTemp = join(ingest, `fedcba9876543210-${randomUUID()}`)
    for (const f of [leftover, staleTemp, freshTemp]) await writeFile(f, 'partial upload')
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000)
    await utimes(staleTemp, twoHoursAgo, twoHoursAgo)
    const {server} = await serveLayout('uploads-leftover')
    try {
      // upload files of the last run and stale temporary files go; a fresh one (another writer's) stays
      expect(await readdir(ingest)).toEqual([freshTemp.slice(ingest.length + 1)])
    } finally {
      await server.close()
    }
  })

  it('answers 429 TOOMANYREQUESTS past 256 open uploads, and takes new ones once some are cancelled', async () => {
    const {server} = await serveLayout('uploads-many')
    try {
      const locations: string[] = []
      for (let i = 0; i < 256; i++) {
        const res = await fetch(`${server.url}/v2/team/many/blobs/uploads/`, {method: 'POST'})
        expect(res.status).toBe(202)
        locations.push(res.headers.get('location')!)
      }
      const refused = await fetch(`${server.url}/v2/team/many/blobs/uploads/`, {method: 'POST'})
      expect(refused.status).toBe(429)
      expect(await errorOf(refused)).toMatch(/^TOOMANYREQUESTS: 256 uploads are open/)
      expect((await fetch(`${server.url}${locations[0]!}`, {method: 'DELETE'})).status).toBe(204)
      expect((await fetch(`${server.url}/v2/team/many/blobs/uploads/`, {method: 'POST'})).status).toBe(202)
    } finally {
      await server.close()
    }
  })
})

describe('airgap serve --writable: content that cannot be listed or walked', () => {
  it('leaves a chart with an oversized or unwritable config out of /charts/index.yaml, says so, and lists the others', async () => {
    const {server, warnings} = await serveLayout('charts-bad')
    try {
      const good = await makeHelmChart({name: 'good', version: '1.0.0'})
      const layer = good.blobs[0]!
      const badChart = async (name: string, configJson: string): Promise<void> => {
        const cfg = blob(configJson, MediaType.HelmConfig)
        const manifest = jsonBlob({schemaVersion: 2, mediaType: MediaType.OciManifest, config: cfg.descriptor, layers: [layer.descriptor]}, MediaType.OciManifest)
        await pushBlob(server, cfg)
        expect((await putManifest(server, `charts/${name}`, '1.0.0', manifest)).status).toBe(201)
      }
      for (const b of good.blobs.slice(0, -1)) await pushBlob(server, b)
      expect((await putManifest(server, 'charts/good', '1.0.0', good.blobs.at(-1)!)).status).toBe(201)
      // 5 MiB of Chart.yaml (over any limit), and one nested too deep for a YAML writer
      await badChart('huge', JSON.stringify({name: 'huge', version: '1.0.0', description: 'x'.repeat(5 * 1024 * 1024)}))
      await badChart('deep', `{"name": "deep", "version": "1.0.0", "nested": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`)
      for (let round = 0; round < 2; round++) {
        const res = await fetch(`${server.helmUrl}/index.yaml`)
        expect(res.status).toBe(200)
        const index = parseYaml(await res.text()) as {entries: Record<string, unknown[]>}
        expect(Object.keys(index.entries)).toEqual(['good'])
      }
      const tgz = await fetch(`${server.helmUrl}/good-1.0.0.tgz`)
      expect(Buffer.from(await tgz.arrayBuffer()).equals(good.chartTgz)).toBe(true)
      expect(warnings.filter((w) => w.includes('charts/huge:1.0.0'))).toHaveLength(1) // once, not on every request
      expect(warnings.find((w) => w.includes('charts/huge:1.0.0'))).toMatch(/^Helm index: left out charts\/huge:1\.0\.0 \(sha256:.*more than the limit of 1048576 bytes/)
      expect(warnings.find((w) => w.includes('charts/deep:1.0.0'))).toMatch(/cannot be written as YAML/)
      expect(await server.counts()).toEqual({images: 2, charts: 1})
    } finally {
      await server.close()
    }
  })

  it('restarts over a manifest that claims a large blob is an index: the claim is not believed, everything else is served', async () => {
    let {server, warnings} = await serveLayout('walk-bad')
    try {
      const img = images.docker1
      const fake = Buffer.alloc(5 * 1024 * 1024, 9)
      await pushBlob(server, fake)
      for (const b of img.blobs.slice(0, -1)) await pushBlob(server, b)
      const liar = jsonBlob(
        {schemaVersion: 2, mediaType: MediaType.OciManifest, config: img.config.descriptor, layers: [{mediaType: MediaType.OciIndex, digest: sha256(fake), size: fake.length}]},
        MediaType.OciManifest,
      )
      expect((await putManifest(server, 'team/liar', '1', liar)).status).toBe(201)
      expect((await putManifest(server, 'team/good', '1', img.manifest)).status).toBe(201)
      const asManifest = await fetch(`${server.url}/v2/team/liar/manifests/${sha256(fake)}`)
      expect(asManifest.status).toBe(404)
      await server.close()
      ;({server, warnings} = await serveLayout('walk-bad'))
      expect(warnings.join('\n')).toMatch(new RegExp(`${sha256(fake)} .* cannot be read as one`))
      expect((await fetch(`${server.url}/v2/team/good/manifests/1`)).headers.get('docker-content-digest')).toBe(img.root.digest)
      expect((await fetch(`${server.url}/v2/team/liar/manifests/1`)).status).toBe(200)
      expect((await fetch(`${server.url}/v2/team/liar/manifests/${sha256(fake)}`)).status).toBe(404)
      expect((await fetch(`${server.url}/v2/team/liar/blobs/${sha256(fake)}`, {method: 'HEAD'})).status).toBe(200)
    } finally {
      await server.close()
    }
  })
})
