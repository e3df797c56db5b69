/**
 * The chart tree as Helm renders it: each subchart under its alias (or name) with its coalesced
 * values (parent section over subchart defaults, parent `global` over subchart `global`) and
 * whether it is enabled (dependency condition, then tags; a disabled parent disables its children).
 */
import semver from 'semver'
import type {ChartDependency, LoadedChart} from '../helm/types.js'
import type {Values} from './values.js'
import {coalesce, evaluateCondition, evaluateTags, isMap} from './values.js'

export interface ChartNode {
  chart: LoadedChart
  /** Alias or name: the key of its values in the parent. */
  key: string
  /** `operator-wandb/prometheus/instance` */
  path: string
  /** Keys of this chart's values in the top chart's values. */
  valuesPrefix: string[]
  /** Coalesced values as this chart sees them (its subcharts' sections included). */
  values: Values
  enabled: boolean
  /** True when a dependency condition or tag decided `enabled` (so the section's own switch is not consulted). */
  decided: boolean
  /** Keys of this chart's values that belong to subcharts. */
  subchartKeys: Set<string>
  parent?: ChartNode
}

interface Edge {
  sub: LoadedChart
  key: string
  dep?: ChartDependency
}

/** Every chart of the tree, parents before children. */
export function chartTree(top: LoadedChart, userValues: Values, warn: (m: string) => void): ChartNode[] {
  const values = coalesce(userValues, top.values)
  const root: ChartNode = {
    chart: top,
    key: top.metadata.name,
    path: top.metadata.name,
    valuesPrefix: [],
    values,
    enabled: true,
    decided: false,
    subchartKeys: new Set(),
  }
  const out: ChartNode[] = []
  const visit = (node: ChartNode): void => {
    out.push(node)
    for (const child of children(node, values, warn)) visit(child)
  }
  visit(root)
  return out
}

function children(node: ChartNode, topValues: Values, warn: (m: string) => void): ChartNode[] {
  const edges = edgesOf(node.chart, node.path, warn)
  // First coalesce every subchart section (so conditions see subchart defaults, as Helm does) …
  const sections = edges.map(({sub, key}) => {
    const section = coalesce(isMap(node.values[key]) ? (node.values[key] as Values) : {}, sub.values)
    section.global = coalesce(isMap(node.values.global) ? (node.values.global as Values) : {}, isMap(section.global) ? section.global : {})
    node.values[key] = section
    node.subchartKeys.add(key)
    return section
  })
  // … then decide which are enabled.
  return edges.map(({sub, key, dep}, i) => {
    const decision = dependencyEnabled(dep, node.values, topValues)
    return {
      chart: sub,
      key,
      path: `${node.path}/${key}`,
      valuesPrefix: [...node.valuesPrefix, key],
      values: sections[i]!,
      enabled: node.enabled && decision !== false,
      decided: decision !== undefined,
      subchartKeys: new Set<string>(),
      parent: node,
    }
  })
}

/** Dependencies matched to loaded subcharts (one per alias), plus subcharts no dependency names. */
function edgesOf(chart: LoadedChart, path: string, warn: (m: string) => void): Edge[] {
  const edges: Edge[] = []
  const used = new Set<LoadedChart>()
  for (const dep of chart.metadata.dependencies ?? []) {
    const sub = findSubchart(chart.subcharts, dep)
    if (!sub) {
      warn(`${path}: dependency "${dep.alias ?? dep.name}" (chart ${dep.name}${dep.version ? ` ${dep.version}` : ''}) is not in charts/ of ${chart.origin}; its images cannot be discovered (run helm dependency build)`)
      continue
    }
    used.add(sub)
    edges.push({sub, key: dep.alias ?? dep.name, dep})
  }
  for (const sub of chart.subcharts) {
    if (!used.has(sub)) edges.push({sub, key: sub.metadata.name})
  }
  return edges
}

function findSubchart(subcharts: readonly LoadedChart[], dep: ChartDependency): LoadedChart | undefined {
  const named = subcharts.filter((s) => s.metadata.name === dep.name)
  if (named.length <= 1 || !dep.version) return named[0]
  return named.find((s) => semver.satisfies(s.metadata.version, dep.version!, {loose: true})) ?? named[0]
}

function dependencyEnabled(dep: ChartDependency | undefined, parentValues: Values, topValues: Values): boolean | undefined {
  if (!dep) return undefined
  if (dep.enabled === false) return false
  return evaluateCondition(dep.condition, parentValues) ?? evaluateTags(dep.tags, topValues)
}
