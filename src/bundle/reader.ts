/**
 * BundleReader: a read-only target over a bundle tarball, without extracting anything.
 *
 * open() scans the tar headers only (one 512-byte positional read per entry, data skipped by
 * offset) and refuses hostile input: anything but regular files, names outside the bundle layout,
 * path tricks, duplicates, bad checksums, truncation, trailing garbage, oversized metadata. Blobs
 * are then served straight from their byte ranges through a verifying stream, several at a time.
 *
 * Everything is read through the ONE file descriptor open() opened, the hashing workers included:
 * what was checked is what is read afterwards, even when another file is renamed over the path
 * meanwhile (verify once, then push or serve from the same reader).
 */
import {createHash} from 'node:crypto'
import {open} from 'node:fs/promises'
import type {FileHandle} from 'node:fs/promises'
import {Readable} from 'node:stream'
import pLimit from 'p-limit'
import type {ChunkFetcher, Located, ReadOnlyTarget, TagLister, VerifiedFetcher} from '../content/types.js'
import {Verification, verifier} from '../content/verify.js'
import {IntegrityError, NotFoundError, UsageError} from '../errors.js'
import {isDigest} from '../oci/digest.js'
import {isIndexMediaType, isManifestMediaType, parseManifest, successors} from '../oci/manifest.js'
import {formatReference, parseReference} from '../oci/reference.js'
import {Annotation, MAX_MANIFEST_BYTES, MediaType} from '../oci/types.js'
import type {Descriptor, ImageIndex} from '../oci/types.js'
import {INDEX_JSON, MAX_METADATA_BYTES, OCI_LAYOUT, blobEntryName, digestOfEntryName} from './layout.js'
import {HashPool} from './hash-pool.js'
import {checkLayoutVersion, rangeStream, readEntry, scan, type BundleEntry} from './scan.js'

export type {BundleEntry} from './scan.js'

/** Blobs at least this large are hashed on worker threads. */
const WORKER_MIN_BYTES = 4 * 1024 * 1024

/** Blobs up to this size are read in one piece by fetch() instead of streamed. */
const SMALL_BLOB_BYTES = 256 * 1024

const HASH_CHUNK = 1024 * 1024

/**
 * Longest a blob's last chunk is held for the verification (holdUntilVerified): well under the
 * 60 s a proxy in front of a registry commonly allows between two reads of a request body.
 */
const HOLD_MS = 20_000

/** A blob's upload waited HOLD_MS for the verification: it is cancelled and sent again once the verification has passed. */
export class HoldExpired extends Error {
  constructor(where: string, ms: number) {
    super(`${where}: held ${ms / 1000} s for the bundle's verification to finish; sent again once it has`)
    this.name = 'HoldExpired'
  }
}

/** See holdUntilVerified(). */
interface Hold {
  readonly until: Promise<unknown>
  readonly covers: (digest: string) => boolean
  readonly maxMs: number
  state: 'pending' | 'passed' | 'failed'
  error?: unknown
  /** Blobs whose hold expired once: their next read waits for the verification before it starts. */
  readonly waitFirst: Set<string>
}

export interface BundleReaderOptions {
  /** Cap for every non-blob entry; default 16 MiB. */
  maxMetadataBytes?: number
}

export interface VerifyAllOptions {
  /** Blobs hashed at once on this thread; default 2 (or the worker count). */
  concurrency?: number
  /** Hashing worker threads for large blobs (default: cores, at most 4); 0 hashes on this thread only. */
  workers?: number
  /** Hash only the blobs whose digest this accepts (default: every blob). */
  only?: (digest: string) => boolean
  /** Called with the byte count of every chunk hashed. */
  onBytes?: (n: number) => void
  signal?: AbortSignal
}

/** Read-only target over a bundle tarball; implements ReadOnlyTarget, TagLister, Located, VerifiedFetcher, ChunkFetcher. */
export class BundleReader implements ReadOnlyTarget, TagLister, Located, VerifiedFetcher, ChunkFetcher {
  readonly location: string
  /** fetch() streams verify size and digest (VerifiedFetcher). */
  readonly verifiesFetchedContent = true as const

  /** Hashing workers booted ahead of the next verifyAllBlobs() (prepareHashWorkers). */
  private preparedWorkers: HashPool | undefined
  /** Workers being terminated; close() waits for them before closing the descriptor they read. */
  private readonly stoppingWorkers: Promise<void>[] = []
  /**
   * Blobs verifyAllBlobs() hashed and found matching, and the file's identity (fstat) taken before
   * that hashing began: fetchChunks() hands such a blob over without hashing it again as long as
   * the file is unchanged (see chunks()).
   */
  private readonly hashedBlobs = new Set<string>()
  private hashedFileState: string | undefined
  /** Set by holdUntilVerified(): fetchChunks() holds every blob's last chunk until it settles. */
  private hold: Hold | undefined

  private constructor(
    readonly path: string,
    private readonly file: FileHandle,
    /** Size of the file opened (the descriptor's, not whatever the path names now). */
    readonly size: number,
    private readonly byName: ReadonlyMap<string, BundleEntry>,
    /** The parsed index.json. */
    readonly index: ImageIndex,
    /** The exact bytes of index.json (the lock pins their sha256). */
    readonly indexBytes: Buffer,
    private readonly maxMetadataBytes: number,
  ) {
    this.location = `bundle ${path}`
  }

  /** Scan and check the archive, then parse oci-layout and index.json. */
  static async open(path: string, options: BundleReaderOptions = {}): Promise<BundleReader> {
    const max = options.maxMetadataBytes ?? MAX_METADATA_BYTES
    const file = await open(path, 'r').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new NotFoundError(`bundle ${path} does not exist`, {hint: 'check the path', cause: err})
      throw err
    })
    try {
      const {entries, size} = await scan(file, path, max)
      const where = `bundle ${path}`
      const layout = entries.get(OCI_LAYOUT)
      if (!layout) throw new IntegrityError(`${where}: no ${OCI_LAYOUT} entry; this is not an OCI image layout bundle`)
      checkLayoutVersion(await readEntry(file, layout), `${where} ${OCI_LAYOUT}`)
      const indexEntry = entries.get(INDEX_JSON)
      if (!indexEntry) throw new IntegrityError(`${where}: no ${INDEX_JSON} entry`, {hint: 'the bundle is incomplete; copy it again'})
      const indexBytes = await readEntry(file, indexEntry)
      const parsed = parseManifest(indexBytes, MediaType.OciIndex, `${where} ${INDEX_JSON}`)
      if (parsed.kind !== 'index') throw new IntegrityError(`${where}: ${INDEX_JSON} is not an image index`)
      return new BundleReader(path, file, size, entries, parsed.index, indexBytes, max)
    } catch (err) {
      await file.close()
      throw err
    }
  }

  /** Stop the hashing workers (they read this descriptor), then close the descriptor. */
  async close(): Promise<void> {
    this.stopWorkers(this.preparedWorkers)
    this.preparedWorkers = undefined
    await Promise.all(this.stoppingWorkers)
    await this.file.close()
  }

  /** Every entry in archive order. */
  entries(): BundleEntry[] {
    return [...this.byName.values()].sort((a, b) => a.offset - b.offset)
  }

  /** True when the archive holds an entry of that name. */
  has(name: string): boolean {
    return this.byName.has(name)
  }

  /** The bytes of a metadata entry (index.json, oci-layout, airgap/*), size-capped. */
  async readFile(name: string): Promise<Buffer> {
    const entry = this.byName.get(name)
    if (!entry) throw new NotFoundError(`${this.location}: no entry ${name}`)
    if (entry.kind !== 'metadata') throw new UsageError(`${this.location}: ${name} is a blob; use fetch()`)
    if (entry.size > this.maxMetadataBytes) throw new IntegrityError(`${this.location}: ${name} is over ${this.maxMetadataBytes} bytes`)
    return readEntry(this.file, entry)
  }

  async exists(desc: Descriptor): Promise<boolean> {
    const entry = this.blobEntry(desc.digest)
    return entry !== undefined && entry.size === desc.size
  }

  /** Stream a blob from its byte range, verified against `desc` (size and digest). */
  async fetch(desc: Descriptor): Promise<Readable> {
    const {entry, where} = this.blobFor(desc)
    if (entry.size > 0 && entry.size <= SMALL_BLOB_BYTES) {
      // Manifests, configs and small layers (most reads of a push or a graph check): one read,
      // checked whole before it is handed over; a mismatch fails the stream, as below.
      const bytes = await readEntry(this.file, entry)
      const verification = new Verification(desc, where)
      const err = verification.update(bytes) ?? verification.finish()
      if (err) {
        return new Readable({
          read() {
            this.destroy(err)
          },
        })
      }
      return Readable.from([bytes], {objectMode: false})
    }
    const check = verifier(desc, where)
    if (entry.size === 0) return Readable.from([]).pipe(check)
    const src = rangeStream(this.file, entry.offset, entry.size, where)
    src.on('error', (err) => check.destroy(err))
    return src.pipe(check)
  }

  /** Bytes `start..end` (inclusive) of a blob, not verified (a slice cannot be): an HTTP Range answer. */
  blobRange(desc: Descriptor, start: number, end: number): Readable {
    const {entry, where} = this.blobFor(desc)
    return rangeStream(this.file, entry.offset + start, end - start + 1, where)
  }

  /**
   * ChunkFetcher: the blob as verified chunks, all read into ONE buffer per call (no allocation
   * per chunk: a stream that allocates a fresh buffer per read makes V8 run a full garbage
   * collection every few dozen MiB). Size and digest are checked before the last chunk is handed
   * over: corrupt content throws instead of completing.
   *
   * A blob verifyAllBlobs() hashes through this descriptor is not hashed a second time (a push
   * spent a third of its CPU on that second pass): its size is counted and, before the last chunk,
   * the file is checked to be the one that was hashed (fstat: device, inode, size, modification
   * and change times, to the nanosecond). A write to the file since then throws instead. A
   * registry checks the digest of what it receives before it stores a blob, so even a change
   * within one timestamp tick is refused there.
   *
   * After holdUntilVerified(), the last chunk of every blob waits for that verification (at most
   * HOLD_MS by default, then HoldExpired): the consumer has sent all but the last bytes while the blobs were
   * being hashed, and commits nothing before all of them passed.
   */
  async fetchChunks(desc: Descriptor, signal?: AbortSignal): Promise<AsyncIterable<Buffer>> {
    const {entry, where} = this.blobFor(desc)
    return this.chunks(entry, desc, where, signal)
  }

  /**
   * Let fetchChunks() hand out blobs while `until` (a verifyAllBlobs() of this reader, started by
   * the caller) still runs: blobs `covers` accepts are hashed by it alone, and the last chunk of
   * EVERY blob is held until it has passed (a failure throws its error instead). So a push sends
   * while it verifies, yet nothing reaches a registry whole before the whole bundle is verified.
   */
  holdUntilVerified(until: Promise<unknown>, covers: (digest: string) => boolean, maxMs = HOLD_MS): void {
    const hold: Hold = {until, covers, maxMs, state: 'pending', waitFirst: new Set()}
    until.then(
      () => (hold.state = 'passed'),
      (err: unknown) => {
        hold.state = 'failed'
        hold.error = err
      },
    )
    this.hold = hold
  }

  private async *chunks(entry: BundleEntry, desc: Descriptor, where: string, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
    const hold = this.hold
    if (hold?.state === 'failed') throw hold.error
    if (hold?.state === 'pending' && hold.waitFirst.has(desc.digest)) await hold.until
    // Hashed here, or by verifyAllBlobs() (done, or running under the hold).
    const hashedElsewhere = this.hashedBlobs.has(desc.digest) || (hold?.state === 'pending' && hold.covers(desc.digest))
    const check = hashedElsewhere ? undefined : new Verification(desc, where)
    const buf = Buffer.allocUnsafe(Math.min(HASH_CHUNK, Math.max(entry.size, 1)))
    let done = 0
    while (done < entry.size) {
      signal?.throwIfAborted()
      const {bytesRead} = await this.file.read(buf, 0, Math.min(buf.length, entry.size - done), entry.offset + done)
      if (bytesRead === 0) throw new IntegrityError(`${where} ends early (the file shrank while reading)`)
      done += bytesRead
      const chunk = buf.subarray(0, bytesRead)
      if (check) {
        const err = check.update(chunk) ?? (done === entry.size ? check.finish() : undefined)
        if (err) throw err
      }
      if (done === entry.size) await this.beforeLastChunk(desc, where, hashedElsewhere, hold)
      yield chunk
    }
    if (entry.size === 0) {
      const err = check?.finish()
      if (err) throw err
      await this.beforeLastChunk(desc, where, hashedElsewhere, hold)
    }
  }

  /** Wait for the hold (if any), then, for a blob hashed elsewhere, check it passed and the file is the one hashed. */
  private async beforeLastChunk(desc: Descriptor, where: string, hashedElsewhere: boolean, hold: Hold | undefined): Promise<void> {
    if (hold?.state === 'pending') {
      let timer: NodeJS.Timeout | undefined
      const expired = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), hold.maxMs)))
      const late = await Promise.race([hold.until.then(() => false), expired]).finally(() => clearTimeout(timer))
      if (late) {
        hold.waitFirst.add(desc.digest)
        throw new HoldExpired(where, hold.maxMs)
      }
    }
    if (hold?.state === 'failed') throw hold.error
    if (!hashedElsewhere) return
    if (!this.hashedBlobs.has(desc.digest)) throw new IntegrityError(`${where}: was about to be sent without having been verified`, {hint: 'this is a bug in airgap; verify the bundle and push again'})
    if ((await this.fileState()) !== this.hashedFileState) {
      throw new IntegrityError(`${where}: the bundle file was changed after it was verified`, {
        hint: 'something wrote to the bundle while airgap read it; stop that, verify the bundle and run the command again',
      })
    }
  }

  /** The open file's identity and last change (fstat, nanoseconds), as one comparable string. */
  private async fileState(): Promise<string> {
    const s = await this.file.stat({bigint: true})
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`
  }

  private blobFor(desc: Descriptor): {entry: BundleEntry; where: string} {
    const entry = this.blobEntry(desc.digest)
    const where = `${this.location} ${entry?.name ?? desc.digest}`
    if (!entry) throw new NotFoundError(`${this.location}: ${desc.digest} is not in the bundle`, {hint: 'the bundle does not hold this content; pull it again with the image listed'})
    if (entry.size !== desc.size) {
      throw new IntegrityError(`${where}: entry is ${entry.size} bytes but the descriptor says ${desc.size}`, {hint: 'the bundle is damaged or was edited; copy it again'})
    }
    return {entry, where}
  }

  /**
   * Resolve a full reference (`org.opencontainers.image.ref.name`, e.g.
   * `docker.io/wandb/local:0.62.2`, or any spelling that normalises to it) or a digest to the
   * descriptor listed in index.json.
   */
  async resolve(ref: string): Promise<Descriptor> {
    const manifests = this.index.manifests
    const found = isDigest(ref) ? manifests.find((m) => m.digest === ref) : this.findByName(ref)
    if (found) return found
    const known = manifests.map(refName).filter((n): n is string => n !== undefined)
    throw new NotFoundError(`${this.location}: no image named ${ref}`, {
      hint: known.length ? `the bundle holds: ${known.slice(0, 5).join(', ')}${known.length > 5 ? ', …' : ''}` : 'the bundle index is empty',
    })
  }

  /** The reference names in index.json. */
  async *tags(): AsyncIterable<string> {
    for (const m of this.index.manifests) {
      const name = refName(m)
      if (name !== undefined) yield name
    }
  }

  /**
   * Hash every blob at disk speed (large positional reads, no stream plumbing) and compare it with
   * the digest in its name. Reports every mismatch in one IntegrityError naming the entries.
   */
  async verifyAllBlobs(options: VerifyAllOptions = {}): Promise<{blobs: number; bytes: number}> {
    const only = options.only
    const blobs = this.blobEntries(only)
    // The file's identity before any byte is hashed: a later change voids what this call verifies.
    const state = await this.fileState()
    if (state !== this.hashedFileState) this.hashedBlobs.clear()
    this.hashedFileState = state
    // Large blobs go to hashing workers (all cores); small ones are cheaper on this thread. Workers
    // booted by prepareHashWorkers() are used (and stopped afterwards); otherwise a pool is started
    // here when needed.
    const large = blobs.filter(isWorkerSized)
    const prepared = this.preparedWorkers
    this.preparedWorkers = undefined
    const pool = large.length > 0 && options.workers !== 0 ? (prepared ?? new HashPool(options.workers)) : undefined
    const limit = pLimit(Math.max(1, options.concurrency ?? 2, pool?.size ?? 0))
    const bad: string[] = []
    let bytes = 0
    try {
      // Largest first so that the last blob to finish is a small one.
      const ordered = [...blobs].sort((a, b) => b.size - a.size)
      await Promise.all(
        ordered.map((entry) =>
          limit(async () => {
            options.signal?.throwIfAborted()
            const want = digestOfEntryName(entry.name)
            const algorithm = want.slice(0, want.indexOf(':'))
            const got =
              pool && isWorkerSized(entry)
                ? await pool.hashRange(this.file.fd, entry.offset, entry.size, algorithm, options.onBytes).catch((err: Error) => {
                    throw new IntegrityError(`${this.location}: cannot read ${entry.name}: ${err.message}`)
                  })
                : await this.hashEntry(entry, algorithm, options)
            bytes += entry.size
            if (got !== want) bad.push(`${entry.name} (content hashes to ${got})`)
            else this.hashedBlobs.add(want)
          }),
        ),
      )
    } finally {
      this.stopWorkers(prepared)
      if (pool !== prepared) this.stopWorkers(pool)
    }
    if (bad.length > 0) {
      bad.sort()
      throw new IntegrityError(`${this.location}: ${bad.length} blob(s) do not match their digest: ${bad.join('; ')}`, {
        hint: 'the bundle is damaged; copy it again from the source',
      })
    }
    return {blobs: blobs.length, bytes}
  }

  /**
   * Boot the hashing workers of the next verifyAllBlobs() now (~60 ms each, on every core), so that
   * they start while the caller does something else, when some blob `only` accepts (every blob
   * without it) is large enough to be hashed on a worker. Does nothing when they are booted already
   * or no such blob exists. The workers read this reader's descriptor; verifyAllBlobs() and
   * close() stop them.
   */
  prepareHashWorkers(only?: (digest: string) => boolean): void {
    if (!this.preparedWorkers && this.blobEntries(only).some(isWorkerSized)) this.preparedWorkers = new HashPool()
  }

  /** Terminate a pool without waiting here; close() waits before closing the descriptor. */
  private stopWorkers(pool: HashPool | undefined): void {
    if (pool) this.stoppingWorkers.push(pool.close())
  }

  /**
   * Walk every descriptor reachable from index.json: each must be present with the declared size,
   * and manifests and indexes are read (digest-checked) to find their children. Reports every
   * missing or wrongly sized blob, naming its parent. Returns the number of descriptors checked.
   * A delta bundle passes `expected` (digest -> size, from the lock's expectedInMirror): such a
   * blob (never a manifest) may be absent when its size matches; `absent` counts them.
   */
  async verifyGraph(opts: {expected?: ReadonlyMap<string, number>} = {}): Promise<{descriptors: number; absent?: number}> {
    let absent = 0
    const problems: string[] = []
    const seen = new Set<string>()
    const queue: Array<{desc: Descriptor; parent: string}> = this.index.manifests.map((desc) => ({desc, parent: refName(desc) ?? INDEX_JSON}))
    while (queue.length > 0) {
      const {desc, parent} = queue.shift()!
      if (seen.has(desc.digest)) continue
      seen.add(desc.digest)
      const entry = this.blobEntry(desc.digest)
      if (!entry) {
        const expectedSize = opts.expected?.get(desc.digest)
        const manifest = isIndexMediaType(desc.mediaType) || isManifestMediaType(desc.mediaType)
        if (expectedSize === undefined || manifest) problems.push(`${desc.digest} (referenced by ${parent}) is missing`)
        else if (expectedSize !== desc.size) problems.push(`${desc.digest} is expected in the mirror with ${expectedSize} bytes but ${parent} says ${desc.size}`)
        else absent++
        continue
      }
      if (entry.size !== desc.size) {
        problems.push(`${entry.name} is ${entry.size} bytes but ${parent} says ${desc.size}`)
        continue
      }
      if (!isIndexMediaType(desc.mediaType) && !isManifestMediaType(desc.mediaType)) continue
      const bytes = await this.readVerified(desc)
      for (const child of successors(bytes, desc)) queue.push({desc: child, parent: desc.digest})
    }
    if (problems.length > 0) {
      throw new IntegrityError(`${this.location}: ${problems.length} problem(s) in the content graph: ${problems.join('; ')}`, {
        hint: 'the bundle is incomplete or damaged; pull it again',
      })
    }
    return {descriptors: seen.size, ...(opts.expected ? {absent} : {})}
  }

  private async readVerified(desc: Descriptor): Promise<Buffer> {
    if (desc.size > MAX_MANIFEST_BYTES) throw new IntegrityError(`${this.location}: manifest ${desc.digest} is ${desc.size} bytes, over the ${MAX_MANIFEST_BYTES}-byte limit`)
    const chunks: Buffer[] = []
    for await (const chunk of await this.fetch(desc)) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks)
  }

  private async hashEntry(entry: BundleEntry, algorithm: string, options: VerifyAllOptions): Promise<string> {
    const hash = createHash(algorithm)
    const buf = Buffer.allocUnsafe(Math.min(HASH_CHUNK, Math.max(entry.size, 1)))
    let done = 0
    while (done < entry.size) {
      options.signal?.throwIfAborted()
      const want = Math.min(buf.length, entry.size - done)
      const {bytesRead} = await this.file.read(buf, 0, want, entry.offset + done)
      if (bytesRead === 0) throw new IntegrityError(`${this.location}: ${entry.name} ends early (the file shrank while reading)`)
      hash.update(buf.subarray(0, bytesRead))
      done += bytesRead
      options.onBytes?.(bytesRead)
    }
    return `${algorithm}:${hash.digest('hex')}`
  }

  /** The blob entries (in no particular order) whose digest `only` accepts; all without it. */
  private blobEntries(only?: (digest: string) => boolean): BundleEntry[] {
    return [...this.byName.values()].filter((e) => e.kind === 'blob' && (!only || only(digestOfEntryName(e.name))))
  }

  private blobEntry(digest: string): BundleEntry | undefined {
    if (!isDigest(digest)) return undefined
    const entry = this.byName.get(blobEntryName(digest))
    return entry?.kind === 'blob' ? entry : undefined
  }

  private findByName(ref: string): Descriptor | undefined {
    const manifests = this.index.manifests
    const exact = manifests.find((m) => refName(m) === ref)
    if (exact) return exact
    let normalised: string
    try {
      normalised = formatReference(parseReference(ref))
    } catch {
      return undefined
    }
    return manifests.find((m) => refName(m) === normalised)
  }
}

function refName(desc: Descriptor): string | undefined {
  return desc.annotations?.[Annotation.RefName]
}


function isWorkerSized(entry: BundleEntry): boolean {
  return entry.size >= WORKER_MIN_BYTES
}
