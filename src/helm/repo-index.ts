/**
 * Classic Helm repository index (`index.yaml`, helm/helm pkg/repo/v1): parse, resolve a chart
 * version (exact, semver range, or latest stable), and write/merge entries deterministically.
 */
import semver from 'semver'
import {parse as parseYaml, stringify as stringifyYaml} from 'yaml'
import {NotFoundError, SpecError} from '../errors.js'
import {digestOf} from '../oci/digest.js'
import type {ChartMetadata} from './types.js'

/** One chart version in an index: Chart.yaml fields inlined plus urls, digest, created. */
export interface IndexEntry extends ChartMetadata {
  urls: string[]
  /** sha256 of the .tgz, bare hex (Helm) or `sha256:hex`. */
  digest?: string
  created?: string
  removed?: boolean
}

export interface RepoIndex {
  apiVersion: string
  /** chart name -> versions, newest first. */
  entries: Map<string, IndexEntry[]>
  generated?: string
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v
  if (typeof v === 'number') return String(v)
  if (v instanceof Date) return v.toISOString()
  return undefined
}

/** Newest first by semver; versions that are not semver go last, in their original order. */
export function compareVersionsDesc(a: string, b: string): number {
  const va = semver.valid(a, {loose: true})
  const vb = semver.valid(b, {loose: true})
  if (va && vb) return semver.rcompare(va, vb, {loose: true})
  if (va) return -1
  if (vb) return 1
  return 0
}

/**
 * Parse index.yaml (or JSON) text. `where` (the URL) is named in errors. Entries without a
 * version or URLs are dropped, as Helm does; every list is sorted newest first.
 */
export function parseRepoIndex(text: string, where: string): RepoIndex {
  let doc: unknown
  try {
    doc = text.trimStart().startsWith('{') ? JSON.parse(text) : parseYaml(text, {maxAliasCount: 1000, uniqueKeys: false})
  } catch (err) {
    const line = (err as {linePos?: {line: number}[]}).linePos?.[0]?.line
    throw new SpecError(`invalid Helm repository index ${where}${line ? `:${line}` : ''}: ${(err as Error).message.split('\n')[0]}`, where, undefined, {
      hint: 'check that the URL points at a Helm repository (its index.yaml)',
      cause: err,
    })
  }
  if (!isRecord(doc) || !isRecord(doc.entries ?? {})) {
    throw new SpecError(`${where} is not a Helm repository index (no "entries" mapping)`, where, 'entries', {
      hint: 'check that the URL points at a Helm repository (its index.yaml)',
    })
  }
  const entries = new Map<string, IndexEntry[]>()
  for (const [name, list] of Object.entries((doc.entries ?? {}) as Record<string, unknown>)) {
    if (!Array.isArray(list)) continue
    const versions: IndexEntry[] = []
    for (const raw of list) {
      if (!isRecord(raw)) continue
      const version = str(raw.version)
      const urls = Array.isArray(raw.urls) ? raw.urls.filter((u): u is string => typeof u === 'string' && u !== '') : []
      if (!version || urls.length === 0) continue
      const entry: IndexEntry = {...raw, apiVersion: str(raw.apiVersion) ?? 'v1', name: str(raw.name) ?? name, version, urls}
      const appVersion = str(raw.appVersion)
      if (appVersion !== undefined) entry.appVersion = appVersion
      const digest = str(raw.digest)
      if (digest !== undefined) entry.digest = digest
      else delete entry.digest
      const created = str(raw.created)
      if (created !== undefined) entry.created = created
      versions.push(entry)
    }
    versions.sort((a, b) => compareVersionsDesc(a.version, b.version))
    entries.set(name, versions)
  }
  const index: RepoIndex = {apiVersion: str(doc.apiVersion) ?? 'v1', entries}
  const generated = str(doc.generated)
  if (generated !== undefined) index.generated = generated
  return index
}

function listVersions(versions: IndexEntry[], max = 15): string {
  const shown = versions.slice(0, max).map((v) => v.version)
  return shown.join(', ') + (versions.length > max ? `, … (${versions.length} in all)` : '')
}

/**
 * Pick a chart version from an index: `constraint` is an exact version, a semver range
 * (`~1.2`, `>=1 <2`), or empty/undefined for the newest non-prerelease version. Throws
 * NotFoundError listing what is available.
 */
export function resolveIndexEntry(index: RepoIndex, name: string, constraint: string | undefined, where: string): IndexEntry {
  const versions = (index.entries.get(name) ?? []).filter((v) => !v.removed)
  if (versions.length === 0) {
    const names = [...index.entries.keys()].sort()
    throw new NotFoundError(`chart "${name}" not found in Helm repository ${where}`, {
      hint: names.length
        ? `charts in this repository: ${names.slice(0, 20).join(', ')}${names.length > 20 ? ', …' : ''}`
        : 'the repository index has no charts; check the repository URL',
    })
  }
  const want = constraint?.trim()
  if (!want || want === '*' || want === 'latest') {
    const stable = versions.find((v) => {
      const sv = semver.valid(v.version, {loose: true})
      return sv !== null && semver.prerelease(sv, {loose: true}) === null
    })
    if (stable) return stable
    throw new NotFoundError(`chart "${name}" in Helm repository ${where} has no stable (non-prerelease) version`, {
      hint: `name a version explicitly; available: ${listVersions(versions)}`,
    })
  }
  const exact = versions.find((v) => v.version === want || v.version === want.replace(/^v/, '') || `v${v.version}` === want)
  if (exact) return exact
  const range = semver.validRange(want, {loose: true})
  if (range) {
    const candidates = versions.map((v) => v.version).filter((v) => semver.valid(v, {loose: true}))
    const best = semver.maxSatisfying(candidates, range, {loose: true})
    const hit = best === null ? undefined : versions.find((v) => v.version === best)
    if (hit) return hit
  }
  throw new NotFoundError(`chart "${name}" version "${want}" not found in Helm repository ${where}`, {
    hint: `available versions (newest first): ${listVersions(versions)}`,
  })
}

/** Normalise an index digest (bare hex or `sha256:hex`) to `sha256:hex`; undefined when absent or not sha256. */
export function indexDigest(digest: string | undefined): string | undefined {
  if (!digest) return undefined
  const d = digest.trim().toLowerCase()
  if (/^[0-9a-f]{64}$/.test(d)) return `sha256:${d}`
  if (/^sha256:[0-9a-f]{64}$/.test(d)) return d
  return undefined
}

/** Recursively sort object keys (Helm's index.yaml has sorted keys, via sigs.k8s.io/yaml). */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (isRecord(v)) {
    return Object.fromEntries(
      Object.keys(v)
        .filter((k) => v[k] !== undefined)
        .sort()
        .map((k) => [k, sortKeys(v[k])]),
    )
  }
  return v
}

/**
 * The index entry for a packaged chart, as `helm repo index` writes it: Chart.yaml fields,
 * `urls: [url]`, `created`, and `digest` (bare sha256 hex of the .tgz). Keys sorted.
 */
export function indexEntryFor(chart: ChartMetadata, tgz: Uint8Array, url: string, created: string): IndexEntry {
  const entry = {...chart, urls: [url], created, digest: digestOf(tgz).slice('sha256:'.length)}
  return sortKeys(entry) as IndexEntry
}

/**
 * Merge entries into an existing index.yaml (or a new one): keeps the existing entries, replaces
 * those with the same name@version, sorts each chart's versions newest first and the chart names
 * alphabetically, and sets `generated`. Output is deterministic for the same input.
 */
export function mergeIndex(existingYaml: string | undefined, entries: object[], generated: string): string {
  const index = existingYaml?.trim() ? parseRepoIndex(existingYaml, 'existing index.yaml') : {apiVersion: 'v1', entries: new Map<string, IndexEntry[]>()}
  for (const e of entries as IndexEntry[]) {
    if (typeof e.name !== 'string' || typeof e.version !== 'string') {
      throw new SpecError('an index entry to merge has no name or version', undefined, undefined, {hint: 'build entries with indexEntryFor()'})
    }
    const list = (index.entries.get(e.name) ?? []).filter((x) => x.version !== e.version)
    list.push(e)
    index.entries.set(e.name, list)
  }
  const out: Record<string, unknown[]> = {}
  for (const name of [...index.entries.keys()].sort()) {
    const list = index.entries.get(name)!
    out[name] = [...list].sort((a, b) => compareVersionsDesc(a.version, b.version) || (a.version < b.version ? 1 : a.version > b.version ? -1 : 0)).map(sortKeys)
  }
  return stringifyYaml({apiVersion: 'v1', entries: out, generated}, {lineWidth: 0, aliasDuplicateObjects: false})
}
