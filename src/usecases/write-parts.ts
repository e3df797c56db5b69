/**
 * writeParts(): writeBundle() with `maxPartSize` (`airgap pull --max-part-size`, issue 10).
 *
 * After writeBundle's planning phase, planSplit() (src/bundle/parts.ts) cuts the set on blob
 * boundaries; each part is then written like a whole bundle: its own BundleWriter (resumable),
 * the copy engine with the shared tracker (manifests fetched once, each layer once overall), an
 * index.json naming the images it carries, a lock whose `split` section describes the whole set,
 * and its own signature. Blobs stored by other parts count as present for the copy, so the engine
 * skips them. A part file that already holds this set's part (same set id) is kept, so a rerun
 * after a crash continues with the next part.
 */
import {stat} from 'node:fs/promises'
import {copy, addStats, emptyStats, type CopyTracker, type CopyStats} from '../copy/index.js'
import {InternalError, UsageError} from '../errors.js'
import {digestOf} from '../oci/digest.js'
import type {Descriptor} from '../oci/types.js'
import {createLock, parseLock, serializeLock, type BundleLock, type LockExpectedBlob, type LockSplit, type LockSplitImage} from '../bundle/lock.js'
import {partFileName, planSplit, type PartPlan, type SplitPlan} from '../bundle/parts.js'
import {keyFingerprint, serializeBundle, signBlob} from '../signing/index.js'
import {BundleReader, BundleWriter, LOCK_JSON, buildIndexJson} from '../bundle/index.js'
import {lockImage, lockSignature, storageAsTarget, sum, type Planned, type WriteBundleOptions, type WriteBundleResult} from './write-bundle.js'

export {parseSize} from '../bundle/parts.js'

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

interface PartsContext {
  opts: WriteBundleOptions
  planned: readonly Planned[]
  /** A delta's blobs that the mirror holds (stored in no part). */
  expected: readonly LockExpectedBlob[]
  tracker: CopyTracker
  signal: AbortSignal | undefined
  started: number
}

/** Write every part; see the module comment. */
export async function writeParts(ctx: PartsContext): Promise<WriteBundleResult> {
  const {opts, planned} = ctx
  const hooks = opts.hooks ?? {}
  const plan = planSplit({
    items: planned.map((p) => ({name: p.input.name, nodes: p.plan.nodes, everywhere: p.chart !== undefined || p.signature !== undefined})),
    maxPartSize: opts.maxPartSize!,
    metadataBytes: metadataEstimate(opts, planned, ctx.expected),
    leaveOut: new Set(ctx.expected.map((e) => e.digest)),
  })
  const total = plan.parts.length
  for (const p of plan.parts.filter((x) => x.oversized)) {
    const blob = p.blobs[0]!
    hooks.onWarning?.(`blob ${blob.digest} (${blob.size} bytes) is larger than --max-part-size ${opts.maxPartSize} allows; it is the only blob of part ${p.part} of ${total}, which will be over the limit`)
  }
  const splitSection = describeSet(plan, planned)
  const paths = plan.parts.map((p) => partFileName(opts.out, p.part, total))
  const kept = await Promise.all(plan.parts.map((p, i) => keptPart(paths[i]!, plan.setId, p.part, opts.force === true)))
  const allNodes = uniqueDigests(planned)
  const toWrite = plan.parts.filter((_, i) => !kept[i])
  hooks.onPlanned?.({
    images: planned.length,
    blobs: allNodes.size,
    bytes: sum([...allNodes.values()].filter((d) => !ctx.expected.some((e) => e.digest === d.digest))),
    missingBlobs: toWrite.reduce((n, p) => n + p.nodes.length, 0),
    missingBytes: toWrite.reduce((n, p) => n + sum(p.nodes), 0),
  })

  const stats = emptyStats()
  const results: PartResult[] = []
  const locks: Buffer[] = []
  for (const [i, part] of plan.parts.entries()) {
    const path = paths[i]!
    const done = kept[i] ?? (await writePart(ctx, part, path, {...splitSection, part: part.part}, allNodes, stats))
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
      lockDigest: digestOf(done),
    }
    locks.push(done)
    results.push(result)
    hooks.onPart?.(result)
  }
  const first = parseLock(locks[0]!, `bundle ${results[0]!.path} ${LOCK_JSON}`)
  const storedNodes = [...allNodes.values()].filter((d) => !ctx.expected.some((e) => e.digest === d.digest))
  const setView: BundleLock = {
    ...first,
    images: planned.filter((p) => !p.chart && !p.signature).map(lockImage),
    blobs: {count: storedNodes.length, bytes: sum(storedNodes)},
  }
  const signKey = opts.signKey
  return {
    path: results[0]!.path,
    size: results.reduce((n, r) => n + r.size, 0),
    lock: setView,
    lockDigest: results[0]!.lockDigest,
    signed: signKey !== undefined,
    ...(signKey ? {signer: keyFingerprint(signKey.publicKey)} : {}),
    stats,
    seconds: Math.round(performance.now() - ctx.started) / 1000,
    split: {
      setId: plan.setId,
      maxPartSize: plan.maxPartSize,
      parts: results,
      oversized: plan.parts.filter((p) => p.oversized).map((p) => ({digest: p.blobs[0]!.digest, size: p.blobs[0]!.size, part: p.part})),
    },
  }
}

/** The `split` section every part's lock carries (without the part number). */
function describeSet(plan: SplitPlan, planned: readonly Planned[]): Omit<LockSplit, 'part'> {
  const images: LockSplitImage[] = planned
    .filter((p) => !p.chart && !p.signature)
    .map((p) => ({...lockImage(p), blobs: plan.itemBlobs.get(p.input.name) ?? [], parts: plan.itemParts.get(p.input.name) ?? []}))
  return {
    setId: plan.setId,
    parts: plan.parts.length,
    maxPartSize: plan.maxPartSize,
    blobs: plan.parts.flatMap((p) => p.blobs.map((d) => ({digest: d.digest, size: d.size, part: p.part}))),
    images,
  }
}

/** Write one part; resolves with its lock bytes. */
async function writePart(ctx: PartsContext, part: PartPlan, path: string, split: LockSplit, allNodes: ReadonlyMap<string, Descriptor>, stats: CopyStats): Promise<Buffer> {
  const {opts} = ctx
  const carried = ctx.planned.filter((p) => part.items.includes(p.input.name))
  const stored = new Set(part.nodes.map((d) => d.digest))
  const elsewhere = new Set([...allNodes.keys()].filter((d) => !stored.has(d)))
  const writer = await BundleWriter.open({out: path, epoch: opts.epoch ?? 0, blobs: part.nodes, ...(opts.verifyResumed ? {verifyResumed: true} : {})})
  try {
    const dst = storageAsTarget(writer, elsewhere)
    const copied = await Promise.allSettled(
      carried.map(async ({input, plan}) => {
        const {descriptor, stats: s} = await copy(input.source, plan.resolved.digest, dst, '', {
          ...(opts.platforms?.length ? {platforms: opts.platforms} : {}),
          tracker: ctx.tracker,
          ...(opts.hooks ? {hooks: opts.hooks} : {}),
          ...(ctx.signal ? {signal: ctx.signal} : {}),
          image: input.name,
        })
        addStats(stats, s)
        if (descriptor.digest !== plan.root.digest) {
          throw new InternalError(`${input.name}: copied root ${descriptor.digest} differs from the planned ${plan.root.digest}`, {hint: 'this is a bug in airgap: please report it'})
        }
      }),
    )
    const failed = copied.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) throw failed.reason

    const indexJson = buildIndexJson(carried.map((p) => ({ref: p.input.name, desc: p.plan.root})))
    const signatures = carried.flatMap(lockSignature)
    const lock = createLock({
      createdBy: opts.createdBy ?? 'airgap',
      epoch: opts.epoch ?? 0,
      indexJson,
      images: carried.filter((p) => !p.chart && !p.signature).map(lockImage),
      charts: carried.flatMap((p) => (p.chart ? [{...p.chart, digest: p.plan.root.digest}] : [])),
      blobs: {count: part.nodes.length, bytes: sum(part.nodes)},
      ...(opts.specBytes ? {specBytes: opts.specBytes} : {}),
      ...(opts.missing?.length ? {missing: opts.missing} : {}),
      ...(ctx.expected.length ? {expectedInMirror: ctx.expected} : {}),
      ...(signatures.length ? {signatures} : {}),
      split,
      upstreamVerification: opts.upstreamVerification,
    })
    const lockBytes = serializeLock(lock)
    const signKey = opts.signKey
    await writer.finish({
      indexJson,
      files: {'airgap/lock.json': lockBytes, ...(opts.specBytes ? {'airgap/spec.yaml': opts.specBytes} : {})},
      ...(signKey ? {sign: async (bytes: Buffer) => Buffer.from(serializeBundle(signBlob(bytes, signKey.privateKey, signKey.publicKey)))} : {}),
    })
    return lockBytes
  } finally {
    await writer.close()
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

/** Every node of every planned item, by digest. */
function uniqueDigests(planned: readonly Planned[]): Map<string, Descriptor> {
  const all = new Map<string, Descriptor>()
  for (const p of planned) for (const d of p.plan.nodes) if (!all.has(d.digest)) all.set(d.digest, d)
  return all
}

/**
 * Generous upper bound of each part's metadata: index.json, the lock (which lists the images twice
 * and every blob of the set), the spec, the signature, tar headers and padding.
 */
function metadataEstimate(opts: WriteBundleOptions, planned: readonly Planned[], expected: readonly LockExpectedBlob[]): number {
  const images = planned.filter((p) => !p.chart && !p.signature).map(lockImage)
  const json = (x: unknown): number => (x === undefined ? 0 : JSON.stringify(x, null, 2).length)
  const blobs = uniqueDigests(planned).size
  const imageBlobRefs = planned.reduce((n, p) => n + p.plan.nodes.length, 0)
  return (
    16 * 1024 +
    (opts.specBytes?.length ?? 0) +
    3 * json(images) +
    2 * json(opts.missing) +
    2 * json(expected) +
    200 * blobs +
    100 * imageBlobRefs +
    800 * planned.length
  )
}
