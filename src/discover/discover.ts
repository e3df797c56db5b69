/**
 * Image discovery from a loaded Helm chart: values (with Helm's merge, aliases, conditions and
 * tags), chart annotations and literal references in templates, merged with the container images
 * of the chart's renders (rendering.ts). Every finding says where it came from. Pure: no I/O.
 */
import type {LoadedChart} from '../helm/types.js'
import {parseReference, repositoryName} from '../oci/reference.js'
import {annotationImages, templateImages} from './literals.js'
import type {ChartConventions} from './shapes.js'
import {conventionsOf, imageSites, resolveImage} from './shapes.js'
import type {ChartNode} from './tree.js'
import {chartTree} from './tree.js'
import type {DiscoverOptions, Finding, ImageGroup} from './types.js'
import {componentSwitch, formatValuesPath, getPath, isMap} from './values.js'
import {discoverByRendering} from './rendering.js'

/** Every image the chart (and its subcharts) can use; disabled ones marked, or left out with includeDisabled: false. */
export function discoverImages(chart: LoadedChart, opts: DiscoverOptions): Finding[] {
  const warn = opts.onWarning ?? (() => undefined)
  const found: Finding[] = []
  for (const node of chartTree(chart, opts.values ?? {}, warn)) {
    const conv = conventionsOf(node.chart)
    found.push(...valueFindings(node, conv, warn))
    for (const a of annotationImages(node.chart, warn)) {
      found.push({reference: a.reference, chart: node.path, source: 'annotation', enabled: node.enabled})
    }
    for (const t of templateImages(node.chart)) {
      found.push({reference: t.reference, chart: node.path, template: t.where, source: 'template', enabled: node.enabled, shape: 'string', testHookTemplate: t.testHookFile === true})
    }
  }
  if (opts.render !== false) {
    const rendered = discoverByRendering(chart, opts.values ?? {}, opts.includeDisabled, warn)
    opts.onRenders?.(rendered.variants)
    for (const f of found) f.chartFullyRendered = !rendered.incompleteCharts.has(f.chart)
    correctGuesses(found, rendered.findings)
    found.push(...rendered.findings)
  }
  const unique = dedupe(found)
  return opts.includeDisabled ? unique : unique.filter((f) => f.enabled)
}

/**
 * A values-walk reference no render of its (fully rendered) chart runs, where the chart's renders
 * run exactly one other tag of the same repository, is a wrong guess of how the template builds
 * the reference (a `v` prefix, a suffix): the finding takes the rendered reference and keeps the
 * guess in valuesWalkReference. References with a digest are left alone.
 */
function correctGuesses(found: Finding[], rendered: readonly Finding[]): void {
  const byChart = new Map<string, Set<string>>()
  for (const r of rendered) {
    let refs = byChart.get(r.chart)
    if (!refs) byChart.set(r.chart, (refs = new Set()))
    refs.add(r.reference)
  }
  for (const f of found) {
    const refs = byChart.get(f.chart)
    if (f.source !== 'values' || !f.chartFullyRendered || !refs || refs.has(f.reference)) continue
    const ref = parseReference(f.reference)
    if (ref.digest !== undefined) continue
    const sameRepository = [...refs].filter((r) => repositoryName(parseReference(r)) === repositoryName(ref))
    if (sameRepository.length !== 1) continue
    f.valuesWalkReference = f.reference
    f.reference = sameRepository[0]!
  }
}

/** Findings for the extra images a spec lists. */
export function specFindings(images: readonly string[]): Finding[] {
  return images.map((reference) => ({reference, chart: '(spec)', source: 'spec', enabled: true}))
}

/** One entry per reference (sorted), with every origin; enabled when any origin is. */
export function groupFindings(findings: readonly Finding[]): ImageGroup[] {
  const groups = new Map<string, ImageGroup>()
  for (const f of findings) {
    let g = groups.get(f.reference)
    if (!g) {
      g = {reference: f.reference, enabled: false, testOnly: false, origins: []}
      groups.set(f.reference, g)
    }
    g.origins.push(f)
    g.enabled ||= f.enabled
  }
  for (const g of groups.values()) g.testOnly = onlyTests(g.origins)
  return [...groups.values()].sort((a, b) => compare(a.reference, b.reference))
}

/**
 * Only `helm test` hooks run the image: every rendered use is a test hook (there is one, or a
 * literal in a template that declares only test hooks), and
 * every other origin is one the renders fully saw (a values path or annotation of a chart whose
 * templates all rendered, a literal in a template file that rendered as a test hook or declares
 * only test hooks).
 */
function onlyTests(origins: readonly Finding[]): boolean {
  const rendered = origins.filter((o) => o.source === 'render')
  if (!rendered.every((o) => o.rendered?.testHook)) return false
  if (rendered.length === 0 && !origins.some((o) => o.testHookTemplate)) return false
  const testFiles = new Set(rendered.map((o) => `${o.chart}\u0000${o.template}`))
  return origins.every((o) => {
    if (o.source === 'render') return true
    if (o.source === 'template') return o.testHookTemplate === true || testFiles.has(`${o.chart}\u0000${o.template}`)
    return o.source !== 'spec' && o.chartFullyRendered === true
  })
}

function valueFindings(node: ChartNode, conv: ChartConventions, warn: (m: string) => void): Finding[] {
  const skip = new Set(node.subchartKeys)
  if (node.parent) skip.add('global') // globals come from the parent and are scanned there
  const out: Finding[] = []
  for (const site of imageSites(node.values, skip)) {
    const keys = [...node.valuesPrefix, ...site.keys]
    const resolved = resolveImage(site.value, node.values, conv)
    if (resolved === undefined) continue
    if ('problem' in resolved) {
      warn(`${node.path}: values ${formatValuesPath(keys)}: not an image reference (${resolved.problem})`)
      continue
    }
    if (isDeadOverride(node, site.keys, site.value)) {
      warn(`${node.path}: values ${formatValuesPath(keys)} (${resolved.reference}) is not read by the chart's templates; ignored`)
      continue
    }
    out.push({
      reference: resolved.reference,
      chart: node.path,
      valuesPath: formatValuesPath(keys),
      valuesKeys: keys,
      source: 'values',
      enabled: node.enabled && siteEnabled(node, site.keys),
      shape: resolved.shape,
    })
  }
  return out
}

/**
 * Whether the component around an image is switched on: every map on the way from the chart's
 * values root to the image may carry `install` or `enabled`; a W&B top-level component may also be
 * switched by `global.<key>.enabled`. A subchart root decided by its dependency condition is not re-checked.
 */
function siteEnabled(node: ChartNode, keys: ReadonlyArray<string | number>): boolean {
  if (!node.decided && node.parent && componentOrGlobal(node.parent.values, node.key) === false) return false
  for (let i = 1; i < keys.length; i++) {
    const section = getPath(node.values, keys.slice(0, i).map(String))
    if (!isMap(section)) continue
    const on = i === 1 && !node.parent ? componentOrGlobal(node.values, String(keys[0])) : componentSwitch(section)
    if (on === false) return false
  }
  return true
}

/** `<key>.install`, `<key>.enabled`, then `global.<key>.enabled`: the first boolean wins. */
function componentOrGlobal(values: Record<string, unknown>, key: string): boolean | undefined {
  const own = componentSwitch(values[key])
  if (own !== undefined) return own
  const global = getPath(values, ['global', key, 'enabled'])
  return typeof global === 'boolean' ? global : undefined
}

/**
 * A parent override the subchart never reads: the path is not in the subchart's defaults, names
 * no tag or digest, and no template of the subchart refers to its first key
 * (e.g. operator-wandb's `bufstream.image.repository`).
 */
function isDeadOverride(node: ChartNode, keys: ReadonlyArray<string | number>, value: unknown): boolean {
  if (!node.parent || node.chart.templates.size === 0) return false
  if (getPath(node.chart.values, keys.map(String)) !== undefined) return false
  if (isMap(value) && (value.tag !== undefined || value.digest !== undefined)) return false
  const first = String(keys[0])
  const escaped = first.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  const read = new RegExp(`Values\\.${escaped}(?![\\w-])|"${escaped}"`)
  return ![...node.chart.templates.values()].some((t) => read.test(t))
}

function dedupe(findings: Finding[]): Finding[] {
  const seen = new Set<string>()
  const out: Finding[] = []
  for (const f of findings) {
    const r = f.rendered
    const key = [f.reference, f.chart, f.valuesPath ?? '', f.template ?? '', f.source, r?.kind ?? '', r?.name ?? '', r?.container ?? ''].join('\u0000')
    if (seen.has(key)) continue
    seen.add(key)
    out.push(f)
  }
  return out.sort(
    (a, b) =>
      compare(a.reference, b.reference) ||
      compare(a.chart, b.chart) ||
      compare(a.valuesPath ?? '', b.valuesPath ?? '') ||
      compare(a.template ?? '', b.template ?? '') ||
      compare(a.source, b.source) ||
      compare(objectLabel(a), objectLabel(b)),
  )
}

function objectLabel(f: Finding): string {
  return f.rendered ? `${f.rendered.kind}/${f.rendered.name} ${f.rendered.container}` : ''
}

/** Code-point order, independent of the locale. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
