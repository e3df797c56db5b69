/**
 * A minimal ASN.1 DER encoder for tests: enough to build X.509 certificates (test/support/x509.ts).
 * Node can parse certificates (crypto.X509Certificate) but not write them, and no installed
 * package encodes ASN.1 (@sigstore/core parses DER; its ASN1Obj re-encodes parsed objects only).
 * Every function returns one complete TLV.
 */

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n])
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

/** One TLV with the given tag byte. */
export function tlv(tag: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), lengthBytes(content.length), content])
}

export const sequence = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items))
export const set = (...items: Buffer[]): Buffer => tlv(0x31, Buffer.concat(items))
export const boolean = (value: boolean): Buffer => tlv(0x01, Buffer.from([value ? 0xff : 0x00]))
export const octetString = (bytes: Uint8Array): Buffer => tlv(0x04, bytes)
export const utf8String = (s: string): Buffer => tlv(0x0c, Buffer.from(s, 'utf8'))
export const printableString = (s: string): Buffer => tlv(0x13, Buffer.from(s, 'ascii'))
export const ia5String = (s: string): Buffer => tlv(0x16, Buffer.from(s, 'ascii'))

/** `[n] EXPLICIT` around a complete TLV. */
export const explicit = (n: number, inner: Buffer): Buffer => tlv(0xa0 | n, inner)
/** `[n] IMPLICIT` primitive: the content bytes with a context tag. */
export const implicit = (n: number, content: Uint8Array): Buffer => tlv(0x80 | n, content)

/** INTEGER (non-negative). */
export function integer(value: number | bigint | Uint8Array): Buffer {
  let bytes: Buffer
  if (value instanceof Uint8Array) {
    bytes = Buffer.from(value)
    while (bytes.length > 1 && bytes[0] === 0 && bytes[1]! < 0x80) bytes = bytes.subarray(1)
  } else {
    let hex = BigInt(value).toString(16)
    if (hex.length % 2) hex = `0${hex}`
    bytes = Buffer.from(hex, 'hex')
  }
  if (bytes[0]! >= 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes])
  return tlv(0x02, bytes)
}

/** OBJECT IDENTIFIER from dotted form. */
export function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number)
  const out = [parts[0]! * 40 + parts[1]!]
  for (const p of parts.slice(2)) {
    const groups: number[] = []
    let v = p
    do {
      groups.unshift(v & 0x7f)
      v = Math.floor(v / 128)
    } while (v > 0)
    out.push(...groups.map((g, i) => (i < groups.length - 1 ? g | 0x80 : g)))
  }
  return tlv(0x06, Buffer.from(out))
}

/** BIT STRING of whole bytes, or of named bits (bit 0 = most significant bit of the first byte). */
export function bitString(bytes: Uint8Array): Buffer {
  return tlv(0x03, Buffer.concat([Buffer.from([0]), bytes]))
}

export function namedBits(...bits: number[]): Buffer {
  const last = Math.max(...bits)
  const bytes = Buffer.alloc(Math.floor(last / 8) + 1)
  for (const b of bits) bytes[Math.floor(b / 8)]! |= 0x80 >> b % 8
  const unused = 7 - (last % 8)
  return tlv(0x03, Buffer.concat([Buffer.from([unused]), bytes]))
}

/** UTCTime (years 1950-2049), as X.509 requires for those years. */
export function utcTime(date: Date): Buffer {
  const s = date.toISOString() // 2024-05-01T12:00:00.000Z
  return tlv(0x17, Buffer.from(`${s.slice(2, 4)}${s.slice(5, 7)}${s.slice(8, 10)}${s.slice(11, 13)}${s.slice(14, 16)}${s.slice(17, 19)}Z`, 'ascii'))
}
