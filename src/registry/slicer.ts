/**
 * Streaming helpers of blob uploads: StreamSlicer cuts one byte stream into the bodies of chunked
 * upload requests without buffering, shareable()/copied() decide which chunks may be sent from
 * the producer's reused memory.
 */
import {Readable} from 'node:stream'
import {IntegrityError} from '../errors.js'

/**
 * Cut one byte stream into consecutive sub-streams of given lengths without buffering or copying:
 * each slice pulls from the shared source only as fast as its consumer reads, and the bytes past
 * its end stay with the source for the next slice. Take a slice only after the previous one was
 * read to its end (a slice never reads past its own end, so the order cannot mix up).
 */
export class StreamSlicer {
  private readonly source: AsyncIterator<unknown>
  private rest: Buffer | undefined

  constructor(
    source: AsyncIterable<unknown>,
    private readonly where: string,
  ) {
    this.source = source[Symbol.asyncIterator]()
  }

  /** A stream of exactly the next `length` bytes; it fails when the source ends before that. */
  next(length: number): Readable {
    return Readable.from(this.slice(length), {objectMode: false, highWaterMark: 64 * 1024})
  }

  /** Read the source to its end (which runs its checks); fails if bytes are left over. */
  async end(): Promise<void> {
    const leftover = this.rest !== undefined || !(await this.source.next()).done
    this.rest = undefined
    if (leftover) {
      throw new IntegrityError(`content of ${this.where} is longer than its chunks`, {hint: 'the content changed while it was uploaded; retry'})
    }
  }

  /** The next `length` bytes as the source's own chunks (or parts of them), without a stream around them. */
  async *slice(length: number): AsyncGenerator<Buffer> {
    for (let left = length; left > 0; ) {
      let buf = this.rest ?? (await this.nextChunk(left, length))
      this.rest = undefined
      if (buf.length > left) {
        this.rest = buf.subarray(left)
        buf = buf.subarray(0, left)
      }
      left -= buf.length
      if (buf.length > 0) yield buf
    }
  }

  private async nextChunk(left: number, length: number): Promise<Buffer> {
    const r = await this.source.next()
    if (r.done) {
      throw new IntegrityError(`content of ${this.where} ended ${left} bytes before the end of a ${length}-byte chunk`, {
        hint: 'the content is shorter than its descriptor says; fetch it again',
      })
    }
    return Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array)
  }
}

/** Chunks at least this large are sent from the producer's reused memory (see pushChunks). */
const SHARED_CHUNK_MIN = 256 * 1024

export async function* shareable(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) yield chunk.length >= SHARED_CHUNK_MIN ? chunk : Buffer.from(chunk)
}

export async function* copied(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) yield Buffer.from(chunk)
}
