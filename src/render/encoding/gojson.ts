/**
 * Go's encoding/json Marshal / MarshalIndent for template values: map keys sorted, HTML
 * characters escaped (unless asked not to), floats formatted as Go formats them (1e+21, 1e-7),
 * []byte as base64, structs as objects of their fields, nil as null.
 */
import {formatFloat} from '../template/floatfmt.js'
import {GoStruct, Int64, compareGoStrings, isGoFunc, isGoMap, typeName} from '../template/values.js'
import {FuncError} from '../template/values.js'

export interface JsonOptions {
  escapeHTML: boolean
  indent?: string
}

const HEX = '0123456789abcdef'

export function jsonString(s: string, escapeHTML: boolean): string {
  let out = '"'
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    if (ch === '"') out += '\\"'
    else if (ch === '\\') out += '\\\\'
    else if (c < 0x20) {
      if (ch === '\n') out += '\\n'
      else if (ch === '\r') out += '\\r'
      else if (ch === '\t') out += '\\t'
      else out += `\\u00${HEX[c >> 4]}${HEX[c & 15]}`
    } else if (escapeHTML && (ch === '<' || ch === '>' || ch === '&')) out += `\\u00${HEX[c >> 4]}${HEX[c & 15]}`
    else if (c === 0x2028 || c === 0x2029) out += `\\u202${HEX[c & 15]}`
    else if (c >= 0xd800 && c <= 0xdfff) out += '\ufffd'
    else out += ch
  }
  return `${out}"`
}

export function jsonFloat(f: number): string {
  if (!Number.isFinite(f)) throw new FuncError(`json: unsupported value: ${formatFloat(f, 'g', -1)}`)
  const abs = Math.abs(f)
  // In this range JavaScript's shortest form is Go's 'f' format (both print the shortest round-trip digits).
  if (abs >= 1e-6 && abs < 1e21) return String(f)
  if (f === 0) return Object.is(f, -0) ? '-0' : '0'
  let s: string
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    s = formatFloat(f, 'e', -1)
    s = s.replace(/e([+-])0(\d)$/, 'e$1$2')
  } else s = formatFloat(f, 'f', -1)
  return s
}

function encode(v: unknown, opts: JsonOptions, indent: string): string {
  if (v === null || v === undefined) return 'null'
  switch (typeof v) {
    case 'string':
      return jsonString(v, opts.escapeHTML)
    case 'boolean':
      return v ? 'true' : 'false'
    case 'number':
      return jsonFloat(v)
    case 'bigint':
      return v.toString()
  }
  if (v instanceof Int64) return v.value.toString()
  if (v instanceof Uint8Array) return jsonString(Buffer.from(v).toString('base64'), false)
  const nl = opts.indent === undefined ? '' : `\n${indent}${opts.indent}`
  const close = opts.indent === undefined ? '' : `\n${indent}`
  const inner = indent + (opts.indent ?? '')
  const colon = opts.indent === undefined ? ':' : ': '
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]'
    return `[${v.map((x) => nl + encode(x, opts, inner)).join(',')}${close}]`
  }
  if (v instanceof GoStruct) {
    if (v.typeName === 'time.Time' && v.stringer) return jsonString(String(v.fields.rfc3339 ?? v.stringer()), opts.escapeHTML)
    const fields = v.mapLike ? Object.keys(v.fields).sort(compareGoStrings) : Object.keys(v.fields)
    if (fields.length === 0) return '{}'
    return `{${fields.map((k) => `${nl}${jsonString(k, opts.escapeHTML)}${colon}${encode(v.fields[k], opts, inner)}`).join(',')}${close}}`
  }
  if (isGoFunc(v)) throw new FuncError(`json: unsupported type: ${typeName(v)}`)
  if (isGoMap(v)) {
    const keys = Object.keys(v).sort(compareGoStrings)
    if (keys.length === 0) return '{}'
    return `{${keys.map((k) => `${nl}${jsonString(k, opts.escapeHTML)}${colon}${encode(v[k], opts, inner)}`).join(',')}${close}}`
  }
  return 'null'
}

/** json.Marshal (escapeHTML) or, with `indent`, json.MarshalIndent(v, "", indent). Throws FuncError like Go's error result. */
export function goJsonMarshal(v: unknown, opts: JsonOptions = {escapeHTML: true}): string {
  return encode(v, opts, '')
}

/** encoding/json Unmarshal into interface{}: numbers are float64, objects maps, arrays slices. */
export function goJsonUnmarshal(text: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new FuncError(jsonErrorMessage(text, err as Error))
  }
}

function jsonErrorMessage(text: string, err: Error): string {
  if (text.trim() === '') return 'unexpected end of JSON input'
  return `invalid character in JSON input (${err.message})`
}
