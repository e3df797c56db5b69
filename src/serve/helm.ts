/**
 * A classic Helm chart repository over the Helm OCI artifacts a store holds: `GET /charts/index.yaml`
 * and `GET /charts/<name>-<version>.tgz`. A chart artifact is an image manifest whose config has
 * media type `application/vnd.cncf.helm.config.v1+json` (Chart.yaml as JSON) and whose chart layer
 * holds the exact .tgz bytes, so the repository serves the very archive that was pulled.
 *
 * An entry that cannot be read (a config over MAX_CHART_CONFIG_BYTES, a damaged or missing blob,
 * a manifest that does not parse) is left out of the index and reported through `onWarning`; the
 * index still lists every other chart. What each manifest digest gave is remembered (content is
 * content-addressed), so a push re-reads only the new entries.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'
import semver from 'semver'
import {stringify} from 'yaml'
import {fetchAll} from '../content/verify.js'
import {AirgapError, NotFoundError, UnsupportedError} from '../errors.js'
import {digestHex} from '../oci/digest.js'
import {isManifestMediaType, parseManifest} from '../oci/manifest.js'
import {Annotation, MediaType, type Descriptor} from '../oci/types.js'
import {decodedPath, sendStream} from './http.js'
import type {ServeStore} from './store.js'

/** URL prefix of the Helm repository. */
export const HELM_PREFIX = '/charts'

const CHART_LAYER_TYPES: ReadonlySet<string> = new Set([MediaType.HelmChart, MediaType.HelmLegacyChart])
/** A chart's config is its Chart.yaml as JSON: a few KiB; larger ones are not listed. */
export const MAX_CHART_CONFIG_BYTES = 1024 * 1024

/** One chart version the repository offers. */
export interface ChartEntry {
  name: string
  version: string
  /** Chart.yaml fields (from the artifact's config). */
  metadata: Record<string, unknown>
  /** The chart layer (.tgz). */
  layer: Descriptor
  created: string
  /** The ref.name it came from. */
  source: string
}

export interface HelmOptions {
  /** `created` for charts without an `org.opencontainers.image.created` annotation, and `generated`. */
  fixedTime?: Date
  /** An index.json entry left out of the chart list because it cannot be read. */
  onWarning?: (message: string) => void
}

/** What one manifest digest gives: a chart (without its ref name), nothing (not a chart), or a skip. */
type ChartRead = {chart: Omit<ChartEntry, 'source'>} | {chart: undefined}

/**
 * Find every Helm chart artifact named in the store's index.json (first name@version wins),
 * skipping (and reporting through `onWarning`) entries that cannot be read.
 */
export async function listCharts(store: ServeStore, opts: HelmOptions = {}): Promise<ChartEntry[]> {
  return (await collectCharts(store, opts, new Map())).charts
}

/** listCharts() with a memo; `complete` is false when an entry may read fine on a later try. */
async function collectCharts(store: ServeStore, opts: HelmOptions, memo: Map<string, ChartRead>): Promise<{charts: ChartEntry[]; complete: boolean}> {
  let complete = true
  const fallback = (opts.fixedTime ?? new Date(0)).toISOString()
  const charts = new Map<string, ChartEntry>()
  const seen = new Set<string>()
  for (const entry of await store.entries()) {
    if (!isManifestMediaType(entry.mediaType)) continue
    seen.add(entry.digest)
    const source = entry.annotations?.[Annotation.RefName] ?? entry.digest
    const read = memo.get(entry.digest) ?? (await readEntry(store, entry, fallback, source, opts.onWarning))
    if (read === 'retry') {
      complete = false
      continue
    }
    memo.set(entry.digest, read)
    const chart = read.chart
    const key = chart ? `${chart.name}-${chart.version}` : undefined
    if (chart && key && !charts.has(key)) charts.set(key, {...chart, source})
  }
  for (const digest of memo.keys()) if (!seen.has(digest)) memo.delete(digest)
  return {charts: [...charts.values()], complete}
}

/** readChart(), with a failure reported: remembered as "no chart" for content errors, else 'retry'. */
async function readEntry(store: ServeStore, entry: Descriptor, fallback: string, source: string, onWarning?: (m: string) => void): Promise<ChartRead | 'retry'> {
  try {
    return {chart: await readChart(store, entry, fallback)}
  } catch (err) {
    onWarning?.(`Helm index: left out ${source} (${entry.digest}): ${err instanceof Error ? err.message : String(err)}`)
    // A missing blob may still be pushed, and an I/O error may pass: only content errors are remembered.
    return err instanceof AirgapError && !(err instanceof NotFoundError) ? {chart: undefined} : 'retry'
  }
}

async function readChart(store: ServeStore, entry: Descriptor, fallbackCreated: string): Promise<Omit<ChartEntry, 'source'> | undefined> {
  const where = `${entry.digest} in ${store.location}`
  const desc: Descriptor = {mediaType: entry.mediaType, digest: entry.digest, size: entry.size}
  const parsed = parseManifest(await fetchAll(store, desc, where), desc.mediaType, where)
  if (parsed.kind !== 'manifest' || parsed.manifest.config.mediaType !== MediaType.HelmConfig) return undefined
  const layer = parsed.manifest.layers.find((l) => CHART_LAYER_TYPES.has(l.mediaType))
  if (!layer) return undefined
  const config = parseConfig(await fetchAll(store, parsed.manifest.config, `chart config ${where}`, MAX_CHART_CONFIG_BYTES))
  if (typeof config?.name !== 'string' || typeof config.version !== 'string') return undefined // not a usable chart: not listed
  try {
    stringify(config) // e.g. nesting too deep for the YAML writer: better left out than failing the whole index
  } catch (err) {
    throw new UnsupportedError(`chart config of ${where} cannot be written as YAML: ${err instanceof Error ? err.message : String(err)}`, {cause: err})
  }
  const created = parsed.manifest.annotations?.[Annotation.Created] ?? fallbackCreated
  return {name: config.name, version: config.version, metadata: config, layer, created}
}

function parseConfig(bytes: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(bytes.toString('utf8'))
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** The `.tgz` file name of a chart version. */
export function chartFileName(c: {name: string; version: string}): string {
  return `${c.name}-${c.version}.tgz`
}

/** index.yaml: entries per chart name, newest version first, digest = sha256 hex of the .tgz. */
export function buildIndexYaml(charts: readonly ChartEntry[], generated: Date = new Date(0)): string {
  const entries: Record<string, Record<string, unknown>[]> = {}
  const byName = new Map<string, ChartEntry[]>()
  for (const c of charts) byName.set(c.name, [...(byName.get(c.name) ?? []), c])
  for (const name of [...byName.keys()].sort()) {
    entries[name] = byName
      .get(name)!
      .sort(newestFirst)
      .map((c) => ({...c.metadata, created: c.created, digest: digestHex(c.layer.digest), urls: [chartFileName(c)]}))
  }
  return stringify({apiVersion: 'v1', entries, generated: generated.toISOString()})
}

function newestFirst(a: ChartEntry, b: ChartEntry): number {
  const va = semver.valid(a.version)
  const vb = semver.valid(b.version)
  if (va && vb) return semver.rcompare(va, vb)
  return a.version < b.version ? 1 : a.version > b.version ? -1 : 0
}

/** Serves the Helm repository of one store; the chart list is cached until index.json changes. */
export class HelmHandler {
  private cache: {key: string; charts: ChartEntry[]} | undefined
  private readonly memo = new Map<string, ChartRead>()

  constructor(
    private readonly store: ServeStore,
    private readonly opts: HelmOptions = {},
  ) {}

  /** The charts offered now. */
  async charts(): Promise<ChartEntry[]> {
    const key = (await this.store.entries()).map((e) => `${e.digest} ${e.annotations?.[Annotation.RefName] ?? ''}`).join('\n')
    if (this.cache?.key === key) return this.cache.charts
    const {charts, complete} = await collectCharts(this.store, this.opts, this.memo)
    this.cache = complete ? {key, charts} : undefined
    return charts
  }

  /** Handle `/charts/…`; false for other paths. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = decodedPath(url)
    if (path !== HELM_PREFIX && !path.startsWith(`${HELM_PREFIX}/`)) return false
    const file = path.slice(HELM_PREFIX.length + 1)
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(res, 405, 'method not allowed\n', {Allow: 'GET, HEAD'})
    if (file === 'index.yaml') {
      const body = buildIndexYaml(await this.charts(), this.opts.fixedTime)
      res.writeHead(200, {'Content-Type': 'application/x-yaml', 'Content-Length': Buffer.byteLength(body)})
      res.end(req.method === 'HEAD' ? undefined : body)
      return true
    }
    const chart = (await this.charts()).find((c) => chartFileName(c) === file)
    if (!chart) return text(res, 404, `chart ${file} not found\n`)
    res.writeHead(200, {'Content-Type': 'application/gzip', 'Content-Length': chart.layer.size, ETag: `"${chart.layer.digest}"`})
    if (req.method === 'HEAD') {
      res.end()
      return true
    }
    await sendStream(res, await this.store.fetch(chart.layer))
    return true
  }
}

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): true {
  res.writeHead(status, {'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body), ...headers})
  res.end(body)
  return true
}
