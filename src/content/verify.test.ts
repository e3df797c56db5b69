import {Readable, Writable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {describe, expect, it} from 'vitest'
import {IntegrityError, UsageError} from '../errors.js'
import {digestOf} from '../oci/digest.js'
import {MAX_MANIFEST_BYTES, MediaType} from '../oci/types.js'
import type {Descriptor} from '../oci/types.js'
import {MemoryTarget} from './memory.js'
import {checkBytes, fetchAll, readAll, verifier} from './verify.js'
import type {Fetcher} from './types.js'

const content = Buffer.from('0123456789'.repeat(1000))
const desc: Descriptor = {mediaType: MediaType.OciLayer, digest: digestOf(content), size: content.length}

function chunks(buf: Buffer, size: number): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size))
  return out
}

/** Runs `input` through verifier(d) and returns the bytes that came out and the error, if any. */
async function run(d: Descriptor, input: Buffer[]): Promise<{out: Buffer; err?: unknown}> {
  const got: Buffer[] = []
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      got.push(chunk)
      cb()
    },
  })
  try {
    await pipeline(Readable.from(input), verifier(d, 'reg/app@layer'), sink)
    return {out: Buffer.concat(got)}
  } catch (err) {
    return {out: Buffer.concat(got), err}
  }
}

describe('verifier', () => {
  it('passes exact content through unchanged, in any chunking', async () => {
    for (const size of [1, 7, 4096, content.length]) {
      const {out, err} = await run(desc, chunks(content, size))
      expect(err).toBeUndefined()
      expect(out.equals(content)).toBe(true)
    }
  })

  it('passes chunks through without copying them', async () => {
    const input = chunks(content, 1000)
    const seen: Buffer[] = []
    await pipeline(
      Readable.from(input),
      verifier(desc, 'x'),
      new Writable({
        write(chunk: Buffer, _e, cb) {
          seen.push(chunk)
          cb()
        },
      }),
    )
    expect(seen[0]?.buffer).toBe(input[0]?.buffer)
  })

  it('handles empty content', async () => {
    const empty: Descriptor = {mediaType: 'x', digest: digestOf(Buffer.alloc(0)), size: 0}
    expect((await run(empty, [])).err).toBeUndefined()
  })

  it('fails at the end when content is short', async () => {
    const {err} = await run(desc, [content.subarray(0, 9999)])
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as Error).message).toBe(
      `content of reg/app@layer is shorter than its descriptor says: expected 10000 bytes, got 9999 (${desc.digest})`,
    )
  })

  it('fails as soon as content is longer, without passing the extra bytes on', async () => {
    let produced = 0
    const endless = Readable.from(
      (function* () {
        for (;;) {
          produced++
          yield content.subarray(0, 4000)
        }
      })(),
    )
    const got: Buffer[] = []
    const err = await pipeline(
      endless,
      verifier(desc, 'reg/app@layer'),
      new Writable({
        write(chunk: Buffer, _e, cb) {
          got.push(chunk)
          cb()
        },
      }),
    ).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as Error).message).toMatch(/is larger than its descriptor says: expected 10000 bytes, got at least 12000/)
    expect(Buffer.concat(got).length).toBeLessThanOrEqual(desc.size)
    expect(produced).toBeLessThan(10)
  })

  it('fails at the end on a digest mismatch with expected and actual digests', async () => {
    const corrupt = Buffer.from(content)
    corrupt[5000] = 0x41
    const {err} = await run(desc, chunks(corrupt, 333))
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as Error).message).toBe(
      `content of reg/app@layer does not match its digest: expected ${desc.digest}, got ${digestOf(corrupt)}`,
    )
    expect((err as IntegrityError).hint).toBeTruthy()
  })

  it('verifies sha512 descriptors', async () => {
    const d512 = {...desc, digest: digestOf(content, 'sha512')}
    expect((await run(d512, [content])).err).toBeUndefined()
    const bad = Buffer.from(content)
    bad[0] = 0
    expect((await run(d512, [bad])).err).toBeInstanceOf(IntegrityError)
  })

  it('refuses an invalid expected digest at once', () => {
    expect(() => verifier({...desc, digest: 'sha256:zz'}, 'x')).toThrow(IntegrityError)
  })
})

describe('checkBytes', () => {
  it('accepts exact bytes and rejects others', () => {
    expect(() => checkBytes(desc, content, 'x')).not.toThrow()
    expect(() => checkBytes(desc, content.subarray(1), 'x')).toThrow(/shorter/)
    expect(() => checkBytes(desc, Buffer.concat([content, Buffer.from('!')]), 'x')).toThrow(/larger/)
    expect(() => checkBytes({...desc, digest: digestOf(Buffer.from('other'))}, content, 'x')).toThrow(/does not match its digest/)
  })
})

describe('readAll', () => {
  it('reads a whole stream', async () => {
    expect((await readAll(Readable.from(chunks(content, 100)), content.length, 'x')).equals(content)).toBe(true)
  })
  it('fails past the limit and destroys the stream', async () => {
    const stream = Readable.from(chunks(content, 100))
    const err = await readAll(stream, 999, 'reg/app manifest').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as Error).message).toBe('content of reg/app manifest is larger than the limit of 999 bytes')
    expect(stream.destroyed).toBe(true)
  })
  it('returns a Buffer for Uint8Array chunks', async () => {
    const got = await readAll(Readable.from([new Uint8Array([1, 2, 3])], {objectMode: true}), 10, 'x')
    expect(Buffer.isBuffer(got)).toBe(true)
    expect([...got]).toEqual([1, 2, 3])
  })
  it('passes stream errors on', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('socket hang up'))
      },
    })
    await expect(readAll(failing, 10, 'x')).rejects.toThrow('socket hang up')
  })
})

describe('fetchAll', () => {
  const manifest = Buffer.from(JSON.stringify({schemaVersion: 2, manifests: []}))
  const mdesc: Descriptor = {mediaType: MediaType.OciIndex, digest: digestOf(manifest), size: manifest.length}

  /** Test double: a Fetcher that serves fixed bytes without verifying them (a lying source). */
  const lyingFetcher = (bytes: Buffer): Fetcher => ({fetch: async () => Readable.from([bytes])})

  it('returns verified bytes', async () => {
    const target = new MemoryTarget()
    target.put(manifest, MediaType.OciIndex)
    expect((await fetchAll(target, mdesc, 'x')).equals(manifest)).toBe(true)
  })

  it('verifies even when the fetcher does not (test double: lying fetcher)', async () => {
    const other = Buffer.from(manifest)
    other[other.length - 2] = 0x20
    await expect(fetchAll(lyingFetcher(other), mdesc, 'reg/app:1')).rejects.toThrow(/content of reg\/app:1 does not match its digest/)
    await expect(fetchAll(lyingFetcher(Buffer.concat([manifest, manifest])), mdesc, 'x')).rejects.toThrow(/larger/)
  })

  it('refuses a descriptor larger than the limit before fetching', async () => {
    let fetched = false
    const f: Fetcher = {
      fetch: async () => {
        fetched = true
        return Readable.from([])
      },
    }
    await expect(fetchAll(f, {...mdesc, size: MAX_MANIFEST_BYTES + 1}, 'x')).rejects.toThrow(IntegrityError)
    await expect(fetchAll(f, mdesc, 'x', 10)).rejects.toThrow(/more than the limit of 10 bytes/)
    expect(fetched).toBe(false)
  })

  it('passes on NotFound from the fetcher and honours abort', async () => {
    await expect(fetchAll(new MemoryTarget(), mdesc, 'x')).rejects.toThrow(/not found in memory/)
    const ac = new AbortController()
    ac.abort()
    await expect(fetchAll(lyingFetcher(manifest), mdesc, 'x', undefined, ac.signal)).rejects.toThrow(/abort/i)
  })

  it('digest errors are IntegrityError, usage errors are not mixed in', async () => {
    await expect(fetchAll(lyingFetcher(manifest), {...mdesc, digest: 'sha256:1'}, 'x')).rejects.toBeInstanceOf(IntegrityError)
    await expect(fetchAll(lyingFetcher(manifest), {...mdesc, digest: 'sha256:1'}, 'x')).rejects.not.toBeInstanceOf(UsageError)
  })
})
