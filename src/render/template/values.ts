/**
 * How Go values are held while rendering. Templates see the types Go would see, so that
 * printing, comparisons and type errors match:
 *
 * - `number`: float64 (every number that came from YAML or JSON values, as in Helm)
 * - `bigint`: int (template integer literals, len, atoi, int …); `Int64` wraps int64 (Sprig math)
 * - `string`, `boolean`
 * - `null`: a nil interface (a missing map key under missingkey=zero, a nil result)
 * - `undefined`: no value at all (Go's invalid reflect.Value, printed "<no value>")
 * - arrays: []interface{} (or []string when tagged with `typedSlice`)
 * - plain objects: map[string]interface{} (or map[string]string when tagged with `typedMap`)
 * - `Uint8Array`: []byte
 * - `GoStruct`: structs and named types with methods (.Chart, .Capabilities, .Files, semver …)
 * - `GoFunc`: a function value (for `call`)
 */

export class Int64 {
  constructor(readonly value: bigint) {}
}

/** Element type of a typed slice or map ([]string, map[string]string). */
export const ELEM_TYPE = Symbol('goElemType')

export type GoMap = Record<string, unknown>

export function typedSlice<T>(items: T[], elem: 'string'): T[] {
  Object.defineProperty(items, ELEM_TYPE, {value: elem, enumerable: false})
  return items
}

export function typedMap(map: GoMap, elem: 'string'): GoMap {
  Object.defineProperty(map, ELEM_TYPE, {value: elem, enumerable: false})
  return map
}

export function elemType(v: object): string | undefined {
  return (v as {[ELEM_TYPE]?: string})[ELEM_TYPE]
}

/** Parameter and result types of functions callable from templates. */
export type GoType = 'any' | 'string' | 'int' | 'int64' | 'float64' | 'bool' | '[]any' | '[]string' | 'map' | 'value' | '[]byte' | 'func'

/** A Go function as templates call it: typed parameters, optional variadic tail, may fail. */
export interface GoFunc {
  readonly name: string
  readonly params: readonly GoType[]
  readonly variadic?: GoType
  /** Receives arguments already checked against params; throws FuncError for a Go `error` result. */
  readonly fn: (...args: never[]) => unknown
}

/** The error result of a Go function (becomes "error calling NAME: MESSAGE"). */
export class FuncError extends Error {}

/** A Go struct or named type: exported fields, methods, and how %v prints it. */
export class GoStruct {
  constructor(
    /** Go type as reflect prints it: "chartutil.Capabilities", "*semver.Version". */
    readonly typeName: string,
    readonly fields: GoMap,
    readonly methods: Record<string, GoFunc> = {},
    /** fmt.Stringer: what %v / print show. */
    readonly stringer?: () => string,
    /** A named map type (Helm's `files`): fields are map entries and missing keys give `missing`. */
    readonly mapLike?: {missing: unknown},
    /** For named map types: the same type over other entries (what a deep copy makes). */
    readonly rebuild?: (fields: GoMap) => GoStruct,
  ) {}
}

export function isGoMap(v: unknown): v is GoMap {
  if (typeof v !== 'object' || v === null) return false
  const proto = Object.getPrototypeOf(v) as unknown
  return proto === Object.prototype || proto === null
}

export function isGoFunc(v: unknown): v is GoFunc {
  if (typeof v !== 'object' || v === null || v instanceof GoStruct || isGoMap(v)) return false
  return 'fn' in v && 'params' in v
}

/** Go's type of a scalar (for scalars also its Kind name), or undefined for anything else. */
function scalarType(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return 'string'
    case 'number':
      return 'float64'
    case 'bigint':
      return 'int'
    case 'boolean':
      return 'bool'
  }
  return v instanceof Int64 ? 'int64' : undefined
}

/** Go's reflect Kind name of a value (Sprig's kindOf). */
export function kindOf(v: unknown): string {
  if (v === undefined || v === null) return 'invalid'
  const scalar = scalarType(v)
  if (scalar !== undefined) return scalar
  if (Array.isArray(v) || v instanceof Uint8Array) return 'slice'
  if (v instanceof GoStruct) return v.mapLike ? 'map' : v.typeName.startsWith('*') ? 'ptr' : 'struct'
  if (isGoFunc(v)) return 'func'
  if (isGoMap(v)) return 'map'
  return 'invalid'
}

/** Go's type name of a value as %T and reflect print it. */
export function typeName(v: unknown): string {
  if (v === undefined || v === null) return '<nil>'
  const scalar = scalarType(v)
  if (scalar !== undefined) return scalar
  if (v instanceof Uint8Array) return '[]uint8'
  if (Array.isArray(v)) return elemType(v) === 'string' ? '[]string' : '[]interface {}'
  if (v instanceof GoStruct) return v.typeName
  if (isGoFunc(v)) return 'func'
  if (isGoMap(v)) return elemType(v) === 'string' ? 'map[string]string' : 'map[string]interface {}'
  return 'unknown'
}

/** Go's template truth (text/template isTrue); `undefined` when the value has no truth (Go: "can't use"). */
export function isTrue(v: unknown): boolean {
  if (v === undefined || v === null) return false
  switch (typeof v) {
    case 'string':
      return v.length > 0
    case 'number':
      return v !== 0
    case 'bigint':
      return v !== 0n
    case 'boolean':
      return v
  }
  if (v instanceof Int64) return v.value !== 0n
  if (Array.isArray(v)) return v.length > 0
  if (v instanceof Uint8Array) return v.length > 0
  if (v instanceof GoStruct) return v.mapLike ? Object.keys(v.fields).length > 0 : true
  if (isGoFunc(v)) return true
  if (isGoMap(v)) return Object.keys(v).length > 0
  return true
}

/** Go's byte-wise string order (fmtsort and sort.Strings), which differs from UTF-16 order above the BMP. */
export function compareGoStrings(a: string, b: string): number {
  if (a === b) return 0
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i)
    const y = b.charCodeAt(i)
    if (x !== y) {
      const surrogate = (c: number) => c >= 0xd800 && c <= 0xdfff
      if (surrogate(x) !== surrogate(y) && (x >= 0xe000 || y >= 0xe000)) return surrogate(x) ? 1 : -1
      return x < y ? -1 : 1
    }
  }
  return a.length < b.length ? -1 : 1
}

export function sortedKeys(m: GoMap): string[] {
  return Object.keys(m).sort(compareGoStrings)
}

/** Bytes of a string as Go holds it (UTF-8). */
export function utf8Bytes(s: string): Uint8Array {
  return Buffer.from(s, 'utf8')
}

export function bytesToString(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8')
}

/** Length as Go's len counts it: bytes for strings. */
export function goLen(s: string): number {
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4
      i++
    } else n += 3
  }
  return n
}

/** Wrap a bigint into int64 range the way Go arithmetic overflows. */
export function wrapInt64(v: bigint): bigint {
  return BigInt.asIntN(64, v)
}
