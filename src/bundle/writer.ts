/**
 * BundleWriter: streams blobs straight into a planned tar layout.
 *
 * Every blob to store is known up front (pull resolves all manifests before it copies layers), so
 * the writer plans the whole archive (archive-plan.ts): `oci-layout`, then blobs sorted by digest,
 * then the metadata (index.json, airgap/lock.json, airgap/spec.yaml, airgap/signature.sigstore.json)
 * whose sizes are only known at finish. Each blob has a fixed offset, so concurrent pushes write
 * with positional writes in any order and the result is byte-identical for the same plan and epoch.
 *
 * Resumable: `<out>.partial` holds the archive being written and `<out>.partial.journal`
 * (journal.ts) records the plan hash and every blob that was verified and fsync'd. Reopening with
 * the same plan keeps journaled blobs; a blob not journaled as complete is never trusted.
 */
import {constants, createReadStream} from 'node:fs'
import {open, rename, rm} from 'node:fs/promises'
import type {FileHandle} from 'node:fs/promises'
import {dirname} from 'node:path'
import {Readable, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import type {Located, PositionalBlob, PositionalPusher, Storage, VerifyingPusher} from '../content/types.js'
import {verifier} from '../content/verify.js'
import {IntegrityError, NotFoundError, UsageError} from '../errors.js'
import type {Descriptor} from '../oci/types.js'
import {planBundle, type BundlePlan, type PlannedBlob} from './archive-plan.js'
import {PositionalBlobSink} from './blob-sink.js'
import {BundleJournal, keepIntact, readJournal} from './journal.js'
import {AIRGAP_FILES, INDEX_JSON, LOCK_JSON, MAX_METADATA_BYTES, OCI_LAYOUT, OCI_LAYOUT_BYTES, SIGNATURE, SPEC_YAML} from './layout.js'
import {padToBlock, writeAt, writevAt} from './positional-io.js'
import {WriteBehind} from './write-behind.js'
import {syncFolder} from '../files/atomic-write.js'
import {BLOCK, END_OF_ARCHIVE, encodeHeader, entrySpan, paddedSize} from './tar.js'

export interface BundleWriterOptions {
  /** Final bundle path; the writer works in `<out>.partial` and renames at finish. */
  out: string
  /** mtime of every entry, seconds (SOURCE_DATE_EPOCH or 0). */
  epoch?: number
  /** Every blob (manifests included) the bundle will hold; duplicates are stored once. */
  blobs: readonly Descriptor[]
  }

export interface FinishInput {
  /** The bytes of index.json (see buildIndexJson). Every manifest it names must be stored. */
  indexJson: Buffer
  files: {
    'airgap/lock.json': Buffer
    'airgap/spec.yaml'?: Buffer
    'airgap/signature.sigstore.json'?: Buffer
  }
  /** Alternative to passing the signature: called with the lock bytes, returns the signature bytes. */
  sign?: (lock: Buffer) => Promise<Buffer>
}

/** Writes a bundle tarball; implements Storage (push, exists, fetch) over the planned layout. */
export class BundleWriter implements Storage, Located, VerifyingPusher, PositionalPusher {
  readonly location: string
  /** push() hashes every byte and journals a blob only when size and digest match (see write()). */
  readonly verifiesPushedContent = true as const
  private readonly complete = new Set<string>()
  private readonly inflight = new Map<string, Promise<void>>()
  private state: 'open' | 'finishing' | 'finished' | 'closed' = 'open'
  private filesClosed = false
  /** Background syncs while blobs stream in (write-behind.ts). */
  private readonly writeBehind: WriteBehind

  private constructor(
    readonly out: string,
    readonly epoch: number,
    readonly plan: BundlePlan,
    private readonly file: FileHandle,
    private readonly journal: BundleJournal,
    resumed: Iterable<string>,
  ) {
    this.location = `bundle ${out}`
    this.writeBehind = new WriteBehind(file)
    for (const d of resumed) this.complete.add(d)
  }

  /**
   * Open a writer. When `<out>.partial` and its journal exist for the same plan, journaled blobs
   * are kept and only the rest must be pushed; otherwise the partial file starts over.
   */
  static async open(options: BundleWriterOptions): Promise<BundleWriter> {
    const epoch = options.epoch ?? 0
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new UsageError(`bundle epoch ${epoch} is invalid`, {hint: 'set SOURCE_DATE_EPOCH to a whole number of seconds'})
    const plan = planBundle(options.blobs, epoch)
    const partial = `${options.out}.partial`
    const journalPath = `${partial}.journal`
    const journaled = await readJournal(partial, journalPath, plan)
    // never through a symlink planted at the predictable name (it must stay predictable: resumes find it)
    const file = await open(partial, constants.O_RDWR | constants.O_NOFOLLOW | (journaled ? 0 : constants.O_CREAT))
    try {
      if (!journaled) await file.truncate(0)
      // A resumed blob is trusted only after it hashes to its digest again: bytes damaged on disk
      // between the runs are fetched again, never signed.
      const resumed = journaled ? await keepIntact(file, plan, journaled) : []
      const journal = await BundleJournal.start(journalPath, plan.hash, resumed)
      await writeAt(file, Buffer.concat([encodeHeader({name: OCI_LAYOUT, size: OCI_LAYOUT_BYTES.length, mtime: epoch}), padToBlock(OCI_LAYOUT_BYTES)]), 0)
      return new BundleWriter(options.out, epoch, plan, file, journal, resumed)
    } catch (err) {
      await file.close()
      throw err
    }
  }

  /** Path of the file being written. */
  get partialPath(): string {
    return `${this.out}.partial`
  }

  /** Digests planned but not yet complete. */
  missing(): Descriptor[] {
    return [...this.plan.blobs.values()].filter((b) => !this.complete.has(b.desc.digest)).map((b) => b.desc)
  }

  async exists(desc: Descriptor): Promise<boolean> {
    const planned = this.plan.blobs.get(desc.digest)
    return planned !== undefined && planned.desc.size === desc.size && this.complete.has(desc.digest)
  }

  /**
   * Stream `body` to the blob's planned offset, verifying size and digest as it goes; then write
   * the header, fsync, and journal the blob as complete. An already complete blob is success.
   */
  async push(desc: Descriptor, body: Readable, signal?: AbortSignal): Promise<void> {
    this.assertOpen('push')
    const planned = this.planned(desc)
    for (;;) {
      if (this.complete.has(desc.digest)) {
        body.destroy()
        return
      }
      const running = this.inflight.get(desc.digest)
      if (!running) break
      await running.catch(() => undefined)
    }
    const job = this.write(planned, body, signal)
    this.inflight.set(desc.digest, job)
    try {
      await job
    } finally {
      this.inflight.delete(desc.digest)
    }
  }

  /**
   * PositionalPusher: the blob written in parts at positions (parallel range reads), hashed in
   * order as its prefix completes (blob-sink.ts); journaled only once the whole blob verified.
   * Undefined when the blob is already complete.
   */
  async openBlob(desc: Descriptor): Promise<PositionalBlob | undefined> {
    this.assertOpen('push')
    const planned = this.planned(desc)
    for (;;) {
      if (this.complete.has(desc.digest)) return undefined
      const running = this.inflight.get(desc.digest)
      if (!running) break
      await running.catch(() => undefined)
    }
    let settle = (): void => undefined
    this.inflight.set(desc.digest, new Promise<void>((resolve) => (settle = resolve)))
    const {name, offset} = planned
    return new PositionalBlobSink(
      this.file,
      desc,
      offset + BLOCK,
      `${this.location} ${name}`,
      () => this.sealBlob(planned),
      () => {
        this.inflight.delete(desc.digest)
        settle()
      },
      (n) => this.writeBehind.wrote(n),
    )
  }

  /** Read back a complete blob (verified while streaming). */
  async fetch(desc: Descriptor): Promise<Readable> {
    const planned = this.planned(desc)
    if (!this.complete.has(desc.digest)) throw new NotFoundError(`${this.location}: ${desc.digest} has not been written yet`)
    const path = this.state === 'finished' ? this.out : this.partialPath
    const where = `${this.location} ${planned.name}`
    if (desc.size === 0) return Readable.from([]).pipe(verifier(desc, where))
    const start = planned.offset + BLOCK
    const src = createReadStream(path, {start, end: start + desc.size - 1})
    const check = verifier(desc, where)
    src.on('error', (err) => check.destroy(err))
    return src.pipe(check)
  }

  /**
   * Write the metadata and the end-of-archive marker, truncate to the exact size, fsync, and
   * atomically rename `<out>.partial` to `<out>`. Fails, listing them, when planned blobs are
   * missing; every manifest named in index.json must be a stored blob.
   */
  async finish(input: FinishInput): Promise<{path: string; size: number}> {
    this.assertOpen('finish')
    if (this.inflight.size > 0) throw new UsageError(`${this.location}: finish called while ${this.inflight.size} push(es) are still running`)
    const missing = this.missing()
    if (missing.length > 0) {
      const list = missing.slice(0, 10).map((d) => d.digest).join(', ')
      throw new IntegrityError(`${this.location}: ${missing.length} planned blob(s) missing: ${list}${missing.length > 10 ? ', …' : ''}`, {
        hint: 'run the pull again; completed blobs are kept and only the missing ones are downloaded',
      })
    }
    this.state = 'finishing'
    try {
      const files = await this.metadataFiles(input)
      let offset = this.plan.metadataOffset
      for (const [name, bytes] of files) {
        await writeAt(this.file, Buffer.concat([encodeHeader({name, size: bytes.length, mtime: this.epoch}), padToBlock(bytes)]), offset)
        offset += entrySpan(bytes.length)
      }
      await writeAt(this.file, Buffer.alloc(END_OF_ARCHIVE), offset)
      offset += END_OF_ARCHIVE
      await this.file.truncate(offset)
      await this.writeBehind.settle()
      await this.file.sync()
      this.writeBehind.check()
      await this.closeFiles()
      await rename(this.partialPath, this.out)
      await syncFolder(dirname(this.out))
      await rm(`${this.partialPath}.journal`, {force: true})
      this.state = 'finished'
      return {path: this.out, size: offset}
    } catch (err) {
      this.state = this.filesClosed ? 'closed' : 'open'
      throw err
    }
  }

  /** Release the files without finishing; the partial file and journal stay for a resume. */
  async close(): Promise<void> {
    if (this.state === 'finished') return
    this.state = 'closed'
    await this.closeFiles()
  }

  private async closeFiles(): Promise<void> {
    if (this.filesClosed) return
    this.filesClosed = true
    await this.writeBehind.settle()
    await Promise.allSettled([this.journal.close(), this.file.close()])
  }

  private async metadataFiles(input: FinishInput): Promise<Array<[string, Buffer]>> {
    const lock = input.files[LOCK_JSON]
    if (!lock) throw new UsageError(`${this.location}: finish needs ${LOCK_JSON}`)
    let signature = input.files[SIGNATURE]
    if (input.sign) {
      if (signature) throw new UsageError(`${this.location}: pass either the signature bytes or a sign callback, not both`)
      signature = await input.sign(lock)
    }
    this.checkIndex(input.indexJson)
    const byName: Record<string, Buffer | undefined> = {[LOCK_JSON]: lock, [SPEC_YAML]: input.files[SPEC_YAML], [SIGNATURE]: signature}
    const files: Array<[string, Buffer]> = [[INDEX_JSON, input.indexJson]]
    for (const name of AIRGAP_FILES) {
      const bytes = byName[name]
      if (bytes) files.push([name, bytes])
    }
    for (const [name, bytes] of files) {
      if (bytes.length > MAX_METADATA_BYTES) {
        throw new UsageError(`${this.location}: ${name} is ${bytes.length} bytes, over the ${MAX_METADATA_BYTES}-byte limit readers accept`)
      }
    }
    return files
  }

  /** index.json must be an index whose every manifest is a complete blob of the same size. */
  private checkIndex(indexJson: Buffer): void {
    let index: {manifests?: unknown}
    try {
      index = JSON.parse(indexJson.toString('utf8')) as {manifests?: unknown}
    } catch (err) {
      throw new UsageError(`${this.location}: index.json is not valid JSON`, {cause: err})
    }
    if (!Array.isArray(index.manifests)) throw new UsageError(`${this.location}: index.json has no manifests array`)
    for (const m of index.manifests as Descriptor[]) {
      const planned = this.plan.blobs.get(m?.digest)
      if (!planned || planned.desc.size !== m.size || !this.complete.has(m.digest)) {
        throw new UsageError(`${this.location}: index.json names ${String(m?.digest)} (size ${String(m?.size)}), which is not a stored blob of that size`)
      }
    }
  }

  private async write(planned: PlannedBlob, body: Readable, signal?: AbortSignal): Promise<void> {
    const {desc, name, offset} = planned
    const where = `${this.location} ${name}`
    const start = offset + BLOCK
    const end = start + desc.size
    let pos = start
    const file = this.file
    const writeBehind = this.writeBehind
    // While one write is in flight the chunks that arrive meanwhile (64 KiB each from a socket)
    // queue up to the high-water mark and go out together in ONE positional writev: far fewer
    // syscalls and inode-lock round trips than a write per chunk, and no copy. (A Writable with
    // only writev hands it single chunks too.)
    const sink = new Writable({
      highWaterMark: 1024 * 1024,
      writev(chunks, done) {
        const buffers = chunks.map((c) => c.chunk as Buffer)
        const total = buffers.reduce((n, b) => n + b.length, 0)
        if (pos + total > end) return done(new IntegrityError(`${where}: more than the expected ${desc.size} bytes`))
        const at = pos
        pos += total
        writevAt(file, buffers, total, at).then(() => {
          writeBehind.wrote(total)
          done()
        }, done)
      },
    })
    await pipeline(body, verifier(desc, where), sink, signal ? {signal} : {})
    if (pos !== end) throw new IntegrityError(`${where}: got ${pos - start} bytes, expected ${desc.size}`)
    await this.sealBlob(planned)
  }

  /** A verified blob's padding and header, fsync'd, then journaled as complete. */
  private async sealBlob({desc, name, offset}: PlannedBlob): Promise<void> {
    const end = offset + BLOCK + desc.size
    const tail = paddedSize(desc.size) - desc.size
    if (tail > 0) await writeAt(this.file, Buffer.alloc(tail), end)
    await writeAt(this.file, encodeHeader({name, size: desc.size, mtime: this.epoch}), offset)
    await this.file.datasync()
    this.writeBehind.check()
    await this.journal.recordDone(desc.digest)
    this.complete.add(desc.digest)
  }

  private planned(desc: Descriptor): PlannedBlob {
    const planned = this.plan.blobs.get(desc.digest)
    if (!planned) {
      throw new UsageError(`${this.location}: ${desc.digest} was not planned for this bundle`, {
        hint: 'this is a bug in the caller: every blob must be listed when the writer is opened',
      })
    }
    if (planned.desc.size !== desc.size) {
      throw new IntegrityError(`${this.location}: ${desc.digest} was planned with size ${planned.desc.size}, not ${desc.size}`)
    }
    return planned
  }

  private assertOpen(op: string): void {
    if (this.state !== 'open') throw new UsageError(`${this.location}: cannot ${op}, the writer is ${this.state}`)
  }
}
