/**
 * Large blobs pulled in parallel HTTP Range parts into a bundle (src/copy/ranged.ts), against the
 * real docker-registry and nginx: part boundaries (odd sizes, last part short), a server that
 * ignores Range (nginx `max_ranges 0`: 200 instead of 206, read as one stream), a registry that
 * redirects blob GETs to storage on another origin (nginx `return 307`: the parts go to the storage,
 * the registry's credentials never do). A part that fails midway cannot be produced with either,
 * so a small TEST DOUBLE (a node:http server that serves ranges and cuts one part once) shows that
 * the part is asked again from where it stopped and no finished part is fetched again.
 */
import {spawn, type ChildProcess} from 'node:child_process'
import {mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {setTimeout as delay} from 'node:timers/promises'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {StaticCredentialStore} from '../../src/auth/store.js'
import {BundleWriter} from '../../src/bundle/index.js'
import {copy, CopyTracker} from '../../src/copy/index.js'
import {LinkGovernor} from '../../src/copy/link.js'
import {RANGED_MIN_BYTES, transferRanged} from '../../src/copy/ranged.js'
import {BLOCK} from '../../src/bundle/tar.js'
import {IntegrityError} from '../../src/errors.js'
import {RegistryClient} from '../../src/registry/index.js'
import type {Descriptor} from '../../src/oci/types.js'
import {freePort, describeWithServices, services} from '../support/services.js'
import {jsonBlob} from '../support/images.js'
import {clientFor, randomBlob, recordRequests, repoName} from './registry-support.js'

const MiB = 1024 * 1024

let dir: string
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'airgap-ranged-'))
})
afterAll(() => rmSync(dir, {recursive: true, force: true}))

/** The bytes of `desc` as stored in the bundle file at `path`. */
async function storedBytes(writer: BundleWriter, desc: Descriptor): Promise<Buffer> {
  const planned = writer.plan.blobs.get(desc.digest)!
  const all = readFileSync(writer.partialPath)
  return all.subarray(planned.offset + BLOCK, planned.offset + BLOCK + desc.size)
}

function rangeHeaders(requests: {headers: string}[]): string[] {
  return requests.flatMap((r) => {
    const m = /range[:,]\s*(bytes=\d+-\d+)/i.exec(r.headers)
    return m ? [m[1]!] : []
  })
}

async function transfer(src: RegistryClient, name: string, desc: Descriptor, writer: BundleWriter, partBytes: number): Promise<void> {
  await transferRanged({
    src: src.repository(name),
    dst: writer,
    desc,
    governor: new LinkGovernor({initial: 3}),
    signal: undefined,
    onStart: () => undefined,
    onBytes: () => undefined,
    sourceFailure: (err) => err,
    partBytes,
  })
}

describeWithServices('ranged pull from the real registry', () => {
  it('fetches odd-sized parts (the last one short) and commits the whole blob verified', async () => {
    const registry = clientFor(services().registries.plain)
    const name = repoName('ranged')
    const b = randomBlob(5 * MiB + 123)
    await registry.repository(name).push(b.descriptor, Readable.from(b.bytes))
    const writer = await BundleWriter.open({out: join(dir, 'odd.tar'), blobs: [b.descriptor]})
    const seen = recordRequests(services().registries.plain.host)
    try {
      await transfer(registry, name, b.descriptor, writer, MiB + 7)
    } finally {
      seen.stop()
    }
    expect(await writer.exists(b.descriptor)).toBe(true)
    expect((await storedBytes(writer, b.descriptor)).equals(b.bytes)).toBe(true)
    const ranges = rangeHeaders(seen.requests).sort((x, y) => Number(/=(\d+)/.exec(x)![1]) - Number(/=(\d+)/.exec(y)![1]))
    const part = MiB + 7
    const expected: string[] = []
    for (let s = 0; s < b.bytes.length; s += part) expected.push(`bytes=${s}-${Math.min(s + part, b.bytes.length) - 1}`)
    expect(ranges).toEqual(expected)
    await writer.close()
    await registry.close()
  })

  it('the copy engine pulls a large layer in parts into a bundle; a wrong digest commits nothing', async () => {
    const registry = clientFor(services().registries.plain)
    const name = repoName('ranged-image')
    const layer = randomBlob(RANGED_MIN_BYTES + 3 * MiB + 5)
    const config = jsonBlob({architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: []}}, 'application/vnd.oci.image.config.v1+json')
    const manifest = jsonBlob(
      {schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: config.descriptor, layers: [{...layer.descriptor, mediaType: 'application/vnd.oci.image.layer.v1.tar'}]},
      'application/vnd.oci.image.manifest.v1+json',
    )
    const repo = registry.repository(name)
    for (const x of [layer, config]) await repo.push(x.descriptor, Readable.from(x.bytes))
    await repo.push(manifest.descriptor, Readable.from(manifest.bytes))
    const layerDesc = {...layer.descriptor, mediaType: 'application/vnd.oci.image.layer.v1.tar'}
    const writer = await BundleWriter.open({out: join(dir, 'image.tar'), blobs: [layerDesc, config.descriptor, manifest.descriptor]})
    const seen = recordRequests(services().registries.plain.host)
    try {
      const {stats} = await copy(repo, manifest.descriptor.digest, writer as unknown as Parameters<typeof copy>[2], '', {tracker: new CopyTracker({concurrency: 4})})
      expect(stats.blobsCopied).toBe(2)
    } finally {
      seen.stop()
    }
    expect((await storedBytes(writer, layerDesc)).equals(layer.bytes)).toBe(true)
    expect(rangeHeaders(seen.requests).length).toBeGreaterThanOrEqual(2)

    // The same bytes under a digest they do not have: every part arrives, the commit refuses.
    const wrong: Descriptor = {...layerDesc, digest: `sha256:${'0'.repeat(64)}`}
    const bad = await BundleWriter.open({out: join(dir, 'wrong.tar'), blobs: [wrong]})
    const lying = {fetchRange: (_d: Descriptor, s: number, e: number, o: {via?: URL; signal?: AbortSignal}) => repo.fetchRange(layerDesc, s, e, o)}
    const err = await transferRanged({src: lying, dst: bad, desc: wrong, governor: new LinkGovernor(), signal: undefined, onStart: () => undefined, onBytes: () => undefined, sourceFailure: (e) => e, partBytes: 8 * MiB}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    expect(String((err as Error).message)).toContain('digest mismatch')
    expect(await bad.exists(wrong)).toBe(false)
    await Promise.all([writer.close(), bad.close(), registry.close()])
  })
})

/** nginx in front of the htpasswd registry: blob GETs redirected (307) to storage on other origins. */
describeWithServices('ranged pull through nginx: redirect to storage, a server that ignores Range', () => {
  let nginx: ChildProcess
  let front: string
  let frontNoRange: string
  let storage: string
  let storageNoRange: string
  let blobsDir: string
  const info = () => services().registries.htpasswd

  beforeAll(async () => {
    const root = join(dir, 'nginx')
    blobsDir = join(root, 'blobs')
    mkdirSync(join(root, 'temp'), {recursive: true})
    mkdirSync(blobsDir, {recursive: true})
    const [f, fn, s, sn] = await Promise.all([freePort(), freePort(), freePort(), freePort()])
    front = `127.0.0.1:${f}`
    frontNoRange = `127.0.0.1:${fn}`
    storage = `127.0.0.1:${s}`
    storageNoRange = `127.0.0.1:${sn}`
    const redirecting = (listen: string, to: string) => `server {
    listen ${listen};
    location ~ "^/v2/.+/blobs/sha256:([0-9a-f]{64})$" { return 307 http://${to}/blobs/$1; }
    location /v2/ { proxy_pass http://${info().host}; proxy_set_header Host $http_host; proxy_buffering off; }
  }`
    const conf = `daemon off; master_process off; worker_processes 1;
pid ${root}/nginx.pid; error_log ${root}/error.log;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${root}/temp/body; proxy_temp_path ${root}/temp/proxy; fastcgi_temp_path ${root}/temp/fastcgi;
  uwsgi_temp_path ${root}/temp/uwsgi; scgi_temp_path ${root}/temp/scgi;
  ${redirecting(front, storage)}
  ${redirecting(frontNoRange, storageNoRange)}
  server { listen ${storage}; location /blobs/ { alias ${blobsDir}/; } }
  server { listen ${storageNoRange}; max_ranges 0; location /blobs/ { alias ${blobsDir}/; } }
}
`
    writeFileSync(join(root, 'nginx.conf'), conf)
    nginx = spawn('nginx', ['-p', root, '-c', join(root, 'nginx.conf')], {stdio: 'ignore'})
    for (let i = 0; i < 100; i++) {
      const up = await fetch(`http://${storage}/blobs/`).then(() => true, () => false)
      if (up) break
      await delay(50)
    }
  })
  afterAll(() => {
    nginx?.kill()
  })

  async function seed(size: number): Promise<{name: string; b: ReturnType<typeof randomBlob>}> {
    const name = repoName('redirected')
    const b = randomBlob(size)
    await clientFor(info()).repository(name).push(b.descriptor, Readable.from(b.bytes))
    writeFileSync(join(blobsDir, b.descriptor.digest.slice('sha256:'.length)), b.bytes)
    return {name, b}
  }

  function viaFront(host: string): RegistryClient {
    return new RegistryClient(host, {
      httpOptions: {plainHttp: [host], retry: {retries: 1, baseDelayMs: 20}},
      credentials: new StaticCredentialStore({[host]: {username: info().username!, password: info().password!}}),
    })
  }

  it('sends every part after the first straight to the storage the registry redirected to, without the credentials', async () => {
    const {name, b} = await seed(4 * MiB + 1)
    const client = viaFront(front)
    const writer = await BundleWriter.open({out: join(dir, 'redirect.tar'), blobs: [b.descriptor]})
    const atFront = recordRequests(front)
    const atStorage = recordRequests(storage)
    try {
      await client.ping() // the registry asks for Basic credentials: from now on they go with every request to it
      await transfer(client, name, b.descriptor, writer, MiB)
    } finally {
      atFront.stop()
      atStorage.stop()
    }
    expect((await storedBytes(writer, b.descriptor)).equals(b.bytes)).toBe(true)
    const blobGetsAtFront = atFront.requests.filter((r) => r.path.includes('/blobs/'))
    expect(blobGetsAtFront).toHaveLength(1) // the first part; the other four went to storage directly
    expect(rangeHeaders(atStorage.requests)).toHaveLength(5)
    expect(blobGetsAtFront.every((r) => /authorization[:,]\s*basic/i.test(r.headers))).toBe(true)
    expect(atStorage.requests.some((r) => /authorization/i.test(r.headers))).toBe(false)
    await writer.close()
    await client.close()
  })

  it('reads the blob as one stream when the server ignores Range (200 instead of 206)', async () => {
    const {name, b} = await seed(3 * MiB + 17)
    const client = viaFront(frontNoRange)
    const writer = await BundleWriter.open({out: join(dir, 'norange.tar'), blobs: [b.descriptor]})
    const atStorage = recordRequests(storageNoRange)
    try {
      await transfer(client, name, b.descriptor, writer, MiB)
    } finally {
      atStorage.stop()
    }
    expect((await storedBytes(writer, b.descriptor)).equals(b.bytes)).toBe(true)
    expect(atStorage.requests).toHaveLength(1)
    await writer.close()
    await client.close()
  })
})

/** TEST DOUBLE: serves ranges of one blob; cuts the response for the part starting at `cutPart` once, after `cutAfter` bytes. */
async function startCuttingServer(bytes: Buffer, cutPart: number, cutAfter: number): Promise<{host: string; ranges: string[]; server: Server}> {
  const ranges: string[] = []
  let cut = false
  const server = createServer((req, res) => {
    const m = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '')
    if (!m) {
      res.writeHead(200, {'content-length': bytes.length})
      res.end(bytes)
      return
    }
    ranges.push(req.headers.range!)
    const start = Number(m[1])
    const end = Math.min(Number(m[2]), bytes.length - 1)
    res.writeHead(206, {'content-range': `bytes ${start}-${end}/${bytes.length}`, 'content-length': end - start + 1})
    if (start === cutPart && !cut) {
      cut = true
      res.write(bytes.subarray(start, start + cutAfter), () => setTimeout(() => res.socket?.destroy(), 20))
      return
    }
    res.end(bytes.subarray(start, end + 1))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {host: `127.0.0.1:${(server.address() as AddressInfo).port}`, ranges, server}
}

it('a part cut midway is asked again from where it stopped; finished parts are not fetched again (test double)', async () => {
  const b = randomBlob(4 * MiB)
  const part = MiB
  const double = await startCuttingServer(b.bytes, 2 * part, 300 * 1024)
  const client = new RegistryClient(double.host, {httpOptions: {plainHttp: [double.host], retry: {retries: 0}}})
  const writer = await BundleWriter.open({out: join(dir, 'cut.tar'), blobs: [b.descriptor]})
  try {
    await transfer(client, 'any/blob', b.descriptor, writer, part)
    expect((await storedBytes(writer, b.descriptor)).equals(b.bytes)).toBe(true)
    const resumed = double.ranges.filter((r) => r.startsWith(`bytes=${2 * part + 1}`) || (/^bytes=(\d+)-/.exec(r) && Number(/^bytes=(\d+)-/.exec(r)![1]) > 2 * part && Number(/^bytes=(\d+)-/.exec(r)![1]) < 3 * part))
    expect(resumed).toHaveLength(1)
    const from = Number(/^bytes=(\d+)-(\d+)$/.exec(resumed[0]!)![1])
    expect(from).toBeGreaterThan(2 * part)
    expect(from).toBeLessThanOrEqual(2 * part + 300 * 1024)
    expect(resumed[0]).toBe(`bytes=${from}-${3 * part - 1}`)
    // every other part exactly once, the cut one once before its resume
    for (const s of [0, part, 2 * part, 3 * part]) expect(double.ranges.filter((r) => r === `bytes=${s}-${s + part - 1}`)).toHaveLength(1)
    expect(double.ranges).toHaveLength(5)
  } finally {
    await writer.close()
    await client.close()
    double.server.closeAllConnections()
    double.server.close()
  }
})
