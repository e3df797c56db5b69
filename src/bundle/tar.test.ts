import {execFileSync} from 'node:child_process'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import fc from 'fast-check'
import {afterAll, describe, expect, it} from 'vitest'
import {IntegrityError} from '../errors.js'
import {BLOCK, decodeHeader, encodeHeader, entrySpan, isZeroBlock, paddedSize} from './tar.js'

const dir = mkdtempSync(join(tmpdir(), 'airgap-tar-'))
afterAll(() => rmSync(dir, {recursive: true, force: true}))

describe('ustar header codec', () => {
  it('round-trips name, size and mtime for any valid input', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9._/-]{1,100}$/),
        fc.integer({min: 0, max: Number.MAX_SAFE_INTEGER}),
        fc.integer({min: 0, max: 2 ** 33 - 1}),
        (name, size, mtime) => {
          const h = decodeHeader(encodeHeader({name, size, mtime}), 'test')
          expect(h).toEqual({name, size, mtime, typeflag: '0', mode: 0o644, linkname: ''})
        },
      ),
    )
  })

  it('uses octal below 8 GiB and GNU base-256 from 8 GiB on', () => {
    const small = encodeHeader({name: 'a', size: 2 ** 33 - 1, mtime: 0})
    expect(small.toString('latin1', 124, 136)).toBe('77777777777\u0000')
    const big = encodeHeader({name: 'a', size: 2 ** 33, mtime: 0})
    expect(big[124]).toBe(0x80)
    expect(decodeHeader(big, 'test').size).toBe(2 ** 33)
  })

  it('writes headers GNU tar reads: mode 0644, root/root, fixed mtime', () => {
    const data = Buffer.from('hello\n')
    const tar = Buffer.concat([
      encodeHeader({name: 'dir/file.txt', size: data.length, mtime: 1_700_000_000}),
      data,
      Buffer.alloc(paddedSize(data.length) - data.length),
      Buffer.alloc(2 * BLOCK),
    ])
    const path = join(dir, 'one.tar')
    writeFileSync(path, tar)
    const listing = execFileSync('tar', ['--utc', '--numeric-owner', '-tvf', path], {encoding: 'utf8'})
    expect(listing.trim()).toBe('-rw-r--r-- 0/0               6 2023-11-14 22:13 dir/file.txt')
    expect(execFileSync('tar', ['-xOf', path, 'dir/file.txt'], {encoding: 'utf8'})).toBe('hello\n')
  })

  it('decodes headers written by GNU tar (ustar format)', () => {
    const src = join(dir, 'src')
    execFileSync('mkdir', ['-p', src])
    writeFileSync(join(src, 'x'), 'x'.repeat(700))
    const path = join(dir, 'gnu.tar')
    execFileSync('tar', ['--format=ustar', '-C', src, '-cf', path, 'x'])
    const bytes = execFileSync('head', ['-c', '512', path])
    const h = decodeHeader(bytes, 'gnu.tar')
    expect([h.name, h.size, h.typeflag]).toEqual(['x', 700, '0'])
  })

  it('refuses a header whose checksum does not match, naming the entry', () => {
    const h = encodeHeader({name: 'index.json', size: 10, mtime: 0})
    h[130] = h[130] === 0x30 ? 0x31 : 0x30
    expect(() => decodeHeader(h, 'bundle b.tar at byte 0')).toThrow(IntegrityError)
    expect(() => decodeHeader(h, 'bundle b.tar at byte 0')).toThrow(/checksum mismatch for entry "index.json"/)
  })

  it('refuses a non-ustar magic and non-octal numbers', () => {
    const h = encodeHeader({name: 'a', size: 1, mtime: 0})
    h.write('nope!\u0000', 257, 'latin1')
    fixChecksum(h)
    expect(() => decodeHeader(h, 't')).toThrow(/not a ustar header/)
    const g = encodeHeader({name: 'a', size: 1, mtime: 0})
    g.write('12x', 124, 'latin1')
    fixChecksum(g)
    expect(() => decodeHeader(g, 't')).toThrow(/size field is not an octal number/)
  })

  it('rejects names over 100 bytes when encoding', () => {
    expect(() => encodeHeader({name: 'a'.repeat(101), size: 0, mtime: 0})).toThrow(RangeError)
  })

  it('computes spans and zero blocks', () => {
    expect(entrySpan(0)).toBe(512)
    expect(entrySpan(1)).toBe(1024)
    expect(entrySpan(512)).toBe(1024)
    expect(isZeroBlock(Buffer.alloc(512))).toBe(true)
    expect(isZeroBlock(Buffer.from([0, 0, 1]))).toBe(false)
  })
})

function fixChecksum(h: Buffer): void {
  h.fill(0x20, 148, 156)
  let sum = 0
  for (const b of h) sum += b
  h.write(sum.toString(8).padStart(6, '0') + '\u0000 ', 148, 'latin1')
}
