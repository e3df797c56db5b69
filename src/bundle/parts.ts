/**
 * Split media (issue 10, part 3): how a bundle is cut into parts of at most `maxPartSize` bytes,
 * each a complete, signed OCI-layout bundle of its own. Pure: no IO.
 *
 * The rules (docs/BUNDLE-FORMAT.md, "Split bundles"):
 *  - parts are cut on blob boundaries: every layer or config blob is stored in exactly ONE part;
 *  - manifests and indexes are small: every part that stores any blob of an image also stores
 *    ALL manifests of that image and names the image in its index.json, so each part is a valid
 *    OCI layout whose only gaps are blobs that the lock assigns to other parts;
 *  - charts (small, and needed whole to publish into classic Helm repositories) travel in every
 *    part, like the metadata;
 *  - blobs are packed first-fit decreasing (size, then digest): the same content and limit give
 *    the same parts and the same set id;
 *  - a blob larger than what a part can hold is the only blob of its part (reported as oversized).
 */
import {UsageError} from '../errors.js'
import {digestOf} from '../oci/digest.js'
import {isIndexMediaType, isManifestMediaType} from '../oci/manifest.js'
import type {Descriptor} from '../oci/types.js'

/** One image, chart or other artifact of the set, with every node of its graph. */
export interface SplitItem {
  /** Its ref.name (full source reference). */
  name: string
  nodes: readonly Descriptor[]
  /** Carried whole in every part (charts). */
  everywhere?: boolean
}

export interface SplitInput {
  items: readonly SplitItem[]
  maxPartSize: number
  /** Bytes every part needs for its metadata (index.json, lock, signature, spec) beyond its blobs. */
  metadataBytes: number
  /** Blobs not stored in any part (a delta's blobs that the mirror already holds). */
  leaveOut?: ReadonlySet<string>
}

export interface PartPlan {
  /** 1-based part number. */
  part: number
  /** The blobs this part alone carries (layers, configs), sorted by digest. */
  blobs: Descriptor[]
  /** Every blob entry of the part: its blobs, the manifests of its items, every chart. */
  nodes: Descriptor[]
  /** Items named in the part's index.json, sorted. */
  items: string[]
  /** Bytes of `blobs`. */
  bytes: number
  /** True when the part holds one blob larger than a part can hold. */
  oversized: boolean
}

export interface SplitPlan {
  /** sha256 over the plan: same content and limit, same id. */
  setId: string
  maxPartSize: number
  parts: PartPlan[]
  /** Part of every blob stored in exactly one part. */
  partOf: ReadonlyMap<string, number>
  /** Non-manifest blobs each item needs (sorted), and the parts that hold them. */
  itemBlobs: ReadonlyMap<string, string[]>
  itemParts: ReadonlyMap<string, number[]>
  /** Blobs larger than a part can hold (each alone in its part). */
  oversized: Descriptor[]
  /** Bytes reserved in every part for manifests, charts and metadata. */
  reserved: number
}

const BLOCK = 512

/** Bytes a tar entry of `size` takes (header + data padded to a block). */
export function tarEntrySpan(size: number): number {
  return BLOCK + Math.ceil(size / BLOCK) * BLOCK
}

/** oci-layout entry and the end-of-archive marker, present in every part. */
const FIXED_TAR_BYTES = tarEntrySpan(64) + 2 * BLOCK

function isManifestNode(d: Descriptor): boolean {
  return isIndexMediaType(d.mediaType) || isManifestMediaType(d.mediaType)
}

/** Plan the parts; throws UsageError when `maxPartSize` cannot even hold the shared content. */
export function planSplit(input: SplitInput): SplitPlan {
  const {maxPartSize} = input
  if (!Number.isSafeInteger(maxPartSize) || maxPartSize <= 0) throw new UsageError(`part size ${maxPartSize} is invalid`, {hint: 'give a size such as 4GiB or 700MiB'})
  const leaveOut = input.leaveOut ?? new Set<string>()
  const items = [...input.items].sort((a, b) => compare(a.name, b.name))
  const shared = sharedNodes(items)
  const reserved = FIXED_TAR_BYTES + input.metadataBytes + [...shared.values()].reduce((n, d) => n + tarEntrySpan(d.size), 0)
  const capacity = maxPartSize - reserved
  if (capacity <= 0) {
    throw new UsageError(`--max-part-size ${maxPartSize} bytes is too small: every part carries the manifests, charts and metadata (${reserved} bytes)`, {
      hint: `give at least ${Math.ceil((reserved * 2) / (1024 * 1024))} MiB`,
    })
  }
  const blobs = assignable(items, shared, leaveOut)
  const packed = pack(blobs, capacity)
  const partOf = new Map<string, number>()
  packed.forEach((p, i) => p.blobs.forEach((d) => partOf.set(d.digest, i + 1)))

  if (packed.length === 0) packed.push({blobs: [], bytes: 0, oversized: false})

  const itemBlobs = new Map<string, string[]>()
  const itemParts = new Map<string, number[]>()
  for (const item of items) {
    const needs = [...new Set(item.nodes.filter((d) => !isManifestNode(d)).map((d) => d.digest))].sort()
    itemBlobs.set(item.name, needs)
    const parts = [...new Set(needs.flatMap((d) => (partOf.has(d) ? [partOf.get(d)!] : [])))].sort((a, b) => a - b)
    // An item none of whose blobs is assigned (charts, or a delta with every blob in the mirror) goes to part 1.
    itemParts.set(item.name, item.everywhere ? packed.map((_, i) => i + 1) : parts.length > 0 ? parts : [1])
  }
  const parts = packed.map((p, i): PartPlan => {
    const part = i + 1
    const carried = items.filter((item) => itemParts.get(item.name)!.includes(part))
    const nodes = new Map<string, Descriptor>()
    for (const d of p.blobs) nodes.set(d.digest, d)
    for (const item of carried) for (const d of item.nodes) if (shared.has(d.digest)) nodes.set(d.digest, d)
    const sortedBlobs = [...p.blobs].sort((a, b) => compare(a.digest, b.digest))
    return {part, blobs: sortedBlobs, nodes: [...nodes.values()].sort((a, b) => compare(a.digest, b.digest)), items: carried.map((c) => c.name), bytes: p.bytes, oversized: p.oversized}
  })
  const oversized = parts.filter((p) => p.oversized).flatMap((p) => p.blobs)
  return {setId: setIdOf(maxPartSize, parts, items), maxPartSize, parts, partOf, itemBlobs, itemParts, oversized, reserved}
}

/** Manifests of every item and every node of `everywhere` items: stored in (possibly) several parts. */
function sharedNodes(items: readonly SplitItem[]): Map<string, Descriptor> {
  const shared = new Map<string, Descriptor>()
  for (const item of items) for (const d of item.nodes) if (item.everywhere || isManifestNode(d)) shared.set(d.digest, d)
  return shared
}

/** The blobs to distribute: every non-manifest node once, minus shared and left-out ones. */
function assignable(items: readonly SplitItem[], shared: ReadonlyMap<string, Descriptor>, leaveOut: ReadonlySet<string>): Descriptor[] {
  const out = new Map<string, Descriptor>()
  for (const item of items) for (const d of item.nodes) if (!shared.has(d.digest) && !leaveOut.has(d.digest) && !out.has(d.digest)) out.set(d.digest, d)
  return [...out.values()]
}

interface Bin {
  blobs: Descriptor[]
  bytes: number
  oversized: boolean
}

/** First-fit decreasing by tar span; a blob over `capacity` gets a part of its own. */
function pack(blobs: readonly Descriptor[], capacity: number): Bin[] {
  const ordered = [...blobs].sort((a, b) => b.size - a.size || compare(a.digest, b.digest))
  const bins: Array<Bin & {free: number}> = []
  for (const d of ordered) {
    const span = tarEntrySpan(d.size)
    if (span > capacity) {
      bins.push({blobs: [d], bytes: d.size, oversized: true, free: 0})
      continue
    }
    let bin = bins.find((b) => !b.oversized && b.free >= span)
    if (!bin) bins.push((bin = {blobs: [], bytes: 0, oversized: false, free: capacity}))
    bin.blobs.push(d)
    bin.bytes += d.size
    bin.free -= span
  }
  return bins.map(({blobs: b, bytes, oversized}) => ({blobs: b, bytes, oversized}))
}

function setIdOf(maxPartSize: number, parts: readonly PartPlan[], items: readonly SplitItem[]): string {
  const canonical = {
    maxPartSize,
    parts: parts.map((p) => p.blobs.map((d) => [d.digest, d.size])),
    items: items.map((i) => [i.name, ...i.nodes.map((d) => d.digest).sort()]),
  }
  return digestOf(Buffer.from(JSON.stringify(canonical), 'utf8'))
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** `dir/wandb.tar` -> `dir/wandb.part-002-of-003.tar` (the extension is kept; `.tar` added when absent). */
export function partFileName(out: string, part: number, parts: number): string {
  const width = Math.max(3, String(parts).length)
  const n = (x: number): string => String(x).padStart(width, '0')
  const m = /^(.*?)(\.tar(?:\.gz)?)?$/i.exec(out)!
  return `${m[1]}.part-${n(part)}-of-${n(parts)}${m[2] ?? '.tar'}`
}
