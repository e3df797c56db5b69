/**
 * What `range` iterates, as Go does: slices and arrays by index, maps in sorted key order
 * (fmtsort), integers 0..n-1 (Go 1.22+); nothing for nil; anything else cannot be ranged over.
 */
import {GoStruct, Int64, isGoMap, sortedKeys} from './values.js'

/** [index or key, element] pairs, or undefined when the value cannot be ranged over. */
export function rangeEntries(val: unknown): Iterable<[unknown, unknown]> | undefined {
  if (Array.isArray(val)) return val.map((x, i): [unknown, unknown] => [BigInt(i), x])
  if (val instanceof Uint8Array) return [...val].map((b, i): [unknown, unknown] => [BigInt(i), BigInt(b)])
  if (isGoMap(val) || (val instanceof GoStruct && val.mapLike)) {
    const m = isGoMap(val) ? val : val.fields
    return sortedKeys(m).map((k): [unknown, unknown] => [k, m[k]])
  }
  if (typeof val === 'bigint' || val instanceof Int64) {
    const n = typeof val === 'bigint' ? val : val.value
    const wrap = (i: bigint) => (typeof val === 'bigint' ? i : new Int64(i))
    return (function* () {
      for (let i = 0n; i < n; i++) yield [wrap(i), wrap(i)] as [unknown, unknown]
    })()
  }
  if (val === undefined || val === null) return []
  return undefined
}
