import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {gzipSync} from 'node:zlib'
import {afterAll, beforeEach, describe, expect, it} from 'vitest'
import {IntegrityError, UsageError} from '../errors.js'
import {MediaType} from '../oci/types.js'
import type {Descriptor} from '../oci/types.js'
import {buildIndexJson} from './layout.js'
import {BLOCK, encodeHeader, paddedSize} from './tar.js'
import {planBundleSize} from './archive-plan.js'
import {BundleWriter} from './writer.js'

// --- a tiny deterministic image generator (real gzip'd tar layers, real config and manifest) ---

interface Blob {
  desc: Descriptor
  bytes: Buffer
}

function blob(mediaType: string, bytes: Buffer): Blob {
  return {desc: {mediaType, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length}, bytes}
}

function layerTar(name: string, content: string): Buffer {
  const data = Buffer.from(content)
  return Buffer.concat([encodeHeader({name, size: data.length, mtime: 0}), data, Buffer.alloc(paddedSize(data.length) - data.length), Buffer.alloc(2 * BLOCK)])
}

/** An OCI image: config + `layers` layers + manifest. Returns the manifest and every blob. */
function makeImage(seed: string, layers = 2): {manifest: Blob; blobs: Blob[]} {
  const tars = Array.from({length: layers}, (_, i) => layerTar(`${seed}-${i}.txt`, `${seed} layer ${i}\n`.repeat(50 * (i + 1))))
  const layerBlobs = tars.map((t) => blob(MediaType.OciLayerGzip, gzipSync(t)))
  const config = blob(
    MediaType.OciConfig,
    Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        config: {Env: [`SEED=${seed}`]},
        rootfs: {type: 'layers', diff_ids: tars.map((t) => `sha256:${createHash('sha256').update(t).digest('hex')}`)},
      }),
    ),
  )
  const manifest = blob(
    MediaType.OciManifest,
    Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciManifest, config: config.desc, layers: layerBlobs.map((l) => l.desc)})),
  )
  return {manifest, blobs: [config, ...layerBlobs, manifest]}
}

const dir = mkdtempSync(join(tmpdir(), 'airgap-bundle-writer-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

const app = makeImage('app', 3)
const worker = makeImage('worker', 2)
const allBlobs = [...app.blobs, ...worker.blobs]
const index = buildIndexJson([
  {ref: 'docker.io/wandb/local:0.62.2', desc: app.manifest.desc},
  {ref: 'quay.io/acme/worker:1.0', desc: worker.manifest.desc},
])
const lock = Buffer.from(JSON.stringify({apiVersion: 'airgap.dev/v1', index: `sha256:${createHash('sha256').update(index).digest('hex')}`}))
const spec = Buffer.from('apiVersion: airgap.dev/v1\nkind: ReleaseSpec\n')
const signature = Buffer.from('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json"}')
const metadata = {indexJson: index, files: {'airgap/lock.json': lock, 'airgap/spec.yaml': spec, 'airgap/signature.sigstore.json': signature}}

let n = 0
let out: string
beforeEach(() => {
  out = join(dir, `b${++n}.tar`)
})

async function pushAll(w: BundleWriter, blobs: readonly Blob[], concurrent = false): Promise<void> {
  if (concurrent) await Promise.all(blobs.map((b) => w.push(b.desc, Readable.from([b.bytes]))))
  else for (const b of blobs) await w.push(b.desc, Readable.from([b.bytes]))
}

/** Split a buffer into small chunks so that pushes interleave. */
function chunked(bytes: Buffer, size = 97): Readable {
  const parts: Buffer[] = []
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size))
  return Readable.from(parts)
}

async function writeBundle(path: string, order: readonly Blob[], epoch = 1_700_000_000): Promise<Buffer> {
  const w = await BundleWriter.open({out: path, epoch, blobs: allBlobs.map((b) => b.desc)})
  await Promise.all(order.map((b) => w.push(b.desc, chunked(b.bytes))))
  await w.finish(metadata)
  return readFileSync(path)
}

describe('BundleWriter', () => {
  it('writes a ustar archive in the planned order that tar lists, with no directory entries', async () => {
    await writeBundle(out, allBlobs)
    const listing = execFileSync('tar', ['--utc', '--numeric-owner', '-tvf', out], {encoding: 'utf8'}).trim().split('\n')
    const names = listing.map((l) => l.split(/\s+/).at(-1))
    const blobNames = [...new Set(allBlobs.map((b) => b.desc.digest))].sort().map((d) => `blobs/sha256/${d.slice(7)}`)
    expect(names).toEqual(['oci-layout', ...blobNames, 'index.json', 'airgap/lock.json', 'airgap/spec.yaml', 'airgap/signature.sigstore.json'])
    for (const line of listing) expect(line).toMatch(/^-rw-r--r-- 0\/0 .* 2023-11-14 22:13 /)
    expect(execFileSync('tar', ['-xOf', out, 'airgap/lock.json'])).toEqual(lock)
    expect(existsSync(`${out}.partial`)).toBe(false)
    expect(existsSync(`${out}.partial.journal`)).toBe(false)
  })

  it('planBundleSize predicts the exact file size', async () => {
    const buf = await writeBundle(out, allBlobs)
    const predicted = planBundleSize(allBlobs.map((b) => b.desc), [index.length, lock.length, spec.length, signature.length])
    expect(buf.length).toBe(predicted)
  })

  it('is read by skopeo (oci-archive) with identical digests', async () => {
    await writeBundle(out, allBlobs)
    const dest = join(dir, `skopeo-${n}`)
    for (const [ref, image] of [['docker.io/wandb/local:0.62.2', app], ['quay.io/acme/worker:1.0', worker]] as const) {
      execFileSync('skopeo', ['copy', '--quiet', `oci-archive:${out}:${ref}`, `oci:${dest}:${ref.split(':').at(-1)}`], {stdio: 'pipe'})
      const destIndex = JSON.parse(readFileSync(join(dest, 'index.json'), 'utf8')) as {manifests: Descriptor[]}
      expect(destIndex.manifests.map((m) => m.digest)).toContain(image.manifest.desc.digest)
      for (const b of image.blobs) expect(readFileSync(join(dest, 'blobs/sha256', b.desc.digest.slice(7)))).toEqual(b.bytes)
    }
    const raw = execFileSync('skopeo', ['inspect', '--raw', `oci-archive:${out}:quay.io/acme/worker:1.0`])
    expect(raw).toEqual(worker.manifest.bytes)
  })

  it('produces byte-identical output whatever order the pushes finish in', async () => {
    const a = await writeBundle(out, allBlobs)
    const b = await writeBundle(join(dir, 'reversed.tar'), [...allBlobs].reverse())
    expect(b.equals(a)).toBe(true)
    const c = await writeBundle(join(dir, 'other-epoch.tar'), allBlobs, 0)
    expect(c.equals(a)).toBe(false)
  })

  it('resumes after an abandoned write: only the missing blobs are needed, output identical', async () => {
    const reference = await writeBundle(join(dir, 'reference.tar'), allBlobs)
    const descs = allBlobs.map((b) => b.desc)
    const first = await BundleWriter.open({out, epoch: 1_700_000_000, blobs: descs})
    const half = allBlobs.slice(0, 4)
    await pushAll(first, half, true)
    await first.close() // abandoned without finish
    expect(existsSync(out)).toBe(false)

    const second = await BundleWriter.open({out, epoch: 1_700_000_000, blobs: descs})
    const missing = second.missing().map((d) => d.digest).sort()
    expect(missing).toEqual(allBlobs.slice(4).map((b) => b.desc.digest).sort())
    for (const b of half) expect(await second.exists(b.desc)).toBe(true)
    await pushAll(second, allBlobs.slice(4))
    await second.finish(metadata)
    expect(readFileSync(out).equals(reference)).toBe(true)
  })

  it('never trusts bytes that were written but not journaled as complete', async () => {
    const descs = allBlobs.map((b) => b.desc)
    const first = await BundleWriter.open({out, epoch: 0, blobs: descs})
    await pushAll(first, allBlobs.slice(0, 3))
    await first.close()
    const journal = readFileSync(`${out}.partial.journal`, 'utf8').split('\n')
    writeFileSync(`${out}.partial.journal`, `${journal.slice(0, 2).join('\n')}\n{"done":"sha256:tor`) // 1 blob journaled, torn line
    const second = await BundleWriter.open({out, epoch: 0, blobs: descs})
    expect(second.missing()).toHaveLength(descs.length - 1)
    await second.close()
  })

  it('keeps resuming correctly after a torn journal line (the journal is rewritten on open)', async () => {
    const descs = allBlobs.map((b) => b.desc)
    const first = await BundleWriter.open({out, epoch: 0, blobs: descs})
    await pushAll(first, allBlobs.slice(0, 2))
    await first.close()
    writeFileSync(`${out}.partial.journal`, readFileSync(`${out}.partial.journal`, 'utf8') + '{"done":"sha')
    const second = await BundleWriter.open({out, epoch: 0, blobs: descs})
    await pushAll(second, allBlobs.slice(2, 5))
    await second.close()
    const third = await BundleWriter.open({out, epoch: 0, blobs: descs})
    expect(third.missing()).toHaveLength(descs.length - 5)
    await third.close()
  })

  it('a resumed writer hashes journaled blobs again and drops one whose bytes were damaged on disk', async () => {
    const descs = allBlobs.map((b) => b.desc)
    const first = await BundleWriter.open({out, epoch: 0, blobs: descs})
    await pushAll(first, allBlobs)
    await first.close()
    const sorted = [...descs].sort((a, b) => (a.digest < b.digest ? -1 : 1))
    const partial = readFileSync(`${out}.partial`)
    partial[3 * BLOCK + 3]! ^= 0xff // data of the first blob: after oci-layout (2 blocks) and its own header
    writeFileSync(`${out}.partial`, partial)
    const careful = await BundleWriter.open({out, epoch: 0, blobs: descs})
    expect(careful.missing().map((d) => d.digest)).toEqual([sorted[0]!.digest])
    await careful.close()
  })

  it('an aborted push is not recorded and can be retried', async () => {
    const b = app.blobs[1]!
    const w = await BundleWriter.open({out, epoch: 0, blobs: app.blobs.map((x) => x.desc)})
    const ac = new AbortController()
    const slow = new Readable({read() {}})
    slow.push(b.bytes.subarray(0, 10))
    const pending = w.push(b.desc, slow, ac.signal)
    setTimeout(() => ac.abort(), 20)
    await expect(pending).rejects.toThrow(/abort/i)
    expect(await w.exists(b.desc)).toBe(false)
    await w.push(b.desc, Readable.from([b.bytes]))
    expect(await w.exists(b.desc)).toBe(true)
    await w.close()
  })

  it('stores and serves an empty blob', async () => {
    const empty = blob(MediaType.OciLayer, Buffer.alloc(0))
    const w = await BundleWriter.open({out, epoch: 0, blobs: [empty.desc]})
    await w.push(empty.desc, Readable.from([]))
    expect(await w.exists(empty.desc)).toBe(true)
    const parts: Buffer[] = []
    for await (const c of await w.fetch(empty.desc)) parts.push(c as Buffer)
    expect(Buffer.concat(parts).length).toBe(0)
    await w.finish({indexJson: Buffer.from('{"schemaVersion":2,"manifests":[]}'), files: {'airgap/lock.json': lock}})
    expect(execFileSync('tar', ['-tvf', out], {encoding: 'utf8'})).toMatch(new RegExp(` 0 [^\\n]* blobs/sha256/${empty.desc.digest.slice(7)}`))
  })

  it('starts over when the plan differs', async () => {
    const first = await BundleWriter.open({out, epoch: 0, blobs: app.blobs.map((b) => b.desc)})
    await pushAll(first, app.blobs)
    await first.close()
    const second = await BundleWriter.open({out, epoch: 0, blobs: allBlobs.map((b) => b.desc)})
    expect(second.missing()).toHaveLength(allBlobs.length)
    await second.close()
  })

  it('refuses to finish with missing blobs, lists them, and leaves no final file', async () => {
    const w = await BundleWriter.open({out, epoch: 0, blobs: allBlobs.map((b) => b.desc)})
    await pushAll(w, allBlobs.slice(1))
    const err = await w.finish(metadata).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as Error).message).toContain(`1 planned blob(s) missing: ${allBlobs[0]!.desc.digest}`)
    expect(existsSync(out)).toBe(false)
    await w.close()
  })

  it('verifies pushes: wrong bytes fail, are not recorded, and can be pushed again correctly', async () => {
    const target = app.blobs[1]!
    const w = await BundleWriter.open({out, epoch: 0, blobs: app.blobs.map((b) => b.desc)})
    const tampered = Buffer.from(target.bytes)
    tampered[10] = tampered[10]! ^ 0xff
    await expect(w.push(target.desc, Readable.from([tampered]))).rejects.toThrow(/does not match its digest/)
    await expect(w.push(target.desc, Readable.from([target.bytes, Buffer.from('x')]))).rejects.toThrow(/larger than its descriptor/)
    expect(await w.exists(target.desc)).toBe(false)
    await w.push(target.desc, Readable.from([target.bytes]))
    expect(await w.exists(target.desc)).toBe(true)
    const back: Buffer[] = []
    for await (const c of await w.fetch(target.desc)) back.push(c as Buffer)
    expect(Buffer.concat(back)).toEqual(target.bytes)
    await w.close()
  })

  it('refuses an unplanned digest and a planned digest with another size', async () => {
    const w = await BundleWriter.open({out, epoch: 0, blobs: app.blobs.map((b) => b.desc)})
    const stranger = worker.blobs[0]!
    await expect(w.push(stranger.desc, Readable.from([stranger.bytes]))).rejects.toThrow(UsageError)
    await expect(w.push({...app.blobs[0]!.desc, size: 1}, Readable.from(['x']))).rejects.toThrow(/planned with size/)
    await w.close()
  })

  it('writes a blob pushed twice at once only once and treats the second as success', async () => {
    const w = await BundleWriter.open({out, epoch: 0, blobs: app.blobs.map((b) => b.desc)})
    const b = app.blobs[1]!
    await Promise.all([w.push(b.desc, chunked(b.bytes)), w.push(b.desc, chunked(b.bytes))])
    const journal = readFileSync(`${out}.partial.journal`, 'utf8').trim().split('\n')
    expect(journal.filter((l) => l.includes(b.desc.digest))).toHaveLength(1)
    await w.close()
  })

  it('accepts a sign callback that receives the lock bytes', async () => {
    const w = await BundleWriter.open({out, epoch: 0, blobs: allBlobs.map((b) => b.desc)})
    await pushAll(w, allBlobs)
    let signed: Buffer | undefined
    await w.finish({indexJson: index, files: {'airgap/lock.json': lock}, sign: async (l) => ((signed = l), Buffer.from('sig'))})
    expect(signed).toEqual(lock)
    expect(execFileSync('tar', ['-xOf', out, 'airgap/signature.sigstore.json'], {encoding: 'utf8'})).toBe('sig')
    expect(execFileSync('tar', ['-tf', out], {encoding: 'utf8'})).not.toContain('spec.yaml')
  })

  it('refuses an index.json naming a manifest that is not stored', async () => {
    const w = await BundleWriter.open({out, epoch: 0, blobs: app.blobs.map((b) => b.desc)})
    await pushAll(w, app.blobs)
    await expect(w.finish(metadata)).rejects.toThrow(new RegExp(`index.json names ${worker.manifest.desc.digest}`))
    expect(readdirSync(dir)).not.toContain(`b${n}.tar`)
    await w.close()
  })
})
