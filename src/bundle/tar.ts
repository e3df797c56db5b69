/**
 * Minimal POSIX ustar header codec for the bundle tarball.
 *
 * Why not tar-stream: the bundle writer must write each entry at a planned offset (several
 * downloads stream into one file concurrently with positional writes), and the reader must scan
 * headers only, skipping entry data by seeking, without ever reading a blob it was not asked for.
 * tar-stream is a sequential stream codec and can do neither, so we encode and decode the 512-byte
 * header ourselves. The codec is deliberately strict: it only knows regular files, and the reader
 * refuses everything else (links, devices, FIFOs, directories, pax and GNU long-name headers).
 */
import {IntegrityError} from '../errors.js'

export const BLOCK = 512
/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE = 2 * BLOCK
/** Largest size the 11-digit octal field can hold; larger sizes use GNU base-256. */
const MAX_OCTAL_SIZE = 0o77777777777
const MAX_NAME_BYTES = 100
const MAX_PREFIX_BYTES = 155

/** What the bundle writes for every entry. */
export interface HeaderFields {
  name: string
  size: number
  /** Seconds since the epoch. */
  mtime: number
}

export interface DecodedHeader extends HeaderFields {
  /** '0' for regular files; anything else is reported and refused by the bundle reader. */
  typeflag: string
  mode: number
  linkname: string
}

/** Bytes of an entry's data rounded up to whole blocks. */
export function paddedSize(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK
}

/** Bytes an entry occupies in the archive: header plus padded data. */
export function entrySpan(size: number): number {
  return BLOCK + paddedSize(size)
}

/**
 * Encode a ustar header for a regular file: mode 0644, uid/gid 0, empty uname/gname, fixed mtime.
 * Names must fit the 100-byte name field (the bundle layout never needs the prefix field).
 */
export function encodeHeader(fields: HeaderFields, typeflag = '0', linkname = ''): Buffer {
  const name = Buffer.from(fields.name, 'utf8')
  if (name.length === 0 || name.length > MAX_NAME_BYTES) {
    throw new RangeError(`tar entry name "${fields.name}" must be 1..${MAX_NAME_BYTES} bytes`)
  }
  if (!Number.isSafeInteger(fields.size) || fields.size < 0) throw new RangeError(`tar entry size ${fields.size} is invalid`)
  const h = Buffer.alloc(BLOCK)
  name.copy(h, 0)
  writeOctal(h, 100, 8, 0o644)
  writeOctal(h, 108, 8, 0)
  writeOctal(h, 116, 8, 0)
  writeSize(h, fields.size)
  writeOctal(h, 136, 12, Math.max(0, Math.floor(fields.mtime)))
  h.write(typeflag, 156, 1, 'latin1')
  Buffer.from(linkname, 'utf8').copy(h, 157, 0, 100)
  h.write('ustar\u000000', 257, 8, 'latin1')
  writeOctal(h, 329, 8, 0)
  writeOctal(h, 337, 8, 0)
  writeChecksum(h)
  return h
}

/** True when the block is all zero bytes (part of the end-of-archive marker). */
export function isZeroBlock(block: Uint8Array): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false
  return true
}

/**
 * Decode a header block. Throws IntegrityError (naming `where`) on a bad checksum, an unknown
 * magic, or a malformed number field. It does not judge the type flag or the name: see the reader.
 */
export function decodeHeader(block: Uint8Array, where: string): DecodedHeader {
  const h = Buffer.from(block.buffer, block.byteOffset, block.byteLength)
  if (h.length !== BLOCK) throw new IntegrityError(`${where}: tar header is ${h.length} bytes, expected ${BLOCK}`)
  const rawName = cString(h, 0, MAX_NAME_BYTES)
  const stored = parseOctal(h, 148, 8, `${where} (entry "${rawName}")`, 'checksum')
  const {unsigned, signed} = checksums(h)
  if (stored !== unsigned && stored !== signed) {
    throw new IntegrityError(`${where}: tar header checksum mismatch for entry "${rawName}" (stored ${stored}, computed ${unsigned})`, {
      hint: 'the bundle is damaged or was edited; copy it again from the source',
    })
  }
  const magic = h.toString('latin1', 257, 263)
  const version = h.toString('latin1', 263, 265)
  const posix = magic === 'ustar\u0000' && version === '00'
  const gnu = magic === 'ustar ' && version === ' \u0000'
  if (!posix && !gnu) throw new IntegrityError(`${where}: entry "${rawName}" is not a ustar header (magic ${JSON.stringify(magic)})`)
  const prefix = posix ? cString(h, 345, MAX_PREFIX_BYTES) : ''
  const name = prefix ? `${prefix}/${rawName}` : rawName
  const ctx = `${where} (entry "${name}")`
  return {
    name,
    typeflag: h.toString('latin1', 156, 157),
    mode: parseOctal(h, 100, 8, ctx, 'mode'),
    size: parseSize(h, ctx),
    mtime: parseOctal(h, 136, 12, ctx, 'mtime'),
    linkname: cString(h, 157, 100),
  }
}

function writeOctal(h: Buffer, offset: number, length: number, value: number): void {
  h.write(value.toString(8).padStart(length - 1, '0') + '\u0000', offset, length, 'latin1')
}

/** 11 octal digits up to 8 GiB - 1; GNU base-256 (high bit set, big-endian) above. */
function writeSize(h: Buffer, size: number): void {
  if (size <= MAX_OCTAL_SIZE) return writeOctal(h, 124, 12, size)
  h[124] = 0x80
  let v = BigInt(size)
  for (let i = 135; i > 124; i--) {
    h[i] = Number(v & 0xffn)
    v >>= 8n
  }
}

function writeChecksum(h: Buffer): void {
  h.fill(0x20, 148, 156)
  const {unsigned} = checksums(h)
  h.write(unsigned.toString(8).padStart(6, '0') + '\u0000 ', 148, 8, 'latin1')
}

/** Sum of all header bytes with the checksum field read as spaces (unsigned, and signed as old tars did). */
function checksums(h: Buffer): {unsigned: number; signed: number} {
  let unsigned = 0
  let signed = 0
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : h[i]!
    unsigned += b
    signed += b > 127 ? b - 256 : b
  }
  return {unsigned, signed}
}

function cString(h: Buffer, offset: number, length: number): string {
  const field = h.subarray(offset, offset + length)
  const end = field.indexOf(0)
  return field.toString('utf8', 0, end === -1 ? length : end)
}

function parseOctal(h: Buffer, offset: number, length: number, ctx: string, field: string): number {
  const text = h.toString('latin1', offset, offset + length).replace(/[\u0000 ]+$/, '').replace(/^ +/, '')
  if (text === '') return 0
  if (!/^[0-7]+$/.test(text)) throw new IntegrityError(`${ctx}: tar ${field} field is not an octal number (${JSON.stringify(text)})`)
  const value = parseInt(text, 8)
  if (!Number.isSafeInteger(value)) throw new IntegrityError(`${ctx}: tar ${field} field is out of range`)
  return value
}

function parseSize(h: Buffer, ctx: string): number {
  const first = h[124]!
  if ((first & 0x80) === 0) return parseOctal(h, 124, 12, ctx, 'size')
  if (first !== 0x80) throw new IntegrityError(`${ctx}: tar size field uses negative or oversized base-256 encoding`)
  let v = 0n
  for (let i = 125; i < 136; i++) v = (v << 8n) | BigInt(h[i]!)
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new IntegrityError(`${ctx}: tar size field is out of range`)
  return Number(v)
}
