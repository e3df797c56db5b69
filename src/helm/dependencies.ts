/**
 * Fill in chart dependencies that are missing from charts/ (like `helm dependency build`): from
 * classic repositories (index.yaml), OCI registries (oci://), or local folders (file://, only with
 * a base directory). Versions come from Chart.lock when present, else from the constraint.
 */
import {isAbsolute, resolve as resolvePath} from 'node:path'
import {fileURLToPath} from 'node:url'
import semver from 'semver'
import type {ReadOnlyTarget} from '../content/types.js'
import {NotFoundError, SpecError, UsageError} from '../errors.js'
import {chartLock, loadChartArchive, loadChartDir, type LoadOptions} from './load.js'
import {listOciChartVersions, pullOciChart} from './oci.js'
import {HelmRepository, type HelmRepositoryOptions} from './repository.js'
import type {ChartDependency, LoadedChart} from './types.js'

/** A repository (by URL) that can list tags and fetch, as RegistryRepository does. */
export type OciChartRepository = ReadOnlyTarget & {tags?: (signal?: AbortSignal) => AsyncIterable<string>}

export interface FetchDependenciesOptions {
  /** Options (credentials, CA) per repository URL; `default` applies to any other URL. */
  repositoryOptions?: (url: string) => HelmRepositoryOptions | undefined
  /** Named repositories for `@name` / `alias:name` dependency repositories (helm repo add). */
  namedRepositories?: Record<string, string>
  /** Open an OCI repository for `oci://host/ns/chart` (without oci://), e.g. via openRegistryTarget. */
  openOciRepository?: (repository: string) => OciChartRepository
  /** Folder that `file://` dependency paths are relative to (the chart's folder); refused when absent. */
  baseDir?: string
  load?: LoadOptions
  signal?: AbortSignal
}

/** What was fetched for one dependency. */
export interface FetchedDependency {
  name: string
  version: string
  repository: string
  /** The archive bytes (undefined for file:// folders). */
  archive?: Buffer
  /** The digest of the archive, `sha256:hex`, when known. */
  digest?: string
}

export interface FetchDependenciesResult {
  /** A new LoadedChart with the fetched subcharts added (the input is not modified). */
  chart: LoadedChart
  fetched: FetchedDependency[]
}

function satisfies(version: string, constraint: string | undefined): boolean {
  if (!constraint?.trim()) return true
  if (version === constraint) return true
  const range = semver.validRange(constraint, {loose: true})
  return range !== null && semver.valid(version, {loose: true}) !== null && semver.satisfies(version, range, {loose: true})
}

function pickVersion(available: string[], constraint: string | undefined, where: string, name: string): string {
  const want = constraint?.trim()
  if (want && available.includes(want)) return want
  const valid = available.filter((v) => semver.valid(v, {loose: true}))
  const best = want ? semver.maxSatisfying(valid, semver.validRange(want, {loose: true}) ?? want, {loose: true}) : semver.maxSatisfying(valid, '*')
  if (best) return best
  throw new NotFoundError(`chart "${name}" version "${want ?? 'latest'}" not found in ${where}`, {
    hint: `available versions: ${valid.sort(semver.rcompare).slice(0, 15).join(', ') || '(none)'}`,
  })
}

/**
 * Fetch every dependency of `chart` that has no subchart of the same name in charts/ and return a
 * chart with them added, plus a report of what was fetched. Dependencies without a repository
 * must already be in charts/.
 */
export async function fetchDependencies(chart: LoadedChart, options: FetchDependenciesOptions = {}): Promise<FetchDependenciesResult> {
  const present = new Set(chart.subcharts.map((s) => s.metadata.name))
  const locked = new Map((chartLock(chart)?.dependencies ?? []).map((d) => [d.name, d]))
  const subcharts = [...chart.subcharts]
  const fetched: FetchedDependency[] = []
  const repos = new Map<string, HelmRepository>()
  try {
    for (const dep of chart.metadata.dependencies ?? []) {
      if (present.has(dep.name)) continue
      const lock = locked.get(dep.name)
      const version = lock?.version || dep.version
      const repository = resolveRepository(dep, chart.origin, options)
      const got = await fetchOne(dep, repository, version, chart.origin, options, repos)
      subcharts.push(got.chart)
      fetched.push(got.report)
      present.add(dep.name)
    }
  } finally {
    await Promise.all([...repos.values()].map((r) => r.close()))
  }
  subcharts.sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0))
  return {chart: {...chart, subcharts}, fetched}
}

function resolveRepository(dep: ChartDependency, origin: string, options: FetchDependenciesOptions): string {
  const repo = dep.repository?.trim()
  if (!repo) {
    throw new SpecError(`${origin}: dependency "${dep.name}" has no repository and is missing from charts/`, origin, 'Chart.yaml', {
      hint: `add charts/${dep.name}-<version>.tgz to the chart, or give the dependency a repository URL`,
    })
  }
  const named = repo.startsWith('@') ? repo.slice(1) : repo.startsWith('alias:') ? repo.slice('alias:'.length) : undefined
  if (named === undefined) return repo
  const url = options.namedRepositories?.[named]
  if (!url) {
    throw new SpecError(`${origin}: dependency "${dep.name}" uses repository "${repo}", which is not configured`, origin, 'Chart.yaml', {
      hint: 'use the repository URL in Chart.yaml, or configure the named repository',
    })
  }
  return url
}

async function fetchOne(
  dep: ChartDependency,
  repository: string,
  version: string | undefined,
  origin: string,
  options: FetchDependenciesOptions,
  repos: Map<string, HelmRepository>,
): Promise<{chart: LoadedChart; report: FetchedDependency}> {
  const load = options.load ?? {}
  if (repository.startsWith('file://')) {
    if (!options.baseDir) {
      throw new UsageError(`${origin}: dependency "${dep.name}" comes from ${repository}, a local folder`, {
        hint: 'vendor the dependency into charts/ (helm dependency build) or load the chart from its folder',
      })
    }
    const path = repository.slice('file://'.length)
    const dir = isAbsolute(path) ? fileURLToPath(repository) : resolvePath(options.baseDir, path)
    const sub = await loadChartDir(dir, load)
    if (sub.metadata.name !== dep.name) {
      throw new SpecError(`${origin}: dependency "${dep.name}" at ${repository} is chart "${sub.metadata.name}"`, origin, 'Chart.yaml', {hint: 'fix the dependency name or path'})
    }
    return {chart: sub, report: {name: dep.name, version: sub.metadata.version, repository}}
  }
  if (repository.startsWith('oci://')) {
    if (!options.openOciRepository) {
      throw new UsageError(`${origin}: dependency "${dep.name}" comes from ${repository}, but no OCI registry access was configured`, {
        hint: 'pass openOciRepository (registry client) to fetchDependencies',
      })
    }
    const repoPath = `${repository.slice('oci://'.length).replace(/\/+$/, '')}/${dep.name}`
    const target = options.openOciRepository(repoPath)
    const exact = version && semver.valid(version, {loose: true}) ? version : undefined
    const chosen = exact ?? pickVersion(await listOciChartVersions(target, `oci://${repoPath}`, options.signal), version, `oci://${repoPath}`, dep.name)
    const pulled = await pullOciChart(chosen, target, `oci://${repoPath}`, options.signal)
    const sub = await loadChartArchive(pulled.tgz, `oci://${repoPath}:${pulled.tag}`, load)
    return {chart: sub, report: {name: dep.name, version: sub.metadata.version, repository, archive: pulled.tgz, digest: pulled.manifest.digest}}
  }
  let repo = repos.get(repository)
  if (!repo) {
    repo = new HelmRepository(repository, options.repositoryOptions?.(repository) ?? {})
    repos.set(repository, repo)
  }
  const downloaded = await repo.pullChart(dep.name, version, options.signal)
  const sub = await loadChartArchive(downloaded.bytes, `${dep.name}-${downloaded.entry.version}.tgz`, load)
  if (sub.metadata.name !== dep.name || !satisfies(sub.metadata.version, version)) {
    throw new SpecError(`${downloaded.url} holds ${sub.metadata.name}@${sub.metadata.version}, not the version the index promised`, downloaded.url, 'Chart.yaml', {
      hint: 'the repository index is out of date; regenerate it',
    })
  }
  return {chart: sub, report: {name: dep.name, version: sub.metadata.version, repository, archive: downloaded.bytes, digest: downloaded.digest}}
}
