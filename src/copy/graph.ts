/**
 * copyGraph: copy the graph rooted at a descriptor from one storage to another, children before
 * parents, skipping sub-graphs the destination already has, each node once.
 */
import {Readable, Transform} from 'node:stream'
import {AuthError, findCause, IntegrityError, NetworkError, NotFoundError, RegistryError, unlessServerFails, UsageError, type Side} from '../errors.js'
import {setTimeout as delay} from 'node:timers/promises'
import {fetchAll} from '../content/verify.js'
import {isChunkFetcher, isChunkPusher, isLocated, isMounter, isPositionalPusher, isRangeFetcher, isUnverifiedFetcher, isVerifiedBodyPusher, isVerifiedFetcher, isVerifyingPusher, type ChunkFetcher, type ChunkPusher, type PositionalPusher, type RangeFetcher, type ReadOnlyStorage, type Storage, type UnverifiedFetcher, type VerifiedBodyPusher} from '../content/types.js'
import {isIndexMediaType, isManifestMediaType, successors} from '../oci/manifest.js'
import {MAX_MANIFEST_BYTES, type Descriptor} from '../oci/types.js'
import {CopyError, type CopyOp} from './errors.js'
import {checkChildren} from './limits.js'
import {RANGED_MIN_BYTES, transferRanged} from './ranged.js'
import {CopyTracker, METADATA_PRIORITY} from './tracker.js'
import {emptyStats, type CopyGraphOptions, type CopyHooks, type CopyStats} from './types.js'

/** Everything one copyGraph() call needs, passed down the recursion. */
interface Ctx {
  readonly src: ReadOnlyStorage
  readonly dst: Storage
  readonly opts: CopyGraphOptions
  readonly tracker: CopyTracker
  readonly hooks: CopyHooks
  readonly stats: CopyStats
  readonly signal: AbortSignal | undefined
}

/** True for descriptors of manifests and indexes (nodes that have successors). */
export function isManifestDescriptor(d: Descriptor): boolean {
  return isIndexMediaType(d.mediaType) || isManifestMediaType(d.mediaType)
}

/**
 * Copy the graph rooted at `root` from `src` to `dst`. Resolves with what this call transferred;
 * nodes another call of the same tracker handles are awaited, not counted. Waits for every started
 * transfer to settle before rejecting with the first failure (a CopyError, or the abort reason).
 */
export async function copyGraph(
  src: ReadOnlyStorage,
  dst: Storage,
  root: Descriptor,
  opts: CopyGraphOptions = {},
): Promise<CopyStats> {
  const ctx: Ctx = {
    src,
    dst,
    opts,
    tracker: opts.tracker ?? new CopyTracker(trackerOptions(opts)),
    hooks: opts.hooks ?? {},
    stats: emptyStats(),
    signal: opts.signal,
  }
  await copyNode(ctx, root)
  return ctx.stats
}

function trackerOptions(opts: CopyGraphOptions): {concurrency?: number; maxMetadataBytes?: number} {
  const o: {concurrency?: number; maxMetadataBytes?: number} = {}
  if (opts.concurrency !== undefined) o.concurrency = opts.concurrency
  if (opts.maxMetadataBytes !== undefined) o.maxMetadataBytes = opts.maxMetadataBytes
  return o
}

/**
 * The bytes of a manifest or index, from the tracker's cache or fetched (verified, size-capped)
 * from `src` in a queue slot. Failures are CopyErrors on the source side.
 */
export async function loadManifest(
  src: ReadOnlyStorage,
  desc: Descriptor,
  tracker: CopyTracker,
  opts: {signal?: AbortSignal | undefined; image?: string | undefined} = {},
): Promise<Buffer> {
  const cached = tracker.cache.get(desc.digest)
  if (cached) return cached
  const where = `${opts.image ?? desc.digest} at ${locationOf(src)}`
  try {
    const bytes = await tracker.queue.add(() => (opts.signal?.throwIfAborted(), fetchAll(src, desc, where, MAX_MANIFEST_BYTES, opts.signal)), queueOptions(METADATA_PRIORITY, opts.signal))
    tracker.cache.set(desc.digest, bytes)
    return bytes
  } catch (err) {
    throw wrapError(err, opts.signal, {op: 'fetch', side: 'source', desc, image: opts.image, location: locationOf(src)})
  }
}

/** `depth`: manifests on the path from the root to `desc` (the root is 1). */
async function copyNode(ctx: Ctx, desc: Descriptor, depth = 1): Promise<void> {
  ctx.signal?.throwIfAborted()
  await ctx.tracker.once(ctx.dst, desc, () => copyNodeOnce(ctx, desc, depth)).promise
}

async function copyNodeOnce(ctx: Ctx, desc: Descriptor, depth: number): Promise<void> {
  const manifest = isManifestDescriptor(desc)
  const askedAlready = depth === 1 && ctx.opts.rootAbsent === true
  const present = ctx.tracker.knownPresent(ctx.dst, desc.digest) || (!askedAlready && (await presentAtDestination(ctx, desc)))
  if (present) {
    if (manifest) ctx.stats.manifestsSkipped++
    else ctx.stats.blobsSkipped++
    ctx.hooks.onSkipped?.(desc)
    return
  }
  if (manifest) await copyManifest(ctx, desc, depth)
  else await copyBlob(ctx, desc)
}

/**
 * Whether the destination holds `desc`. A registry that still answers 5xx after the HTTP client's
 * retries cannot say: the node is pushed again rather than the copy failing (see unlessServerFails
 * in errors.ts for why that is safe and what it repairs).
 */
async function presentAtDestination(ctx: Ctx, desc: Descriptor): Promise<boolean> {
  const present = await unlessServerFails(step(ctx, 'exists', 'destination', desc, METADATA_PRIORITY, () => ctx.dst.exists(desc, ctx.signal)), undefined)
  if (present === undefined) ctx.stats.existenceUnanswered++
  return present ?? false
}

async function copyManifest(ctx: Ctx, desc: Descriptor, depth: number): Promise<void> {
  const bytes = await loadManifest(ctx.src, desc, ctx.tracker, {signal: ctx.signal, image: ctx.opts.image})
  const children = childrenOf(ctx, desc, bytes, depth)
  await settleAll(children.map((child) => copyNode(ctx, child, depth + 1)))
  ctx.hooks.onStart?.(desc, ctx.opts.image)
  await pushManifestWithRetry(ctx, desc, bytes, children)
  ctx.stats.manifestsCopied++
  ctx.stats.bytesCopied += bytes.length
  ctx.hooks.onBytes?.(desc, bytes.length)
  ctx.hooks.onDone?.(desc)
}

/** Successors (within the depth and size limits), largest first so that the big transfers start early. */
function childrenOf(ctx: Ctx, desc: Descriptor, bytes: Buffer, depth: number): Descriptor[] {
  let children: Descriptor[]
  try {
    children = successors(bytes, desc)
    checkChildren(children, desc, depth)
  } catch (err) {
    throw fail(ctx, err, 'parse', 'source', desc)
  }
  return [...children].sort((a, b) => b.size - a.size)
}

/**
 * Push a manifest. A registry that answers MANIFEST_BLOB_UNKNOWN / BLOB_UNKNOWN (it claimed to have
 * a child it cannot link) gets the children pushed again, then one more attempt.
 */
async function pushManifestWithRetry(ctx: Ctx, desc: Descriptor, bytes: Buffer, children: Descriptor[]): Promise<void> {
  const push = (): Promise<void> =>
    step(ctx, 'push', 'destination', desc, METADATA_PRIORITY, () => ctx.dst.push(desc, Readable.from(bytes), ctx.signal))
  try {
    await push()
  } catch (err) {
    if (!isBlobUnknown(err)) throw err
    await settleAll(children.map((child) => repush(ctx, child)))
    await push()
  }
}

/** Push a child again without asking whether the destination has it. */
async function repush(ctx: Ctx, desc: Descriptor): Promise<void> {
  if (!isManifestDescriptor(desc)) return transferBlob(ctx, desc)
  const bytes = await loadManifest(ctx.src, desc, ctx.tracker, {signal: ctx.signal, image: ctx.opts.image})
  await step(ctx, 'push', 'destination', desc, METADATA_PRIORITY, () => ctx.dst.push(desc, Readable.from(bytes), ctx.signal))
}

async function copyBlob(ctx: Ctx, desc: Descriptor): Promise<void> {
  if (await tryMount(ctx, desc)) return
  await transferBlob(ctx, desc)
  ctx.stats.blobsCopied++
  ctx.stats.bytesCopied += desc.size
  ctx.hooks.onDone?.(desc)
}

/** Try each mount candidate in turn; any failure falls back to a plain copy. */
async function tryMount(ctx: Ctx, desc: Descriptor): Promise<boolean> {
  const dst = ctx.dst
  if (!ctx.opts.mountFrom || !isMounter(dst)) return false
  for (const from of ctx.opts.mountFrom(desc)) {
    try {
      const mounted = await ctx.tracker.queue.add(() => (ctx.signal?.throwIfAborted(), dst.mount(desc, from, ctx.signal)), queueOptions(METADATA_PRIORITY, ctx.signal))
      if (mounted) {
        ctx.stats.blobsMounted++
        ctx.hooks.onMounted?.(desc, from)
        return true
      }
    } catch (err) {
      if (ctx.signal?.aborted) throw ctx.signal.reason
      // Declined or not allowed: the next candidate, then a copy.
    }
  }
  return false
}

/**
 * Stream one blob from source to destination in a queue slot (priority = size: largest first).
 * A counting pass-through sits between them, so a destination failure never looks like a
 * source failure and vice versa.
 */
function transferBlob(ctx: Ctx, desc: Descriptor): Promise<void> {
  return ctx.tracker.queue
    .add(async () => {
      for (let attempt = 1; ; attempt++) {
        ctx.signal?.throwIfAborted()
        try {
          return await transferOnce(ctx, desc)
        } catch (err) {
          // A broken or corrupted transfer (after the registry client's own resumes) is started
          // again from scratch a few times: nothing half-written is ever kept by a destination.
          if (attempt >= BLOB_ATTEMPTS || ctx.signal?.aborted || !isTransient(err)) throw err
          await delay(250 * 2 ** (attempt - 1) * (0.5 + Math.random()), undefined, ctx.signal ? {signal: ctx.signal} : {})
        }
      }
    }, queueOptions(desc.size, ctx.signal))
    .catch((err: unknown) => {
      throw fail(ctx, err, 'push', 'destination', desc)
    })
}

/** Attempts per blob transfer (the first one included). */
const BLOB_ATTEMPTS = 3

async function transferOnce(ctx: Ctx, desc: Descriptor): Promise<void> {
  if (isChunkFetcher(ctx.src) && isChunkPusher(ctx.dst)) return transferChunks(ctx, ctx.src, ctx.dst, desc)
  if (desc.size >= RANGED_MIN_BYTES && isRangeFetcher(ctx.src) && isPositionalPusher(ctx.dst)) return transferInParts(ctx, ctx.src, ctx.dst, desc)
  const unverified = readsUnverified(ctx)
  let source: Readable
  try {
    source = unverified ? await unverified.fetchUnverified(desc, ctx.signal) : await ctx.src.fetch(desc, ctx.signal)
  } catch (err) {
    throw fail(ctx, err, 'fetch', 'source', desc)
  }
  ctx.hooks.onStart?.(desc, ctx.opts.image)
  let sourceError: unknown
  const counter = countingStream(desc, ctx.hooks)
  // The destination may listen only after an await (an exists() check): until then a source
  // error must not be an unhandled 'error' event; it is rethrown below through sourceError.
  counter.on('error', () => {})
  source.on('error', (err) => {
    sourceError ??= err
    counter.destroy(err)
  })
  source.pipe(counter)
  try {
    if (!unverified && bodyIsVerified(ctx)) await (ctx.dst as Storage & VerifiedBodyPusher).pushVerified(desc, counter, ctx.signal)
    else await ctx.dst.push(desc, counter, ctx.signal)
  } catch (err) {
    // Unverified source bytes that fail the destination's own check are the source's fault.
    const fromSource = sourceError ?? (unverified && isIntegrityFailure(err) ? err : undefined)
    throw fromSource !== undefined ? fail(ctx, fromSource, 'fetch', 'source', desc) : fail(ctx, err, 'push', 'destination', desc)
  } finally {
    source.destroy()
    counter.destroy()
  }
  if (sourceError !== undefined) throw fail(ctx, sourceError, 'fetch', 'source', desc)
}

/** A large blob in parallel Range parts (a registry into a bundle): see ranged.ts. */
async function transferInParts(ctx: Ctx, src: RangeFetcher, dst: PositionalPusher, desc: Descriptor): Promise<void> {
  const hooks = ctx.hooks
  const sourceFailure = (err: unknown): unknown => fail(ctx, err, 'fetch', 'source', desc)
  const onStart = (): void => hooks.onStart?.(desc, ctx.opts.image)
  const onBytes = (n: number): void => hooks.onBytes?.(desc, n)
  await transferRanged({src, dst, desc, governor: ctx.tracker.link, signal: ctx.signal, onStart, onBytes, sourceFailure}).catch((err: unknown) => {
    throw err instanceof CopyError ? err : fail(ctx, err, 'push', 'destination', desc)
  })
}

/**
 * The chunk path (a bundle into a registry): the source's verified chunks, in reused memory, go
 * straight into the destination's request body. No stream sits in between and nothing is
 * allocated per chunk.
 */
async function transferChunks(ctx: Ctx, src: ChunkFetcher, dst: ChunkPusher, desc: Descriptor): Promise<void> {
  let chunks: AsyncIterable<Buffer>
  try {
    chunks = await src.fetchChunks(desc, ctx.signal)
  } catch (err) {
    throw fail(ctx, err, 'fetch', 'source', desc)
  }
  ctx.hooks.onStart?.(desc, ctx.opts.image)
  const hooks = ctx.hooks
  let sourceError: unknown
  async function* counted(): AsyncGenerator<Buffer> {
    try {
      for await (const chunk of chunks) {
        hooks.onBytes?.(desc, chunk.length)
        yield chunk
      }
    } catch (err) {
      sourceError ??= err
      throw err
    }
  }
  try {
    await dst.pushChunks(desc, counted(), ctx.signal)
  } catch (err) {
    throw sourceError !== undefined ? fail(ctx, sourceError, 'fetch', 'source', desc) : fail(ctx, err, 'push', 'destination', desc)
  }
  if (sourceError !== undefined) throw fail(ctx, sourceError, 'fetch', 'source', desc)
}

/**
 * The source's unverified blob reader when the destination verifies every pushed byte itself:
 * then one hash pass (the destination's) covers each byte instead of two. Otherwise undefined.
 */
function readsUnverified(ctx: Ctx): UnverifiedFetcher | undefined {
  return isVerifyingPusher(ctx.dst) && isUnverifiedFetcher(ctx.src) ? ctx.src : undefined
}

/**
 * True when the source's fetch() streams verify themselves and the destination can take such a
 * stream without hashing it again (one hash pass instead of two; the stream still fails before
 * its end on any mismatch, so the destination commits nothing corrupt).
 */
function bodyIsVerified(ctx: Ctx): boolean {
  return isVerifiedFetcher(ctx.src) && isVerifiedBodyPusher(ctx.dst)
}

function isIntegrityFailure(err: unknown): boolean {
  return findCause(err, IntegrityError) !== undefined
}

/**
 * Worth another attempt: damaged or cut content, network failures, server errors (5xx, 429), and
 * a source stream that broke while it was read (whatever its low-level error). Never: missing
 * content, refused credentials, usage errors.
 */
function isTransient(err: unknown): boolean {
  const sourceRead = err instanceof CopyError && err.side === 'source' && err.op === 'fetch'
  // the outermost error that decides it
  const decisive = findCause(err, (e) => [AuthError, NotFoundError, UsageError, IntegrityError, NetworkError, RegistryError].some((c) => e instanceof c))
  if (decisive === undefined) return sourceRead
  if (decisive instanceof RegistryError) return decisive.status >= 500 || decisive.status === 429
  return decisive instanceof IntegrityError || decisive instanceof NetworkError
}

function countingStream(desc: Descriptor, hooks: CopyHooks): Transform {
  const onBytes = hooks.onBytes
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      onBytes?.(desc, chunk.length)
      cb(null, chunk)
    },
  })
}

/** Run one leaf operation in a queue slot; failures become CopyErrors naming the side. */
async function step<T>(ctx: Ctx, op: CopyOp, side: Side, desc: Descriptor, priority: number, fn: () => Promise<T>): Promise<T> {
  try {
    return await ctx.tracker.queue.add(() => (ctx.signal?.throwIfAborted(), fn()), queueOptions(priority, ctx.signal))
  } catch (err) {
    throw fail(ctx, err, op, side, desc)
  }
}

/**
 * Queue options. The abort signal is deliberately not handed to the queue: p-queue adds an abort
 * listener per queued task, which trips Node's listener warning on graphs with many blobs. Every
 * queued task checks the signal itself when it starts, so an abort still drains the queue at once.
 */
function queueOptions(priority: number, _signal: AbortSignal | undefined): {priority: number} {
  return {priority}
}

/** Await every promise; then reject with the first failure, if any (no work outlives the call). */
async function settleAll(promises: Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(promises)
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
}

function fail(ctx: Ctx, err: unknown, op: CopyOp, side: Side, desc: Descriptor): unknown {
  return wrapError(err, ctx.signal, {op, side, desc, image: ctx.opts.image, location: locationOf(side === 'source' ? ctx.src : ctx.dst)})
}

function wrapError(
  err: unknown,
  signal: AbortSignal | undefined,
  d: {op: CopyOp; side: Side; desc: Descriptor; image?: string | undefined; location: string},
): unknown {
  if (signal?.aborted) return signal.reason
  if (err instanceof CopyError) return err
  return new CopyError(
    {
      op: d.op,
      side: d.side,
      digest: d.desc.digest,
      mediaType: d.desc.mediaType,
      location: d.location,
      ...(d.image === undefined ? {} : {image: d.image}),
    },
    err,
  )
}

export function locationOf(t: object): string {
  return isLocated(t) ? t.location : 'the target'
}

/** A registry's "you pushed a manifest whose children I do not have", anywhere in the cause chain. */
function isBlobUnknown(err: unknown): boolean {
  return findCause(err, (e) => e instanceof RegistryError && e.codes.some((c) => c === 'MANIFEST_BLOB_UNKNOWN' || c === 'BLOB_UNKNOWN')) !== undefined
}
