/**
 * The switches that turn a disabled component on, read from the chart tree with the release's
 * values: a subchart's dependency condition (its first path) or tags that are false, and the
 * `install` / `enabled` booleans that are false on a values section holding an image (a chart's
 * own root, or at most three keys deep: `metrics.enabled`, `otel.daemonset.install`), on a
 * `test` / `tests` / `testFramework` section (helm test pods), or, in the top chart,
 * `global.<component>.enabled` of a section holding an image (W&B's `global.api.enabled`).
 * Switches of sections without images (tls, ingress, persistence …) are left alone: they add no
 * image and often need more values to render.
 */
import type {ChartNode} from './tree.js'
import {cloneValues, evaluateCondition, evaluateTags, isMap, type Values} from './values.js'
import {isImageKey} from './shapes.js'

export interface ComponentSwitch {
  /** Path in the top chart's values to set to true: `redis.metrics.enabled`, `tags.monitoring`. */
  keys: string[]
  /** Chart paths of the components it turns on: `operator-wandb/redis` (one condition may switch several subcharts). */
  charts: string[]
  /** `condition` / `tags` of a dependency, or a `setting` within a chart's values. */
  kind: 'condition' | 'tags' | 'setting'
}

const TEST_SECTIONS = new Set(['test', 'tests', 'testFramework'])
const MAX_DEPTH = 3

/** Every switch of the tree that is off; each once, in tree order. */
export function componentSwitches(nodes: readonly ChartNode[]): ComponentSwitch[] {
  const out = new Map<string, ComponentSwitch>()
  const add = (s: ComponentSwitch): void => {
    const key = s.keys.join('\u0000')
    const known = out.get(key)
    if (!known) out.set(key, s)
    else if (known.kind === s.kind) for (const c of s.charts) if (!known.charts.includes(c)) known.charts.push(c)
    // a path that is both a condition and a setting (W&B's global.api.enabled) stays the condition
  }
  for (const node of nodes) {
    for (const child of nodes.filter((n) => n.parent === node)) {
      const dep = (node.chart.metadata.dependencies ?? []).find((d) => (d.alias ?? d.name) === child.key)
      if (!dep) continue
      const first = (dep.condition ?? '').split(',').map((p) => p.trim()).find((p) => p !== '')
      if (first !== undefined && evaluateCondition(dep.condition, node.values) === false) {
        add({keys: [...node.valuesPrefix, ...first.split('.')], charts: [child.path], kind: 'condition'})
      } else if (evaluateCondition(dep.condition, node.values) === undefined && evaluateTags(dep.tags, topValues(node)) === false) {
        for (const tag of dep.tags ?? []) add({keys: ['tags', tag], charts: [child.path], kind: 'tags'})
      }
    }
    for (const keys of settingSwitches(node)) add({keys: [...node.valuesPrefix, ...keys], charts: [node.path], kind: 'setting'})
  }
  return [...out.values()]
}

/** The release's values with the given switches set to true (the input is not modified). */
export function withSwitchesOn(values: Values, switches: readonly ComponentSwitch[]): Values {
  const out = cloneValues(values)
  for (const s of switches) {
    let cur: Values = out
    let reachable = true
    for (const key of s.keys.slice(0, -1)) {
      if (cur[key] === undefined || cur[key] === null) cur[key] = {}
      const next = cur[key]
      if (!isMap(next)) {
        reachable = false
        break
      }
      cur = next
    }
    if (reachable) cur[s.keys[s.keys.length - 1]!] = true
  }
  return out
}

/** Whether the switch turns on this chart (a condition or tag of it or of a parent, or a setting of its own). */
export function switchesChart(s: ComponentSwitch, chartPath: string): boolean {
  if (s.kind === 'setting') return s.charts.includes(chartPath)
  return s.charts.some((c) => chartPath === c || chartPath.startsWith(`${c}/`))
}

/** `a.b.enabled` as written in a message. */
export function switchLabel(s: ComponentSwitch): string {
  return s.keys.join('.')
}

function topValues(node: ChartNode): Values {
  let n = node
  while (n.parent) n = n.parent
  return n.values
}

function settingSwitches(node: ChartNode): string[][] {
  const out: string[][] = []
  const walk = (section: Values, keys: string[]): void => {
    for (const [key, value] of Object.entries(section)) {
      if (keys.length === 0 && (node.subchartKeys.has(key) || key === 'global')) continue
      if ((key === 'install' || key === 'enabled') && value === false) {
        if (holdsImage(section) || TEST_SECTIONS.has(keys[keys.length - 1] ?? '')) out.push([...keys, key])
      } else if (isMap(value) && keys.length + 1 < MAX_DEPTH) {
        walk(value, [...keys, key])
      }
    }
  }
  walk(node.values, [])
  if (!node.parent) {
    // W&B: a top-level component may be switched by global.<component>.enabled.
    const global = node.values.global
    if (isMap(global)) {
      for (const [component, section] of Object.entries(global)) {
        if (isMap(section) && section.enabled === false && holdsImage(node.values[component])) out.push(['global', component, 'enabled'])
      }
    }
  }
  return out
}

/** Whether an image-keyed value (`image`, `…Image`) is anywhere in a values section. */
function holdsImage(section: unknown): boolean {
  if (Array.isArray(section)) return section.some(holdsImage)
  if (!isMap(section)) return false
  return Object.entries(section).some(([k, v]) => (isImageKey(k) && (typeof v === 'string' || isMap(v))) || holdsImage(v))
}
