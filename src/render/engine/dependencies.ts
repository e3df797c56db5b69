/**
 * Helm 3's dependency processing before a render (pkg/chartutil/dependencies.go,
 * ProcessDependenciesWithMerge): subcharts matched to Chart.yaml dependencies by name and
 * version range, copied under their alias, enabled or removed by tags and conditions (read
 * from the coalesced values, with the parent path prefix), then import-values merged into the
 * parent's values. Also turns a LoadedChart into the engine's working chart.
 */
import {chartFiles} from '../../helm/load.js'
import type {LoadedChart} from '../../helm/types.js'
import {isGoMap, type GoMap} from '../template/values.js'
import {deepCopy} from '../functions/convert.js'
import {semverSatisfies} from '../functions/semver.js'
import {coalesceChartValues, coalesceTablesFullKey, pathValue, tableAt, type EngineChart, type EngineDependency} from './coalesce.js'

const NOT_FILES = new Set(['Chart.yaml', 'Chart.lock', 'values.yaml', 'values.schema.json', 'requirements.yaml', 'requirements.lock'])

/** The engine's working copy of a loaded chart tree. */
export function engineChart(chart: LoadedChart, parent?: EngineChart): EngineChart {
  const raw = chartFiles(chart)
  const files = new Map<string, Uint8Array>()
  for (const [path, bytes] of raw ?? []) {
    if (NOT_FILES.has(path) || path.startsWith('templates/')) continue
    if (path.startsWith('charts/') && !path.endsWith('.prov')) continue
    files.set(path, bytes)
  }
  const meta = chart.metadata
  const deps: EngineDependency[] | undefined = meta.dependencies?.map((d) => {
    const dep: EngineDependency = {name: d.name, enabled: false}
    if (d.version !== undefined) dep.version = d.version
    if (d.repository !== undefined) dep.repository = d.repository
    if (d.condition !== undefined) dep.condition = d.condition
    if (d.tags !== undefined) dep.tags = d.tags
    if (d.alias !== undefined) dep.alias = d.alias
    const iv = (d as unknown as Record<string, unknown>)['import-values']
    if (Array.isArray(iv)) dep.importValues = iv
    return dep
  })
  const out: EngineChart = {
    metadata: {raw: {...meta}, name: meta.name, version: meta.version, type: meta.type, dependencies: deps},
    values: deepCopy(chart.values),
    templates: chart.templates,
    files,
    dependencies: [],
    parent,
  }
  out.dependencies = chart.subcharts.filter((s) => !/charts\/[_.][^/]*$/.test(s.origin)).map((s) => engineChart(s, out))
  return out
}

function isCompatibleRange(constraint: string | undefined, version: string): boolean {
  try {
    return semverSatisfies(constraint ?? '', version)
  } catch {
    return false
  }
}

function setDependencies(chart: EngineChart, deps: EngineChart[]): void {
  for (const d of deps) d.parent = chart
  chart.dependencies = deps
}

function aliasCopy(charts: EngineChart[], dep: EngineDependency): EngineChart | undefined {
  const c = charts.find((x) => x.metadata.name === dep.name && isCompatibleRange(dep.version, x.metadata.version))
  if (!c) return undefined
  const metadata = {...c.metadata, raw: {...c.metadata.raw}}
  if (dep.alias) {
    metadata.name = dep.alias
    metadata.raw.name = dep.alias
  }
  return {...c, metadata}
}

function processDependencyEnabled(c: EngineChart, v: GoMap, path: string): void {
  const reqs = c.metadata.dependencies
  if (reqs === undefined) return
  const chartDependencies = c.dependencies.filter((existing) => !reqs.some((req) => existing.metadata.name === req.name && isCompatibleRange(req.version, existing.metadata.version)))
  for (const req of reqs) {
    const copy = aliasCopy(c.dependencies, req)
    if (copy) chartDependencies.push(copy)
    if (req.alias) req.name = req.alias
  }
  setDependencies(c, chartDependencies)
  for (const r of reqs) r.enabled = true
  const cvals = coalesceChartValues(c, v, false)
  const tags = tableAt(cvals, 'tags')
  if (tags) {
    for (const r of reqs) {
      let hasTrue = false
      let hasFalse = false
      for (const k of r.tags ?? []) {
        if (Object.hasOwn(tags, k) && typeof tags[k] === 'boolean') {
          if (tags[k]) hasTrue = true
          else hasFalse = true
        }
      }
      if (!hasTrue && hasFalse) r.enabled = false
      else r.enabled = true
    }
  }
  for (const r of reqs) {
    for (const cond of (r.condition ?? '').trim().split(',')) {
      if (cond.length === 0) continue
      const found = pathValue(cvals, path + cond)
      if (found && typeof found.value === 'boolean') {
        r.enabled = found.value
        break
      }
    }
  }
  const removed = new Set(reqs.filter((r) => !r.enabled).map((r) => r.name))
  const kept = c.dependencies.filter((n) => !removed.has(n.metadata.name))
  const keptMeta = reqs.filter((r) => !removed.has(r.name))
  for (const t of kept) processDependencyEnabled(t, cvals, `${path}${t.metadata.name}.`)
  c.metadata = {...c.metadata, dependencies: keptMeta}
  setDependencies(c, kept)
}

function pathToMap(path: string, data: GoMap): GoMap {
  if (path === '.') return data
  let cur: GoMap = data
  for (const part of path.split('.').reverse()) cur = {[part]: cur}
  return cur
}

function processImportValues(c: EngineChart): void {
  const reqs = c.metadata.dependencies
  if (reqs === undefined) return
  const cvals = coalesceChartValues(c, undefined, true)
  let b: GoMap = {}
  for (const r of reqs) {
    const out: unknown[] = []
    for (const riv of r.importValues ?? []) {
      if (isGoMap(riv)) {
        const child = String(riv.child ?? '<nil>')
        const parent = String(riv.parent ?? '<nil>')
        out.push({child, parent})
        const vv = tableAt(cvals, `${r.name}.${child}`)
        if (vv) b = coalesceTablesFullKey(b, pathToMap(parent, deepCopy(vv)), '', true)
      } else if (typeof riv === 'string') {
        out.push({child: `exports.${riv}`, parent: '.'})
        const vm = tableAt(cvals, `${r.name}.exports.${riv}`)
        if (vm) b = coalesceTablesFullKey(b, deepCopy(vm), '', true)
      }
    }
    r.importValues = out
  }
  c.values = coalesceTablesFullKey(deepCopy(cvals), b, '', true)
}

function processDependencyImportValues(c: EngineChart): void {
  for (const d of c.dependencies) processDependencyImportValues(d)
  processImportValues(c)
}

/** ProcessDependenciesWithMerge: what `helm install` / `helm template` do before rendering. */
export function processDependencies(chart: EngineChart, userValues: GoMap): void {
  processDependencyEnabled(chart, userValues, '')
  processDependencyImportValues(chart)
}

/** Path of a chart in the template namespace: "top/charts/sub/charts/subsub". */
export function chartFullPath(c: EngineChart): string {
  return c.parent ? `${chartFullPath(c.parent)}/charts/${c.metadata.name}` : c.metadata.name
}
