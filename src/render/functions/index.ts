/**
 * The function table of a Helm render: Go's builtins, Sprig v3 (minus env/expandenv, with
 * deterministic random/clock stand-ins) and Helm's own encoders. The engine adds include, tpl,
 * required, fail and lookup, which need the template set.
 */
import {builtinFunctions} from '../template/builtins.js'
import type {GoFunc} from '../template/values.js'
import {collectionFunctions} from './collections.js'
import {dateFunctions} from './dates.js'
import {logicFunctions} from './logic.js'
import {mathFunctions} from './math.js'
import {randomFunctions} from './random.js'
import {regexFunctions} from './regex.js'
import {semverFunctions} from './semver.js'
import {serializationFunctions} from './serialization.js'
import {stringFunctions} from './strings.js'

/** Every function except the engine's own, keyed by name; `seed` drives the random stand-ins. */
export function functionTable(seed: number): Map<string, GoFunc> {
  const table = builtinFunctions()
  const groups = [stringFunctions(), collectionFunctions(), mathFunctions(), logicFunctions(), serializationFunctions(), regexFunctions(), semverFunctions(), dateFunctions(), randomFunctions(seed)]
  for (const group of groups) for (const fn of group) table.set(fn.name, fn)
  table.set('getHostByName', {name: 'getHostByName', params: ['string'], fn: () => ''})
  table.set('hello', {name: 'hello', params: [], fn: () => 'Hello!'})
  return table
}
