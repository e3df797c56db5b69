import {Readable} from 'node:stream'
import {describe, expect, it} from 'vitest'
import fc from 'fast-check'
import {verifier} from '../content/verify.js'
import {IntegrityError} from '../errors.js'
import {digestOf} from '../oci/digest.js'
import {StreamSlicer} from './slicer.js'

async function collect(stream: Readable): Promise<Buffer[]> {
  const out: Buffer[] = []
  for await (const c of stream) out.push(c as Buffer)
  return out
}

/** Slice `data`, delivered in `parts`, into slices of `size`; returns each slice's chunks. */
async function sliceAll(parts: Buffer[], total: number, size: number): Promise<Buffer[][]> {
  const slicer = new StreamSlicer(Readable.from(parts), 'test blob')
  const slices: Buffer[][] = []
  for (let offset = 0; offset < total; offset += size) slices.push(await collect(slicer.next(Math.min(size, total - offset))))
  await slicer.end()
  return slices
}

describe('StreamSlicer', () => {
  it('cuts a stream into exact slice lengths, the last one shorter, without copying bytes', async () => {
    const data = Buffer.from(Array.from({length: 25}, (_, i) => i))
    const parts = [data.subarray(0, 3), data.subarray(3, 17), data.subarray(17)]
    const slices = await sliceAll(parts, 25, 10)
    expect(slices.map((s) => Buffer.concat(s).length)).toEqual([10, 10, 5])
    expect(Buffer.concat(slices.flat()).equals(data)).toBe(true)
    // every chunk is a view on the source's memory, not a copy
    for (const chunk of slices.flat()) expect(chunk.buffer).toBe(data.buffer)
  })

  it('reassembles any split of any input exactly (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({minLength: 1, maxLength: 300}), fc.array(fc.nat(300)), fc.integer({min: 1, max: 64}), async (bytes, cuts, size) => {
        const data = Buffer.from(bytes)
        const points = [...new Set(cuts.map((c) => c % data.length))].sort((a, b) => a - b)
        const parts = [0, ...points].map((p, i, all) => data.subarray(p, all[i + 1] ?? data.length)).filter((p) => p.length > 0)
        const slices = await sliceAll(parts, data.length, size)
        expect(slices.map((s) => Buffer.concat(s).length)).toEqual(
          Array.from({length: Math.ceil(data.length / size)}, (_, i) => Math.min(size, data.length - i * size)),
        )
        expect(Buffer.concat(slices.flat()).equals(data)).toBe(true)
      }),
      {numRuns: 200},
    )
  })

  it('fails a slice with an IntegrityError when the source ends before the slice does', async () => {
    const slicer = new StreamSlicer(Readable.from([Buffer.alloc(7)]), 'test blob')
    await expect(collect(slicer.next(10))).rejects.toThrow(IntegrityError)
  })

  it('end() fails when the source holds more bytes than the slices took', async () => {
    const slicer = new StreamSlicer(Readable.from([Buffer.alloc(12)]), 'test blob')
    expect(Buffer.concat(await collect(slicer.next(10))).length).toBe(10)
    await expect(slicer.end()).rejects.toThrow(/longer than its chunks/)
  })

  it('a verifying source fails the slices or end() on a wrong digest (the check runs before the commit)', async () => {
    const data = Buffer.from('hello, chunked world')
    const desc = {mediaType: 'application/octet-stream', digest: digestOf(Buffer.from('something else')), size: data.length}
    const verified = Readable.from([data]).pipe(verifier(desc, 'test blob'))
    const slicer = new StreamSlicer(verified, 'test blob')
    const upload = async () => {
      await collect(slicer.next(12))
      await collect(slicer.next(data.length - 12))
      await slicer.end()
    }
    await expect(upload()).rejects.toThrow(/does not match its digest/)
  })
})
