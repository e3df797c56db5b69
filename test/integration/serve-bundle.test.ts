/**
 * `airgap serve` over a bundle (read-only, straight from the tar), checked with real clients:
 * skopeo (copy --all, inspect --raw, list-tags), plain HTTP (ranges, errors, catalog), a Helm
 * repository index, and containerd pulling through a hosts.toml mirror by the original name.
 */
import {createHash} from 'node:crypto'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'
import {startServer, type RequestLog, type RunningServer} from '../../src/serve/index.js'
import {BundleReader} from '../../src/bundle/index.js'
import {MediaType} from '../../src/oci/types.js'
import {describeWithServices, startContainerd, type ContainerdHandle} from '../support/services.js'
import {REFS, buildServeBundle, skopeo, skopeoError, type ServeFixture} from './serve-support.js'

let dir: string
let fx: ServeFixture
let reader: BundleReader
let server: RunningServer
let host: string
const logs: RequestLog[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-serve-bundle-'))
  fx = await buildServeBundle(join(dir, 'bundle.tar'))
  reader = await BundleReader.open(fx.path)
  server = await startServer({store: reader, addr: '127.0.0.1:0', onRequest: (l) => logs.push(l)})
  host = server.address
})

afterAll(async () => {
  await server?.close()
  await reader?.close()
  if (dir) await rm(dir, {recursive: true, force: true})
})

const get = (path: string, init: RequestInit = {}): Promise<Response> => fetch(`${server.url}${path}`, init)
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

async function errorCode(res: Response): Promise<string> {
  const body = (await res.json()) as {errors: Array<{code: string; message: string}>}
  return `${body.errors[0]!.code}: ${body.errors[0]!.message}`
}

describe('airgap serve: a bundle as a registry', () => {
  it('answers the API probe with the distribution version header', async () => {
    const res = await get('/v2/')
    expect(res.status).toBe(200)
    expect(res.headers.get('docker-distribution-api-version')).toBe('registry/2.0')
  })

  it('skopeo copy --all from the short and the long name gives the identical index, manifests and blobs', async () => {
    for (const name of ['acme/multi:v1', 'docker.io/acme/multi:v1']) {
      const out = join(dir, `copy-${name.replace(/[/:]/g, '_')}`)
      await skopeo('copy', '--all', '--src-tls-verify=false', `docker://${host}/${name}`, `oci:${out}:x`)
      const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as {manifests: Array<{digest: string}>}
      expect(index.manifests.map((m) => m.digest), name).toEqual([fx.multi.root.digest])
      for (const b of fx.multi.blobs) {
        const bytes = await readFile(join(out, 'blobs', 'sha256', b.descriptor.digest.slice(7)))
        expect(bytes.equals(b.bytes), `${name} ${b.descriptor.digest}`).toBe(true)
      }
    }
  })

  it('skopeo inspect --raw returns the stored bytes of an index, a Docker manifest and a chart manifest', async () => {
    expect(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${host}/acme/multi:v1`)).toBe(fx.multi.index.bytes.toString())
    expect(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${host}/acme/legacy:2`)).toBe(fx.legacy.manifest.bytes.toString())
    const chartManifest = fx.charts[0]!.blobs.at(-1)!.bytes.toString()
    expect(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${host}/operator-wandb:0.43.8`)).toBe(chartManifest)
  })

  it('serves manifests with their media type, digest and length, by tag and by digest (HEAD too)', async () => {
    const legacy = await get('/v2/acme/legacy/manifests/2', {headers: {accept: `${MediaType.DockerManifest}, ${MediaType.OciManifest}`}})
    expect(legacy.status).toBe(200)
    expect(legacy.headers.get('content-type')).toBe(MediaType.DockerManifest)
    expect(legacy.headers.get('docker-content-digest')).toBe(fx.legacy.root.digest)
    const child = fx.multi.images[1]!.manifest
    const head = await get(`/v2/acme/multi/manifests/${child.descriptor.digest}`, {method: 'HEAD'})
    expect(head.status).toBe(200)
    expect(head.headers.get('content-length')).toBe(String(child.bytes.length))
    expect(head.headers.get('content-type')).toBe(MediaType.OciManifest)
  })

  it('never converts: a client accepting only Docker types gets 404 for an OCI index', async () => {
    const res = await get('/v2/acme/multi/manifests/v1', {headers: {accept: MediaType.DockerManifest}})
    expect(res.status).toBe(404)
    expect(await errorCode(res)).toMatch(/^MANIFEST_UNKNOWN: .*stored as application\/vnd.oci.image.index.v1\+json/)
  })

  it('serves exact byte ranges of a blob (206), a suffix range, and 416 past the end', async () => {
    const layer = fx.app.layers[0]!
    const url = `/v2/acme/app/blobs/${layer.descriptor.digest}?ns=docker.io`
    const res = await get(url, {headers: {range: 'bytes=10-19'}})
    expect(res.status).toBe(206)
    expect(res.headers.get('content-range')).toBe(`bytes 10-19/${layer.bytes.length}`)
    expect(Buffer.from(await res.arrayBuffer()).equals(layer.bytes.subarray(10, 20))).toBe(true)
    const suffix = await get(url, {headers: {range: 'bytes=-7'}})
    expect(Buffer.from(await suffix.arrayBuffer()).equals(layer.bytes.subarray(-7))).toBe(true)
    const past = await get(url, {headers: {range: `bytes=${layer.bytes.length}-`}})
    expect(past.status).toBe(416)
    expect(past.headers.get('content-range')).toBe(`bytes */${layer.bytes.length}`)
    const full = await get(url)
    expect(full.status).toBe(200)
    expect(sha256(Buffer.from(await full.arrayBuffer()))).toBe(layer.descriptor.digest.slice(7))
  })

  it('lists tags (skopeo list-tags) and the catalog, with n/last pagination and Link', async () => {
    const tags = JSON.parse(await skopeo('list-tags', '--tls-verify=false', `docker://${host}/operator-wandb`)) as {Tags: string[]}
    expect(tags.Tags).toEqual(['0.43.8', '0.43.9'])
    const page1 = await get('/v2/operator-wandb/tags/list?n=1')
    expect(await page1.json()).toEqual({name: 'operator-wandb', tags: ['0.43.8']})
    expect(page1.headers.get('link')).toBe('</v2/operator-wandb/tags/list?last=0.43.8&n=1>; rel="next"')
    const page2 = await get('/v2/operator-wandb/tags/list?last=0.43.8&n=1')
    expect(await page2.json()).toEqual({name: 'operator-wandb', tags: ['0.43.9']})
    expect(page2.headers.get('link')).toBeNull()
    const catalog = (await (await get('/v2/_catalog')).json()) as {repositories: string[]}
    expect(catalog.repositories).toEqual([
      'acme/app',
      'acme/legacy',
      'acme/multi',
      'charts.wandb.ai/operator-wandb',
      'docker.io/acme/app',
      'docker.io/acme/legacy',
      'docker.io/acme/multi',
      'operator-wandb',
      'quay.io/acme/app',
    ])
  })

  it('answers unknown manifests, blobs and repositories with distribution errors', async () => {
    const missing = await get('/v2/acme/multi/manifests/nope')
    expect(missing.status).toBe(404)
    expect(await errorCode(missing)).toMatch(/^MANIFEST_UNKNOWN/)
    const blob = await get(`/v2/acme/multi/blobs/sha256:${'0'.repeat(64)}`)
    expect(blob.status).toBe(404)
    expect(await errorCode(blob)).toMatch(/^BLOB_UNKNOWN/)
    const repo = await get('/v2/acme/nothing/tags/list')
    expect(await errorCode(repo)).toMatch(/^NAME_UNKNOWN/)
    expect(await skopeoError('inspect', '--raw', '--tls-verify=false', `docker://${host}/acme/multi:nope`)).toMatch(/manifest unknown/)
  })

  it('gives a short name held from two hosts to the one index.json names first; ?ns= and the long names choose', async () => {
    const res = await get('/v2/acme/app/manifests/1')
    expect(res.status).toBe(200)
    expect(res.headers.get('docker-content-digest')).toBe(fx.app.root.digest) // docker.io/acme/app:1 sorts first
    const quay = await get('/v2/acme/app/manifests/1?ns=quay.io')
    expect(quay.headers.get('docker-content-digest')).toBe(fx.quayApp.root.digest)
    const docker = await get('/v2/acme/app/manifests/1?ns=docker.io')
    expect(docker.headers.get('docker-content-digest')).toBe(fx.app.root.digest)
    expect(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${host}/quay.io/acme/app:1`)).toBe(fx.quayApp.manifest.bytes.toString())
  })

  it('is read-only: uploads and manifest pushes get 405 UNSUPPORTED', async () => {
    const res = await get('/v2/acme/app/blobs/uploads/', {method: 'POST'})
    expect(res.status).toBe(405)
    expect(await errorCode(res)).toMatch(/^UNSUPPORTED: .*read-only/)
    const err = await skopeoError('copy', '--dest-tls-verify=false', `docker://${host}/acme/legacy:2`, `docker://${host}/acme/legacy:3`, '--src-tls-verify=false')
    expect(err).toMatch(/read-only|405|UNSUPPORTED|unsupported/i)
  })

  it('reports every request through the callback (the core prints nothing)', () => {
    expect(logs.some((l) => l.method === 'GET' && l.path === '/v2/' && l.status === 200)).toBe(true)
  })
})

describe('airgap serve: the charts as a classic Helm repository', () => {
  it('index.yaml lists every chart version, newest first, with the sha256 of the exact .tgz', async () => {
    const res = await get('/charts/index.yaml')
    expect(res.status).toBe(200)
    const index = parseYaml(await res.text()) as {apiVersion: string; entries: Record<string, Array<Record<string, unknown>>>}
    expect(index.apiVersion).toBe('v1')
    const versions = index.entries['operator-wandb']!
    expect(versions.map((v) => v.version)).toEqual(['0.43.9', '0.43.8'])
    expect(versions[0]).toMatchObject({
      name: 'operator-wandb',
      apiVersion: 'v2',
      appVersion: '1.1.0',
      digest: sha256(fx.charts[1]!.chartTgz),
      urls: ['operator-wandb-0.43.9.tgz'],
      created: '2024-01-01T00:00:00Z',
    })
    expect(versions[1]!.digest).toBe(sha256(fx.charts[0]!.chartTgz))
  })

  it('downloads each .tgz byte-identical from the URL in the index', async () => {
    for (const chart of fx.charts) {
      const version = chart.chartYaml.match(/version: (\S+)/)![1]
      const res = await get(`/charts/operator-wandb-${version}.tgz`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/gzip')
      expect(Buffer.from(await res.arrayBuffer()).equals(chart.chartTgz)).toBe(true)
    }
    expect((await get('/charts/operator-wandb-9.9.9.tgz')).status).toBe(404)
  })

  it('reports what it serves: 4 images and 2 charts', async () => {
    expect(await server.counts()).toEqual({images: 4, charts: 2})
  })
})

const isRoot = process.getuid?.() === 0

describeWithServices('airgap serve: containerd pulls through a hosts.toml mirror', () => {
  let ctrd: ContainerdHandle
  beforeAll(async () => {
    if (!isRoot) return
    ctrd = await startContainerd()
    await mkdir(join(ctrd.hostsDir, 'docker.io'), {recursive: true})
    await writeFile(
      join(ctrd.hostsDir, 'docker.io', 'hosts.toml'),
      ['server = "https://registry-1.docker.io"', `[host."${server.url}"]`, '  capabilities = ["pull", "resolve"]', ''].join('\n'),
    )
  })
  afterAll(async () => ctrd?.stop())

  it.skipIf(!isRoot)('pulls docker.io/acme/app:1 by its original name (short name + ?ns=docker.io)', async () => {
    const before = logs.length
    await ctrd.ctr(['-n', ctrd.namespace, 'images', 'pull', '--hosts-dir', ctrd.hostsDir, REFS.app])
    const {stdout} = await ctrd.ctr(['-n', ctrd.namespace, 'images', 'ls', '-q'])
    expect(stdout.split('\n')).toContain(REFS.app)
    const {stdout: check} = await ctrd.ctr(['-n', ctrd.namespace, 'images', 'check'])
    expect(check).toMatch(new RegExp(`${REFS.app.replace(/\./g, '\\.')}\\s+application/vnd\\.oci\\.image\\.manifest\\.v1\\+json\\s+${fx.app.root.digest}\\s+complete`))
    expect(logs.slice(before).some((l) => l.path === '/v2/acme/app/manifests/1')).toBe(true)
  })

  it.skipIf(!isRoot)('pulls the whole multi-platform index with --all-platforms', async () => {
    await ctrd.ctr(['-n', ctrd.namespace, 'images', 'pull', '--all-platforms', '--hosts-dir', ctrd.hostsDir, REFS.multi])
    const {stdout} = await ctrd.ctr(['-n', ctrd.namespace, 'images', 'check'])
    expect(stdout.split('\n').find((l) => l.startsWith(REFS.multi))).toMatch(new RegExp(`${fx.multi.root.digest}\\s+complete`))
    // every platform's manifest, config and layers is in containerd's content store
    const {stdout: content} = await ctrd.ctr(['-n', ctrd.namespace, 'content', 'ls', '-q'])
    const have = new Set(content.split('\n').map((l) => l.trim()))
    for (const b of fx.multi.blobs) expect(have.has(b.descriptor.digest), b.descriptor.digest).toBe(true)
  })
})
