/**
 * Ranged transfer: one large blob from a RangeFetcher (a registry) into a PositionalPusher (a
 * bundle file) as parallel HTTP Range parts, so that neither a per-connection cap nor one long
 * round trip bounds it. The first part tells whether the server honours ranges: a 206 starts the
 * other parts (from the URL that served it: storage a registry redirected to); a 200 means the
 * server ignores Range, and its body, the whole blob, is read as one stream. A part that breaks is
 * asked again from the byte it stopped at; finished parts are never fetched again. The destination
 * hashes the whole blob in order and commits it only when it matches its digest.
 */
import {setMaxListeners} from 'node:events'
import type {PositionalBlob, PositionalPusher, RangeFetcher, RangeResponse} from '../content/types.js'
import {AuthError, findCause, IntegrityError, NotFoundError, RegistryError, UsageError} from '../errors.js'
import type {Descriptor} from '../oci/types.js'
import type {LinkGovernor} from './link.js'

/** Largest part. */
export const PART_BYTES = 16 * 1024 * 1024

/** Blobs at least this large are fetched in parts (at least two). */
export const RANGED_MIN_BYTES = 8 * 1024 * 1024

/** Part size for a blob: at most PART_BYTES, and at least two parts (a blob under 32 MiB in halves or thirds). */
export function partSizeFor(size: number): number {
  const parts = Math.max(2, Math.ceil(size / PART_BYTES))
  return Math.ceil(size / parts)
}

/** Attempts per part without progress (a part that moved forward starts counting again). */
export const PART_ATTEMPTS = 4

/** Bytes gathered before one positional write. */
const WRITE_BATCH = 256 * 1024

export interface RangedTransfer {
  src: RangeFetcher
  dst: PositionalPusher
  desc: Descriptor
  governor: LinkGovernor
  signal: AbortSignal | undefined
  /** Called once, when the first bytes are on their way. */
  onStart(): void
  onBytes(n: number): void
  /** Wrap a failure of the source (fetch) side. */
  sourceFailure(err: unknown): unknown
  /** Part size (tests); default partSizeFor(desc.size). */
  partBytes?: number
}

/** Side of a failure inside the transfer, so that the caller names the right end. */
class DestinationFailure extends Error {
  constructor(readonly error: unknown) {
    super('destination failure')
  }
}

/** Transfer `desc` in parts. Destination failures are thrown as they are; source failures through sourceFailure(). */
export async function transferRanged(t: RangedTransfer): Promise<void> {
  let sink: PositionalBlob | undefined
  // A failure here is the destination's: the caller names it so (it is no CopyError from sourceFailure).
  sink = await t.dst.openBlob(t.desc, t.signal)
  if (!sink) return
  const controller = new AbortController()
  // Every part in flight listens on this signal (its request's deadline, the HTTP client): up to the
  // governor's maximum at once, each removed when its part ends. Node would warn of a leak past 10.
  setMaxListeners(0, controller.signal)
  const stop = (): void => controller.abort(t.signal?.reason)
  t.signal?.addEventListener('abort', stop, {once: true})
  const run: Run = {t, sink, signal: controller.signal, started: false}
  try {
    await runParts(run)
    await sink.commit().catch((err: unknown) => {
      throw new DestinationFailure(err)
    })
  } catch (err) {
    controller.abort()
    sink.abandon()
    if (err instanceof DestinationFailure) {
      // A blob that does not hash to its digest is the source's fault (its bytes were never verified).
      if (err.error instanceof IntegrityError) throw t.sourceFailure(err.error)
      throw err.error
    }
    throw t.signal?.aborted ? t.signal.reason : t.sourceFailure(err)
  } finally {
    t.signal?.removeEventListener('abort', stop)
  }
}

/**
 * Worth asking the part again: a broken or cut stream (whatever its low-level error), bytes out of
 * place, a network failure, a server error. Never: missing content, refused credentials, a 4xx.
 */
export function isPartRetryable(err: unknown): boolean {
  const decisive = findCause(err, (e) => [AuthError, NotFoundError, UsageError, RegistryError].some((c) => e instanceof c))
  if (decisive === undefined) return true
  return decisive instanceof RegistryError && (decisive.status >= 500 || decisive.status === 429)
}

interface Run {
  t: RangedTransfer
  sink: PositionalBlob
  signal: AbortSignal
  started: boolean
}

async function runParts(run: Run): Promise<void> {
  const {t} = run
  const size = t.desc.size
  const partBytes = t.partBytes ?? partSizeFor(size)
  const release = await t.governor.acquire(run.signal)
  let first: RangeResponse
  try {
    first = await t.src.fetchRange(t.desc, 0, Math.min(partBytes, size), {signal: run.signal})
  } catch (err) {
    release()
    throw err
  }
  if (!first.ranged) {
    // The server ignores Range: its 200 is the whole blob, read as one stream (resumed like a part).
    try {
      await readPart(run, {start: 0, end: size}, first)
    } finally {
      release()
    }
    return
  }
  const via = first.url
  const parts: Array<Promise<void>> = []
  parts.push(readPart(run, {start: 0, end: Math.min(partBytes, size)}, first, via).finally(release))
  for (let start = partBytes; start < size; start += partBytes) {
    const range = {start, end: Math.min(start + partBytes, size)}
    parts.push(
      t.governor.acquire(run.signal).then((done) => readPart(run, range, undefined, via).finally(done)),
    )
  }
  const results = await Promise.allSettled(parts)
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
}

/**
 * Read the part [start, end) into the sink, asking again from the byte it stopped at when the
 * stream breaks. `first` is a response already under way for this part.
 */
async function readPart(run: Run, range: {start: number; end: number}, first: RangeResponse | undefined, via?: URL): Promise<void> {
  const {t} = run
  const progress = {pos: range.start}
  let res = first
  for (let attempt = 1; ; attempt++) {
    const before = progress.pos
    try {
      res ??= await t.src.fetchRange(t.desc, progress.pos, range.end, {via, signal: run.signal})
      if (!run.started) {
        run.started = true
        t.onStart()
      }
      await pump(run, res, progress, range.end)
      if (progress.pos >= range.end) return
      throw new IntegrityError(`${t.desc.digest}: the response for bytes ${before}-${range.end - 1} ended at byte ${progress.pos}`)
    } catch (err) {
      res?.body.destroy()
      res = undefined
      // A part that moved forward starts counting its attempts again.
      if (progress.pos > before) attempt = 0
      if (err instanceof DestinationFailure || run.signal.aborted || attempt >= PART_ATTEMPTS || !isPartRetryable(err)) throw err
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** Math.max(0, attempt - 1) * (0.5 + Math.random())))
    }
  }
}

/**
 * Copy the response's bytes that fall in [progress.pos, end) to the sink (skipping what lies
 * before when the server sent more than asked, e.g. the whole blob); `progress.pos` follows every
 * write, so a break leaves it at the first byte still missing.
 *
 * The bytes are copied into a batch buffer taken from a small free list, not kept as the socket's
 * own chunks until the write: a write waits for the disk, and chunks held that long outlive young
 * garbage collections and pile up until a full one (measured on an 8 GiB pull bound by the disk:
 * up to 50 MiB of dead socket buffers, and the process's peak memory with them). Copied, each
 * chunk dies young; the batch buffers are reused. The copy costs about 0.1 CPU-second per GiB.
 */
async function pump(run: Run, res: RangeResponse, progress: {pos: number}, end: number): Promise<void> {
  const {t, sink} = run
  const from = progress.pos
  let at = res.offset
  const batch = takeBatchBuffer()
  let filled = 0
  const flush = async (): Promise<void> => {
    if (filled === 0) return
    const total = filled
    filled = 0
    try {
      await sink.write(progress.pos, [batch.subarray(0, total)], total)
    } catch (err) {
      throw new DestinationFailure(err)
    }
    progress.pos += total
  }
  try {
    for await (const chunk of res.body) {
      let piece = chunk as Buffer
      const skip = Math.max(0, progress.pos + filled - at)
      at += piece.length
      if (skip >= piece.length) continue
      piece = piece.subarray(skip)
      const room = end - (progress.pos + filled)
      if (piece.length > room) {
        if (res.ranged) throw new IntegrityError(`${t.desc.digest}: the server sent more than the ${end - from} bytes asked for`)
        piece = piece.subarray(0, room)
      }
      if (piece.length > 0) {
        t.governor.record(piece.length)
        t.onBytes(piece.length)
      }
      while (piece.length > 0) {
        const n = piece.copy(batch, filled)
        filled += n
        piece = piece.subarray(n)
        if (filled === batch.length) await flush()
      }
      if (progress.pos + filled >= end) break
    }
  } finally {
    // Bytes that arrived before a break are kept: the part goes on from there.
    try {
      await flush()
    } finally {
      giveBackBatchBuffer(batch)
    }
  }
}

/** Batch buffers not in use (at most FREE_BATCH_BUFFERS kept). */
const freeBatchBuffers: Buffer[] = []
const FREE_BATCH_BUFFERS = 64

function takeBatchBuffer(): Buffer {
  return freeBatchBuffers.pop() ?? Buffer.allocUnsafeSlow(WRITE_BATCH)
}

function giveBackBatchBuffer(b: Buffer): void {
  if (freeBatchBuffers.length < FREE_BATCH_BUFFERS) freeBatchBuffers.push(b)
}
