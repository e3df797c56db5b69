/**
 * Discovery by rendering: the chart rendered like `helm template` with the release's values, and
 * the container images of every object it renders taken with the object, container and template
 * they come from. Renders:
 *  1. `values as given`: what an install runs (its images are enabled);
 *  2. `disabled components on`: the same values with every switch that is off turned on (see
 *     switches.ts), one render for all of them (skipped when disabled components are not wanted);
 *  3. for each disabled chart with a file that failed only in render 2: that chart on with its
 *     defaults (only the dependency conditions and tags on its path switched on).
 * A file that fails is left out of its render and reported (chart, template, line, reason); the
 * other files and renders go on. Pure: no I/O.
 */
import type {LoadedChart} from '../helm/types.js'
import {DEFAULT_API_VERSIONS, parseManifests, renderChart, type KubernetesObject, type RenderError} from '../render/index.js'
import {objectImages} from './objects.js'
import {componentSwitches, switchesChart, switchLabel, withSwitchesOn, type ComponentSwitch} from './switches.js'
import {chartTree} from './tree.js'
import type {Finding} from './types.js'
import type {Values} from './values.js'

export const AS_GIVEN = 'values as given'
export const ALL_ON = 'disabled components on'

/** The cluster the charts are rendered for: a current Kubernetes with the prometheus-operator API. */
export const RENDER_KUBE_VERSION = 'v1.30.0'
export const RENDER_API_VERSIONS: readonly string[] = [...DEFAULT_API_VERSIONS, 'monitoring.coreos.com/v1']

export interface RenderDiscovery {
  findings: Finding[]
  /** Chart paths with a template that rendered in none of the renders (their images come from the values walk only). */
  incompleteCharts: Set<string>
  variants: RenderVariantReport[]
}

export interface RenderVariantReport {
  variant: string
  /** Switches turned on for it. */
  switchedOn: string[]
  files: number
  objects: number
  failedFiles: string[]
}

interface FileFailure {
  /** Rendered file: `operator-wandb/charts/kafka/templates/broker/statefulset.yaml`. */
  file: string
  error: RenderError
}

interface Variant {
  label: string
  /** A fallback render's chart: only its objects are taken (the rest repeats the render as given). */
  focus?: string
  switches: ComponentSwitch[]
  /** Files that rendered (NOTES.txt aside). */
  renderedFiles: Set<string>
  objects: KubernetesObject[]
  failures: FileFailure[]
  /** Why the whole render stopped (a chart the renderer cannot take), when it did. */
  wholeFailure?: string
}

/** Render the chart as given and with its disabled components on; every container image with its origin. */
export function discoverByRendering(chart: LoadedChart, values: Values, includeDisabled: boolean, warn: (m: string) => void): RenderDiscovery {
  const nodes = chartTree(chart, values, () => undefined)
  const switches = includeDisabled ? componentSwitches(nodes) : []
  const asGiven = renderVariant(chart, values, AS_GIVEN, [])
  const variants = [asGiven]
  const stopped = new Set<string>()
  const checkWhole = (v: Variant): void => {
    if (v.wholeFailure === undefined) return
    warn(`${nodes[0]!.path}: rendering with ${v.label === AS_GIVEN ? 'the values as given' : v.label} stopped: ${v.wholeFailure.replace(/\s+/g, ' ').slice(0, 300)}; images of that render come from the values walk only`)
    for (const n of nodes) stopped.add(n.path)
  }
  checkWhole(asGiven)
  const failedAsGiven = new Set(asGiven.failures.map((f) => f.file))
  const unrendered = new Map(asGiven.failures.map((f) => [f.file, f]))
  for (const [chartPath, failures] of byChart(asGiven.failures)) {
    warn(`${chartPath}: ${templatesOf(failures)} with the values as given (${describeFailure(failures[0]!)}); helm install would fail the same way; images of ${failures.length > 1 ? 'these templates' : 'this template'} come from the values walk only`)
  }
  if (switches.length > 0) {
    const allOn = renderVariant(chart, withSwitchesOn(values, switches), ALL_ON, switches)
    variants.push(allOn)
    checkWhole(allOn)
    const newlyFailed = allOn.failures.filter((f) => !failedAsGiven.has(f.file))
    for (const f of newlyFailed) unrendered.set(f.file, f)
    for (const chartPath of [...new Set(newlyFailed.map((f) => chartOfFile(f.file).chart))].sort()) {
      const path = switches.filter((s) => s.kind !== 'setting' && switchesChart(s, chartPath))
      if (path.length === 0) continue // the chart is on as given: that render was this one
      const alone = renderVariant(chart, withSwitchesOn(values, path), `${chartPath} on with its defaults`, path)
      alone.focus = chartPath
      variants.push(alone)
      checkWhole(alone)
      // Recovered only when the file now yields objects (rendering empty because its feature is off shows nothing).
      const yielding = new Set(alone.objects.map((o) => o.template))
      for (const f of newlyFailed) if (yielding.has(f.file)) unrendered.delete(f.file)
    }
    for (const [chartPath, failures] of byChart(newlyFailed.filter((f) => unrendered.has(f.file)))) {
      const on = relevantSwitches(switches, chartPath)
      warn(`${chartPath}: ${templatesOf(failures)} when switched on (${on.join(', ')}): ${describeFailure(failures[0]!)}; images of ${failures.length > 1 ? 'these templates' : 'this template'} come from the values walk only`)
    }
  }
  return {
    findings: findingsOf(variants, switches, warn),
    incompleteCharts: new Set([...stopped, ...[...unrendered.keys()].map((file) => chartOfFile(file).chart)]),
    variants: variants.map((v) => ({
      variant: v.label,
      switchedOn: v.switches.map(switchLabel),
      files: v.renderedFiles.size,
      objects: v.objects.length,
      failedFiles: v.failures.map((f) => f.file),
    })),
  }
}

function renderVariant(chart: LoadedChart, values: Values, label: string, switches: ComponentSwitch[]): Variant {
  const failures: FileFailure[] = []
  let rendered: Map<string, string>
  try {
    rendered = renderChart(chart, {
      values,
      capabilities: {kubeVersion: RENDER_KUBE_VERSION, apiVersions: RENDER_API_VERSIONS},
      onFileError: (file, error) => {
        if (!file.endsWith('NOTES.txt')) failures.push({file, error}) // notes hold no objects
      },
    })
  } catch (err) {
    // Not one template's failure (those come per file): the render as a whole stopped. Discovery
    // goes on with the values walk rather than failing a pull on it.
    return {label, switches, renderedFiles: new Set(), objects: [], failures, wholeFailure: err instanceof Error ? err.message : String(err)}
  }
  const objects: KubernetesObject[] = []
  const renderedFiles = new Set<string>()
  for (const [file, text] of rendered) {
    try {
      objects.push(...parseManifests(new Map([[file, text]])))
      renderedFiles.add(file)
    } catch (err) {
      if (!isRenderError(err)) throw err
      failures.push({file, error: err})
    }
  }
  return {label, switches, renderedFiles, objects, failures}
}

function isRenderError(err: unknown): err is RenderError {
  return err instanceof Error && (err as {code?: unknown}).code === 'RENDER'
}

function findingsOf(variants: readonly Variant[], switches: readonly ComponentSwitch[], warn: (m: string) => void): Finding[] {
  const byOrigin = new Map<string, Finding>()
  const reported = new Set<string>()
  for (const v of variants) {
    for (const image of objectImages(v.objects)) {
      const {chart, template} = chartOfFile(image.templateFile)
      if (v.focus !== undefined && chart !== v.focus && !chart.startsWith(`${v.focus}/`)) continue
      if (image.reference === undefined) {
        const key = `${image.templateFile}\u0000${image.written}`
        if (!reported.has(key)) warn(`${chart}: ${template} ${image.kind}/${image.name} ${image.container}: image "${image.written}" is not an image reference (${image.problem}); ignored`)
        reported.add(key)
        continue
      }
      const key = [image.reference, image.templateFile, image.kind, image.name, image.container].join('\u0000')
      let f = byOrigin.get(key)
      if (!f) {
        f = {
          reference: image.reference,
          chart,
          template,
          source: 'render',
          enabled: false,
          rendered: {kind: image.kind, name: image.name, container: image.container, testHook: image.testHook, variants: [], switchedOn: []},
        }
        byOrigin.set(key, f)
      }
      if (!f.rendered!.variants.includes(v.label)) f.rendered!.variants.push(v.label)
      if (v.label === AS_GIVEN) f.enabled = true
    }
  }
  const out = [...byOrigin.values()]
  for (const f of out) if (!f.enabled) f.rendered!.switchedOn = relevantSwitches(switches, f.chart)
  return out
}

function byChart(failures: readonly FileFailure[]): Map<string, FileFailure[]> {
  const out = new Map<string, FileFailure[]>()
  for (const f of [...failures].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))) {
    const chartPath = chartOfFile(f.file).chart
    out.set(chartPath, [...(out.get(chartPath) ?? []), f])
  }
  return out
}

/** `templates/a.yaml:3 does not render`, `templates/a.yaml:3 and templates/b.yaml:40 do not render`. */
function templatesOf(failures: readonly FileFailure[]): string {
  const names = failures.map((f) => `${chartOfFile(f.file).template}${f.error.line !== undefined && f.error.template === f.file ? `:${f.error.line}` : ''}`)
  if (names.length === 1) return `${names[0]} does not render`
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]} do not render`
}

/** Switches that can matter for a chart: the conditions and tags on its path, and its own settings. */
function relevantSwitches(switches: readonly ComponentSwitch[], chartPath: string): string[] {
  return switches.filter((s) => switchesChart(s, chartPath)).map(switchLabel)
}

/**
 * `operator-wandb/charts/redis/templates/master/application.yaml` → chart path
 * `operator-wandb/redis` (aliases are already the names in rendered paths), template `templates/master/application.yaml`.
 */
export function chartOfFile(file: string): {chart: string; template: string} {
  const parts = file.split('/')
  const chart = [parts[0] ?? '']
  let i = 1
  while (parts[i] === 'charts' && i + 1 < parts.length) {
    chart.push(parts[i + 1]!)
    i += 2
  }
  return {chart: chart.join('/'), template: parts.slice(i).join('/')}
}

/** `operator-wandb/templates/_bufstream.tpl:3: invalid value; expected string` from Go's nested error text. */
export function describeFailure(f: FileFailure): string {
  const message = f.error.message
  const nested = [...message.matchAll(/template: ([^\s:]+):(\d+):\d+: executing "[^"]*" at <[^>]*>: /g)]
  const last = nested[nested.length - 1]
  let reason = last ? message.slice(last.index + last[0].length) : message
  let where = last ? `${last[1]}:${last[2]}` : `${f.error.template ?? f.file}${f.error.line !== undefined ? `:${f.error.line}` : ''}`
  const helm = /^execution error at \(([^)]*)\): ([\s\S]*)$/.exec(reason)
  if (helm) {
    where = helm[1]!.replace(/:\d+$/, '')
    reason = helm[2]!
  }
  reason = reason.replace(/\s+/g, ' ').trim()
  if (reason.length > 300) reason = `${reason.slice(0, 297)}...`
  return `${where}: ${reason}`
}
