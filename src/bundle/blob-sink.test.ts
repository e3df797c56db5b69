import {createHash, randomBytes} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, describe, expect, it} from 'vitest'
import {IntegrityError} from '../errors.js'
import {BundleWriter} from './writer.js'

const dir = mkdtempSync(join(tmpdir(), 'airgap-sink-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

function blob(size: number) {
  const bytes = randomBytes(size)
  return {bytes, desc: {mediaType: 'application/octet-stream', digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size}}
}

describe('BundleWriter.openBlob (parts at positions, hashed in order)', () => {
  it('commits a blob written in parts out of order, then reads it back verified', async () => {
    const b = blob(3 * 1024 * 1024 + 11)
    const w = await BundleWriter.open({out: join(dir, 'a.tar'), blobs: [b.desc]})
    const sink = (await w.openBlob(b.desc))!
    const cuts = [0, 700_001, 1_500_000, 2_999_999, b.bytes.length]
    const order = [3, 1, 0, 2]
    await Promise.all(order.map((i) => sink.write(cuts[i]!, [b.bytes.subarray(cuts[i]!, cuts[i + 1]!)], cuts[i + 1]! - cuts[i]!)))
    await sink.commit()
    expect(await w.exists(b.desc)).toBe(true)
    expect(await w.openBlob(b.desc)).toBeUndefined()
    const chunks: Buffer[] = []
    for await (const c of await w.fetch(b.desc)) chunks.push(c as Buffer)
    expect(Buffer.concat(chunks).equals(b.bytes)).toBe(true)
    await w.close()
  })

  it('refuses a region written twice, a gap, and bytes that do not hash to the digest; nothing is committed', async () => {
    const b = blob(100_000)
    const w = await BundleWriter.open({out: join(dir, 'b.tar'), blobs: [b.desc]})
    const twice = (await w.openBlob(b.desc))!
    await twice.write(0, [b.bytes.subarray(0, 50_000)], 50_000)
    await expect(twice.write(40_000, [b.bytes.subarray(40_000)], 60_000)).rejects.toBeInstanceOf(IntegrityError)
    await expect(twice.commit()).rejects.toThrow(/contiguous bytes/)
    expect(await w.exists(b.desc)).toBe(false)

    const wrong = (await w.openBlob(b.desc))!
    const flipped = Buffer.from(b.bytes)
    flipped[99_999]! ^= 1
    await wrong.write(0, [flipped], flipped.length)
    await expect(wrong.commit()).rejects.toThrow(/digest mismatch/)
    expect(await w.exists(b.desc)).toBe(false)
    await expect(wrong.write(0, [b.bytes], 1)).rejects.toBeInstanceOf(IntegrityError)
    await w.close()
  })
})
