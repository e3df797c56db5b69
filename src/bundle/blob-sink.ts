/**
 * PositionalBlobSink: one blob of the bundle written in parts, at positions, in any order (parallel
 * HTTP Range parts). Memory stays flat: each part's bytes go to their place in the file as they
 * arrive. The digest covers the whole blob in order: bytes that continue the hashed prefix are
 * hashed as they are written; a hasher reads back (from the page cache) the bytes that arrived ahead
 * of it as parts complete the prefix, so by the time the last part lands little is left to hash. Every region is written once (a second write into a written
 * region is refused), so the bytes hashed are the bytes committed.
 */
import {createHash, type Hash} from 'node:crypto'
import type {FileHandle} from 'node:fs/promises'
import type {PositionalBlob} from '../content/types.js'
import {IntegrityError} from '../errors.js'
import {parseDigest} from '../oci/digest.js'
import type {Descriptor} from '../oci/types.js'
import {writevAt} from './positional-io.js'

/** Bytes read back per hash step. */
const READ_BACK = 256 * 1024

export class PositionalBlobSink implements PositionalBlob {
  /** Written regions [start, end), sorted, merged. */
  private readonly written: Array<[number, number]> = []
  /** Regions whose write is under way [start, end): taken, not yet hashable. */
  private readonly pending: Array<[number, number]> = []
  private readonly hash: Hash
  private readonly algorithm: string
  private hashed = 0
  private hashing: Promise<void> | undefined
  private failed: unknown
  private state: 'open' | 'committing' | 'done' | 'abandoned' = 'open'
  private buffer: Buffer | undefined

  /**
   * `dataOffset`: where the blob's first byte sits in `file`. `onVerified` runs once the whole blob
   * hashed to its digest (it writes the header and journals the blob); `onSettled` once, either way.
   */
  constructor(
    private readonly file: FileHandle,
    private readonly desc: Descriptor,
    private readonly dataOffset: number,
    private readonly where: string,
    private readonly onVerified: () => Promise<void>,
    private readonly onSettled: () => void,
    /** Told of every write's bytes once it is in the file (write-behind). */
    private readonly onWritten: (n: number) => void = () => undefined,
  ) {
    this.algorithm = parseDigest(desc.digest, where).algorithm
    this.hash = createHash(this.algorithm)
  }

  async write(position: number, buffers: readonly Buffer[], total: number): Promise<void> {
    if (this.state !== 'open') throw new IntegrityError(`${this.where}: write after the blob was ${this.state}`)
    const end = position + total
    if (!(Number.isSafeInteger(position) && position >= 0 && end <= this.desc.size)) {
      throw new IntegrityError(`${this.where}: a part wrote bytes ${position}-${end} past the blob's ${this.desc.size} bytes`)
    }
    if (total === 0) return
    if (this.overlaps(position, end)) throw new IntegrityError(`${this.where}: bytes ${position}-${end} were written twice`)
    // Claimed before the write so that no concurrent write can take the same region.
    this.claim(position, end)
    await writevAt(this.file, buffers as Buffer[], total, this.dataOffset + position)
    this.onWritten(total)
    this.done(position, end)
    // Bytes that continue the hashed prefix are hashed from memory (they are what was just
    // written); only bytes that arrived ahead of the prefix are read back later.
    if (this.hashed === position && this.hashing === undefined && this.failed === undefined) {
      for (const b of buffers) this.hash.update(b)
      this.hashed = end
    }
    this.kick()
  }

  async commit(): Promise<void> {
    if (this.state !== 'open') throw new IntegrityError(`${this.where}: commit after the blob was ${this.state}`)
    this.state = 'committing'
    try {
      while (this.hashing) await this.hashing
      if (this.failed !== undefined) throw this.failed
      if (this.hashed !== this.desc.size) {
        throw new IntegrityError(`${this.where}: got ${this.contiguous()} contiguous bytes, expected ${this.desc.size}`, {
          hint: 'retry the pull; bytes already in the bundle are kept',
        })
      }
      const got = `${this.algorithm}:${this.hash.digest('hex')}`
      if (got !== this.desc.digest) {
        throw new IntegrityError(`${this.where}: digest mismatch: expected ${this.desc.digest}, got ${got}`, {
          hint: 'the source served different bytes than its manifest names (corruption, or tampering on the way); nothing was kept',
        })
      }
      await this.onVerified()
      this.state = 'done'
    } catch (err) {
      this.state = 'abandoned'
      throw err
    } finally {
      this.onSettled()
    }
  }

  abandon(): void {
    if (this.state === 'done' || this.state === 'abandoned') return
    const wasOpen = this.state === 'open'
    this.state = 'abandoned'
    if (wasOpen) this.onSettled()
  }

  private overlaps(start: number, end: number): boolean {
    return [...this.written, ...this.pending].some(([a, b]) => start < b && a < end)
  }

  private claim(start: number, end: number): void {
    this.pending.push([start, end])
  }

  private done(start: number, end: number): void {
    const i = this.pending.findIndex(([a, b]) => a === start && b === end)
    if (i >= 0) this.pending.splice(i, 1)
    this.written.push([start, end])
    this.written.sort((x, y) => x[0] - y[0])
    for (let j = 0; j + 1 < this.written.length; ) {
      const cur = this.written[j]!
      const next = this.written[j + 1]!
      if (next[0] <= cur[1]) {
        cur[1] = Math.max(cur[1], next[1])
        this.written.splice(j + 1, 1)
      } else j++
    }
  }

  /** End of the written region that starts at 0. */
  private contiguous(): number {
    const first = this.written[0]
    return first && first[0] === 0 ? first[1] : 0
  }

  private kick(): void {
    if (this.hashing || this.failed !== undefined) return
    if (this.contiguous() <= this.hashed) return
    this.hashing = this.catchUp()
      .catch((err: unknown) => {
        this.failed = err
      })
      .finally(() => {
        this.hashing = undefined
        this.kick()
      })
  }

  /** Hash the written prefix not hashed yet, reading it back from the file. */
  private async catchUp(): Promise<void> {
    const buf = (this.buffer ??= Buffer.allocUnsafe(READ_BACK))
    for (;;) {
      const upTo = this.contiguous()
      if (this.hashed >= upTo || this.state === 'abandoned') return
      const want = Math.min(buf.length, upTo - this.hashed)
      const {bytesRead} = await this.file.read(buf, 0, want, this.dataOffset + this.hashed)
      if (bytesRead === 0) throw new IntegrityError(`${this.where}: bytes written at ${this.hashed} could not be read back`)
      this.hash.update(buf.subarray(0, bytesRead))
      this.hashed += bytesRead
    }
  }
}
