/**
 * Helm 3's values coalescing (pkg/chartutil/coalesce.go), step for step, including its in-place
 * updates: user values over chart defaults, `null` deleting a default (or kept, in merge mode),
 * subchart sections coalesced under their alias with the parent's `global` copied in.
 */
import {isGoMap, type GoMap} from '../template/values.js'
import {deepCopy} from '../functions/convert.js'
import {RenderError} from './errors.js'

/** A chart as the engine works on it (Helm's chart.Chart after loading). */
export interface EngineChart {
  metadata: EngineMetadata
  values: GoMap
  /** "templates/x.yaml" -> text. */
  templates: Map<string, string>
  /** Every other file of the chart (Helm's chart.Files). */
  files: Map<string, Uint8Array>
  dependencies: EngineChart[]
  parent: EngineChart | undefined
}

export interface EngineDependency {
  name: string
  version?: string
  repository?: string
  condition?: string
  tags?: string[]
  enabled: boolean
  importValues?: unknown[]
  alias?: string
}

export interface EngineMetadata {
  /** Chart.yaml fields as written (for .Chart). */
  raw: GoMap
  name: string
  version: string
  type?: string
  dependencies: EngineDependency[] | undefined
}

const isTable = isGoMap

function concatPrefix(a: string, b: string): string {
  return a === '' ? b : `${a}.${b}`
}

/** CoalesceValues (merge false) or MergeValues (merge true) of user values over a chart. */
export function coalesceChartValues(chart: EngineChart, vals: GoMap | undefined, merge: boolean): GoMap {
  return coalesce(chart, deepCopy(vals ?? {}), '', merge)
}

function coalesce(chart: EngineChart, dest: GoMap, prefix: string, merge: boolean): GoMap {
  coalesceValues(chart, dest, prefix, merge)
  return coalesceDeps(chart, dest, prefix, merge)
}

function coalesceDeps(chart: EngineChart, dest: GoMap, prefix: string, merge: boolean): GoMap {
  for (const sub of chart.dependencies) {
    const name = sub.metadata.name
    if (!Object.hasOwn(dest, name)) dest[name] = {}
    else if (!isTable(dest[name])) {
      throw new RenderError(`type mismatch on ${name}: values for subchart "${name}" are not a map`, {hint: `give ${name} a mapping of values (or remove it)`})
    }
    const dvmap = dest[name] as GoMap
    const subPrefix = concatPrefix(prefix, chart.metadata.name)
    coalesceGlobals(dvmap, dest, subPrefix)
    dest[name] = coalesce(sub, dvmap, subPrefix, merge)
  }
  return dest
}

function coalesceGlobals(dest: GoMap, src: GoMap, prefix: string): void {
  let dg: GoMap
  let sg: GoMap
  if (!Object.hasOwn(dest, 'global')) dg = {}
  else if (isTable(dest.global)) dg = dest.global
  else return
  if (!Object.hasOwn(src, 'global')) sg = {}
  else if (isTable(src.global)) sg = src.global
  else return
  for (const key of Object.keys(sg)) {
    const val = sg[key]
    if (isTable(val)) {
      const vv = {...val}
      if (!Object.hasOwn(dg, key)) dg[key] = vv
      else if (isTable(dg[key])) {
        coalesceTablesFullKey(vv, dg[key] as GoMap, concatPrefix(prefix, key), true)
        dg[key] = vv
      }
    } else if (Object.hasOwn(dg, key) && isTable(dg[key])) {
      // a table is not replaced by a scalar
    } else dg[key] = val
  }
  dest.global = dg
}

function coalesceValues(chart: EngineChart, v: GoMap, prefix: string, merge: boolean): void {
  const subPrefix = concatPrefix(prefix, chart.metadata.name)
  const vc = deepCopy(chart.values)
  for (const key of Object.keys(vc)) {
    const val = vc[key]
    if (Object.hasOwn(v, key)) {
      const value = v[key]
      if (value === null && !merge) delete v[key]
      else if (isTable(value) && isTable(val)) {
        const childMerge = chart.dependencies.some((d) => d.metadata.name === key) || merge
        coalesceTablesFullKey(value, val, concatPrefix(subPrefix, key), childMerge)
      }
    } else v[key] = val
  }
}

/** coalesceTablesFullKey: src's keys into dst (dst wins), recursively; nulls in dst delete unless merging. */
export function coalesceTablesFullKey(dst: GoMap, src: GoMap, prefix: string, merge: boolean): GoMap {
  for (const key of Object.keys(dst)) if (dst[key] === null) src[key] = null
  for (const key of Object.keys(src)) {
    const val = src[key]
    const has = Object.hasOwn(dst, key)
    const dv = dst[key]
    if (has && !merge && dv === null) delete dst[key]
    else if (!has) dst[key] = val
    else if (isTable(val) && isTable(dv)) coalesceTablesFullKey(dv, val, concatPrefix(prefix, key), merge)
  }
  return dst
}

/** A copy of values without null entries (Helm's trimNilValues). */
export function trimNilValues(vals: GoMap): GoMap {
  const out = deepCopy(vals)
  for (const key of Object.keys(out)) {
    if (out[key] === null) delete out[key]
    else if (isTable(out[key])) out[key] = trimNilValues(out[key] as GoMap)
  }
  return out
}

/** The table at a dotted path (Helm's Values.Table), or undefined. */
export function tableAt(v: GoMap, path: string): GoMap | undefined {
  let table: GoMap = v
  for (const part of path.split('.')) {
    const next = table[part]
    if (!Object.hasOwn(table, part) || !isTable(next)) return undefined
    table = next
  }
  return table
}

/** Helm's Values.PathValue: a non-table value at a dotted path. */
export function pathValue(v: GoMap, path: string): {value: unknown} | undefined {
  const parts = path.split('.')
  const last = parts.pop()!
  const table = parts.length === 0 ? v : tableAt(v, parts.join('.'))
  if (!table || !Object.hasOwn(table, last) || isTable(table[last])) return undefined
  return {value: table[last]}
}
