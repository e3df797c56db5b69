import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {closeSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, writeSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {IntegrityError, NotFoundError, UnsupportedError} from '../errors.js'
import {MediaType} from '../oci/types.js'
import type {Descriptor} from '../oci/types.js'
import {buildIndexJson} from './layout.js'
import {BundleReader, HoldExpired} from './reader.js'
import {BLOCK, encodeHeader, paddedSize} from './tar.js'
import {BundleWriter} from './writer.js'

interface Blob {
  desc: Descriptor
  bytes: Buffer
}

function blob(mediaType: string, bytes: Buffer): Blob {
  return {desc: {mediaType, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length}, bytes}
}

/** A small OCI image (layer bytes are opaque to the reader); the manifest comes last in blobs. */
function makeImage(seed: string, layerBytes = 3000): {manifest: Blob; blobs: Blob[]} {
  const layer = blob(MediaType.OciLayerGzip, Buffer.from(`${seed}:`.repeat(layerBytes / 5)))
  const config = blob(MediaType.OciConfig, Buffer.from(JSON.stringify({architecture: 'amd64', os: 'linux', seed})))
  const manifest = blob(MediaType.OciManifest, Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciManifest, config: config.desc, layers: [layer.desc]})))
  return {manifest, blobs: [config, layer, manifest]}
}

const root = mkdtempSync(join(tmpdir(), 'airgap-bundle-reader-'))
/** Hostile archives live here; the test checks nothing else ever appears in it. */
const jail = join(root, 'jail')
afterAll(() => rmSync(root, {recursive: true, force: true}))

const app = makeImage('app')
const worker = makeImage('worker', 5000)
const lock = Buffer.from('{"apiVersion":"airgap.dev/v1"}')
let goodPath: string
let good: Buffer

async function writeBundle(path: string, images: ReadonlyArray<{ref: string; image: {manifest: Blob; blobs: Blob[]}}>, storeOnly?: Blob[]): Promise<void> {
  const blobs = storeOnly ?? images.flatMap((i) => i.image.blobs)
  const w = await BundleWriter.open({out: path, epoch: 0, blobs: blobs.map((b) => b.desc)})
  await Promise.all(blobs.map((b) => w.push(b.desc, Readable.from([b.bytes]))))
  await w.finish({indexJson: buildIndexJson(images.map((i) => ({ref: i.ref, desc: i.image.manifest.desc}))), files: {'airgap/lock.json': lock}})
}

beforeAll(async () => {
  execFileSync('mkdir', ['-p', jail])
  goodPath = join(root, 'good.tar')
  await writeBundle(goodPath, [
    {ref: 'docker.io/wandb/local:0.62.2', image: app},
    {ref: 'quay.io/acme/worker:1.0', image: worker},
  ])
  good = readFileSync(goodPath)
})

async function readAllStream(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const c of s) parts.push(c as Buffer)
  return Buffer.concat(parts)
}

describe('BundleReader on a good bundle', () => {
  it('lists entries, resolves references and digests, lists tags', async () => {
    const r = await BundleReader.open(goodPath)
    try {
      expect(r.location).toBe(`bundle ${goodPath}`)
      expect(r.entries().map((e) => e.name)).toEqual(execFileSync('tar', ['-tf', goodPath], {encoding: 'utf8'}).trim().split('\n'))
      expect((await r.resolve('docker.io/wandb/local:0.62.2')).digest).toBe(app.manifest.desc.digest)
      expect((await r.resolve('wandb/local:0.62.2')).digest).toBe(app.manifest.desc.digest)
      expect((await r.resolve(worker.manifest.desc.digest)).size).toBe(worker.manifest.desc.size)
      await expect(r.resolve('docker.io/wandb/local:9.9.9')).rejects.toThrow(NotFoundError)
      const tags: string[] = []
      for await (const t of r.tags()) tags.push(t)
      expect(tags).toEqual(['docker.io/wandb/local:0.62.2', 'quay.io/acme/worker:1.0'])
      expect(await r.readFile('airgap/lock.json')).toEqual(lock)
      expect(r.has('airgap/spec.yaml')).toBe(false)
      await expect(r.readFile('airgap/spec.yaml')).rejects.toThrow(NotFoundError)
    } finally {
      await r.close()
    }
  })

  it('serves every blob from its byte range, several in parallel, verified', async () => {
    const r = await BundleReader.open(goodPath)
    try {
      const blobs = [...app.blobs, ...worker.blobs]
      const got = await Promise.all(blobs.map(async (b) => readAllStream(await r.fetch(b.desc))))
      got.forEach((bytes, i) => expect(bytes.equals(blobs[i]!.bytes)).toBe(true))
      expect(await r.exists(app.blobs[1]!.desc)).toBe(true)
      expect(await r.exists({...app.blobs[1]!.desc, size: 1})).toBe(false)
      await expect(r.fetch({...app.blobs[1]!.desc, size: 1})).rejects.toThrow(/entry is \d+ bytes but the descriptor says 1/)
      await expect(r.fetch({mediaType: 'x', digest: `sha256:${'0'.repeat(64)}`, size: 1})).rejects.toThrow(NotFoundError)
    } finally {
      await r.close()
    }
  })

  it('hands a blob over as verified chunks that all live in one reused buffer', async () => {
    const bytes = Buffer.alloc(2 * 1024 * 1024 + 777)
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + (i >> 11)) & 0xff
    const big = blob(MediaType.OciLayer, bytes)
    const own = mkdtempSync(join(tmpdir(), 'airgap-bundle-chunks-'))
    const path = join(own, 'chunks.tar')
    await writeBundle(path, [{ref: 'docker.io/wandb/local:0.62.2', image: {manifest: app.manifest, blobs: [...app.blobs, big]}}])
    const r = await BundleReader.open(path)
    try {
      const copies: Buffer[] = []
      const backing = new Set<ArrayBufferLike>()
      for await (const chunk of await r.fetchChunks(big.desc)) {
        copies.push(Buffer.from(chunk))
        backing.add(chunk.buffer)
      }
      expect(copies.length).toBe(3)
      expect(backing.size).toBe(1)
      expect(Buffer.concat(copies).equals(bytes)).toBe(true)
    } finally {
      await r.close()
    }
    // The same blob with its last byte flipped: every chunk but the last is handed over, then the
    // iteration throws, so a consumer never holds the complete corrupt content.
    const damaged = Buffer.from(readFileSync(path))
    damaged[headerOffset(`blobs/sha256/${big.desc.digest.slice(7)}`, damaged) + BLOCK + bytes.length - 1]! ^= 0x01
    const damagedPath = join(own, 'chunks-damaged.tar')
    writeFileSync(damagedPath, damaged)
    const d = await BundleReader.open(damagedPath)
    try {
      let handed = 0
      const err = await (async () => {
        for await (const chunk of await d.fetchChunks(big.desc)) handed += chunk.length
      })().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(IntegrityError)
      expect((err as Error).message).toContain(big.desc.digest)
      expect(handed).toBe(2 * 1024 * 1024)
    } finally {
      await d.close()
      rmSync(own, {recursive: true, force: true})
    }
  })

  it('verifies every blob and the content graph', async () => {
    const r = await BundleReader.open(goodPath)
    try {
      let seen = 0
      const result = await r.verifyAllBlobs({onBytes: (n) => (seen += n)})
      const total = [...app.blobs, ...worker.blobs].reduce((s, b) => s + b.desc.size, 0)
      expect(result).toEqual({blobs: 6, bytes: total})
      expect(seen).toBe(total)
      expect(await r.verifyGraph()).toEqual({descriptors: 6})
    } finally {
      await r.close()
    }
  })

  it('verifyGraph names a missing blob and its parent', async () => {
    const path = join(root, 'missing-layer.tar')
    const layer = app.blobs[1]!
    await writeBundle(path, [{ref: 'docker.io/wandb/local:0.62.2', image: app}], app.blobs.filter((b) => b !== layer))
    const r = await BundleReader.open(path)
    try {
      await expect(r.verifyGraph()).rejects.toThrow(`${layer.desc.digest} (referenced by ${app.manifest.desc.digest}) is missing`)
    } finally {
      await r.close()
    }
  })

  // Hashing speed is a benchmark (npm run bench: verify vs openssl), not a timed unit test.
  it('verifies a 64 MiB blob on the hashing workers, reporting every byte once', async () => {
    const big = blob(MediaType.OciLayer, Buffer.alloc(64 * 1024 * 1024, 7))
    const path = join(root, 'big.tar')
    const image = {manifest: app.manifest, blobs: [...app.blobs, big]}
    await writeBundle(path, [{ref: 'docker.io/wandb/local:0.62.2', image}])
    const r = await BundleReader.open(path)
    try {
      let reported = 0
      const result = await r.verifyAllBlobs({onBytes: (n) => (reported += n)})
      const total = image.blobs.reduce((n, b) => n + b.desc.size, 0)
      expect(result).toEqual({blobs: image.blobs.length, bytes: total})
      expect(reported).toBe(total)
      // The same digest as an independent tool over the blob's bytes.
      const bytes = readFileSync(path).subarray(headerOffset(`blobs/sha256/${big.desc.digest.slice(7)}`, readFileSync(path)) + BLOCK).subarray(0, big.desc.size)
      expect(`sha256:${execFileSync('openssl', ['dgst', '-sha256', '-r'], {input: bytes, encoding: 'utf8'}).split(' ')[0]}`).toBe(big.desc.digest)
    } finally {
      await r.close()
    }
  })
})

// ---------------------------------------------------------------------------------------------
// Hostile input. Every archive below is refused at open() with an IntegrityError naming the
// entry, and nothing is ever created next to it (the reader never extracts).

interface RawEntry {
  name: string
  data?: Buffer
  type?: string
  linkname?: string
  /** Claimed size in the header, when it should differ from data.length. */
  size?: number
}

const layoutEntry: RawEntry = {name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"1.0.0"}')}
const emptyIndex: RawEntry = {name: 'index.json', data: Buffer.from('{"schemaVersion":2,"manifests":[]}')}

function tarOf(entries: readonly RawEntry[], end = true): Buffer {
  const parts: Buffer[] = []
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0)
    parts.push(encodeHeaderLoose(e.name, e.size ?? data.length, e.type ?? '0', e.linkname ?? ''), data, Buffer.alloc(paddedSize(data.length) - data.length))
  }
  if (end) parts.push(Buffer.alloc(2 * BLOCK))
  return Buffer.concat(parts)
}

/** encodeHeader refuses long names; hostile tests may need any bytes in the name field. */
function encodeHeaderLoose(name: string, size: number, type: string, linkname: string): Buffer {
  const h = encodeHeader({name: 'x', size, mtime: 0}, type, linkname)
  h.fill(0, 0, 100)
  Buffer.from(name, 'utf8').copy(h, 0, 0, 100)
  setChecksum(h)
  return h
}

function setChecksum(h: Buffer): void {
  h.fill(0x20, 148, 156)
  let sum = 0
  for (let i = 0; i < BLOCK; i++) sum += h[i]!
  h.write(sum.toString(8).padStart(6, '0') + '\u0000 ', 148, 'latin1')
}

function snapshot(d: string): string[] {
  return readdirSync(d, {recursive: true, withFileTypes: false}).map(String).sort()
}

let caseNo = 0
async function expectRefused(bytes: Buffer, pattern: RegExp | string): Promise<IntegrityError | UnsupportedError> {
  const path = join(jail, `case-${++caseNo}.tar`)
  writeFileSync(path, bytes)
  const before = snapshot(root)
  const err = await BundleReader.open(path).then(
    async (r) => {
      await r.close()
      return undefined
    },
    (e: unknown) => e,
  )
  expect(err, `expected ${String(pattern)}`).toBeInstanceOf(Error)
  expect((err as Error).message).toMatch(pattern)
  expect(snapshot(root)).toEqual(before)
  return err as IntegrityError
}

/** Offset of an entry's header in the good bundle. */
function headerOffset(name: string, tar: Buffer = good): number {
  let off = 0
  while (off < tar.length) {
    const entryName = tar.toString('utf8', off, off + 100).replace(/\u0000.*$/s, '')
    if (entryName === name) return off
    const size = parseInt(tar.toString('latin1', off + 124, off + 135), 8)
    off += BLOCK + paddedSize(size)
  }
  throw new Error(`no ${name}`)
}

describe('BundleReader under many parallel reads', () => {
  it('streams 40 blobs at once from one handle without piling listeners on it', async () => {
    const warnings: Error[] = []
    const onWarning = (w: Error): void => {
      warnings.push(w)
    }
    process.on('warning', onWarning)
    const r = await BundleReader.open(goodPath)
    try {
      const layer = app.blobs[1]!
      const got = await Promise.all(Array.from({length: 40}, async () => readAllStream(await r.fetch(layer.desc))))
      for (const b of got) expect(b.equals(layer.bytes)).toBe(true)
      await new Promise((resolve) => setImmediate(resolve))
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([])
    } finally {
      process.off('warning', onWarning)
      await r.close()
    }
  })
})

describe('BundleReader reads through the descriptor it opened', () => {
  it('another bundle renamed over the path changes nothing: size, hashing (on the workers too) and every read are of the file opened', async () => {
    // Same layout byte for byte (same sizes and offsets), other content: a read that re-opened the
    // path would get the replacement's bytes and hash them, or serve them.
    const original = makeImage('orig', 6 * 1024 * 1024)
    const other = makeImage('repl', 6 * 1024 * 1024)
    const path = join(root, 'swapped.tar')
    const replacement = join(root, 'replacement.tar')
    await writeBundle(path, [{ref: 'docker.io/acme/big:1', image: original}])
    await writeBundle(replacement, [{ref: 'docker.io/acme/big:1', image: other}])
    const size = statSync(path).size
    expect(statSync(replacement).size).toBe(size)
    const layer = original.blobs[1]!
    const r = await BundleReader.open(path)
    try {
      r.prepareHashWorkers()
      renameSync(replacement, path)
      expect(readFileSync(path).includes(other.blobs[1]!.bytes.subarray(0, 64))).toBe(true)
      expect(r.size).toBe(size)
      const hashed = await r.verifyAllBlobs()
      expect(hashed).toEqual({blobs: 3, bytes: original.blobs.reduce((n, b) => n + b.desc.size, 0)})
      await expect(r.verifyAllBlobs({workers: 0})).resolves.toEqual(hashed)
      expect((await r.resolve('docker.io/acme/big:1')).digest).toBe(original.manifest.desc.digest)
      expect((await readAllStream(await r.fetch(layer.desc))).equals(layer.bytes)).toBe(true)
      const chunks: Buffer[] = []
      for await (const c of await r.fetchChunks(layer.desc)) chunks.push(Buffer.from(c))
      expect(Buffer.concat(chunks).equals(layer.bytes)).toBe(true)
    } finally {
      await r.close()
      rmSync(path)
    }
  })
})

describe('BundleReader: one hash pass, and the last chunk held until the verification passed', () => {
  const big = makeImage('held', 6 * 1024 * 1024)
  const layer = big.blobs[1]!
  /** Bytes before the last chunk (chunks are 1 MiB). */
  const beforeLast = layer.desc.size - (((layer.desc.size - 1) % (1024 * 1024)) + 1)
  const dir = mkdtempSync(join(tmpdir(), 'airgap-bundle-held-'))
  afterAll(() => rmSync(dir, {recursive: true, force: true}))
  let path: string
  beforeAll(async () => {
    path = join(dir, 'held.tar')
    await writeBundle(path, [{ref: 'docker.io/acme/held:1', image: big}])
  })

  /** Consume fetchChunks(layer) in the background; `handed` counts the bytes handed over so far. */
  function consume(r: BundleReader): {handed: () => number; done: Promise<Buffer>} {
    let handed = 0
    const done = (async () => {
      const parts: Buffer[] = []
      for await (const c of await r.fetchChunks(layer.desc)) {
        handed += c.length
        parts.push(Buffer.from(c))
      }
      return Buffer.concat(parts)
    })()
    done.catch(() => undefined)
    return {handed: () => handed, done}
  }

  const later = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

  /** A promise settled by hand: stands for a verification still running. */
  function gate(): {promise: Promise<void>; resolve: () => void; reject: (err: Error) => void} {
    let resolve!: () => void
    let reject!: (err: Error) => void
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)))
    return {promise, resolve, reject}
  }

  it('a blob verifyAllBlobs() hashed is handed over whole, and a write to the file since then is caught before the last chunk', async () => {
    const copy = join(dir, 'held-written.tar')
    writeFileSync(copy, readFileSync(path))
    const r = await BundleReader.open(copy)
    try {
      await r.verifyAllBlobs()
      expect((await consume(r).done).equals(layer.bytes)).toBe(true)
      await later(20) // past the file system's timestamp tick
      const entry = r.entries().find((e) => e.name.endsWith(layer.desc.digest.slice(7)))!
      const fd = openSync(copy, 'r+')
      writeSync(fd, Buffer.from([layer.bytes[10]! ^ 0xff]), 0, 1, entry.offset + 10)
      closeSync(fd)
      const after = consume(r)
      await expect(after.done).rejects.toThrow(/the bundle file was changed after it was verified/)
      expect(after.handed()).toBe(beforeLast)
    } finally {
      await r.close()
    }
  })

  it('under holdUntilVerified every chunk but the last flows at once; the last waits for the verification, then the bytes are whole', async () => {
    const r = await BundleReader.open(path)
    try {
      const {promise: started, resolve: start} = gate()
      r.holdUntilVerified(started.then(() => r.verifyAllBlobs()), () => true)
      const c = consume(r)
      await later(200)
      expect(c.handed()).toBe(beforeLast)
      start()
      expect((await c.done).equals(layer.bytes)).toBe(true)
    } finally {
      await r.close()
    }
  })

  it('a verification that fails is thrown at the held chunk, and a read started afterwards fails before handing anything over', async () => {
    const r = await BundleReader.open(path)
    try {
      const {promise, reject: fail} = gate()
      r.holdUntilVerified(promise, () => true)
      const c = consume(r)
      await later(100)
      fail(new IntegrityError('bundle held.tar: 1 blob(s) do not match their digest'))
      await expect(c.done).rejects.toThrow(/do not match their digest/)
      expect(c.handed()).toBe(beforeLast)
      const next = consume(r)
      await expect(next.done).rejects.toThrow(/do not match their digest/)
      expect(next.handed()).toBe(0)
    } finally {
      await r.close()
    }
  })

  it('a hold longer than its limit throws HoldExpired; the next read of that blob waits for the verification before its first chunk', async () => {
    const r = await BundleReader.open(path)
    try {
      const {promise: started, resolve: start} = gate()
      r.holdUntilVerified(started.then(() => r.verifyAllBlobs()), () => true, 50)
      const first = consume(r)
      await expect(first.done).rejects.toBeInstanceOf(HoldExpired)
      const again = consume(r)
      await later(100)
      expect(again.handed()).toBe(0)
      start()
      expect((await again.done).equals(layer.bytes)).toBe(true)
    } finally {
      await r.close()
    }
  })

  it('a blob the verification does not cover is hashed as it is read, and still held', async () => {
    const r = await BundleReader.open(path)
    try {
      const {promise: started, resolve: start} = gate()
      r.holdUntilVerified(started, () => false)
      const c = consume(r)
      await later(100)
      expect(c.handed()).toBe(beforeLast)
      start()
      expect((await c.done).equals(layer.bytes)).toBe(true)
    } finally {
      await r.close()
    }
  })
})

describe('BundleReader refuses hostile or damaged bundles', () => {
  it('a flipped byte in a blob: open succeeds, verifyAllBlobs and fetch name the blob', async () => {
    const layer = app.blobs[1]!
    const name = `blobs/sha256/${layer.desc.digest.slice(7)}`
    const bytes = Buffer.from(good)
    bytes[headerOffset(name) + BLOCK + 100]! ^= 0x01
    const path = join(jail, 'flipped.tar')
    writeFileSync(path, bytes)
    const r = await BundleReader.open(path)
    try {
      const err = await r.verifyAllBlobs().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(IntegrityError)
      expect((err as Error).message).toMatch(new RegExp(`1 blob\\(s\\) do not match their digest: ${name} \\(content hashes to sha256:`))
      await expect(readAllStream(await r.fetch(layer.desc))).rejects.toThrow(name)
    } finally {
      await r.close()
    }
  })

  it('a flipped byte in a large blob hashed on worker threads is named, and an intact one passes', async () => {
    const big = makeImage('big', 6 * 1024 * 1024)
    const path = join(root, 'big.tar')
    await writeBundle(path, [{ref: 'docker.io/acme/big:1', image: big}])
    const intact = await BundleReader.open(path)
    try {
      let seen = 0
      const result = await intact.verifyAllBlobs({onBytes: (n) => (seen += n)})
      expect(result.bytes).toBeGreaterThan(4 * 1024 * 1024)
      expect(seen).toBe(result.bytes)
    } finally {
      await intact.close()
    }
    const layer = big.blobs[1]!
    expect(layer.desc.size).toBeGreaterThanOrEqual(4 * 1024 * 1024)
    const name = `blobs/sha256/${layer.desc.digest.slice(7)}`
    const bytes = readFileSync(path)
    bytes[headerOffset(name, bytes) + BLOCK + 3_000_000]! ^= 0x80
    const flipped = join(jail, 'big-flipped.tar')
    writeFileSync(flipped, bytes)
    const r = await BundleReader.open(flipped)
    try {
      const err = await r.verifyAllBlobs().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(IntegrityError)
      expect((err as Error).message).toContain(`${name} (content hashes to sha256:`)
      const single = await r.verifyAllBlobs({workers: 0}).catch((e: unknown) => e)
      expect((single as Error).message).toContain(name)
    } finally {
      await r.close()
    }
    rmSync(flipped)
  })

  it('truncation: inside blob data, and without the end-of-archive marker', async () => {
    const cut = headerOffset('index.json') - 200
    await expectRefused(good.subarray(0, cut), /data run past the end of the file \(truncated\)/)
    await expectRefused(good.subarray(0, good.length - 2 * BLOCK), /end-of-archive marker is missing/)
    await expectRefused(good.subarray(0, good.length - BLOCK), /end-of-archive marker is incomplete/)
  })

  it('an entry appended after the end, and trailing garbage', async () => {
    const extra = tarOf([{name: 'index.json', data: Buffer.from('{}')}])
    await expectRefused(Buffer.concat([good, extra]), /trailing data after the end-of-archive marker at byte \d+: entry "index.json" was appended/)
    await expectRefused(Buffer.concat([good, Buffer.alloc(4 * BLOCK), extra]), /trailing data after the end-of-archive marker at byte \d+: entry "index.json" was appended/)
    const afterOneZero = Buffer.concat([good.subarray(0, good.length - BLOCK), extra])
    await expectRefused(afterOneZero, /single zero block at byte \d+ is followed by more data: entry "index.json" was appended/)
    await expectRefused(Buffer.concat([good, Buffer.from('garbage')]), /trailing data after the end-of-archive marker at byte \d+$/)
    await expectRefused(Buffer.concat([good, Buffer.alloc(80 * 1024)]), /trailing data after the end-of-archive marker/)
    // zero padding (GNU tar's 10 KiB records) is fine
    const padded = join(jail, 'padded.tar')
    writeFileSync(padded, Buffer.concat([good, Buffer.alloc(9 * BLOCK)]))
    await (await BundleReader.open(padded)).close()
    rmSync(padded)
  })

  const nameCases: Array<[string, RegExp]> = [
    ['../x', /refusing entry "\.\.\/x": path contains a "\.\." component/],
    ['blobs/sha256/../../../x', /path contains a "\.\." component/],
    ['/etc/passwd', /refusing entry "\/etc\/passwd": absolute path/],
    ['blobs\\sha256\\x', /name contains a backslash/],
    ['notes.txt', /refusing entry "notes.txt": not part of the bundle layout/],
    ['airgap/extra.json', /refusing entry "airgap\/extra.json": not part of the bundle layout/],
    [`blobs/sha256/${'A'.repeat(64)}`, /not part of the bundle layout/],
    [`blobs/sha256/${'a'.repeat(63)}`, /must be 64 lower-case hex digits/],
    ['blobs//sha256', /empty or "\." component/],
  ]
  for (const [name, pattern] of nameCases) {
    it(`a bad name: ${name}`, async () => {
      await expectRefused(tarOf([layoutEntry, {name, data: Buffer.from('x')}, emptyIndex]), pattern)
    })
  }

  it('a NUL inside the name field (C-string cut) is read as the shorter name and judged on that', async () => {
    await expectRefused(tarOf([layoutEntry, {name: 'index.json\u0000../../evil', data: Buffer.from('x')}, emptyIndex]), /refusing entry "index.json": duplicate name/)
  })

  it('a duplicate name', async () => {
    await expectRefused(tarOf([layoutEntry, emptyIndex, emptyIndex]), /refusing entry "index.json": duplicate name/)
  })

  const typeCases: Array<[string, string, RegExp]> = [
    ['symlink', '2', /refusing entry "blobs\/sha256\/[0-9a-f]+": symbolic link entries are not allowed/],
    ['hardlink', '1', /hard link entries are not allowed/],
    ['character device', '3', /character device entries are not allowed/],
    ['block device', '4', /block device entries are not allowed/],
    ['directory', '5', /directory entries are not allowed/],
    ['FIFO', '6', /FIFO entries are not allowed/],
    ['pax extended header', 'x', /pax extended headers are not allowed/],
    ['pax global header', 'g', /pax extended headers are not allowed/],
    ['GNU long name', 'L', /GNU long name\/link headers are not allowed/],
  ]
  for (const [label, type, pattern] of typeCases) {
    it(`a ${label} entry`, async () => {
      const name = `blobs/sha256/${'a'.repeat(64)}`
      await expectRefused(tarOf([layoutEntry, {name, type, linkname: '/etc/shadow'}, emptyIndex]), pattern)
    })
  }

  it('oversized metadata: index.json over the default 16 MiB cap and over a custom cap', async () => {
    const huge = Buffer.alloc(16 * 1024 * 1024 + 1, 0x20)
    await expectRefused(tarOf([layoutEntry, {name: 'index.json', data: huge}]), /refusing entry "index.json": 16777217 bytes is over the 16777216-byte metadata limit/)
    const path = join(jail, 'cap.tar')
    writeFileSync(path, good)
    await expect(BundleReader.open(path, {maxMetadataBytes: 100})).rejects.toThrow(/refusing entry "index.json": \d+ bytes is over the 100-byte metadata limit/)
    rmSync(path)
  })

  it('a wrong header checksum names the entry', async () => {
    const bytes = Buffer.from(good)
    const off = headerOffset('index.json')
    bytes[off + 140]! ^= 0x01 // inside mtime, checksum not updated
    const err = await expectRefused(bytes, /tar header checksum mismatch for entry "index.json"/)
    expect(err).toBeInstanceOf(IntegrityError)
  })

  it('a missing or unsupported oci-layout, a missing index.json', async () => {
    await expectRefused(tarOf([emptyIndex]), /no oci-layout entry/)
    await expectRefused(tarOf([layoutEntry]), /no index.json entry/)
    const err = await expectRefused(tarOf([{name: 'oci-layout', data: Buffer.from('{"imageLayoutVersion":"2.0.0"}')}, emptyIndex]), /image layout version "2.0.0" is not supported/)
    expect(err).toBeInstanceOf(UnsupportedError)
  })

  it('a path that is not a regular file, or does not exist', async () => {
    await expect(BundleReader.open(jail)).rejects.toThrow(/is not a regular file/)
    await expect(BundleReader.open(join(jail, 'nope.tar'))).rejects.toThrow(NotFoundError)
  })

  it('an index.json that is not an index', async () => {
    await expectRefused(tarOf([layoutEntry, {name: 'index.json', data: Buffer.from('{"schemaVersion":2}')}]), /index\.json/)
  })

  it('never creates a file outside or inside the jail', () => {
    expect(readdirSync(root).sort()).toEqual(['big.tar', 'good.tar', 'jail', 'missing-layer.tar'].filter((f) => statSync(join(root, f), {throwIfNoEntry: false})))
    expect(statSync(join(root, '..', 'x'), {throwIfNoEntry: false})).toBeUndefined()
  })
})
