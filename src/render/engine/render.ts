/**
 * Helm 3's rendering engine (pkg/engine/engine.go): one template set for a chart and all its
 * enabled subcharts (parsed deepest path first, so a parent's `define` wins), each file executed
 * with its own chart's .Values / .Chart / .Files, include / tpl / required / fail / lookup, and
 * "<no value>" removed from the output. `renderChart` is what `helm template` renders.
 */
import type {LoadedChart} from '../../helm/types.js'
import {ExecFailure, executeTemplate, type TemplateSet} from '../template/exec.js'
import {ParseFailure, parseTemplate} from '../template/parser.js'
import type {Tree} from '../template/nodes.js'
import {isEmptyTree} from '../template/nodes.js'
import {FuncError, GoStruct, type GoFunc, type GoMap} from '../template/values.js'
import {deepCopy} from '../functions/convert.js'
import {functionTable} from '../functions/index.js'
import {coalesceChartValues, tableAt, type EngineChart} from './coalesce.js'
import {chartFullPath, engineChart, processDependencies} from './dependencies.js'
import {RenderError} from './errors.js'
import {capabilitiesObject, chartObject, filesObject, releaseObject, valuesObject, type CapabilitiesOptions, type ReleaseOptions} from './objects.js'

export interface RenderOptions {
  /** User values (what `-f values.yaml` gives); numbers are float64 as in Helm. */
  values?: GoMap
  release?: Partial<ReleaseOptions>
  capabilities?: Partial<CapabilitiesOptions>
  /** Seed of the deterministic random functions (randAlphaNum, uuidv4 …). Default 1. */
  seed?: number
  /**
   * Keep going past a file that fails (image discovery): the file is left out of the result and
   * its error handed here with the file's name, instead of the whole render failing as in Helm. A file that does not
   * parse is left out too (its `define`s with it).
   */
  onFileError?: (file: string, error: RenderError) => void
}

/** Kubernetes group/versions answered by .Capabilities.APIVersions.Has when none are given. */
export const DEFAULT_API_VERSIONS: readonly string[] = [
  'v1', 'admissionregistration.k8s.io/v1', 'apiextensions.k8s.io/v1', 'apps/v1', 'authentication.k8s.io/v1', 'authorization.k8s.io/v1',
  'autoscaling/v1', 'autoscaling/v2', 'batch/v1', 'certificates.k8s.io/v1', 'coordination.k8s.io/v1', 'discovery.k8s.io/v1', 'events.k8s.io/v1',
  'flowcontrol.apiserver.k8s.io/v1', 'networking.k8s.io/v1', 'node.k8s.io/v1', 'policy/v1', 'rbac.authorization.k8s.io/v1', 'scheduling.k8s.io/v1',
  'storage.k8s.io/v1',
]

interface Renderable {
  text: string
  vals: GoMap
  basePath: string
}

const RECURSION_MAX = 1000
const WARN = /HELM_ERR_START([\s\S]*)HELM_ERR_END/

/** Helm's recAllTpls: every template of the chart tree with the values its chart sees. */
function allTemplates(c: EngineChart, out: Map<string, Renderable>, parent: GoMap): GoMap {
  const subcharts: GoMap = {}
  const next: GoMap = {
    Chart: chartObject(c.metadata, c.parent === undefined),
    Files: filesObject(c.files),
    Release: parent.Release,
    Capabilities: parent.Capabilities,
    Values: {},
    Subcharts: subcharts,
  }
  const parentValues = parent.Values instanceof GoStruct ? parent.Values.fields : (parent.Values as GoMap)
  if (c.parent === undefined) next.Values = valuesObject(parentValues)
  else {
    const vs = tableAt({Values: parentValues}, `Values.${c.metadata.name}`)
    next.Values = valuesObject(vs ?? {})
  }
  for (const child of c.dependencies) subcharts[child.metadata.name] = allTemplates(child, out, next)
  const id = chartFullPath(c)
  const library = (c.metadata.type ?? '').toLowerCase() === 'library'
  for (const [name, text] of c.templates) {
    if (library && !name.split('/').pop()!.startsWith('_')) continue
    out.set(`${id}/${name}`, {text, vals: next, basePath: `${id}/templates`})
  }
  return next
}

/** Helm's sortTemplates: deepest paths first, then reverse lexical order. */
function sortTemplates(names: Iterable<string>): string[] {
  const depth = (s: string) => s.split('/').length - 1
  return [...names].sort((a, b) => depth(b) - depth(a) || (a < b ? 1 : a > b ? -1 : 0))
}

/** Parsed files by text (many aliased subcharts share one chart's templates): tree name ("" for the file itself) -> root. */
const parseCache = new Map<string, Map<string, Tree['root']>>()

/** Parse one file into the set, as text/template's associate does (a non-empty definition replaces an older one). */
function addTemplate(set: TemplateSet, name: string, text: string): void {
  let roots = parseCache.get(text)
  if (!roots) {
    const trees = parseTemplate(name, text, (fn) => set.funcs.has(fn))
    roots = new Map([...trees].map(([n, t]) => [n === name ? '' : n, t.root]))
    parseCache.set(text, roots)
  }
  for (const [defined, root] of roots) {
    const treeName = defined === '' ? name : defined
    if (set.trees.has(treeName) && isEmptyTree(root)) continue
    set.trees.set(treeName, {name: treeName, parseName: name, root, text})
  }
}

function wrapParseError(filename: string, err: ParseFailure): RenderError {
  const tokens = err.message.split(': ')
  const message = tokens.length === 1 ? `parse error in (${filename}): ${err.message}` : `parse error at (${tokens[1]}): ${tokens[tokens.length - 1]}`
  return new RenderError(message, {template: err.templateName, line: err.line, hint: 'fix the template syntax (or the function name) at that line', cause: err})
}

function wrapExecError(err: ExecFailure): RenderError {
  const tokens = err.message.split(': ')
  const location = tokens[1] ?? err.templateFile
  const rest = tokens.slice(2).join(': ')
  const warn = WARN.exec(rest)
  const message = warn ? `execution error at (${location}): ${warn[1]}` : err.message
  return new RenderError(message, {template: err.templateFile, line: err.line, hint: warn ? 'set the value the chart asks for' : 'check the values this template line uses', cause: err})
}

/** A map that reads through to a parent map for keys it does not hold itself. */
class LayeredMap<K, V> extends Map<K, V> {
  constructor(private readonly parent: Map<K, V>) {
    super()
  }

  override get(key: K): V | undefined {
    return super.has(key) ? super.get(key) : this.parent.get(key)
  }

  override has(key: K): boolean {
    return super.has(key) || this.parent.has(key)
  }
}

/** Parsed `tpl` texts (they repeat across files and subcharts). */
const tplCache = new Map<string, Map<string, Tree>>()

/** The engine functions that need the template set: include, tpl, required, fail, lookup. */
function engineFunctions(set: TemplateSet, counts: Map<string, number>): GoFunc[] {
  const include: GoFunc = {
    name: 'include',
    params: ['string', 'any'],
    fn: ((name: string, data: unknown) => {
      const n = counts.get(name) ?? 0
      if (n > RECURSION_MAX) throw new FuncError(`rendering template has a nested reference name: ${name}: unable to execute template`)
      counts.set(name, n + 1)
      try {
        return executeTemplate(set, name, data)
      } finally {
        counts.set(name, (counts.get(name) ?? 1) - 1)
      }
    }) as GoFunc['fn'],
  }
  const tpl: GoFunc = {
    name: 'tpl',
    params: ['string', 'any'],
    fn: ((text: string, vals: unknown) => {
      // Go clones the whole set; a layer over it behaves the same and costs nothing.
      const clone: TemplateSet = {trees: new LayeredMap(set.trees), funcs: new LayeredMap(set.funcs)}
      for (const f of engineFunctions(clone, counts)) clone.funcs.set(f.name, f)
      try {
        let trees = tplCache.get(text)
        if (!trees) {
          trees = parseTemplate('gotpl', text, (fn) => clone.funcs.has(fn))
          tplCache.set(text, trees)
        }
        for (const [name, tree] of trees) {
          if (clone.trees.has(name) && isEmptyTree(tree.root)) continue
          clone.trees.set(name, tree)
        }
      } catch (err) {
        if (err instanceof ParseFailure) throw new FuncError(`cannot parse template ${JSON.stringify(text)}: ${err.message}`)
        throw err
      }
      try {
        return executeTemplate(clone, 'gotpl', vals).replaceAll('<no value>', '')
      } catch (err) {
        if (err instanceof ExecFailure) throw new FuncError(`error during tpl function execution for ${JSON.stringify(text)}: ${err.message}`)
        throw err
      }
    }) as GoFunc['fn'],
  }
  const required: GoFunc = {
    name: 'required',
    params: ['string', 'any'],
    fn: ((warn: string, val: unknown) => {
      if (val === null || val === undefined || val === '') throw new FuncError(`HELM_ERR_START${warn}HELM_ERR_END`)
      return val
    }) as GoFunc['fn'],
  }
  const fail: GoFunc = {
    name: 'fail',
    params: ['string'],
    fn: ((msg: string) => {
      throw new FuncError(`HELM_ERR_START${msg}HELM_ERR_END`)
    }) as GoFunc['fn'],
  }
  const lookup: GoFunc = {name: 'lookup', params: ['string', 'string', 'string', 'string'], fn: () => ({})}
  return [include, tpl, required, fail, lookup]
}

/**
 * Render a chart like `helm template`: returns "chart/templates/file.yaml" -> text for every
 * rendered file (files starting with "_" and NOTES.txt are not in the result).
 */
export function renderChart(chart: LoadedChart, options: RenderOptions = {}): Map<string, string> {
  const top = engineChart(chart)
  const userValues = deepCopy(options.values ?? {})
  processDependencies(top, userValues)
  const release: ReleaseOptions = {name: 'release-name', namespace: 'default', revision: 1, isInstall: true, isUpgrade: false, ...options.release}
  const capabilities: CapabilitiesOptions = {kubeVersion: 'v1.20.0', apiVersions: DEFAULT_API_VERSIONS, helmVersion: 'v3.19.0', ...options.capabilities}
  const renderValues: GoMap = {
    Chart: chartObject(top.metadata, true),
    Capabilities: capabilitiesObject(capabilities),
    Release: releaseObject(release),
    Values: coalesceChartValues(top, userValues, false),
  }
  const templates = new Map<string, Renderable>()
  allTemplates(top, templates, renderValues)

  const set: TemplateSet = {trees: new Map(), funcs: functionTable(options.seed ?? 1)}
  for (const f of engineFunctions(set, new Map())) set.funcs.set(f.name, f)
  const order = sortTemplates(templates.keys())
  const unparsed = new Set<string>()
  for (const filename of order) {
    try {
      addTemplate(set, filename, templates.get(filename)!.text)
    } catch (err) {
      if (!(err instanceof ParseFailure)) throw err
      if (!options.onFileError) throw wrapParseError(filename, err)
      options.onFileError(filename, wrapParseError(filename, err))
      unparsed.add(filename)
    }
  }
  const rendered = new Map<string, string>()
  for (const filename of order) {
    if (filename.split('/').pop()!.startsWith('_') || unparsed.has(filename)) continue
    const r = templates.get(filename)!
    r.vals.Template = valuesObject({Name: filename, BasePath: r.basePath})
    try {
      const text = executeTemplate(set, filename, r.vals).replaceAll('<no value>', '')
      if (!filename.endsWith('NOTES.txt')) rendered.set(filename, text)
    } catch (err) {
      if (!(err instanceof ExecFailure)) throw err
      if (!options.onFileError) throw wrapExecError(err)
      options.onFileError(filename, wrapExecError(err))
    }
  }
  return rendered
}
