/**
 * writeParts(): split media (`airgap pull --max-part-size`, issue 10). After writeBundle's planning
 * phase, planSplit() (src/bundle/parts.ts) cuts the set on blob boundaries; each part is then
 * written by writePart(), the same part writer a whole bundle uses: its own BundleWriter
 * (resumable), the copy engine with the shared tracker (manifests fetched once, each layer once
 * overall), an index.json naming the images it carries, a lock whose `split` section describes the
 * whole set, and its own signature. Blobs stored by other parts count as present for the copy, so
 * the engine skips them. A part file that already holds this set's part (same set id) is kept, so
 * a rerun after a crash continues with the next part.
 */
import {stat} from 'node:fs/promises'
import {addStats, emptyStats, type CopyStats} from '../copy/index.js'
import {UsageError} from '../errors.js'
import {digestOf} from '../oci/digest.js'
import {parseLock, type BundleLock, type LockSplit, type LockSplitImage} from '../bundle/lock.js'
import {partFileName, planSplit, type SplitPlan} from '../bundle/parts.js'
import {BundleReader, LOCK_JSON} from '../bundle/index.js'
import {lockImages, sumSizes, type PlannedContents, type PlannedItem, type PlannedTotals} from './bundle-contents.js'
import {writePart, type PartSettings} from './write-part.js'

/** One part of a split bundle. */
export interface PartResult {
  part: number
  parts: number
  path: string
  /** Size of the part file. */
  size: number
  /** Images (and other artifacts) named in its index.json. */
  images: string[]
  /** Blob entries stored (its own blobs, the manifests of its images, the charts). */
  entries: number
  /** Bytes of the blobs only this part stores. */
  bytes: number
  /** It holds one blob larger than --max-part-size allows. */
  oversized: boolean
  /** Kept from an earlier run (same set id), not written again. */
  kept: boolean
  lockDigest: string
}

export interface SplitResult {
  setId: string
  maxPartSize: number
  parts: PartResult[]
  /** Blobs larger than a part can hold, with the part that holds each alone. */
  oversized: Array<{digest: string; size: number; part: number}>
}

export interface SplitHooks {
  /** After planning: every blob of the set, and what is still to be fetched. */
  onPlanned?(totals: PlannedTotals): void
  /** A part was written (or kept from an earlier run). */
  onPart?(part: PartResult): void
  /** Something the user must know (e.g. a blob larger than --max-part-size). */
  onWarning?(message: string): void
}

/** Where and how to split. */
export interface SplitTarget {
  /** Parts are `<out>.part-001-of-00N.tar` …. */
  out: string
  maxPartSize: number
  /** Overwrite part files that belong to another set (default: refuse). */
  force: boolean
  hooks: SplitHooks
}

/** The set as written: `path` is part 1, `size` the sum, `lock` the set seen as one bundle. */
export interface WrittenSet {
  path: string
  size: number
  lock: BundleLock
  lockDigest: string
  stats: CopyStats
  split: SplitResult
}

/** Write every part; see the module comment. */
export async function writeParts(settings: PartSettings, contents: PlannedContents, target: SplitTarget): Promise<WrittenSet> {
  const {items, expected} = contents
  const {hooks} = target
  const plan = planSplit({
    items: items.map((p) => ({name: p.input.name, nodes: p.plan.nodes, everywhere: p.chart !== undefined || p.signature !== undefined || p.serverManifest !== undefined})),
    maxPartSize: target.maxPartSize,
    metadataBytes: metadataEstimate(settings, contents),
    leaveOut: new Set(expected.map((e) => e.digest)),
  })
  const total = plan.parts.length
  for (const p of plan.parts.filter((x) => x.oversized)) {
    const blob = p.blobs[0]!
    hooks.onWarning?.(`blob ${blob.digest} (${blob.size} bytes) is larger than --max-part-size ${target.maxPartSize} allows; it is the only blob of part ${p.part} of ${total}, which will be over the limit`)
  }
  const splitSection = describeSet(plan, items)
  const paths = plan.parts.map((p) => partFileName(target.out, p.part, total))
  const kept = await Promise.all(plan.parts.map((p, i) => keptPart(paths[i]!, plan.setId, p.part, target.force)))
  const toWrite = plan.parts.filter((_, i) => !kept[i])
  hooks.onPlanned?.({
    images: items.length,
    blobs: contents.blobs.length,
    bytes: sumSizes(contents.blobs),
    missingBlobs: toWrite.reduce((n, p) => n + p.nodes.length, 0),
    missingBytes: toWrite.reduce((n, p) => n + sumSizes(p.nodes), 0),
  })

  const everyDigest = [...contents.blobs, ...expected].map((d) => d.digest)
  const stats = emptyStats()
  const results: PartResult[] = []
  const locks: Buffer[] = []
  for (const [i, part] of plan.parts.entries()) {
    const path = paths[i]!
    let lockBytes = kept[i]
    if (!lockBytes) {
      const stored = new Set(part.nodes.map((d) => d.digest))
      const written = await writePart(settings, {
        out: path,
        items: items.filter((p) => part.items.includes(p.input.name)),
        blobs: part.nodes,
        storedElsewhere: new Set(everyDigest.filter((d) => !stored.has(d))),
        split: {...splitSection, part: part.part},
      })
      addStats(stats, written.stats)
      lockBytes = written.lockBytes
    }
    const size = (await stat(path)).size
    if (size > plan.maxPartSize && !part.oversized) hooks.onWarning?.(`part ${part.part} of ${total} (${path}) is ${size} bytes, over --max-part-size ${plan.maxPartSize}: its metadata is larger than estimated`)
    const result: PartResult = {
      part: part.part,
      parts: total,
      path,
      size,
      images: part.items,
      entries: part.nodes.length,
      bytes: part.bytes,
      oversized: part.oversized,
      kept: kept[i] !== undefined,
      lockDigest: digestOf(lockBytes),
    }
    locks.push(lockBytes)
    results.push(result)
    hooks.onPart?.(result)
  }
  const first = parseLock(locks[0]!, `bundle ${results[0]!.path} ${LOCK_JSON}`)
  return {
    path: results[0]!.path,
    size: results.reduce((n, r) => n + r.size, 0),
    lock: {...first, images: lockImages(items), blobs: {count: contents.blobs.length, bytes: sumSizes(contents.blobs)}},
    lockDigest: results[0]!.lockDigest,
    stats,
    split: {
      setId: plan.setId,
      maxPartSize: plan.maxPartSize,
      parts: results,
      oversized: plan.parts.filter((p) => p.oversized).map((p) => ({digest: p.blobs[0]!.digest, size: p.blobs[0]!.size, part: p.part})),
    },
  }
}

/** The `split` section every part's lock carries (without the part number). */
function describeSet(plan: SplitPlan, items: readonly PlannedItem[]): Omit<LockSplit, 'part'> {
  const images: LockSplitImage[] = lockImages(items).map((image) => ({
    ...image,
    blobs: plan.itemBlobs.get(image.source) ?? [],
    parts: plan.itemParts.get(image.source) ?? [],
  }))
  return {
    setId: plan.setId,
    parts: plan.parts.length,
    maxPartSize: plan.maxPartSize,
    blobs: plan.parts.flatMap((p) => p.blobs.map((d) => ({digest: d.digest, size: d.size, part: p.part}))),
    images,
  }
}

/**
 * The lock bytes of an existing part file that is this set's part `part` (kept as it is), or
 * undefined when there is no such file or `force` allows overwriting one of another set.
 */
async function keptPart(path: string, setId: string, part: number, force: boolean): Promise<Buffer | undefined> {
  const info = await stat(path).catch(() => undefined)
  if (!info) return undefined
  let lockBytes: Buffer | undefined
  let reason = 'it is not a bundle part'
  try {
    const reader = await BundleReader.open(path)
    try {
      const bytes = await reader.readFile(LOCK_JSON)
      const split = parseLock(bytes, `bundle ${path} ${LOCK_JSON}`).split
      if (split?.setId === setId && split.part === part) lockBytes = bytes
      else if (split) reason = `it is part ${split.part} of another set (${split.setId})`
    } finally {
      await reader.close()
    }
  } catch (err) {
    reason = `it cannot be read (${(err as Error).message.split('\n')[0]})`
  }
  if (lockBytes) return lockBytes
  if (force) return undefined
  throw new UsageError(`${path} already exists and ${reason}`, {hint: 'pass --force to overwrite it, or choose another output path with -o'})
}

/**
 * Generous upper bound of each part's metadata: index.json, the lock (which lists the images twice
 * and every blob of the set), the spec, the signature, tar headers and padding.
 */
function metadataEstimate(settings: PartSettings, contents: PlannedContents): number {
  const {items, expected} = contents
  const json = (x: unknown): number => (x === undefined ? 0 : JSON.stringify(x, null, 2).length)
  const imageBlobRefs = items.reduce((n, p) => n + p.plan.nodes.length, 0)
  return (
    16 * 1024 +
    (settings.specBytes?.length ?? 0) +
    3 * json(lockImages(items)) +
    2 * json(settings.missing) +
    2 * json(expected) +
    200 * (contents.blobs.length + expected.length) +
    100 * imageBlobRefs +
    800 * items.length
  )
}
