/**
 * Deterministic stand-ins for Sprig's random and key-generating functions, so that a render is
 * reproducible: a mulberry32 generator seeded per render (the Go oracle uses the same one),
 * placeholder PEM certificates and keys that are structurally usable (.Cert, .Key).
 */
import {GoStruct, type GoFunc} from '../template/values.js'
import {goFunc} from './define.js'

const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'
const NUMERIC = '0123456789'
const ASCII = Array.from({length: 95}, (_, i) => String.fromCharCode(32 + i)).join('')

/** mulberry32: a tiny 32-bit generator, identical in the Go oracle. */
export class SeededRandom {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0
    let z = this.state
    z = Math.imul(z ^ (z >>> 15), z | 1) >>> 0
    z = (z ^ (z + Math.imul(z ^ (z >>> 7), z | 61))) >>> 0
    return (z ^ (z >>> 14)) >>> 0
  }

  pick(n: number, alphabet: string): string {
    let out = ''
    for (let i = 0; i < n; i++) out += alphabet[this.next() % alphabet.length]
    return out
  }
}

function pem(kind: string, subject: string): string {
  const body = Buffer.from(`airgap placeholder ${kind} for ${subject}`, 'utf8').toString('base64')
  return `-----BEGIN ${kind}-----\n${body}\n-----END ${kind}-----\n`
}

function certificate(cn: string): GoStruct {
  return new GoStruct('main.certificate', {Cert: pem('CERTIFICATE', cn), Key: pem('RSA PRIVATE KEY', cn)})
}

function uuid(r: SeededRandom): string {
  const b = Buffer.alloc(16)
  for (let i = 0; i < 16; i += 4) b.writeUInt32BE(r.next(), i)
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

export function randomFunctions(seed: number): GoFunc[] {
  const r = new SeededRandom(seed)
  return [
    goFunc('randAlphaNum', ['int'], (n: bigint) => r.pick(Number(n), ALPHA + NUMERIC)),
    goFunc('randAlpha', ['int'], (n: bigint) => r.pick(Number(n), ALPHA)),
    goFunc('randNumeric', ['int'], (n: bigint) => r.pick(Number(n), NUMERIC)),
    goFunc('randAscii', ['int'], (n: bigint) => r.pick(Number(n), ASCII)),
    goFunc('randInt', ['int', 'int'], (min: bigint, max: bigint) => BigInt(r.next() % Number(max - min)) + min),
    goFunc('shuffle', ['string'], (str: string) => {
      const runes = [...str]
      for (let i = runes.length - 1; i > 0; i--) {
        const j = r.next() % (i + 1)
        ;[runes[i], runes[j]] = [runes[j]!, runes[i]!]
      }
      return runes.join('')
    }),
    goFunc('randBytes', ['int'], (n: bigint) => Buffer.from(Array.from({length: Number(n)}, () => r.next() & 255)).toString('base64')),
    goFunc('uuidv4', [], () => uuid(r)),
    goFunc('genPrivateKey', ['string'], (t: string) => pem('PRIVATE KEY', t)),
    goFunc('genCA', ['string', 'int'], (cn: string) => certificate(cn)),
    goFunc('genSelfSignedCert', ['string', '[]any', '[]any', 'int'], (cn: string) => certificate(cn)),
    goFunc('genSignedCert', ['string', '[]any', '[]any', 'int', 'any'], (cn: string) => certificate(cn)),
  ]
}
