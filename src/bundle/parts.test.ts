import {describe, expect, it} from 'vitest'
import {UsageError} from '../errors.js'
import {digestOf} from '../oci/digest.js'
import {MediaType, type Descriptor} from '../oci/types.js'
import {createLock, parseLock, serializeLock, type LockSplit} from './lock.js'
import {partFileName, planSplit, tarEntrySpan, type SplitItem} from './parts.js'

const KiB = 1024

function blob(seed: string, size: number, mediaType: string = MediaType.OciLayerGzip): Descriptor {
  return {mediaType, digest: digestOf(Buffer.from(seed)), size}
}

function image(name: string, layers: Descriptor[]): SplitItem {
  const config = blob(`${name}-config`, 300, MediaType.OciConfig)
  const manifest = blob(`${name}-manifest`, 600, MediaType.OciManifest)
  return {name, nodes: [manifest, config, ...layers]}
}

describe('planSplit', () => {
  const shared = blob('shared-base', 60 * KiB)
  const items = [
    image('r.io/a:1', [shared, blob('a1', 70 * KiB), blob('a2', 20 * KiB)]),
    image('r.io/b:1', [shared, blob('b1', 80 * KiB)]),
    image('r.io/c:1', [blob('c1', 10 * KiB)]),
  ]
  const input = {items, maxPartSize: 150 * KiB, metadataBytes: 8 * KiB}

  it('stores every layer and config blob in exactly one part, within the limit, and manifests with every part of their image', () => {
    const plan = planSplit(input)
    expect(plan.parts.length).toBeGreaterThan(1)
    const owned = plan.parts.flatMap((p) => p.blobs.map((d) => d.digest))
    expect(new Set(owned).size).toBe(owned.length)
    const expected = new Set(items.flatMap((i) => i.nodes.filter((d) => d.mediaType !== MediaType.OciManifest).map((d) => d.digest)))
    expect(new Set(owned)).toEqual(expected)
    for (const p of plan.parts) {
      const stored = p.nodes.reduce((n, d) => n + tarEntrySpan(d.size), 0)
      expect(stored + plan.reserved - 8 * KiB).toBeLessThanOrEqual(150 * KiB)
      for (const name of p.items) {
        const item = items.find((i) => i.name === name)!
        expect(p.nodes.map((d) => d.digest)).toContain(item.nodes[0]!.digest)
      }
    }
    // The shared base layer is stored once, and both images list the part that holds it.
    const basePart = plan.partOf.get(shared.digest)!
    expect(plan.itemParts.get('r.io/a:1')).toContain(basePart)
    expect(plan.itemParts.get('r.io/b:1')).toContain(basePart)
    expect(plan.itemBlobs.get('r.io/b:1')).toEqual([items[1]!.nodes[1]!.digest, shared.digest, items[1]!.nodes[3]!.digest].sort())
  })

  it('is deterministic: the same content in another order gives the same parts and set id', () => {
    const a = planSplit(input)
    const b = planSplit({...input, items: [...items].reverse().map((i) => ({...i, nodes: [...i.nodes].reverse()}))})
    expect(b.setId).toBe(a.setId)
    expect(b.parts.map((p) => p.blobs.map((d) => d.digest))).toEqual(a.parts.map((p) => p.blobs.map((d) => d.digest)))
    expect(planSplit({...input, maxPartSize: 160 * KiB}).setId).not.toBe(a.setId)
  })

  it('gives a blob larger than a part its own part and flags it', () => {
    const huge = blob('huge', 400 * KiB)
    const plan = planSplit({...input, items: [...items, image('r.io/big:1', [huge])]})
    const part = plan.parts.find((p) => p.blobs.some((d) => d.digest === huge.digest))!
    expect(part.oversized).toBe(true)
    expect(part.blobs).toEqual([huge])
    expect(plan.oversized).toEqual([huge])
    expect(plan.parts.filter((p) => p.oversized)).toHaveLength(1)
  })

  it('carries charts in every part and leaves out blobs held by the mirror', () => {
    const chart: SplitItem = {name: 'charts/demo:0.1.0', nodes: [blob('chart-m', 500, MediaType.OciManifest), blob('chart-tgz', 3 * KiB)], everywhere: true}
    const gone = items[0]!.nodes[3]!
    const plan = planSplit({...input, items: [...items, chart], leaveOut: new Set([gone.digest])})
    for (const p of plan.parts) {
      expect(p.items).toContain('charts/demo:0.1.0')
      expect(p.nodes.map((d) => d.digest)).toEqual(expect.arrayContaining(chart.nodes.map((d) => d.digest)))
      expect(p.nodes.map((d) => d.digest)).not.toContain(gone.digest)
    }
    expect(plan.partOf.has(gone.digest)).toBe(false)
  })

  it('puts everything in one part when it fits, and refuses a limit smaller than the shared content', () => {
    expect(planSplit({...input, maxPartSize: 10 * 1024 * KiB}).parts).toHaveLength(1)
    expect(() => planSplit({...input, maxPartSize: 4 * KiB})).toThrow(UsageError)
    expect(() => planSplit({...input, maxPartSize: 4 * KiB})).toThrow(/too small/)
  })
})

describe('partFileName', () => {
  it('numbers parts with three digits (more when needed), keeping the extension', () => {
    expect(partFileName('/x/wandb.tar', 2, 3)).toBe('/x/wandb.part-002-of-003.tar')
    expect(partFileName('bundle', 1, 1)).toBe('bundle.part-001-of-001.tar')
    expect(partFileName('b.tar', 7, 1200)).toBe('b.part-0007-of-1200.tar')
  })
})

describe('lock split section', () => {
  const indexJson = Buffer.from('{"schemaVersion":2,"manifests":[]}')
  const d1 = digestOf(Buffer.from('one'))
  const d2 = digestOf(Buffer.from('two'))
  const root = digestOf(Buffer.from('root'))
  const img = {source: 'r.io/a:1', digest: root, mediaType: MediaType.OciManifest, size: 10, platforms: [], bytes: 30}
  const split: LockSplit = {
    setId: digestOf(Buffer.from('set')),
    part: 2,
    parts: 2,
    maxPartSize: 1000,
    blobs: [
      {digest: d2, size: 10, part: 2},
      {digest: d1, size: 10, part: 1},
    ],
    images: [{...img, blobs: [d2, d1], parts: [2, 1]}],
  }

  it('round-trips sorted, and is refused when edited', () => {
    const lock = createLock({createdBy: 't', epoch: 0, indexJson, images: [img], blobs: {count: 1, bytes: 10}, split})
    expect(lock.split!.blobs.map((b) => b.digest)).toEqual([d1, d2].sort())
    expect(lock.split!.images[0]!.parts).toEqual([1, 2])
    expect(parseLock(serializeLock(lock), 'x')).toEqual(lock)
    const edit = (f: (l: Record<string, any>) => void): Buffer => {
      const raw = JSON.parse(serializeLock(lock).toString()) as Record<string, any>
      f(raw)
      return Buffer.from(JSON.stringify(raw))
    }
    expect(() => parseLock(edit((l) => (l.split.part = 3)), 'x')).toThrow(/\$\.split\.part must be a part number from 1 to 2/)
    expect(() => parseLock(edit((l) => (l.split.blobs[0].part = 0)), 'x')).toThrow(/part number/)
    expect(() => parseLock(edit((l) => (l.split.images = [])), 'x')).toThrow(/not listed with digest/)
    expect(() => parseLock(edit((l) => (l.split.images[0].parts = [1])), 'x')).toThrow(/does not list part 2/)
    expect(() => parseLock(edit((l) => (l.split.extra = 1)), 'x')).toThrow(/unknown field "extra"/)
  })
})
