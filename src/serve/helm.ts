/**
 * A classic Helm chart repository over the Helm OCI artifacts a store holds: `GET /charts/index.yaml`
 * and `GET /charts/<name>-<version>.tgz`. A chart artifact is an image manifest whose config has
 * media type `application/vnd.cncf.helm.config.v1+json` (Chart.yaml as JSON) and whose chart layer
 * holds the exact .tgz bytes, so the repository serves the very archive that was pulled.
 */
import type {IncomingMessage, ServerResponse} from 'node:http'
import semver from 'semver'
import {stringify} from 'yaml'
import {fetchAll} from '../content/verify.js'
import {digestHex} from '../oci/digest.js'
import {isManifestMediaType, parseManifest} from '../oci/manifest.js'
import {Annotation, MediaType, type Descriptor} from '../oci/types.js'
import {sendStream} from './http.js'
import type {ServeStore} from './store.js'

/** URL prefix of the Helm repository. */
export const HELM_PREFIX = '/charts'

const CHART_LAYER_TYPES: ReadonlySet<string> = new Set([MediaType.HelmChart, MediaType.HelmLegacyChart])

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
}

/** Find every Helm chart artifact named in the store's index.json (first name@version wins). */
export async function listCharts(store: ServeStore, opts: HelmOptions = {}): Promise<ChartEntry[]> {
  const fallback = (opts.fixedTime ?? new Date(0)).toISOString()
  const charts = new Map<string, ChartEntry>()
  for (const entry of await store.entries()) {
    if (!isManifestMediaType(entry.mediaType)) continue
    const chart = await readChart(store, entry, fallback)
    const key = chart ? `${chart.name}-${chart.version}` : undefined
    if (chart && key && !charts.has(key)) charts.set(key, chart)
  }
  return [...charts.values()]
}

async function readChart(store: ServeStore, entry: Descriptor, fallbackCreated: string): Promise<ChartEntry | undefined> {
  const where = `${entry.digest} in ${store.location}`
  const desc: Descriptor = {mediaType: entry.mediaType, digest: entry.digest, size: entry.size}
  const parsed = parseManifest(await fetchAll(store, desc, where), desc.mediaType, where)
  if (parsed.kind !== 'manifest' || parsed.manifest.config.mediaType !== MediaType.HelmConfig) return undefined
  const layer = parsed.manifest.layers.find((l) => CHART_LAYER_TYPES.has(l.mediaType))
  if (!layer) return undefined
  const config = parseConfig(await fetchAll(store, parsed.manifest.config, `chart config ${where}`))
  if (typeof config?.name !== 'string' || typeof config.version !== 'string') return undefined // not a usable chart: not listed
  const created = parsed.manifest.annotations?.[Annotation.Created] ?? fallbackCreated
  return {name: config.name, version: config.version, metadata: config, layer, created, source: entry.annotations?.[Annotation.RefName] ?? entry.digest}
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

  constructor(
    private readonly store: ServeStore,
    private readonly opts: HelmOptions = {},
  ) {}

  /** The charts offered now. */
  async charts(): Promise<ChartEntry[]> {
    const key = (await this.store.entries()).map((e) => `${e.digest} ${e.annotations?.[Annotation.RefName] ?? ''}`).join('\n')
    if (this.cache?.key !== key) this.cache = {key, charts: await listCharts(this.store, this.opts)}
    return this.cache.charts
  }

  /** Handle `/charts/…`; false for other paths. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = decodeURIComponent(url.pathname)
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
