/**
 * Hostile bundles, generated at run time from one valid signed bundle (binary cases are never
 * committed; test/corpus/README.md lists them): tar tricks (traversal, absolute paths, links,
 * devices, FIFOs, duplicates, huge headers, truncation), content tampering (digests, sizes,
 * missing/extra blobs), signature attacks and unknown format versions. Each goes through the
 * spawned `airgap verify --key`: exactly one `Error:` line naming the entry/field, the documented
 * exit code, and nothing written outside the working folder (the reader never extracts).
 */
import {generateKeyPairSync, type KeyObject} from 'node:crypto'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {extract, pack, type Header} from 'tar-stream'

/** The header fields a corpus entry sets (tar-stream fills in the rest). */
type Headers = Partial<Header> & {name: string; pax?: Record<string, string>}
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {writeBundle} from '../../src/usecases/write-bundle.js'
import {MemoryTarget} from '../../src/content/memory.js'
import {digestOf} from '../../src/oci/digest.js'
import {exportPublicKeyPem, serializeBundle, signBlob} from '../../src/signing/index.js'
import {loadInto, makeImage, makeIndex} from '../support/images.js'
import {type CorpusCase, cleanup, recordCase, runCase, sandbox, type Sandbox} from './corpus.js'

export interface TarEntry {
  header: Headers
  data: Buffer
}

/** Every entry of a tar archive (headers and data). */
export async function readTar(bytes: Buffer): Promise<TarEntry[]> {
  const out: TarEntry[] = []
  const ex = extract()
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = []
      stream.on('data', (c: unknown) => void chunks.push(c as Buffer))
      stream.on('end', () => {
        out.push({header: header as Headers, data: Buffer.concat(chunks)})
        next()
      })
    })
    ex.on('finish', resolve)
    ex.on('error', reject)
  })
  Readable.from([bytes]).pipe(ex)
  await done
  return out
}

/** A tar archive of `entries` (tar-stream: ustar, pax for long names or `pax` headers). */
export async function writeTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const p = pack()
  const chunks: Buffer[] = []
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c: unknown) => void chunks.push(c as Buffer))
    p.on('end', resolve)
    p.on('error', reject)
  })
  for (const e of entries) {
    await new Promise<void>((resolve, reject) => {
      const type = e.header.type ?? 'file'
      const header = {...e.header, size: type === 'file' ? e.data.length : 0} as Header
      if (type === 'file') p.entry(header, e.data, (err) => (err ? reject(err) : resolve()))
      else p.entry(header, (err) => (err ? reject(err) : resolve()))
    })
  }
  p.finalize()
  await done
  return Buffer.concat(chunks)
}

interface Ctx {
  entries: TarEntry[]
  bytes: Buffer
  privateKey: KeyObject
  publicKey: KeyObject
}

const LOCK = 'airgap/lock.json'
const SIG = 'airgap/signature.sigstore.json'

function clone(entries: readonly TarEntry[]): TarEntry[] {
  return entries.map((e) => ({header: {...e.header}, data: Buffer.from(e.data)}))
}
function find(entries: TarEntry[], test: (name: string) => boolean): TarEntry {
  const e = entries.find((x) => test(x.header.name))
  if (!e) throw new Error('corpus builder: entry not found')
  return e
}
const isLayer = (ctx: Ctx) => (name: string) => {
  if (!name.startsWith('blobs/sha256/')) return false
  const e = ctx.entries.find((x) => x.header.name === name)!
  return e.data.length > 10_000
}
/** The bundle with lock.json replaced and signed again with the real key (isolates the lock check). */
function resigned(ctx: Ctx, entries: TarEntry[], edit: (lock: Record<string, unknown>) => void): TarEntry[] {
  const lockEntry = find(entries, (n) => n === LOCK)
  const lock = JSON.parse(lockEntry.data.toString('utf8')) as Record<string, unknown>
  edit(lock)
  lockEntry.data = Buffer.from(`${JSON.stringify(lock, null, 2)}\n`)
  find(entries, (n) => n === SIG).data = Buffer.from(serializeBundle(signBlob(lockEntry.data, ctx.privateKey, ctx.publicKey)))
  return entries
}

interface BundleCase extends CorpusCase {
  build(ctx: Ctx): Promise<Buffer> | Buffer
  /** verify without --key. */
  noKey?: boolean
}

const tar = (f: (e: TarEntry[], ctx: Ctx) => TarEntry[] | void) => async (ctx: Ctx) => {
  const e = clone(ctx.entries)
  return writeTar(f(e, ctx) ?? e)
}
const refused = (name: string) => new RegExp(`refusing entry "${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}"`)

const CASES: BundleCase[] = [
  {group: 'bundle', name: 'tar path traversal ../', exit: 5, error: refused('../../evil.sh'), build: tar((e) => void e.push({header: {name: '../../evil.sh', mode: 0o755}, data: Buffer.from('#!/bin/sh\necho pwned\n')}))},
  {group: 'bundle', name: 'traversal inside blobs/', exit: 5, error: refused('blobs/sha256/../../../evil'), build: tar((e) => void e.push({header: {name: 'blobs/sha256/../../../evil'}, data: Buffer.from('x')}))},
  {group: 'bundle', name: 'absolute path', exit: 5, error: refused('/tmp/airgap-evil'), build: tar((e) => void e.push({header: {name: '/tmp/airgap-evil'}, data: Buffer.from('x')}))},
  {group: 'bundle', name: 'symlink as a blob', exit: 5, error: /refusing entry "blobs\/sha256\/[0-9a-f]{64}"/, build: tar((e) => void e.push({header: {name: `blobs/sha256/${'ab'.repeat(32)}`, type: 'symlink', linkname: '/etc/passwd'}, data: Buffer.alloc(0)}))},
  {group: 'bundle', name: 'symlink replacing index.json', exit: 5, error: refused('index.json'), build: tar((e) => {
    const i = e.findIndex((x) => x.header.name === 'index.json')
    e[i] = {header: {name: 'index.json', type: 'symlink', linkname: '/etc/hostname'}, data: Buffer.alloc(0)}
  })},
  {group: 'bundle', name: 'hard link to /etc/shadow', exit: 5, error: refused('airgap/spec.yaml'), build: tar((e) => {
    const i = e.findIndex((x) => x.header.name === 'airgap/spec.yaml')
    e[i] = {header: {name: 'airgap/spec.yaml', type: 'link', linkname: '/etc/shadow'}, data: Buffer.alloc(0)}
  })},
  {group: 'bundle', name: 'character device', exit: 5, error: refused('blobs/sha256/dev-null'), build: tar((e) => void e.push({header: {name: 'blobs/sha256/dev-null', type: 'character-device', devmajor: 1, devminor: 3}, data: Buffer.alloc(0)}))},
  {group: 'bundle', name: 'block device', exit: 5, error: refused('sda'), build: tar((e) => void e.push({header: {name: 'sda', type: 'block-device', devmajor: 8, devminor: 0}, data: Buffer.alloc(0)}))},
  {group: 'bundle', name: 'FIFO', exit: 5, error: refused('airgap/fifo'), build: tar((e) => void e.push({header: {name: 'airgap/fifo', type: 'fifo'}, data: Buffer.alloc(0)}))},
  {group: 'bundle', name: 'directory entry', exit: 5, error: refused('blobs/'), build: tar((e) => void e.unshift({header: {name: 'blobs/', type: 'directory'}, data: Buffer.alloc(0)}))},
  {group: 'bundle', name: 'duplicate index.json (second one wins in GNU tar)', exit: 5, error: /index\.json/, build: tar((e) => void e.push({header: {name: 'index.json'}, data: Buffer.from('{"schemaVersion":2,"manifests":[]}')}))},
  {group: 'bundle', name: 'duplicate blob entry with other content', exit: 5, error: /blobs\/sha256\/[0-9a-f]{64}/, build: tar((e, ctx) => {
    const layer = find(e, isLayer(ctx))
    e.push({header: {name: layer.header.name}, data: Buffer.alloc(layer.data.length, 0x41)})
  })},
  {group: 'bundle', name: 'huge pax header (1 MiB)', exit: 5, error: /pax|header|refusing/, build: tar((e) => void e.unshift({header: {name: 'oci-layout', pax: {comment: 'A'.repeat(1024 * 1024)}}, data: Buffer.from('{"imageLayoutVersion":"1.0.0"}')}))},
  {group: 'bundle', name: 'pax path override to ../', exit: 5, error: /evil|refusing|pax/, build: tar((e) => void e.push({header: {name: 'airgap/x', pax: {path: '../../pax-evil'}}, data: Buffer.from('x')}))},
  {group: 'bundle', name: 'truncated in the middle of a blob', exit: 5, error: /truncated|ends early|end-of-archive/, build: (ctx) => ctx.bytes.subarray(0, Math.floor(ctx.bytes.length / 2))},
  {group: 'bundle', name: 'truncated inside a header', exit: 5, error: /truncated|header/, build: (ctx) => ctx.bytes.subarray(0, 700)},
  {group: 'bundle', name: 'end-of-archive marker cut', exit: 5, error: /end-of-archive/, build: (ctx) => ctx.bytes.subarray(0, ctx.bytes.length - 1024)},
  {group: 'bundle', name: 'empty file', exit: 5, error: /truncated|oci-layout|empty|end-of-archive/, build: () => Buffer.alloc(0)},
  {group: 'bundle', name: 'not a tar (gzip bytes)', exit: 5, error: /ustar|checksum|header/, build: async (ctx) => (await import('node:zlib')).gzipSync(ctx.bytes.subarray(0, 4096))},
  {group: 'bundle', name: 'trailing data after the archive', exit: 5, error: /trailing data/, build: (ctx) => Buffer.concat([ctx.bytes, Buffer.alloc(512, 0x41)])},
  {group: 'bundle', name: 'header checksum broken', exit: 5, error: /checksum mismatch/, build: (ctx) => {
    const b = Buffer.from(ctx.bytes)
    b[3] = b[3]! ^ 0x01
    return b
  }},
  {group: 'bundle', name: 'blob content changed (digest mismatch)', exit: 5, error: /do not match their digest.*sha256:[0-9a-f]{64}/, build: tar((e, ctx) => {
    const layer = find(e, isLayer(ctx))
    layer.data[100] = layer.data[100]! ^ 0xff
  })},
  {group: 'bundle', name: 'blob shorter than its descriptor', exit: 5, error: /holds 11 blobs \(\d+ bytes\) but airgap\/lock\.json lists 11/, build: tar((e, ctx) => {
    const layer = find(e, isLayer(ctx))
    layer.data = layer.data.subarray(0, layer.data.length - 1)
  })},
  {group: 'bundle', name: 'blob longer than its descriptor', exit: 5, error: /holds 11 blobs \(\d+ bytes\) but airgap\/lock\.json lists 11/, build: tar((e, ctx) => {
    const layer = find(e, isLayer(ctx))
    layer.data = Buffer.concat([layer.data, Buffer.from('extra')])
  })},
  {group: 'bundle', name: 'missing blob', exit: 5, error: /holds 10 blobs .* lists 11/, build: tar((e, ctx) => e.filter((x) => x !== find(e, isLayer(ctx))))},
  {group: 'bundle', name: 'missing blob, lock counts re-signed to match', exit: 5, error: /content graph.*sha256:[0-9a-f]{64}/, build: tar((e, ctx) => {
    const layer = find(e, isLayer(ctx))
    const rest = e.filter((x) => x !== layer)
    return resigned(ctx, rest, (l) => {
      const b = l.blobs as {count: number; bytes: number}
      l.blobs = {count: b.count - 1, bytes: b.bytes - layer.data.length}
    })
  })},
  {group: 'bundle', name: 'blob shorter, lock bytes re-signed to match', exit: 5, error: /sha256:[0-9a-f]{64}/, build: tar((e, ctx) => {
    const layer = find(e, isLayer(ctx))
    layer.data = layer.data.subarray(0, layer.data.length - 1)
    return resigned(ctx, e, (l) => {
      const b = l.blobs as {count: number; bytes: number}
      l.blobs = {count: b.count, bytes: b.bytes - 1}
    })
  })},
  {group: 'bundle', name: 'extra blob not in the lock', exit: 5, error: /blob|lock/, build: tar((e) => {
    const data = Buffer.from('smuggled content')
    e.splice(1, 0, {header: {name: `blobs/sha256/${digestOf(data).slice(7)}`}, data})
  })},
  {group: 'bundle', name: 'extra blob whose name is not its digest', exit: 5, error: /sha256:|digest/, build: tar((e) => void e.splice(1, 0, {header: {name: `blobs/sha256/${'0'.repeat(64)}`}, data: Buffer.from('smuggled')}))},
  {group: 'bundle', name: 'unknown file under airgap/', exit: 5, error: refused('airgap/run-me.sh'), build: tar((e) => void e.push({header: {name: 'airgap/run-me.sh', mode: 0o755}, data: Buffer.from('#!/bin/sh\n')}))},
  {group: 'bundle', name: 'missing signature (verify --key)', exit: 5, error: /signature/, build: tar((e) => e.filter((x) => x.header.name !== SIG))},
  {group: 'bundle', name: 'signature bytes altered', exit: 5, error: /signature/, build: tar((e) => {
    const sig = find(e, (n) => n === SIG)
    const doc = JSON.parse(sig.data.toString()) as {messageSignature: {signature: string}}
    const raw = Buffer.from(doc.messageSignature.signature, 'base64')
    raw[raw.length - 3] = raw[raw.length - 3]! ^ 0x01
    doc.messageSignature.signature = raw.toString('base64')
    sig.data = Buffer.from(JSON.stringify(doc))
  })},
  {group: 'bundle', name: 'signature not JSON', exit: 5, error: /signature/, build: tar((e) => void (find(e, (n) => n === SIG).data = Buffer.from('not json')))},
  {group: 'bundle', name: 'signed by another key', exit: 5, error: /signature|key/, build: tar((e) => {
    const other = generateKeyPairSync('ec', {namedCurve: 'P-256'})
    find(e, (n) => n === SIG).data = Buffer.from(serializeBundle(signBlob(find(e, (n) => n === LOCK).data, other.privateKey, other.publicKey)))
  })},
  {group: 'bundle', name: 'lock edited, old signature kept', exit: 5, error: /signature/, build: tar((e) => {
    const lock = find(e, (n) => n === LOCK)
    lock.data = Buffer.from(lock.data.toString().replace('"createdBy": "', '"createdBy": "evil-'))
  })},
  {group: 'bundle', name: 'lock formatVersion 99 (re-signed)', exit: 1, error: /formatVersion|format version|99/, build: tar((e, ctx) => resigned(ctx, e, (l) => (l.formatVersion = 99)))},
  {group: 'bundle', name: 'lock with unknown fields (re-signed)', exit: 5, error: /lock/, build: tar((e, ctx) => resigned(ctx, e, (l) => (l.evil = {run: 'rm -rf /'})))},
  {group: 'bundle', name: 'lock not JSON (re-signed)', exit: 5, error: /lock\.json/, build: tar((e, ctx) => {
    const lock = find(e, (n) => n === LOCK)
    lock.data = Buffer.from('{"apiVersion": ')
    find(e, (n) => n === SIG).data = Buffer.from(serializeBundle(signBlob(lock.data, ctx.privateKey, ctx.publicKey)))
  })},
  {group: 'bundle', name: 'index.json with an unknown image added', exit: 5, error: /index\.json|lock/, build: tar((e) => {
    const idx = find(e, (n) => n === 'index.json')
    const doc = JSON.parse(idx.data.toString()) as {manifests: unknown[]; evil?: unknown}
    doc.manifests.push({mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'1'.repeat(64)}`, size: 1, annotations: {'org.opencontainers.image.ref.name': 'evil.example.com/x:1'}})
    doc.evil = true
    idx.data = Buffer.from(JSON.stringify(doc))
  })},
  {group: 'bundle', name: 'index.json names one image twice, the first entry another image (index re-pinned, re-signed)', exit: 5, error: /index\.json names registry\.example\.com\/corpus\/app:1\.0 twice/, build: tar((e, ctx) => {
    // Readers that take the first entry of a name would serve the multi image as app:1.0, while a
    // check that keeps the last entry per name sees nothing wrong.
    const idx = find(e, (n) => n === 'index.json')
    const doc = JSON.parse(idx.data.toString()) as {manifests: Array<{digest: string; annotations?: Record<string, string>}>}
    const other = doc.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'registry.example.com/corpus/multi:v1')!
    const name = 'registry.example.com/corpus/app:1.0'
    doc.manifests.unshift({...other, annotations: {...other.annotations, 'org.opencontainers.image.ref.name': name, 'io.containerd.image.name': name}})
    idx.data = Buffer.from(JSON.stringify(doc))
    return resigned(ctx, e, (l) => (l.index = {digest: digestOf(idx.data), size: idx.data.length}))
  })},
  {group: 'bundle', name: 'index.json not JSON', exit: 5, error: /index\.json/, build: tar((e) => void (find(e, (n) => n === 'index.json').data = Buffer.from('<html>')))},
  {group: 'bundle', name: 'oci-layout version 9.9.9', exit: 1, error: /layout version/, build: tar((e) => void (find(e, (n) => n === 'oci-layout').data = Buffer.from('{"imageLayoutVersion":"9.9.9"}')))},
  {group: 'bundle', name: 'no oci-layout entry', exit: 5, error: /oci-layout/, build: tar((e) => e.filter((x) => x.header.name !== 'oci-layout'))},
  {group: 'bundle', name: 'oversized metadata entry (17 MiB spec.yaml)', exit: 5, error: /spec\.yaml|bytes/, build: tar((e) => void (find(e, (n) => n === 'airgap/spec.yaml').data = Buffer.alloc(17 * 1024 * 1024, 0x20)))},
  {group: 'bundle', name: 'long GNU name entry', exit: 5, error: /refusing|name|header|ustar/, build: async (ctx) => {
    // a GNU "././@LongLink" header: tar-stream writes pax, so build the GNU form by hand
    const {encodeHeader} = await import('../../src/bundle/tar.js')
    const longName = `${'a/'.repeat(200)}evil`
    const data = Buffer.from(`${longName}\0`)
    const head = encodeHeader({name: '././@LongLink', size: data.length, mtime: 0}, 'L')
    const pad = Buffer.alloc((512 - (data.length % 512)) % 512)
    return Buffer.concat([head, data, pad, ctx.bytes])
  }},
]

describe.concurrent('hostile bundles (spawned airgap verify --key)', () => {
  let box: Sandbox
  let ctx: Ctx
  let pubFile: string

  beforeAll(async () => {
    box = await sandbox('corpus-bundles')
    const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'})
    pubFile = join(box.root, 'cosign.pub')
    await writeFile(pubFile, exportPublicKeyPem(publicKey))
    const src = new MemoryTarget()
    const multi = await makeIndex({seed: 'corpus-multi', sharedLayers: 1, layers: 1, fileSize: 16 * 1024})
    const app = await makeImage({seed: 'corpus-app', layers: 1, fileSize: 16 * 1024})
    await loadInto(src, multi, 'v1')
    await loadInto(src, app, '1.0')
    const out = join(box.root, 'valid.tar')
    await writeBundle({
      images: [
        {source: src, ref: 'v1', name: 'registry.example.com/corpus/multi:v1'},
        {source: src, ref: '1.0', name: 'registry.example.com/corpus/app:1.0'},
      ],
      out,
      epoch: 0,
      signKey: {privateKey, publicKey},
      specBytes: Buffer.from('apiVersion: airgap.dev/v1alpha1\nkind: ReleaseSpec\nmetadata: {name: corpus}\nspec: {}\n'),
    })
    const bytes = await readFile(out)
    ctx = {bytes, entries: await readTar(bytes), privateKey, publicKey}
  })
  afterAll(async () => cleanup(box.root))

  it('control: the valid bundle, and the same entries repacked, verify', async () => {
    await writeFile(join(box.work, 'repacked.tar'), await writeTar(ctx.entries))
    for (const f of [join(box.root, 'valid.tar'), join(box.work, 'repacked.tar')]) {
      const r = await runCase(box, ['verify', f, '--key', pubFile])
      expect(r.result.code, r.result.stderr).toBe(0)
    }
  })

  for (const c of CASES) {
    it(`${c.name}: exit ${c.exit}, one error line matching ${c.error}`, async ({expect}) => {
      const file = join(box.work, `${c.name.replace(/\W+/g, '-')}.tar`)
      await writeFile(file, await c.build(ctx))
      const r = await runCase(box, ['verify', file, ...(c.noKey ? [] : ['--key', pubFile])])
      expect(r.result.code, r.result.stderr).toBe(c.exit)
      expect(r.lines, r.result.stderr).toHaveLength(1)
      expect(r.lines[0]).toMatch(/^Error: /)
      expect(r.lines[0]).toMatch(c.error)
      expect(r.escaped).toEqual([])
      await recordCase(c, r)
    })
  }

  describe('terminal escape injection (control characters in a bundle never reach the terminal raw)', () => {
    const EVIL = 'evil\x1b]0;owned\x07\x1b[2J\u009b31m\u202egnp.exe'
    const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/
    let signedFile: string
    beforeAll(async () => {
      const src = new MemoryTarget()
      await loadInto(src, await makeImage({seed: 'corpus-escape', layers: 1, fileSize: 1024}), '1.0')
      signedFile = join(box.work, 'escape-created-by.tar')
      await writeBundle({
        images: [{source: src, ref: '1.0', name: 'registry.example.com/corpus/escape:1.0'}],
        out: signedFile,
        epoch: 0,
        createdBy: EVIL,
        signKey: {privateKey: ctx.privateKey, publicKey: ctx.publicKey},
      })
    })

    for (const args of [['list'], ['verify', '--key'], ['list', '--json'], ['verify', '--json', '--key']]) {
      it(`${args.join(' ')}: createdBy with escape sequences is printed escaped`, async ({expect}) => {
        const argv = args.includes('--key') ? [...args, pubFile] : args
        const r = await runCase(box, [argv[0]!, signedFile, ...argv.slice(1)])
        expect(r.result.code, r.result.stderr).toBe(0)
        expect(r.result.stdout + r.result.stderr).not.toMatch(RAW)
        if (args.includes('--json')) expect(r.result.stdout).toContain('evil\\u001b]0;owned')
        else expect(r.result.stdout).toContain('evil\\x1b]0;owned\\x07\\x1b[2J\\x9b31m\\u202egnp.exe')
      })
    }

    it('an error naming a hostile image name prints it escaped, on one line', async ({expect}) => {
      const file = join(box.work, 'escape-image-name.tar')
      await writeFile(file, await writeTar(resigned(ctx, clone(ctx.entries), (lock) => {
        ;(lock.images as Array<Record<string, unknown>>)[0]!.source = `registry.example.com/x:1\n${EVIL}`
      })))
      const r = await runCase(box, ['verify', file, '--key', pubFile])
      expect(r.result.code).toBe(5)
      expect(r.lines, r.result.stderr).toHaveLength(1)
      expect(r.result.stderr).not.toMatch(RAW)
      expect(r.lines[0]).toContain('\\x1b]0;owned')
      await recordCase({group: 'bundle', name: 'escape sequences in an image name', exit: 5, error: /\\x1b/}, r)
    })
  })

  it('bundle path that is a directory: usage error', async ({expect}) => {
    const r = await runCase(box, ['verify', box.work, '--key', pubFile])
    expect(r.result.code).toBe(2)
    expect(r.lines[0]).toMatch(/not a regular file/)
  })

  it('bundle that does not exist: not found', async ({expect}) => {
    const r = await runCase(box, ['verify', 'nope.tar', '--key', pubFile])
    expect(r.result.code).toBe(7)
    expect(r.lines[0]).toMatch(/nope\.tar does not exist/)
  })
})
