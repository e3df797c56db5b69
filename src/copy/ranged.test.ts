/**
 * transferRanged's byte handling (the real-registry and nginx cases are in
 * test/integration/ranged-pull.test.ts). The source and the sink here are in-memory test doubles:
 * they serve chunk sizes a socket would rarely choose (so that chunks straddle the 256 KiB write
 * batches), a server that ignores Range, and a part that breaks mid-way; the sink records every
 * write and keeps the bytes, so what it holds can be compared with the blob.
 */
import {createHash, randomBytes} from 'node:crypto'
import {Readable} from 'node:stream'
import {describe, expect, it} from 'vitest'
import type {PositionalBlob, PositionalPusher, RangeFetcher, RangeResponse} from '../content/types.js'
import type {Descriptor} from '../oci/types.js'
import {LinkGovernor} from './link.js'
import {transferRanged} from './ranged.js'

function blobOf(size: number): {bytes: Buffer; desc: Descriptor} {
  const bytes = randomBytes(size)
  return {bytes, desc: {mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size}}
}

/** A source cutting its bodies into `chunk`-byte pieces; `ignoreRange` answers every request with the whole blob; `breakOnce` cuts the first response of the part starting there after `breakAfter` bytes. */
function source(bytes: Buffer, opts: {chunk: number; ignoreRange?: boolean; breakOnce?: {start: number; after: number}}): RangeFetcher & {requests: Array<[number, number]>} {
  const requests: Array<[number, number]> = []
  let broken = false
  return {
    requests,
    async fetchRange(_desc, start, end): Promise<RangeResponse> {
      requests.push([start, end])
      const from = opts.ignoreRange ? 0 : start
      const to = opts.ignoreRange ? bytes.length : end
      let body = bytes.subarray(from, to)
      let fail = false
      if (opts.breakOnce && !broken && start === opts.breakOnce.start) {
        broken = true
        body = body.subarray(0, opts.breakOnce.after)
        fail = true
      }
      const pieces: Buffer[] = []
      for (let i = 0; i < body.length; i += opts.chunk) pieces.push(Buffer.from(body.subarray(i, i + opts.chunk)))
      const stream = Readable.from(
        (async function* () {
          yield* pieces
          if (fail) throw Object.assign(new Error('socket hang up'), {code: 'ECONNRESET'})
        })(),
        {objectMode: false},
      )
      return {offset: from, ranged: !opts.ignoreRange, length: to - from, body: stream, url: new URL('http://source.test/blob')}
    },
  }
}

/** A sink keeping the bytes at their positions and checking every region is written once. */
function sink(size: number): PositionalPusher & {held: Buffer; writes: number; committed: boolean} {
  const held = Buffer.alloc(size)
  const written = new Uint8Array(size)
  const state = {held, writes: 0, committed: false}
  const blob: PositionalBlob = {
    async write(position, buffers, total) {
      for (let i = position; i < position + total; i++) if (written[i]) throw new Error(`byte ${i} written twice`)
      written.fill(1, position, position + total)
      // Like a real write, the bytes are taken later (the thread pool): a batch buffer handed back
      // and refilled before the write resolved would show here as wrong bytes.
      await new Promise((resolve) => setImmediate(resolve))
      let at = position
      for (const b of buffers) {
        b.copy(held, at)
        at += b.length
      }
      expect(at - position).toBe(total)
      state.writes++
    },
    async commit() {
      expect(written.every((w) => w === 1), 'every byte written').toBe(true)
      state.committed = true
    },
    abandon() {},
  }
  return Object.assign(state, {openBlob: async () => blob})
}

async function run(src: RangeFetcher, dst: PositionalPusher, desc: Descriptor, partBytes?: number, streams = 3): Promise<number> {
  let reported = 0
  await transferRanged({
    src,
    dst,
    desc,
    governor: new LinkGovernor({initial: streams, sampleMs: 0}),
    signal: undefined,
    onStart: () => undefined,
    onBytes: (n) => (reported += n),
    sourceFailure: (err) => err,
    ...(partBytes !== undefined ? {partBytes} : {}),
  })
  return reported
}

describe('transferRanged: bytes through the reused batch buffers', () => {
  it('parts whose chunks straddle the 256 KiB batches land whole and in place, in parallel', async () => {
    const {bytes, desc} = blobOf(3 * 1024 * 1024 + 12_345)
    const dst = sink(desc.size)
    const reported = await run(source(bytes, {chunk: 100_003}), dst, desc, 700_001)
    expect(dst.committed).toBe(true)
    expect(dst.held.equals(bytes)).toBe(true)
    expect(reported).toBe(desc.size)
    // 256 KiB batches: a 700,001-byte part takes 3 writes, so about 3 per part, never one per chunk.
    expect(dst.writes).toBeLessThanOrEqual(Math.ceil(desc.size / 700_001) * 3)
  })

  it('a server that ignores Range: the whole body is read once and kept', async () => {
    const {bytes, desc} = blobOf(1024 * 1024 + 7)
    const src = source(bytes, {chunk: 65_536, ignoreRange: true})
    const dst = sink(desc.size)
    await run(src, dst, desc, 300_000)
    expect(dst.held.equals(bytes)).toBe(true)
    expect(src.requests, 'no second range after a 200').toHaveLength(1)
  })

  it('a part that breaks mid-way is asked again from its first missing byte; what arrived is kept', async () => {
    const {bytes, desc} = blobOf(2 * 1024 * 1024)
    const part = 1024 * 1024
    const src = source(bytes, {chunk: 50_000, breakOnce: {start: part, after: 333_333}})
    const dst = sink(desc.size)
    await run(src, dst, desc, part)
    expect(dst.held.equals(bytes)).toBe(true)
    const resumedAt = src.requests.find(([start]) => start > part && start < 2 * part)?.[0]
    expect(resumedAt, 'resumed from the first byte that did not arrive: every byte before the break was kept').toBe(part + 333_333)
  })
})

describe('transferRanged: many parts in flight', () => {
  it('each in-flight part listens on the transfer\'s signal, as a request does, and Node warns of no leak', async () => {
    const {bytes, desc} = blobOf(32 * 64 * 1024)
    const inner = source(bytes, {chunk: 16 * 1024})
    let most = 0
    let listening = 0
    const src: RangeFetcher = {
      async fetchRange(d, start, end, opts) {
        // What the HTTP client does: a deadline listening on the caller's signal until the body ends.
        const onAbort = (): void => undefined
        opts?.signal?.addEventListener('abort', onAbort)
        most = Math.max(most, ++listening)
        await new Promise((resolve) => setTimeout(resolve, 5))
        const res = await inner.fetchRange(d, start, end, opts)
        res.body.once('close', () => {
          listening--
          opts?.signal?.removeEventListener('abort', onAbort)
        })
        return res
      },
    }
    const warnings: Error[] = []
    const onWarning = (w: Error): void => void warnings.push(w)
    process.on('warning', onWarning)
    try {
      await run(src, sink(desc.size), desc, 64 * 1024, 16)
      await new Promise((resolve) => setImmediate(resolve))
    } finally {
      process.off('warning', onWarning)
    }
    expect(most, 'parts in flight at once').toBeGreaterThan(10)
    expect(warnings.map((w) => w.name)).not.toContain('MaxListenersExceededWarning')
  })
})
