/**
 * Load Helm charts (archive bytes or a folder) into LoadedChart: metadata, values, templates and
 * subcharts (charts/<dir>/ folders and nested charts/*.tgz archives, recursively).
 */
import {lstat, readdir, readFile} from 'node:fs/promises'
import {basename, join} from 'node:path'
import {parseDocument, isScalar, type Document, type Tags} from 'yaml'
import {SpecError} from '../errors.js'
import {DEFAULT_ARCHIVE_LIMITS, readChartArchive, buildChartArchive, unsafePathReason, type ArchiveLimits} from './archive.js'
import type {ChartDependency, ChartMetadata, LoadedChart} from './types.js'

/** One entry of Chart.lock (apiVersion v2) or requirements.lock (v1). */
export interface LockedDependency {
  name: string
  version: string
  repository?: string
}

/** Chart.lock / requirements.lock contents. */
export interface ChartLock {
  dependencies: LockedDependency[]
  digest?: string
  generated?: string
}

export interface LoadOptions extends ArchiveLimits {
  /** Deepest nesting of charts/ subcharts (default 10). */
  maxDepth?: number
}

/** Uncompressed bytes still allowed while loading one chart with its nested archives. */
interface Budget {
  remaining: number
}

function sizeOf(files: Map<string, Buffer>): number {
  let n = 0
  for (const b of files.values()) n += b.length
  return n
}

const locks = new WeakMap<LoadedChart, ChartLock>()
const rawFiles = new WeakMap<LoadedChart, Map<string, Buffer>>()

/** The Chart.lock (or requirements.lock) of a loaded chart, if it had one. */
export function chartLock(chart: LoadedChart): ChartLock | undefined {
  return locks.get(chart)
}

/** Every file of a loaded chart (chart-relative paths), e.g. to repackage it with buildChartArchive. */
export function chartFiles(chart: LoadedChart): Map<string, Buffer> | undefined {
  return rawFiles.get(chart)
}

/**
 * YAML 1.1 scalars as Helm reads values (go-yaml v2 via sigs.k8s.io/yaml): yes/no/on/off are
 * booleans, 0755 is octal, `<<` merges; but timestamps and sexagesimal numbers stay strings.
 */
const HELM_YAML_11 = {
  version: '1.1',
  customTags: (tags: Tags) => tags.filter((t) => typeof t === 'string' || (t.tag !== 'tag:yaml.org,2002:timestamp' && t.format !== 'TIME')),
} as const

/**
 * Parse one YAML file; errors name `origin:file:line`. `helmValues` selects the YAML 1.1 rules
 * Helm applies to values files (default: YAML 1.2 core schema).
 */
export function parseYamlFile(text: string, origin: string, file: string, helmValues = false): {doc: Document; value: unknown} {
  const doc = parseDocument(text, {prettyErrors: true, uniqueKeys: false, ...(helmValues ? HELM_YAML_11 : {})})
  const err = doc.errors[0]
  if (err) {
    const line = err.linePos?.[0]?.line
    const at = `${origin}:${file}${line ? `:${line}` : ''}`
    throw new SpecError(`invalid YAML in ${at}: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`, origin, file, {
      hint: `fix the YAML syntax of ${file} in the chart`,
      cause: err,
    })
  }
  return {doc, value: doc.toJS({maxAliasCount: 1000}) as unknown}
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * The scalar's text as written (so `version: 1.10` stays "1.10", not the number 1.1).
 */
function sourceText(doc: Document, key: string): string | undefined {
  const node = doc.get(key, true)
  if (!isScalar(node)) return undefined
  if (typeof node.value === 'string') return node.value
  if (typeof node.value === 'number') return node.source ?? String(node.value)
  return undefined
}

function stringify(v: unknown): string | undefined {
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  return undefined
}

function parseDependencies(value: unknown, origin: string, file: string): ChartDependency[] {
  if (value === undefined || value === null) return []
  if (!Array.isArray(value)) {
    throw new SpecError(`${origin}:${file}: "dependencies" must be a list`, origin, file, {hint: 'write dependencies as a YAML list of {name, version, repository}'})
  }
  return value.map((d: unknown, i) => {
    if (!isRecord(d) || typeof d.name !== 'string' || d.name === '') {
      throw new SpecError(`${origin}:${file}: dependencies[${i}] has no name`, origin, `${file}#dependencies[${i}]`, {
        hint: 'every dependency needs at least a name',
      })
    }
    // Other fields (import-values) are kept as written, so that the chart's metadata round-trips.
    const dep = {...d, name: d.name} as ChartDependency & Record<string, unknown>
    const setOrDrop = (key: string, v: unknown) => (v === undefined ? delete dep[key] : (dep[key] = v))
    setOrDrop('version', stringify(d.version))
    setOrDrop('repository', typeof d.repository === 'string' && d.repository !== '' ? d.repository : undefined)
    setOrDrop('alias', typeof d.alias === 'string' && d.alias !== '' ? d.alias : undefined)
    setOrDrop('condition', typeof d.condition === 'string' && d.condition !== '' ? d.condition : undefined)
    setOrDrop('tags', Array.isArray(d.tags) ? d.tags.map(String) : undefined)
    setOrDrop('enabled', typeof d.enabled === 'boolean' ? d.enabled : undefined)
    return dep
  })
}

/** Parse Chart.yaml text into ChartMetadata (apiVersion defaults to v1, as in Helm). */
export function parseChartYaml(text: string, origin: string): ChartMetadata {
  const {doc, value} = parseYamlFile(text, origin, 'Chart.yaml')
  if (!isRecord(value)) {
    throw new SpecError(`${origin}:Chart.yaml is not a YAML mapping`, origin, 'Chart.yaml', {hint: 'Chart.yaml must hold apiVersion, name and version'})
  }
  const apiVersion = stringify(value.apiVersion) ?? 'v1'
  if (apiVersion !== 'v1' && apiVersion !== 'v2') {
    throw new SpecError(`${origin}:Chart.yaml: unsupported apiVersion "${apiVersion}" (expected v1 or v2)`, origin, 'Chart.yaml', {
      hint: 'charts for Helm 2 use v1 and charts for Helm 3 use v2',
    })
  }
  const name = stringify(value.name)
  const version = sourceText(doc, 'version') ?? stringify(value.version)
  for (const [field, v] of [['name', name], ['version', version]] as const) {
    if (!v) throw new SpecError(`${origin}:Chart.yaml has no ${field}`, origin, 'Chart.yaml', {hint: `set "${field}" in Chart.yaml`})
  }
  const meta: ChartMetadata = {...value, apiVersion, name: name!, version: version!}
  const appVersion = sourceText(doc, 'appVersion') ?? stringify(value.appVersion)
  if (appVersion !== undefined) meta.appVersion = appVersion
  else delete meta.appVersion
  if (value.annotations !== undefined) {
    if (!isRecord(value.annotations)) {
      throw new SpecError(`${origin}:Chart.yaml: "annotations" must be a mapping of strings`, origin, 'Chart.yaml', {hint: 'quote annotation values'})
    }
    meta.annotations = Object.fromEntries(Object.entries(value.annotations).map(([k, v]) => [k, stringify(v) ?? JSON.stringify(v)]))
  }
  if (value.dependencies !== undefined) meta.dependencies = parseDependencies(value.dependencies, origin, 'Chart.yaml')
  return meta
}

function parseLock(text: string, origin: string, file: string): ChartLock {
  const {value} = parseYamlFile(text, origin, file)
  if (!isRecord(value)) return {dependencies: []}
  const deps = parseDependencies(value.dependencies, origin, file)
  const lock: ChartLock = {
    dependencies: deps.map((d) => ({name: d.name, version: d.version ?? '', ...(d.repository ? {repository: d.repository} : {})})),
  }
  if (typeof value.digest === 'string') lock.digest = value.digest
  const generated = value.generated instanceof Date ? value.generated.toISOString() : stringify(value.generated)
  if (generated !== undefined) lock.generated = generated
  return lock
}

function text(b: Buffer): string {
  return b.toString('utf8')
}

function byName(a: LoadedChart, b: LoadedChart): number {
  const x = a.metadata.name
  const y = b.metadata.name
  return x < y ? -1 : x > y ? 1 : 0
}

/**
 * Build a LoadedChart from chart-relative files (what an archive or folder holds). `origin` names
 * the chart in messages.
 */
export async function loadChartFiles(files: Map<string, Buffer>, origin: string, options: LoadOptions = {}, depth = 0, budget?: Budget): Promise<LoadedChart> {
  budget ??= {remaining: (options.maxUncompressedBytes ?? DEFAULT_ARCHIVE_LIMITS.maxUncompressedBytes) - sizeOf(files)}
  const maxDepth = options.maxDepth ?? 10
  if (depth > maxDepth) {
    throw new SpecError(`${origin}: subcharts nested deeper than ${maxDepth} levels`, origin, undefined, {hint: 'this is not a normal chart'})
  }
  const chartYaml = files.get('Chart.yaml')
  if (!chartYaml) {
    throw new SpecError(`${origin} has no Chart.yaml`, origin, 'Chart.yaml', {
      hint: files.has('chart.yaml') ? 'rename chart.yaml to Chart.yaml' : 'a chart folder must contain Chart.yaml',
    })
  }
  const metadata = parseChartYaml(text(chartYaml), origin)
  if (metadata.apiVersion === 'v1' && metadata.dependencies === undefined) {
    const req = files.get('requirements.yaml')
    if (req) {
      const {value} = parseYamlFile(text(req), origin, 'requirements.yaml')
      if (isRecord(value) && value.dependencies !== undefined) {
        metadata.dependencies = parseDependencies(value.dependencies, origin, 'requirements.yaml')
      }
    }
  }
  const valuesFile = files.get('values.yaml')
  let values: Record<string, unknown> = {}
  if (valuesFile) {
    const parsed = parseYamlFile(text(valuesFile), origin, 'values.yaml', true).value
    if (parsed !== null && parsed !== undefined) {
      if (!isRecord(parsed)) throw new SpecError(`${origin}:values.yaml is not a YAML mapping`, origin, 'values.yaml', {hint: 'values.yaml must be a mapping at the top level'})
      values = parsed
    }
  }
  const templates = new Map<string, string>()
  const subFolders = new Map<string, Map<string, Buffer>>()
  const subArchives: [string, Buffer][] = []
  for (const [path, content] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (path.startsWith('templates/')) templates.set(path, text(content))
    else if (path.startsWith('charts/')) {
      const rest = path.slice('charts/'.length)
      const slash = rest.indexOf('/')
      if (slash > 0) {
        const dir = rest.slice(0, slash)
        let m = subFolders.get(dir)
        if (!m) subFolders.set(dir, (m = new Map()))
        m.set(rest.slice(slash + 1), content)
      } else if (rest.endsWith('.tgz')) subArchives.push([rest, content])
      // other files directly in charts/ (.prov, .gitkeep) are not charts
    }
  }
  const subcharts: LoadedChart[] = []
  for (const [dir, sub] of subFolders) subcharts.push(await loadChartFiles(sub, `${origin}:charts/${dir}`, options, depth + 1, budget))
  for (const [file, bytes] of subArchives) {
    // Nested archives share the parent's size budget, so that archives inside archives cannot multiply it.
    const {files: subFiles} = await readChartArchive(bytes, `${origin}:charts/${file}`, {...options, maxUncompressedBytes: Math.max(budget.remaining, 0)})
    budget.remaining -= sizeOf(subFiles)
    subcharts.push(await loadChartFiles(subFiles, `${origin}:charts/${file}`, options, depth + 1, budget))
  }
  subcharts.sort(byName)
  const chart: LoadedChart = {metadata, values, templates, subcharts, origin}
  const lockFile = metadata.apiVersion === 'v1' ? 'requirements.lock' : 'Chart.lock'
  const lockBytes = files.get(lockFile)
  if (lockBytes) locks.set(chart, parseLock(text(lockBytes), origin, lockFile))
  rawFiles.set(chart, files)
  return chart
}

/**
 * Load a chart archive (.tgz) from memory. `origin` names it in messages, e.g.
 * "operator-wandb-0.43.8.tgz". Throws SpecError for invalid or hostile archives.
 */
export async function loadChartArchive(bytes: Uint8Array, origin: string, options: LoadOptions = {}): Promise<LoadedChart> {
  const {files} = await readChartArchive(bytes, origin, options)
  return loadChartFiles(files, origin, options)
}

/** Parse a .helmignore file into matchers (a practical subset: globs with * and ?, dir/ patterns, ! negation). */
export function helmIgnore(text: string): (path: string, isDir: boolean) => boolean {
  const rules = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!')
      let p = negate ? l.slice(1) : l
      const dirOnly = p.endsWith('/')
      if (dirOnly) p = p.slice(0, -1)
      const anchored = p.includes('/')
      if (p.startsWith('/')) p = p.slice(1)
      const re = new RegExp(`^${p.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`)
      return {negate, dirOnly, anchored, re}
    })
  return (path, isDir) => {
    let ignored = false
    for (const r of rules) {
      if (r.dirOnly && !isDir) continue
      const hit = r.anchored ? r.re.test(path) : r.re.test(basename(path))
      if (hit) ignored = !r.negate
    }
    return ignored
  }
}

/**
 * Read the files of a chart folder (honouring .helmignore; symbolic links are refused), capped
 * like an archive. Paths are chart-relative.
 */
export async function readChartDir(dir: string, options: LoadOptions = {}): Promise<Map<string, Buffer>> {
  const maxBytes = options.maxUncompressedBytes ?? 64 * 1024 * 1024
  const maxEntries = options.maxEntries ?? 10_000
  let ignore: (path: string, isDir: boolean) => boolean = () => false
  try {
    ignore = helmIgnore(await readFile(join(dir, '.helmignore'), 'utf8'))
  } catch {
    // no .helmignore
  }
  const files = new Map<string, Buffer>()
  let total = 0
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), {withFileTypes: true})
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    for (const e of entries) {
      const path = rel === '' ? e.name : `${rel}/${e.name}`
      if (e.isSymbolicLink()) {
        throw new SpecError(`chart folder ${dir}: ${path} is a symbolic link`, dir, path, {hint: 'replace the link with a copy of the file'})
      }
      if (ignore(path, e.isDirectory())) continue
      if (e.isDirectory()) await walk(path)
      else if (e.isFile()) {
        const st = await lstat(join(dir, path))
        total += st.size
        if (total > maxBytes || files.size >= maxEntries) {
          throw new SpecError(`chart folder ${dir} is larger than ${maxBytes} bytes or ${maxEntries} files`, dir, path, {hint: 'add build output to .helmignore'})
        }
        files.set(path, await readFile(join(dir, path)))
      }
    }
  }
  try {
    await walk('')
  } catch (err) {
    if (err instanceof SpecError) throw err
    throw new SpecError(`cannot read chart folder ${dir}: ${(err as Error).message}`, dir, undefined, {hint: 'check the path', cause: err})
  }
  return files
}

/** Load a chart from a folder on disk (like `helm install ./mychart`). */
export async function loadChartDir(dir: string, options: LoadOptions = {}): Promise<LoadedChart> {
  return loadChartFiles(await readChartDir(dir, options), dir, options)
}

/**
 * Package a chart folder into a deterministic .tgz (`<name>/…`); returns the bytes and metadata.
 * The archive file name by Helm convention is `<name>-<version>.tgz`.
 */
export async function packageChartDir(dir: string, options: LoadOptions = {}): Promise<{archive: Buffer; metadata: ChartMetadata; fileName: string}> {
  const files = await readChartDir(dir, options)
  const chart = await loadChartFiles(files, dir, options)
  const archive = await buildChartArchive(Object.fromEntries(files), chart.metadata.name)
  return {archive, metadata: chart.metadata, fileName: `${chart.metadata.name}-${chart.metadata.version}.tgz`}
}

/** Conventional archive file name of a chart version. */
export function chartFileName(meta: Pick<ChartMetadata, 'name' | 'version'>): string {
  const name = `${meta.name}-${meta.version}.tgz`
  if (unsafePathReason(name) || name.includes('/')) {
    throw new SpecError(`chart name "${meta.name}" or version "${meta.version}" cannot form a file name`, undefined, undefined, {hint: 'fix Chart.yaml'})
  }
  return name
}
