/**
 * Integrity checks while streaming: every byte that enters airgap from a source or leaves it for
 * a destination passes a verifier that counts and hashes it and fails with an IntegrityError on
 * any size or digest mismatch.
 */
import {Transform} from 'node:stream'
import type {Readable, TransformCallback} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {IntegrityError} from '../errors.js'
import {createHasher} from '../oci/digest.js'
import type {Hasher} from '../oci/digest.js'
import {MAX_MANIFEST_BYTES} from '../oci/types.js'
import type {Descriptor} from '../oci/types.js'
import type {Fetcher} from './types.js'

const HINT = 'the content was damaged or changed in transit or at rest; fetch it again, or re-create the bundle'

/**
 * The running check behind verifier(): feed chunks with update(), then call finish(). Both return
 * the IntegrityError to fail with, or undefined. Usable without streams (see checkBytes).
 */
export class Verification {
  private readonly hasher: Hasher
  private received = 0

  constructor(
    readonly desc: Descriptor,
    readonly where: string,
  ) {
    this.hasher = createHasher(desc.digest, where)
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.received
  }

  update(chunk: Uint8Array): IntegrityError | undefined {
    this.received += chunk.byteLength
    if (this.received > this.desc.size) {
      return new IntegrityError(
        `content of ${this.where} is larger than its descriptor says: expected ${this.desc.size} bytes, got at least ${this.received} (${this.desc.digest})`,
        {hint: HINT},
      )
    }
    this.hasher.update(chunk)
    return undefined
  }

  finish(): IntegrityError | undefined {
    if (this.received < this.desc.size) {
      return new IntegrityError(
        `content of ${this.where} is shorter than its descriptor says: expected ${this.desc.size} bytes, got ${this.received} (${this.desc.digest})`,
        {hint: HINT},
      )
    }
    const got = this.hasher.digest()
    if (got !== this.desc.digest) {
      return new IntegrityError(`content of ${this.where} does not match its digest: expected ${this.desc.digest}, got ${got}`, {
        hint: HINT,
      })
    }
    return undefined
  }
}

class VerifyingTransform extends Transform {
  private readonly check: Verification

  constructor(desc: Descriptor, where: string) {
    super()
    this.check = new Verification(desc, where)
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const err = this.check.update(chunk)
    if (err) callback(err)
    else callback(null, chunk)
  }

  override _flush(callback: TransformCallback): void {
    callback(this.check.finish() ?? null)
  }
}

/**
 * A pass-through stream that counts and hashes the bytes of `desc`. It fails with an
 * IntegrityError (naming `where` and the digest) as soon as more than `desc.size` bytes arrive,
 * and at the end when fewer bytes arrived or the digest differs. Throws IntegrityError at once when
 * `desc.digest` itself is invalid.
 */
export function verifier(desc: Descriptor, where: string): Transform {
  return new VerifyingTransform(desc, where)
}

/** Throws an IntegrityError unless `bytes` are exactly the content of `desc`. */
export function checkBytes(desc: Descriptor, bytes: Uint8Array, where: string): void {
  const check = new Verification(desc, where)
  const err = check.update(bytes) ?? check.finish()
  if (err) throw err
}

/** A Buffer view of a stream chunk (no copy for Uint8Array chunks). */
function asBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  return Buffer.from(String(chunk))
}

async function collect(source: AsyncIterable<unknown>, limit: number, where: string): Promise<Buffer> {
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of source) {
    const buf = asBuffer(chunk)
    total += buf.byteLength
    if (total > limit) {
      throw new IntegrityError(`content of ${where} is larger than the limit of ${limit} bytes`, {
        hint: 'the content is not what it claims to be, or it is too large to be read into memory',
      })
    }
    chunks.push(buf)
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total)
}

/**
 * Read a whole stream into memory. Fails with an IntegrityError (and destroys the stream) once
 * more than `limit` bytes arrive; stream errors are passed on.
 */
export async function readAll(stream: Readable, limit: number, where: string): Promise<Buffer> {
  try {
    return await collect(stream, limit, where)
  } catch (err) {
    stream.destroy()
    throw err
  }
}

/**
 * Fetch `desc` and return its bytes, verified against its size and digest. Refuses before
 * fetching when `desc.size` exceeds `limit` (default MAX_MANIFEST_BYTES).
 */
export async function fetchAll(
  fetcher: Fetcher,
  desc: Descriptor,
  where: string,
  limit: number = MAX_MANIFEST_BYTES,
  signal?: AbortSignal,
): Promise<Buffer> {
  if (desc.size > limit) {
    throw new IntegrityError(`content of ${where} is ${desc.size} bytes, more than the limit of ${limit} bytes for reading into memory`, {
      hint: 'a manifest or index this large is not valid; check the reference',
    })
  }
  const check = verifier(desc, where)
  const source = await fetcher.fetch(desc, signal)
  let result: Buffer | undefined
  await pipeline(
    source,
    check,
    async (verified: AsyncIterable<unknown>) => {
      result = await collect(verified, limit, where)
    },
    signal ? {signal} : {},
  )
  return result!
}
