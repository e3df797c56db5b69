/**
 * Charts of a release spec: fetched from classic Helm repositories, OCI registries or disk, with
 * missing dependencies filled in, and turned into Helm OCI artifacts to store in the bundle.
 *
 * Bundle names (ref.name in index.json; see docs/BUNDLE-FORMAT.md "Charts"):
 * - OCI source `oci://ghcr.io/wandb/helm-charts/operator-wandb` → `ghcr.io/wandb/helm-charts/operator-wandb:0.43.8`
 * - HTTP repository `https://charts.wandb.ai` → `charts.wandb.ai/operator-wandb:0.43.8` (host + path + /name)
 * - local folder or .tgz → `localhost/charts/<name>:<version>`
 * The tag is the chart version with `+` written `_`, as Helm does.
 */
import {stat} from 'node:fs/promises'
import {resolve as resolvePath} from 'node:path'
import semver from 'semver'
import {MemoryTarget} from '../content/memory.js'
import type {Values} from '../discover/values.js'
import {SpecError, UsageError} from '../errors.js'
import {readInputFile, type InputFileKind} from '../files/input-file.js'
import {
  buildChartArchive,
  chartFiles,
  chartTag,
  chartToOciArtifact,
  fetchDependencies,
  HelmRepository,
  listOciChartVersions,
  loadChartArchive,
  MAX_CHART_BYTES,
  packageChartDir,
  pullOciChart,
  pushChartArtifact,
  type ChartMetadata,
  type FetchDependenciesOptions,
  type HelmRepositoryOptions,
  type LoadedChart,
} from '../helm/index.js'
import {digestOf} from '../oci/digest.js'
import type {ChartAuth, ChartSource} from '../release/index.js'
import type {BundleChartInput} from './write-bundle.js'
import {chartUserValues} from './pull-input.js'
import type {Session} from './session.js'

/** Annotations airgap adds to every chart artifact it stores. */
export const ChartAnnotation = {
  Name: 'dev.airgap.chart.name',
  Version: 'dev.airgap.chart.version',
  Source: 'dev.airgap.chart.source',
} as const

/** A chart fetched and ready for discovery and for the bundle. */
export interface PulledChart {
  spec: ChartSource
  name: string
  version: string
  /** Repository URL, `oci://` reference or absolute path, without credentials. */
  source: string
  /** The archive stored in the bundle (with fetched dependencies vendored into charts/). */
  tgz: Buffer
  tgzDigest: string
  /** The chart with every dependency present (for discovery). */
  chart: LoadedChart
  /** User values (values files + set / channel values), before the chart defaults. */
  values: Values
  /** ref.name in the bundle, e.g. `charts.wandb.ai/operator-wandb:0.43.8`. */
  bundleName: string
  /** Dependencies fetched because charts/ lacked them: `name@version from repository`. */
  fetchedDependencies: string[]
}

export interface FetchChartsOptions {
  session: Session
  /** CA files from the command line (added to each chart's own caFile). */
  caFiles?: readonly string[]
  env?: Readonly<Record<string, string | undefined>>
  signal?: AbortSignal
}

/** Read every values file first (no network), then fetch each chart in spec order. */
export async function fetchCharts(charts: readonly ChartSource[], opts: FetchChartsOptions): Promise<PulledChart[]> {
  const values = await Promise.all(charts.map((c) => chartUserValues(c)))
  for (const c of charts) credentials(c.auth, opts.env ?? process.env, chartLabel(c)) // fail on a missing password env before any download
  const out: PulledChart[] = []
  for (const [i, c] of charts.entries()) out.push(await fetchChart(c, values[i] ?? {}, opts))
  const names = new Set<string>()
  for (const c of out) {
    if (names.has(c.bundleName)) throw new UsageError(`chart ${c.bundleName} is listed twice in the spec`, {hint: 'list every chart once'})
    names.add(c.bundleName)
  }
  return out
}

/** Short description of a chart source for messages. */
export function chartLabel(c: ChartSource): string {
  if (c.type === 'repo') return `${c.name} from ${c.repo}`
  if (c.type === 'oci') return `${c.oci}${c.version ? `:${c.version}` : ''}`
  return c.path
}

async function fetchChart(c: ChartSource, values: Values, opts: FetchChartsOptions): Promise<PulledChart> {
  const {tgz, source, bundleBase, baseDir} = await download(c, opts)
  const loaded = await loadChartArchive(tgz, `${source}`)
  const deps = await fetchDependencies(loaded, dependencyOptions(c, opts, baseDir))
  const stored = deps.fetched.length > 0 ? await vendorDependencies(loaded, deps.fetched, tgz) : tgz
  const {name, version} = loaded.metadata
  const bundleName = `${bundleBase ?? `localhost/charts/${name}`}:${chartTag(version)}`
  return {
    spec: c,
    name,
    version,
    source,
    tgz: stored,
    tgzDigest: digestOf(stored),
    chart: deps.chart,
    values,
    bundleName,
    fetchedDependencies: deps.fetched.map((d) => `${d.name}@${d.version} from ${d.repository}`),
  }
}

async function download(c: ChartSource, opts: FetchChartsOptions): Promise<{tgz: Buffer; source: string; bundleBase?: string; baseDir?: string}> {
  if (c.type === 'repo') {
    const repo = new HelmRepository(c.repo, repoOptions(c, opts))
    try {
      const got = await repo.pullChart(c.name, c.version, opts.signal)
      const u = new URL(repo.url)
      const path = u.pathname.replace(/\/+$/, '')
      return {tgz: got.bytes, source: repo.url, bundleBase: `${u.host}${path}/${c.name}`.toLowerCase()}
    } finally {
      await repo.close()
    }
  }
  if (c.type === 'oci') {
    const repository = c.oci.slice('oci://'.length)
    const {repository: target} = opts.session.repository(repository, 'source')
    const version = c.version && semver.valid(c.version, {loose: true}) ? c.version : await newestOciVersion(target, c)
    const pulled = await pullOciChart(version, target, c.oci, opts.signal)
    return {tgz: pulled.tgz, source: c.oci, bundleBase: repository}
  }
  const path = resolvePath(c.path)
  const info = await stat(path).catch((err: NodeJS.ErrnoException) => {
    throw new SpecError(`chart path ${path} cannot be read (${err.code ?? err.message})`, path, undefined, {hint: 'check the chart path in the spec'})
  })
  if (info.isDirectory()) return {tgz: (await packageChartDir(path)).archive, source: path, baseDir: path}
  return {tgz: await readInputFile(path, CHART_ARCHIVE_FILE), source: path}
}

/** A chart `.tgz` a spec names with `path:` (the same limit as a chart pulled from a registry). */
const CHART_ARCHIVE_FILE: InputFileKind = {what: 'chart archive', maxBytes: MAX_CHART_BYTES, refusal: 'input', hint: 'check the chart path in the spec'}

async function newestOciVersion(target: Parameters<typeof listOciChartVersions>[0], c: Extract<ChartSource, {type: 'oci'}>): Promise<string> {
  const versions = await listOciChartVersions(target, c.oci, undefined)
  const best = semver.maxSatisfying(versions.filter((v) => semver.valid(v, {loose: true})), c.version ?? '*', {loose: true})
  if (!best) throw new SpecError(`no chart version${c.version ? ` matching ${c.version}` : ''} in ${c.oci}`, c.oci, undefined, {hint: `available tags: ${versions.slice(0, 10).join(', ') || '(none)'}`})
  return best
}

function repoOptions(c: ChartSource, opts: FetchChartsOptions): HelmRepositoryOptions {
  const caFiles = [...(c.caFile ? [c.caFile] : []), ...(opts.caFiles ?? [])]
  return {...credentials(c.auth, opts.env ?? process.env, chartLabel(c)), ...(caFiles.length ? {httpOptions: {caFiles}} : {})}
}

/** Username and password of a chart source: the password from its env var or the channel. */
function credentials(auth: ChartAuth | undefined, env: Readonly<Record<string, string | undefined>>, where: string): {username?: string; password?: string} {
  if (!auth) return {}
  let password: string | undefined
  if (auth.password) password = auth.password.reveal()
  else if (auth.passwordEnv) {
    password = env[auth.passwordEnv]
    if (password === undefined) {
      throw new UsageError(`the password for ${where} is read from $${auth.passwordEnv}, which is not set`, {hint: `export ${auth.passwordEnv}=… before running airgap`})
    }
  }
  return {...(auth.username !== undefined ? {username: auth.username} : {}), ...(password !== undefined ? {password} : {})}
}

function dependencyOptions(c: ChartSource, opts: FetchChartsOptions, baseDir: string | undefined): FetchDependenciesOptions {
  return {
    repositoryOptions: (url) => (c.type === 'repo' && new URL(url).origin === new URL(c.repo).origin ? repoOptions(c, opts) : opts.caFiles?.length ? {httpOptions: {caFiles: opts.caFiles}} : undefined),
    openOciRepository: (repository) => opts.session.repository(repository, 'source').repository,
    ...(baseDir ? {baseDir} : {}),
    signal: opts.signal,
  }
}

/** Rebuild the archive with fetched dependencies as charts/<name>-<version>.tgz, so it installs offline. */
async function vendorDependencies(chart: LoadedChart, fetched: ReadonlyArray<{name: string; version: string; archive?: Buffer}>, original: Buffer): Promise<Buffer> {
  const files = chartFiles(chart)
  if (!files) return original
  const all: Record<string, Uint8Array> = Object.fromEntries(files)
  for (const dep of fetched) if (dep.archive) all[`charts/${dep.name}-${dep.version}.tgz`] = dep.archive
  return buildChartArchive(all, chart.metadata.name)
}

/** The chart as a Helm OCI artifact in memory, ready for writeBundle's `charts`. */
export async function chartBundleInput(c: PulledChart): Promise<BundleChartInput & {bytes: number}> {
  const meta: ChartMetadata = c.chart.metadata
  const artifact = chartToOciArtifact(c.tgz, meta, {
    annotations: {[ChartAnnotation.Name]: c.name, [ChartAnnotation.Version]: c.version, [ChartAnnotation.Source]: c.source},
  })
  const target = new MemoryTarget({location: `chart ${c.bundleName}`})
  await pushChartArtifact(artifact, target, c.version)
  return {
    bytes: [artifact.manifest, artifact.config, ...artifact.layers].reduce((n, b) => n + b.descriptor.size, 0),
    source: target,
    ref: chartTag(c.version),
    name: c.bundleName,
    chart: {name: c.name, version: c.version, source: c.source, tgzDigest: c.tgzDigest},
  }
}
