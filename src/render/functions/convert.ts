/**
 * Go value conversions Sprig relies on: strval (toString), spf13/cast's ToInt64 / ToInt /
 * ToFloat64, Sprig's `empty`, reflect.DeepEqual, and deep copies (copystructure).
 */
import {formatValue} from '../template/format.js'
import {GoStruct, Int64, bytesToString, elemType, isGoMap} from '../template/values.js'

const PLAIN = {plus: false, minus: false, sharp: false, space: false, zero: false}

/** Sprig's strval: strings as is, []byte as text, Stringers via String(), everything else %v. */
export function strval(v: unknown): string {
  if (typeof v === 'string') return v
  if (v instanceof Uint8Array) return bytesToString(v)
  if (v === undefined || v === null) return '<nil>'
  return formatValue(v, 'v', PLAIN, 0)
}

/** Go's strconv.ParseInt(s, 0, 64); undefined when it fails. */
export function parseGoInt(s: string): bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO][0-7_]+|0[bB][01_]+|0[0-7_]*|[1-9][0-9_]*)$/.exec(s)
  if (!m) return undefined
  let body = m[2]!
  if (body.includes('_')) {
    // Go literal rules: an underscore separates digits (or follows a base prefix).
    if (/__|_$/.test(body)) return undefined
    body = body.replace(/_/g, '')
  }
  let v: bigint
  if (/^0[xX]/.test(body)) v = BigInt(`0x${body.slice(2)}`)
  else if (/^0[oO]/.test(body)) v = BigInt(`0o${body.slice(2)}`)
  else if (/^0[bB]/.test(body)) v = BigInt(`0b${body.slice(2)}`)
  else if (body.length > 1 && body[0] === '0') v = BigInt(`0o${body.slice(1)}`)
  else v = BigInt(body)
  if (m[1] === '-') v = -v
  if (v > 2n ** 63n - 1n || v < -(2n ** 63n)) return undefined
  return v
}

/** cast's trimZeroDecimal: "1.00" -> "1". */
function trimZeroDecimal(s: string): string {
  let foundZero = false
  for (let i = s.length; i > 0; i--) {
    const c = s[i - 1]
    if (c === '.') {
      if (foundZero) return s.slice(0, i - 1)
    } else if (c === '0') foundZero = true
    else return s
  }
  return s
}

/** Go's int64(f) conversion (truncation; out of range gives the minimum, as on amd64). */
export function floatToInt64(f: number): bigint {
  if (!Number.isFinite(f) || f >= 2 ** 63 || f < -(2 ** 63)) return -(2n ** 63n)
  return BigInt(Math.trunc(f))
}

/** spf13/cast ToInt64 (0 when it cannot convert). */
export function toInt64(v: unknown): bigint {
  if (typeof v === 'bigint') return v
  if (v instanceof Int64) return v.value
  if (typeof v === 'number') return floatToInt64(v)
  if (typeof v === 'string') return parseGoInt(trimZeroDecimal(v)) ?? 0n
  if (typeof v === 'boolean') return v ? 1n : 0n
  return 0n
}

/** spf13/cast ToFloat64 (0 when it cannot convert). */
export function toFloat64(v: unknown): number {
  if (typeof v === 'number') return v
  if (typeof v === 'bigint') return Number(v)
  if (v instanceof Int64) return Number(v.value)
  if (typeof v === 'string') return parseGoFloat(v) ?? 0
  if (typeof v === 'boolean') return v ? 1 : 0
  return 0
}

/** Go's strconv.ParseFloat(s, 64); undefined when it fails. */
export function parseGoFloat(s: string): number | undefined {
  const t = s.replace(/_/g, '')
  if (/^[+-]?(inf|infinity)$/i.test(t)) return t[0] === '-' ? -Infinity : Infinity
  if (/^nan$/i.test(t)) return NaN
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return Number(t)
  if (/^[+-]?0[xX]/.test(t)) {
    const m = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)(?:[pP]([+-]?\d+))?$/.exec(t)
    if (!m || (m[2] === '' && m[3] === '')) return undefined
    const mant = parseInt(`${m[2] || '0'}${m[3]}`, 16) / 16 ** m[3]!.length
    return (m[1] === '-' ? -1 : 1) * mant * 2 ** Number(m[4] ?? 0)
  }
  return undefined
}

/** Sprig's `empty`: zero values, nil, empty strings / slices / maps. Structs are never empty. */
export function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null) return true
  switch (typeof v) {
    case 'string':
      return v.length === 0
    case 'boolean':
      return !v
    case 'number':
      return v === 0
    case 'bigint':
      return v === 0n
  }
  if (v instanceof Int64) return v.value === 0n
  if (Array.isArray(v) || v instanceof Uint8Array) return v.length === 0
  if (v instanceof GoStruct) return v.mapLike ? Object.keys(v.fields).length === 0 : false
  if (isGoMap(v)) return Object.keys(v).length === 0
  return false
}

/** reflect.DeepEqual (types must match: int is not int64 is not float64). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true
  if (a === null || a === undefined || b === null || b === undefined) return (a ?? null) === (b ?? null)
  if (a instanceof Int64 || b instanceof Int64) return a instanceof Int64 && b instanceof Int64 && a.value === b.value
  if (typeof a !== 'object' || typeof b !== 'object') return false
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    return a instanceof Uint8Array && b instanceof Uint8Array && Buffer.compare(a, b) === 0
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || elemType(a) !== elemType(b) || a.length !== b.length) return false
    return a.every((x, i) => deepEqual(x, b[i]))
  }
  if (a instanceof GoStruct || b instanceof GoStruct) {
    if (!(a instanceof GoStruct) || !(b instanceof GoStruct) || a.typeName !== b.typeName) return false
    return deepEqual(a.fields, b.fields)
  }
  if (isGoMap(a) && isGoMap(b)) {
    if (elemType(a) !== elemType(b)) return false
    const ka = Object.keys(a)
    if (ka.length !== Object.keys(b).length) return false
    return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]))
  }
  return false
}

/** A deep copy of maps and slices (copystructure.Copy), keeping element-type tags. */
export function deepCopy<T>(v: T): T {
  if (Array.isArray(v)) {
    const out = v.map(deepCopy)
    const t = elemType(v)
    if (t) Object.defineProperty(out, Object.getOwnPropertySymbols(v)[0]!, {value: t})
    return out as T
  }
  if (v instanceof Uint8Array) return v.slice() as T
  if (v instanceof GoStruct && v.rebuild) return v.rebuild(deepCopy(v.fields)) as T
  if (isGoMap(v)) {
    const out: Record<string, unknown> = {}
    for (const k in v) out[k] = deepCopy(v[k])
    const t = elemType(v)
    if (t) Object.defineProperty(out, Object.getOwnPropertySymbols(v)[0]!, {value: t})
    return out as T
  }
  return v
}

