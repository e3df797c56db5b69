/** A compact way to declare Go functions for the template function table. */
import type {GoFunc, GoType} from '../template/values.js'

export function goFunc(name: string, params: readonly GoType[], fn: (...args: never[]) => unknown, variadic?: GoType): GoFunc {
  return variadic === undefined ? {name, params, fn} : {name, params, variadic, fn}
}

/** Go's unicode.IsSpace. */
export const GO_SPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u

/** strings.TrimSpace. */
export function trimSpace(s: string): string {
  return s.replace(/^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/gu, '')
}

/** unicode.ToUpper / ToLower rune by rune (no multi-character special casing, unlike JavaScript). */
export function mapRunes(s: string, f: 'upper' | 'lower' | 'title'): string {
  let out = ''
  for (const ch of s) {
    const m = f === 'lower' ? ch.toLowerCase() : ch.toUpperCase()
    out += [...m].length === 1 ? m : ch
  }
  return out
}
