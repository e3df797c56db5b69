import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {writeBundle} from '../usecases/write-bundle.js'
import {verifyBundleFile} from '../usecases/verify.js'
import {parseLock, serializeLock} from '../bundle/lock.js'
import {MemoryTarget} from '../content/memory.js'
import {BundleReader} from '../bundle/index.js'
import {loadInto, makeImage, makeLayer, type GeneratedImage} from '../../test/support/images.js'
import {HaveList} from './have.js'
import {createInventory, parseInventory, serializeInventory} from './inventory.js'
import {loadHaveList} from './sources.js'

describe('delta bundles (writeBundle with a have-list, verify, loadHaveList)', () => {
  let dir: string
  const src = new MemoryTarget()
  let v1: GeneratedImage
  let v2: GeneratedImage
  let other: GeneratedImage
  let full: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-delta-unit-'))
    const base = await makeLayer({seed: 'delta-base', files: 2, fileSize: 64 * 1024})
    v1 = await makeImage({seed: 'delta-v1', baseLayers: [base], layers: 1, fileSize: 16 * 1024})
    v2 = await makeImage({seed: 'delta-v2', baseLayers: [base], layers: 1, fileSize: 16 * 1024})
    other = await makeImage({seed: 'delta-other', layers: 1, fileSize: 8 * 1024})
    await loadInto(src, v1, 'v1')
    await loadInto(src, v2, 'v2')
    await loadInto(src, other, 'other')
    full = join(dir, 'full.tar')
    await writeBundle({images: [{source: src, ref: 'v1', name: 'docker.io/acme/app:1'}, {source: src, ref: 'other', name: 'docker.io/acme/other:1'}], out: full})
  })

  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('a bundle used as --since gives every node it reaches; the delta leaves out exactly the shared blobs, keeps manifests, and verifies', async () => {
    const have = await loadHaveList(full)
    for (const b of [...v1.blobs, ...other.blobs]) expect(have.has(b.descriptor.digest)).toBe(true)
    expect(have.has(v2.layers[1]!.descriptor.digest)).toBe(false)

    const out = join(dir, 'delta.tar')
    const result = await writeBundle({images: [{source: src, ref: 'v2', name: 'docker.io/acme/app:2'}, {source: src, ref: 'other', name: 'docker.io/acme/other:1'}], out, have})
    const reader = await BundleReader.open(out)
    try {
      const stored = new Set(reader.entries().filter((e) => e.kind === 'blob').map((e) => e.name.replace('blobs/sha256/', 'sha256:')))
      // new: v2's own layer, config and manifest; manifests always (other's manifest too)
      expect(stored).toEqual(new Set([v2.layers[1]!.descriptor.digest, v2.config.descriptor.digest, v2.manifest.descriptor.digest, other.manifest.descriptor.digest]))
    } finally {
      await reader.close()
    }
    const expected = result.lock.expectedInMirror!.map((e) => e.digest).sort()
    expect(expected).toEqual([v2.layers[0]!.descriptor.digest, other.layers[0]!.descriptor.digest, other.config.descriptor.digest].sort())
    expect(result.lock.expectedInMirror!.find((e) => e.digest === v2.layers[0]!.descriptor.digest)).toEqual({
      digest: v2.layers[0]!.descriptor.digest,
      size: v2.layers[0]!.descriptor.size,
      mediaType: v2.layers[0]!.descriptor.mediaType,
    })
    const report = await verifyBundleFile(out)
    expect(report.expectedInMirror).toHaveLength(3)
    expect(result.lock.blobs.count).toBe(4)
  })

  it('verify still fails on a blob that is absent and NOT listed as expected', async () => {
    const have = new HaveList('test')
    have.add(v2.layers[1]!.descriptor.digest)
    const out = join(dir, 'tampered.tar')
    const result = await writeBundle({images: [{source: src, ref: 'v2', name: 'docker.io/acme/app:2'}], out, have})
    expect(result.lock.expectedInMirror).toHaveLength(1)
    // The lock is signed content; a lock claiming nothing is expected is refused by the graph check.
    const lock = parseLock(serializeLock(result.lock), 'x')
    delete lock.expectedInMirror
    const {BundleReader: Reader} = await import('../bundle/index.js')
    const reader = await Reader.open(out)
    try {
      await expect(reader.verifyGraph()).rejects.toThrow(`${v2.layers[1]!.descriptor.digest} (referenced by ${v2.manifest.descriptor.digest}) is missing`)
      await expect(reader.verifyGraph({expected: new Map([[v2.layers[1]!.descriptor.digest, v2.layers[1]!.descriptor.size + 1]])})).rejects.toThrow('is expected in the mirror with')
      expect(await reader.verifyGraph({expected: new Map([[v2.layers[1]!.descriptor.digest, v2.layers[1]!.descriptor.size]])})).toEqual({descriptors: 4, absent: 1})
    } finally {
      await reader.close()
    }
  })

  it('the lock refuses unknown fields and duplicates in expectedInMirror and signatures', () => {
    const base = JSON.parse(serializeLock(parseLock(serializeLock({apiVersion: 'airgap.dev/v1alpha1', kind: 'BundleLock', formatVersion: 1, createdBy: 'a', created: '1970-01-01T00:00:00Z', index: {digest: v1.root.digest, size: 1}, images: [], charts: [], blobs: {count: 0, bytes: 0}}), 'x')).toString()) as Record<string, unknown>
    const e = {digest: v1.root.digest, size: 3, mediaType: 'x'}
    expect(parseLock(Buffer.from(JSON.stringify({...base, expectedInMirror: [e]})), 'l').expectedInMirror).toEqual([e])
    expect(() => parseLock(Buffer.from(JSON.stringify({...base, expectedInMirror: [e, e]})), 'l')).toThrow('duplicate digest')
    expect(() => parseLock(Buffer.from(JSON.stringify({...base, expectedInMirror: [{...e, extra: 1}]})), 'l')).toThrow('unknown field')
    const s = {subject: `docker.io/a/b@${v1.root.digest}`, ref: 'docker.io/a/b:sha256-x.sig', digest: v1.root.digest, mediaType: 'm', size: 1, kind: 'sig'}
    expect(parseLock(Buffer.from(JSON.stringify({...base, signatures: [s]})), 'l').signatures).toEqual([s])
    expect(() => parseLock(Buffer.from(JSON.stringify({...base, signatures: [{...s, kind: 'other'}]})), 'l')).toThrow('must be one of')
  })

  it('an inventory is deterministic, round-trips, refuses damage, and becomes a have-list with repository hints', async () => {
    const a = createInventory({registry: 'mirror:5000/x', repositories: {'x/b': {'2': v2.root.digest}, 'x/a': {'1': v1.root.digest}}, manifests: [v2.root.digest, v1.root.digest], blobs: [v1.config.descriptor.digest, v1.root.digest]})
    const b = createInventory({registry: 'mirror:5000/x', repositories: {'x/a': {'1': v1.root.digest}, 'x/b': {'2': v2.root.digest}}, manifests: [v1.root.digest, v2.root.digest], blobs: [v1.config.descriptor.digest]})
    expect(serializeInventory(a)).toBe(serializeInventory(b))
    expect(a.blobs).toEqual([v1.config.descriptor.digest]) // a manifest is not also a blob
    expect(parseInventory(serializeInventory(a), 'inv.json')).toEqual(a)
    expect(() => parseInventory(serializeInventory(a).replace('"blobs"', '"blobz"'), 'inv.json')).toThrow(/unknown field/)
    expect(() => parseInventory(JSON.stringify({...a, blobs: ['nope']}), 'inv.json')).toThrow('$.blobs[0] "nope" is not a valid digest')
    const file = join(dir, 'inv.json')
    await writeFile(file, serializeInventory(a))
    const have = await loadHaveList(file)
    expect(have.has(v1.config.descriptor.digest)).toBe(true)
    expect(have.repositories(v2.root.digest)).toEqual(['x/b'])
  })

  it('a lock used as --since expands its images through `expand`; an image that cannot be expanded is only a warning', async () => {
    const reader = await BundleReader.open(full)
    const lockBytes = await reader.readFile('airgap/lock.json')
    await reader.close()
    const file = join(dir, 'lock.json')
    await writeFile(file, lockBytes)
    const warnings: string[] = []
    const have = await loadHaveList(file, {
      expand: async (source) => {
        if (source === 'docker.io/acme/other:1') throw new Error('gone upstream')
        return v1.blobs.map((b) => b.descriptor.digest)
      },
      onWarning: (m) => warnings.push(m),
    })
    expect(have.has(v1.layers[1]!.descriptor.digest)).toBe(true)
    expect(have.has(other.root.digest)).toBe(true)
    expect(have.has(other.layers[0]!.descriptor.digest)).toBe(false)
    expect(warnings.join('\n')).toContain('docker.io/acme/other:1 (gone upstream)')
  })

  it('refuses a JSON file of another kind, naming it', async () => {
    const file = join(dir, 'other.json')
    await writeFile(file, JSON.stringify({kind: 'Pod'}))
    await expect(loadHaveList(file)).rejects.toThrow(`${file}: kind "Pod" is not a push receipt, bundle lock or mirror inventory`)
    await expect(loadHaveList(join(dir, 'absent.json'))).rejects.toThrow('does not exist')
  })
})
