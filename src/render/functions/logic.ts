/**
 * Sprig's defaults and reflection functions: default, empty, coalesce, all, any, ternary,
 * typeOf / typeIs / typeIsLike / kindOf / kindIs, deepEqual.
 */
import {kindOf, typeName, type GoFunc} from '../template/values.js'
import {deepEqual, isEmpty} from './convert.js'
import {goFunc} from './define.js'

export function logicFunctions(): GoFunc[] {
  return [
    goFunc('default', ['any'], (d: unknown, ...given: unknown[]) => (given.length === 0 || isEmpty(given[0]) ? d : given[0]), 'any'),
    goFunc('empty', ['any'], isEmpty),
    goFunc('coalesce', [], (...v: unknown[]) => v.find((x) => !isEmpty(x)) ?? null, 'any'),
    goFunc('all', [], (...v: unknown[]) => v.every((x) => !isEmpty(x)), 'any'),
    goFunc('any', [], (...v: unknown[]) => v.some((x) => !isEmpty(x)), 'any'),
    goFunc('ternary', ['any', 'any', 'bool'], (t: unknown, f: unknown, v: boolean) => (v ? t : f)),
    goFunc('typeOf', ['any'], typeName),
    goFunc('typeIs', ['string', 'any'], (t: string, v: unknown) => t === typeName(v)),
    goFunc('typeIsLike', ['string', 'any'], (t: string, v: unknown) => t === typeName(v) || `*${t}` === typeName(v)),
    goFunc('kindOf', ['any'], kindOf),
    goFunc('kindIs', ['string', 'any'], (t: string, v: unknown) => t === kindOf(v)),
    goFunc('deepEqual', ['any', 'any'], deepEqual),
  ]
}
