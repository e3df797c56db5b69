/**
 * Encodings and documents: Helm's toYaml / fromYaml / fromYamlArray / toJson / fromJson /
 * fromJsonArray, Sprig's toPrettyJson / toRawJson / must* variants, base64 / base32, checksums,
 * and the path helpers (base, dir, clean, ext, isAbs).
 */
import {createHash} from 'node:crypto'
import {posix} from 'node:path'
import {isScalar, parseAllDocuments, visit, type Scalar, type Tags} from 'yaml'
import {FuncError, bytesToString, isGoMap, type GoFunc} from '../template/values.js'
import {goJsonMarshal, goJsonUnmarshal} from '../encoding/gojson.js'
import {sigsYamlMarshal} from '../encoding/goyaml.js'
import {goFunc} from './define.js'

/** YAML as Helm reads it (go-yaml v2 through JSON): YAML 1.1 booleans, no timestamps, string keys. */
const HELM_YAML_11 = {
  version: '1.1',
  customTags: (tags: Tags) => tags.filter((t) => typeof t === 'string' || (t.tag !== 'tag:yaml.org,2002:timestamp' && t.format !== 'TIME')),
} as const

/**
 * Charts parse the same text many times (wandb-base's helpers run `fromYaml (include …)` for each
 * of its 25+ aliases): results are kept per text, and each caller gets its own copy (templates
 * may change the maps they get with set / unset / merge). Bounded: a full cache is cleared.
 */
const UNMARSHAL_CACHE = new Map<string, {value: unknown} | {error: string}>()
const UNMARSHAL_CACHE_ENTRIES = 4096
const UNMARSHAL_CACHE_MAX_TEXT = 64 * 1024

/** sigs.k8s.io/yaml.Unmarshal into interface{}: the first document, or an error message. */
export function sigsYamlUnmarshal(text: string): {value: unknown} | {error: string} {
  if (text.length > UNMARSHAL_CACHE_MAX_TEXT) return unmarshalUncached(text)
  let result = UNMARSHAL_CACHE.get(text)
  if (result === undefined) {
    result = unmarshalUncached(text)
    if (UNMARSHAL_CACHE.size >= UNMARSHAL_CACHE_ENTRIES) UNMARSHAL_CACHE.clear()
    UNMARSHAL_CACHE.set(text, result)
  }
  return 'error' in result ? result : {value: copyJson(result.value)}
}

/** A copy of a value made of plain objects, arrays and scalars (what jsonClean returns). */
function copyJson(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(copyJson)
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {}
    for (const k in v) out[k] = copyJson((v as Record<string, unknown>)[k])
    return out
  }
  return v
}

function unmarshalUncached(text: string): {value: unknown} | {error: string} {
  const docs = parseAllDocuments(text, {...HELM_YAML_11, uniqueKeys: false})
  const list = Array.isArray(docs) ? docs : [docs]
  const doc = list[0]
  if (!doc) return {value: null}
  const err = doc.errors[0]
  if (err) {
    const line = err.linePos?.[0]?.line
    return {error: `error converting YAML to JSON: yaml: ${line ? `line ${line}: ` : ''}${err.message.split('\n')[0]}`}
  }
  if (!text.endsWith('\n')) dropFinalBreakOfLastBlockScalar(doc, text.length)
  return {value: jsonClean(doc.toJS({maxAliasCount: 1000}) as unknown)}
}

/**
 * go-yaml keeps a block scalar's final line break only when the input has one: `|` at the very
 * end of a text without a final newline reads as "a\nb", where the JavaScript parser gives "a\nb\n".
 */
function dropFinalBreakOfLastBlockScalar(doc: ReturnType<typeof parseAllDocuments>[number], end: number): void {
  let last: Scalar | undefined
  visit(doc, {
    Scalar(_key, node) {
      if (node.range && node.range[1] >= end && (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED')) last = node
    },
  })
  if (last && isScalar(last) && typeof last.value === 'string' && last.value.endsWith('\n')) last.value = last.value.slice(0, -1)
}

/** What survives a trip through encoding/json: plain maps, slices, float64 numbers. */
function jsonClean(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(jsonClean)
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), jsonClean(x)]))
  if (typeof v === 'object' && v !== null && !(v instanceof Uint8Array)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonClean(x)]))
  }
  if (typeof v === 'bigint') return Number(v)
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64')
  return v
}

/** Helm's toYaml: "" when the value cannot be marshalled. */
export function toYaml(v: unknown): string {
  try {
    return sigsYamlMarshal(v).replace(/\n$/, '')
  } catch (err) {
    if (err instanceof FuncError) return ''
    throw err
  }
}

function fromYaml(s: string): Record<string, unknown> {
  const r = sigsYamlUnmarshal(s)
  if ('error' in r) return {Error: r.error}
  if (r.value === null || r.value === undefined) return {}
  if (!isGoMap(r.value)) return {Error: `error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${Array.isArray(r.value) ? 'array' : typeof r.value === 'string' ? 'string' : typeof r.value === 'boolean' ? 'bool' : 'number'} into Go value of type map[string]interface {}`}
  return r.value
}

function fromYamlArray(s: string): unknown[] {
  const r = sigsYamlUnmarshal(s)
  if ('error' in r) return [r.error]
  if (r.value === null || r.value === undefined) return []
  if (!Array.isArray(r.value)) return [`error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${isGoMap(r.value) ? 'object' : typeof r.value === 'string' ? 'string' : 'number'} into Go value of type []interface {}`]
  return r.value
}

function safeJson(v: unknown, opts: Parameters<typeof goJsonMarshal>[1]): string {
  try {
    return goJsonMarshal(v, opts)
  } catch (err) {
    if (err instanceof FuncError) return ''
    throw err
  }
}

function fromJson(s: string): Record<string, unknown> {
  try {
    const v = goJsonUnmarshal(s)
    if (v === null) return {}
    if (!isGoMap(v)) return {Error: `json: cannot unmarshal ${Array.isArray(v) ? 'array' : typeof v} into Go value of type map[string]interface {}`}
    return v
  } catch (err) {
    return {Error: (err as Error).message}
  }
}

function fromJsonArray(s: string): unknown[] {
  try {
    const v = goJsonUnmarshal(s)
    if (v === null) return []
    if (!Array.isArray(v)) return [`json: cannot unmarshal ${isGoMap(v) ? 'object' : typeof v} into Go value of type []interface {}`]
    return v
  } catch (err) {
    return [(err as Error).message]
  }
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'

function base32Encode(b: Uint8Array): string {
  let out = ''
  let bits = 0
  let value = 0
  for (const byte of b) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31]
  while (out.length % 8 !== 0) out += '='
  return out
}

function base32Decode(s: string): string {
  const clean = s.replace(/=+$/, '')
  if (s.length % 8 !== 0 || /[^A-Z2-7]/.test(clean)) return `illegal base32 data at input byte ${Math.max(0, clean.search(/[^A-Z2-7]/))}`
  const bytes: number[] = []
  let bits = 0
  let value = 0
  for (const c of clean) {
    value = (value << 5) | B32.indexOf(c)
    bits += 5
    if (bits >= 8) {
      bytes.push((value >>> (bits - 8)) & 255)
      bits -= 8
    }
  }
  return bytesToString(Uint8Array.from(bytes))
}

function base64Decode(s: string): string {
  const bad = s.search(/[^A-Za-z0-9+/=]/)
  if (bad >= 0 || s.length % 4 !== 0 || /=[^=]/.test(s)) return `illegal base64 data at input byte ${bad >= 0 ? bad : Math.max(0, s.length - (s.length % 4 || 4))}`
  return bytesToString(Buffer.from(s, 'base64'))
}

function adler32(s: string): string {
  let a = 1
  let b = 0
  for (const byte of Buffer.from(s, 'utf8')) {
    a = (a + byte) % 65521
    b = (b + a) % 65521
  }
  return String(((b << 16) | a) >>> 0)
}

/** Go's path.Clean. */
function clean(p: string): string {
  if (p === '') return '.'
  const rooted = p.startsWith('/')
  const out: string[] = []
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop()
      else if (!rooted) out.push('..')
    } else out.push(part)
  }
  const s = (rooted ? '/' : '') + out.join('/')
  return s === '' ? '.' : s
}

function base(p: string): string {
  if (p === '') return '.'
  const t = p.replace(/\/+$/, '')
  if (t === '') return '/'
  return t.slice(t.lastIndexOf('/') + 1)
}

function dir(p: string): string {
  const i = p.lastIndexOf('/')
  return clean(p.slice(0, i + 1))
}

function ext(p: string): string {
  for (let i = p.length - 1; i >= 0 && p[i] !== '/'; i--) if (p[i] === '.') return p.slice(i)
  return ''
}

const mustJson = (opts: Parameters<typeof goJsonMarshal>[1]) => (v: unknown) => goJsonMarshal(v, opts)

export function serializationFunctions(): GoFunc[] {
  return [
    goFunc('toYaml', ['any'], toYaml),
    goFunc('fromYaml', ['string'], fromYaml),
    goFunc('fromYamlArray', ['string'], fromYamlArray),
    goFunc('toJson', ['any'], (v: unknown) => safeJson(v, {escapeHTML: true})),
    goFunc('fromJson', ['string'], fromJson),
    goFunc('fromJsonArray', ['string'], fromJsonArray),
    goFunc('toPrettyJson', ['any'], (v: unknown) => safeJson(v, {escapeHTML: true, indent: '  '})),
    goFunc('toRawJson', ['any'], mustJson({escapeHTML: false})),
    goFunc('mustToJson', ['any'], mustJson({escapeHTML: true})),
    goFunc('mustToPrettyJson', ['any'], mustJson({escapeHTML: true, indent: '  '})),
    goFunc('mustToRawJson', ['any'], mustJson({escapeHTML: false})),
    goFunc('mustFromJson', ['string'], (s: string) => goJsonUnmarshal(s)),
    goFunc('b64enc', ['string'], (s: string) => Buffer.from(s, 'utf8').toString('base64')),
    goFunc('b64dec', ['string'], base64Decode),
    goFunc('b32enc', ['string'], (s: string) => base32Encode(Buffer.from(s, 'utf8'))),
    goFunc('b32dec', ['string'], base32Decode),
    goFunc('sha1sum', ['string'], (s: string) => createHash('sha1').update(s, 'utf8').digest('hex')),
    goFunc('sha256sum', ['string'], (s: string) => createHash('sha256').update(s, 'utf8').digest('hex')),
    goFunc('adler32sum', ['string'], adler32),
    goFunc('base', ['string'], base),
    goFunc('dir', ['string'], dir),
    goFunc('clean', ['string'], clean),
    goFunc('ext', ['string'], ext),
    goFunc('isAbs', ['string'], (p: string) => posix.isAbsolute(p)),
    goFunc('osBase', ['string'], base),
    goFunc('osDir', ['string'], dir),
    goFunc('osClean', ['string'], clean),
    goFunc('osExt', ['string'], ext),
    goFunc('osIsAbs', ['string'], (p: string) => posix.isAbsolute(p)),
  ]
}
