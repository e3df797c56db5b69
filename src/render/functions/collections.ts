/**
 * Sprig's list and dict functions (list.go, dict.go): list, append/prepend, first/last/rest,
 * uniq/without/has (reflect.DeepEqual), sortAlpha, dict/get/set/unset/hasKey/pluck/keys/values,
 * pick/omit, dig, merge/mergeOverwrite (imdario/mergo rules), deepCopy.
 */
import {GoStruct, compareGoStrings, elemType, isGoMap, typeName, typedSlice, type GoFunc, type GoMap} from '../template/values.js'
import {FuncError} from '../template/values.js'
import {deepCopy, deepEqual, isEmpty, strval, toInt64} from './convert.js'
import {goFunc} from './define.js'
import {toStrings} from './strings.js'

/** Items of a Go slice or array argument, or undefined when it is not one. */
function items(v: unknown): unknown[] | undefined {
  if (Array.isArray(v)) return v
  if (v instanceof Uint8Array) return [...v].map((b) => BigInt(b))
  return undefined
}

/** reflect.TypeOf(v).Kind() as a word, for Sprig's "Cannot X on type Y" messages. */
function kindWord(v: unknown): string {
  if (v === null || v === undefined) return 'invalid'
  if (typeof v === 'string') return 'string'
  if (typeof v === 'number') return 'float64'
  if (typeof v === 'bigint') return 'int'
  if (typeof v === 'boolean') return 'bool'
  if (isGoMap(v) || (v instanceof GoStruct && v.mapLike)) return 'map'
  if (v instanceof GoStruct) return v.typeName.startsWith('*') ? 'ptr' : 'struct'
  return typeName(v)
}

/** A list function that panics (Go runtime panic -> template error) on non-lists. */
function listOp<T>(op: string, v: unknown, f: (l: unknown[]) => T): T {
  if (v === null || v === undefined) throw new FuncError(`reflect: call of reflect.Value.Type on zero Value`)
  const l = items(v)
  if (!l) throw new FuncError(`Cannot ${op} on type ${kindWord(v)}`)
  return f(l)
}

function inList(haystack: unknown[], needle: unknown): boolean {
  return haystack.some((h) => deepEqual(needle, h))
}

/** imdario/mergo deepMerge for map[string]interface{} (Merge, or MergeWithOverwrite). */
export function mergoMerge(dst: GoMap, src: GoMap, overwrite: boolean): void {
  const dstWasEmpty = () => Object.keys(dst).length === 0
  for (const key of Object.keys(src)) {
    const s = src[key]
    const dHas = Object.hasOwn(dst, key)
    const d = dst[key]
    if (s === null || s === undefined) {
      if (overwrite) dst[key] = null
      continue
    }
    const sIsMap = isGoMap(s)
    const sIsSlice = Array.isArray(s)
    if (sIsMap && dHas && isGoMap(d)) mergoMerge(d, s, overwrite)
    else if (sIsSlice) {
      let dstSlice: unknown = !dHas || d === null ? [] : d
      if (overwrite || dstWasEmpty()) dstSlice = s
      dst[key] = dstSlice
    }
    if (dHas && !isEmpty(d) && (sIsMap || sIsSlice)) continue
    if (overwrite || !dHas || isEmpty(d)) dst[key] = s
  }
}

/** copystructure.Copy: nil cannot be copied. */
function copyOrFail(v: unknown): unknown {
  if (v === null || v === undefined) throw new FuncError('reflect: call of reflect.Value.Type on zero Value')
  return deepCopy(v)
}

function mapArg(v: unknown): GoMap {
  return isGoMap(v) ? v : {}
}

function dig(...ps: unknown[]): unknown {
  if (ps.length < 3) throw new FuncError('dig needs at least three arguments')
  let dict = ps[ps.length - 1]
  const def = ps[ps.length - 2]
  const keys = ps.slice(0, -2)
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]
    if (typeof k !== 'string') throw new FuncError(`interface conversion: interface {} is ${typeName(k)}, not string`)
    if (!isGoMap(dict)) throw new FuncError(`interface conversion: interface {} is ${typeName(dict)}, not map[string]interface {}`)
    if (!Object.hasOwn(dict, k)) return def
    if (i === keys.length - 1) return dict[k]
    dict = dict[k]
  }
  return def
}

function sliceList(v: unknown, ...indices: unknown[]): unknown {
  return listOp('slice', v, (l) => {
    if (l.length === 0) return null
    const start = indices.length > 0 ? Number(toInt64(indices[0])) : 0
    const end = indices.length < 2 ? l.length : Number(toInt64(indices[1]))
    if (start < 0 || end > l.length || start > end) throw new FuncError(`reflect: slice index out of range`)
    const out = l.slice(start, end)
    return elemType(v as object) === 'string' ? typedSlice(out, 'string') : out
  })
}

export function collectionFunctions(): GoFunc[] {
  const list = (...v: unknown[]) => v
  const push = (l: unknown, v: unknown) => listOp('push', l, (x) => [...x, v])
  const prepend = (l: unknown, v: unknown) => listOp('prepend', l, (x) => [v, ...x])
  const first = (l: unknown) => listOp('find first', l, (x) => (x.length === 0 ? null : x[0]))
  const last = (l: unknown) => listOp('find last', l, (x) => (x.length === 0 ? null : x[x.length - 1]))
  const rest = (l: unknown) => listOp('find rest', l, (x) => x.slice(1))
  const initial = (l: unknown) => listOp('find initial', l, (x) => x.slice(0, -1))
  const reverse = (l: unknown) => listOp('find reverse', l, (x) => [...x].reverse())
  const compact = (l: unknown) => listOp('compact', l, (x) => x.filter((i) => !isEmpty(i)))
  const uniq = (l: unknown) =>
    listOp('find uniq', l, (x) => {
      const out: unknown[] = []
      for (const i of x) if (!inList(out, i)) out.push(i)
      return out
    })
  const without = (l: unknown, ...omit: unknown[]) => listOp('find without', l, (x) => x.filter((i) => !inList(omit, i)))
  const has = (needle: unknown, haystack: unknown) => (haystack === null || haystack === undefined ? false : listOp('find has', haystack, (x) => inList(x, needle)))
  const chunk = (size: bigint, l: unknown) =>
    listOp('chunk', l, (x) => {
      const n = Number(size)
      const out: unknown[][] = []
      for (let i = 0; i < x.length; i += n) out.push(x.slice(i, i + n))
      return out
    })
  const concat = (...lists: unknown[]) => {
    const out: unknown[] = []
    for (const l of lists) {
      const x = items(l)
      if (!x) throw new FuncError(`Cannot concat type ${kindWord(l)} as list`)
      out.push(...x)
    }
    return out
  }
  const dict = (...v: unknown[]) => {
    const d: GoMap = {}
    for (let i = 0; i < v.length; i += 2) d[strval(v[i])] = i + 1 >= v.length ? '' : v[i + 1]
    return d
  }
  const sortAlpha = (l: unknown) => {
    if (items(l)) return typedSlice(toStrings(l).sort(compareGoStrings), 'string')
    return typedSlice([strval(l)], 'string')
  }
  const merge = (overwrite: boolean) => (dst: GoMap | null, ...srcs: (GoMap | null)[]) => {
    const out = dst ?? {}
    for (const s of srcs) if (s) mergoMerge(out, s, overwrite)
    return out
  }
  const mustify = (name: string, f: (...a: never[]) => unknown, params: GoFunc['params'], variadic?: GoFunc['variadic']) => [
    goFunc(name, params, f, variadic),
    goFunc(`must${name[0]!.toUpperCase()}${name.slice(1)}`, params, f, variadic),
  ]
  return [
    goFunc('list', [], list, 'any'),
    goFunc('tuple', [], list, 'any'),
    ...mustify('append', push, ['any', 'any']),
    ...mustify('push', push, ['any', 'any']),
    ...mustify('prepend', prepend, ['any', 'any']),
    ...mustify('first', first, ['any']),
    ...mustify('last', last, ['any']),
    ...mustify('rest', rest, ['any']),
    ...mustify('initial', initial, ['any']),
    ...mustify('reverse', reverse, ['any']),
    ...mustify('compact', compact, ['any']),
    ...mustify('uniq', uniq, ['any']),
    ...mustify('without', without, ['any'], 'any'),
    ...mustify('has', has, ['any', 'any']),
    ...mustify('slice', sliceList, ['any'], 'any'),
    ...mustify('chunk', chunk, ['int', 'any']),
    goFunc('concat', [], concat, 'any'),
    goFunc('sortAlpha', ['any'], sortAlpha),
    goFunc('dict', [], dict, 'any'),
    goFunc('get', ['map', 'string'], (d: GoMap | null, k: string) => (d && Object.hasOwn(d, k) ? d[k] : '')),
    goFunc('set', ['map', 'string', 'any'], (d: GoMap | null, k: string, v: unknown) => {
      if (!d) throw new FuncError('assignment to entry in nil map')
      d[k] = v
      return d
    }),
    goFunc('unset', ['map', 'string'], (d: GoMap | null, k: string) => {
      if (d) delete d[k]
      return d
    }),
    goFunc('hasKey', ['map', 'string'], (d: GoMap | null, k: string) => !!d && Object.hasOwn(d, k)),
    goFunc('pluck', ['string'], (k: string, ...ds: (GoMap | null)[]) => ds.filter((d) => d && Object.hasOwn(d, k)).map((d) => d![k]), 'map'),
    goFunc('keys', [], (...ds: (GoMap | null)[]) => typedSlice(ds.flatMap((d) => Object.keys(mapArg(d))), 'string'), 'map'),
    goFunc('values', ['map'], (d: GoMap | null) => Object.values(mapArg(d))),
    goFunc('pick', ['map'], (d: GoMap | null, ...ks: string[]) => Object.fromEntries(ks.filter((k) => d && Object.hasOwn(d, k)).map((k) => [k, d![k]])), 'string'),
    goFunc('omit', ['map'], (d: GoMap | null, ...ks: string[]) => Object.fromEntries(Object.entries(mapArg(d)).filter(([k]) => !ks.includes(k))), 'string'),
    goFunc('dig', [], dig, 'any'),
    goFunc('merge', ['map'], merge(false), 'map'),
    goFunc('mustMerge', ['map'], merge(false), 'map'),
    goFunc('mergeOverwrite', ['map'], merge(true), 'map'),
    goFunc('mustMergeOverwrite', ['map'], merge(true), 'map'),
    goFunc('deepCopy', ['any'], copyOrFail),
    goFunc('mustDeepCopy', ['any'], copyOrFail),
  ]
}

