/**
 * The functions every Go template has (text/template/funcs.go): and, or, not, len, index,
 * slice, eq/ne/lt/le/gt/ge with Go's comparison rules and errors, print/printf/println,
 * html, js, urlquery and call.
 */
import {AND_OR} from './exec.js'
import {formatValue, sprint, sprintf, sprintln} from './format.js'
import {FuncError, GoStruct, Int64, elemType, goLen, isGoFunc, isGoMap, isTrue, typeName, utf8Bytes, type GoFunc} from './values.js'

type Kind = 'bool' | 'int' | 'float' | 'string' | 'invalid'

function basicKind(v: unknown): Kind {
  switch (typeof v) {
    case 'boolean':
      return 'bool'
    case 'bigint':
      return 'int'
    case 'number':
      return 'float'
    case 'string':
      return 'string'
  }
  return v instanceof Int64 ? 'int' : 'invalid'
}

const asBig = (v: unknown): bigint => (typeof v === 'bigint' ? v : (v as Int64).value)

/** Go's reflect Kind for the "same kind" test of eq on non-basic values. */
function reflectKind(v: unknown): string {
  if (v === undefined || v === null) return 'invalid'
  if (Array.isArray(v) || v instanceof Uint8Array) return 'slice'
  if (v instanceof GoStruct) return v.mapLike ? 'map' : 'struct'
  if (isGoMap(v)) return 'map'
  return 'other'
}

function eq(arg1: unknown, ...rest: unknown[]): boolean {
  if (arg1 === null) arg1 = undefined
  if (rest.length === 0) throw new FuncError('missing argument for comparison')
  const k1 = basicKind(arg1)
  for (let arg of rest) {
    if (arg === null) arg = undefined
    const k2 = basicKind(arg)
    let truth = false
    if (k1 !== k2) {
      if (arg1 !== undefined && arg !== undefined) throw new FuncError('incompatible types for comparison')
    } else if (k1 === 'int') truth = asBig(arg1) === asBig(arg)
    else if (k1 !== 'invalid') truth = arg1 === arg
    else {
      const r1 = reflectKind(arg1)
      const r2 = reflectKind(arg)
      if (r1 !== r2 && r1 !== 'invalid' && r2 !== 'invalid') {
        throw new FuncError(`non-comparable types ${formatValue(arg1, 'v', NO, 0)}: ${typeName(arg1)}, ${typeName(arg)}: ${formatValue(arg, 'v', NO, 0)}`)
      }
      if (arg1 === undefined || arg === undefined) truth = arg1 === arg
      else if (r2 === 'slice' || r2 === 'map') throw new FuncError(`non-comparable type ${formatValue(arg, 'v', NO, 0)}: ${typeName(arg)}`)
      else truth = arg1 === arg
    }
    if (truth) return true
  }
  return false
}

const NO = {plus: false, minus: false, sharp: false, space: false, zero: false}

function lt(a: unknown, b: unknown): boolean {
  if (a === null) a = undefined
  if (b === null) b = undefined
  const k1 = basicKind(a)
  if (k1 === 'invalid') throw new FuncError('invalid type for comparison')
  const k2 = basicKind(b)
  if (k2 === 'invalid') throw new FuncError('invalid type for comparison')
  if (k1 !== k2) throw new FuncError('incompatible types for comparison')
  if (k1 === 'bool') throw new FuncError('invalid type for comparison')
  if (k1 === 'int') return asBig(a) < asBig(b)
  if (k1 === 'string') return Buffer.compare(utf8Bytes(a as string), utf8Bytes(b as string)) < 0
  return (a as number) < (b as number)
}

function indexArg(index: unknown, cap: number): number {
  if (index === null || index === undefined) throw new FuncError('cannot index slice/array with nil')
  if (typeof index !== 'bigint' && !(index instanceof Int64)) throw new FuncError(`cannot index slice/array with type ${typeName(index)}`)
  const x = asBig(index)
  if (x < 0n || x > BigInt(cap)) throw new FuncError(`index out of range: ${x}`)
  return Number(x)
}

function index(item: unknown, ...indexes: unknown[]): unknown {
  if (item === null || item === undefined) throw new FuncError('index of untyped nil')
  for (let idx of indexes) {
    if (idx === null) idx = undefined
    if (item === null || item === undefined) throw new FuncError('index of nil pointer')
    if (typeof item === 'string' || Array.isArray(item) || item instanceof Uint8Array) {
      const bytes = typeof item === 'string' ? utf8Bytes(item) : undefined
      const len = bytes ? bytes.length : (item as unknown[]).length
      const x = indexArg(idx, len)
      if (x === len) throw new FuncError(`reflect: slice index out of range`)
      item = bytes ? BigInt(bytes[x]!) : item instanceof Uint8Array ? BigInt(item[x]!) : (item as unknown[])[x]
    } else if (isGoMap(item) || (item instanceof GoStruct && item.mapLike)) {
      if (idx === undefined) throw new FuncError('value is nil; should be of type string')
      if (typeof idx !== 'string') throw new FuncError(`value has type ${typeName(idx)}; should be string`)
      const m = isGoMap(item) ? item : item.fields
      if (Object.hasOwn(m, idx)) item = m[idx]
      else item = item instanceof GoStruct ? item.mapLike!.missing : elemType(item) === 'string' ? '' : null
    } else throw new FuncError(`can't index item of type ${typeName(item)}`)
  }
  return item
}

function slice(item: unknown, ...indexes: unknown[]): unknown {
  if (item === null || item === undefined) throw new FuncError('slice of untyped nil')
  if (indexes.length > 3) throw new FuncError(`too many slice indexes: ${indexes.length}`)
  let len: number
  if (typeof item === 'string') {
    if (indexes.length === 3) throw new FuncError('cannot 3-index slice a string')
    len = goLen(item)
  } else if (Array.isArray(item) || item instanceof Uint8Array) len = item.length
  else throw new FuncError(`can't slice item of type ${typeName(item)}`)
  const idx = [0, len]
  indexes.forEach((x, i) => (idx[i] = indexArg(x === null ? undefined : x, len)))
  if (idx[0]! > idx[1]!) throw new FuncError(`invalid slice index: ${idx[0]} > ${idx[1]}`)
  if (indexes.length === 3 && idx[1]! > idx[2]!) throw new FuncError(`invalid slice index: ${idx[1]} > ${idx[2]}`)
  if (typeof item === 'string') return Buffer.from(utf8Bytes(item).subarray(idx[0], idx[1])).toString('utf8')
  if (item instanceof Uint8Array) return item.slice(idx[0], idx[1])
  const out = item.slice(idx[0], idx[1])
  return elemType(item) === 'string' ? Object.defineProperty(out, Object.getOwnPropertySymbols(item)[0]!, {value: 'string'}) : out
}

function length(item: unknown): bigint {
  if (item === null) throw new FuncError('len of nil pointer')
  if (item === undefined) throw new FuncError('reflect: call of reflect.Value.Type on zero Value')
  if (typeof item === 'string') return BigInt(goLen(item))
  if (Array.isArray(item) || item instanceof Uint8Array) return BigInt(item.length)
  if (isGoMap(item)) return BigInt(Object.keys(item).length)
  if (item instanceof GoStruct && item.mapLike) return BigInt(Object.keys(item.fields).length)
  throw new FuncError(`len of type ${typeName(item)}`)
}

/** Arguments of html/js/urlquery as one string (Go's evalArgs). */
function evalArgs(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0]
  return sprint(args.map((a) => (a === null || a === undefined ? '<no value>' : a)))
}

export function htmlEscape(s: string): string {
  return s.replace(/[\0"'&<>]/g, (c) => ({'\0': '\uFFFD', '"': '&#34;', "'": '&#39;', '&': '&amp;', '<': '&lt;', '>': '&gt;'})[c]!)
}

export function jsEscape(s: string): string {
  let out = ''
  for (const ch of s) {
    const cp = ch.codePointAt(0)!
    switch (ch) {
      case '\\':
        out += '\\\\'
        continue
      case "'":
        out += "\\'"
        continue
      case '"':
        out += '\\"'
        continue
      case '<':
        out += '\\u003C'
        continue
      case '>':
        out += '\\u003E'
        continue
      case '&':
        out += '\\u0026'
        continue
      case '=':
        out += '\\u003D'
        continue
    }
    if (cp < 0x20) out += `\\u00${cp.toString(16).toUpperCase().padStart(2, '0')}`
    else if (cp < 0x80 || /[\p{L}\p{M}\p{N}\p{P}\p{S}\u0020]/u.test(ch)) out += ch
    else out += `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`
  }
  return out
}

/** Go's url.QueryEscape. */
export function queryEscape(s: string): string {
  let out = ''
  for (const b of utf8Bytes(s)) {
    const c = String.fromCharCode(b)
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c
    else if (c === ' ') out += '+'
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

function call(fn: unknown, ...args: unknown[]): unknown {
  if (fn === null || fn === undefined) throw new FuncError('call of nil')
  if (!isGoFunc(fn)) throw new FuncError(`non-function of type ${typeName(fn)}`)
  const want = fn.params.length
  if (fn.variadic === undefined ? args.length !== want : args.length < want) {
    throw new FuncError(`wrong number of args: got ${args.length} want ${fn.variadic === undefined ? '' : 'at least '}${want}`)
  }
  return (fn.fn as (...a: unknown[]) => unknown)(...args.map((a) => (a === undefined ? null : a)))
}

const f = (name: string, params: GoFunc['params'], fn: GoFunc['fn'], variadic?: GoFunc['variadic']): GoFunc =>
  variadic === undefined ? {name, params, fn} : {name, params, variadic, fn}

/** The builtin functions, keyed by name. */
export function builtinFunctions(): Map<string, GoFunc> {
  const list: GoFunc[] = [
    AND_OR.and,
    AND_OR.or,
    f('call', ['value'], call, 'value'),
    f('html', [], (...a: unknown[]) => htmlEscape(evalArgs(a)), 'any'),
    f('index', ['value'], index, 'value'),
    f('slice', ['value'], slice, 'value'),
    f('js', [], (...a: unknown[]) => jsEscape(evalArgs(a)), 'any'),
    f('len', ['value'], length),
    f('not', ['value'], (v: unknown) => !isTrue(v)),
    f('print', [], (...a: unknown[]) => sprint(a), 'any'),
    f('printf', ['string'], (format: string, ...a: unknown[]) => sprintf(format, a), 'any'),
    f('println', [], (...a: unknown[]) => sprintln(a), 'any'),
    f('urlquery', [], (...a: unknown[]) => queryEscape(evalArgs(a)), 'any'),
    f('eq', ['value'], eq, 'value'),
    f('ne', ['value', 'value'], (a: unknown, b: unknown) => !eq(a, b)),
    f('lt', ['value', 'value'], lt),
    f('le', ['value', 'value'], (a: unknown, b: unknown) => lt(a, b) || eq(a, b)),
    f('gt', ['value', 'value'], (a: unknown, b: unknown) => !(lt(a, b) || eq(a, b))),
    f('ge', ['value', 'value'], (a: unknown, b: unknown) => !lt(a, b)),
  ]
  return new Map(list.map((fn) => [fn.name, fn]))
}

