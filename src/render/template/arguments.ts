/**
 * Go's assignability rules for function parameters, on the value model of values.ts: which
 * values a parameter of each type accepts, which types can hold nil, and their Go names.
 */
import {GoStruct, Int64, elemType, isGoMap, typeName, type GoFunc, type GoType} from './values.js'

/** Go type names of parameter types, for messages. */
export function goTypeName(t: GoType): string {
  switch (t) {
    case 'any':
      return 'interface {}'
    case '[]any':
      return '[]interface {}'
    case 'map':
      return 'map[string]interface {}'
    case 'value':
      return 'reflect.Value'
    case '[]byte':
      return '[]uint8'
    default:
      return t
  }
}

export function canBeNil(t: GoType): boolean {
  return t === 'any' || t === '[]any' || t === '[]string' || t === 'map' || t === 'value' || t === '[]byte' || t === 'func'
}

/** Whether a value is assignable to a parameter type. */
export function assignable(v: unknown, t: GoType): boolean {
  switch (t) {
    case 'any':
    case 'value':
      return true
    case 'string':
      return typeof v === 'string'
    case 'int':
      return typeof v === 'bigint'
    case 'int64':
      return v instanceof Int64
    case 'float64':
      return typeof v === 'number'
    case 'bool':
      return typeof v === 'boolean'
    case '[]any':
      return Array.isArray(v) && elemType(v) === undefined
    case '[]string':
      return Array.isArray(v) && elemType(v) === 'string'
    case 'map':
      return isGoMap(v) && elemType(v) === undefined
    case '[]byte':
      return v instanceof Uint8Array
    case 'func':
      return typeof v === 'object' && v !== null && 'fn' in v
  }
}


/**
 * Go's validateType: the value a parameter of type t receives, or why it cannot. No value
 * becomes nil where nil is allowed; chartutil.Values passes as map[string]interface{}.
 */
export function checkArgument(value: unknown, t: GoType | undefined): {value: unknown} | {error: string} {
  if (value === undefined) {
    if (t === undefined || t === 'value') return {value: undefined}
    if (canBeNil(t)) return {value: null}
    return {error: `invalid value; expected ${goTypeName(t)}`}
  }
  if (t === undefined || assignable(value, t)) return {value}
  if (t === 'map' && value instanceof GoStruct && value.mapLike && value.rebuild) return {value: value.fields}
  return {error: `wrong type for value; expected ${goTypeName(t)}; got ${value === null ? 'interface {}' : typeName(value)}`}
}

/** Marker for "no final argument" in a pipeline (Go's missingVal). */
export const MISSING = Symbol('missing')

/** The builtin `and` / `or`, which short-circuit inside evalCall. */
export const AND_OR = {
  and: {name: 'and', params: ['value'], variadic: 'value', fn: () => undefined} as GoFunc,
  or: {name: 'or', params: ['value'], variadic: 'value', fn: () => undefined} as GoFunc,
}

