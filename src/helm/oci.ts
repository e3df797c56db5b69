/**
 * Helm charts as OCI artifacts, in the format `helm push` writes (helm/helm pkg/registry):
 * config = Chart.yaml metadata as JSON (application/vnd.cncf.helm.config.v1+json), one layer with
 * the exact .tgz bytes (application/vnd.cncf.helm.chart.content.v1.tar+gzip), an optional
 * provenance layer, layers sorted by digest, manifest without mediaType/artifactType, and
 * org.opencontainers.image.* annotations from the chart.
 */
import {checkBytes, fetchAll} from '../content/verify.js'
import {Readable} from 'node:stream'
import type {ReadOnlyTarget, Target} from '../content/types.js'
import {NotFoundError, SpecError, UnsupportedError, UsageError} from '../errors.js'
import {digestOf} from '../oci/digest.js'
import {isValidTag} from '../oci/reference.js'
import {Annotation, MAX_MANIFEST_BYTES, MediaType, type Descriptor, type ImageManifest} from '../oci/types.js'
import type {ChartMetadata} from './types.js'

/** A blob with its descriptor. */
export interface ArtifactBlob {
  descriptor: Descriptor
  bytes: Buffer
}

export interface ChartArtifact {
  manifest: ArtifactBlob
  config: ArtifactBlob
  /** Chart layer, plus the provenance layer when given; sorted by digest like helm. */
  layers: ArtifactBlob[]
}

export interface ChartArtifactOptions {
  /** The chart's .prov file, carried as a provenance layer. */
  prov?: Uint8Array
  /** Extra manifest annotations (win over the generated ones, except title and version). */
  annotations?: Record<string, string>
  /** org.opencontainers.image.created; omitted when absent so that output is reproducible. */
  created?: string
}

/** Largest chart archive read into memory from a registry (64 MiB). */
export const MAX_CHART_BYTES = 64 * 1024 * 1024

/** The OCI tag of a chart version: semver build metadata `+` becomes `_` (as helm does). */
export function chartTag(version: string): string {
  const tag = version.replaceAll('+', '_')
  if (!isValidTag(tag)) {
    throw new UsageError(`chart version "${version}" cannot be an OCI tag`, {hint: 'chart versions must be SemVer 2 (e.g. 1.2.3 or 1.2.3+build)'})
  }
  return tag
}

/** The chart version of an OCI tag (`_` back to `+`). */
export function versionFromTag(tag: string): string {
  return tag.replaceAll('_', '+')
}

// Field order of helm's chart.Metadata / Dependency / Maintainer structs, so that the config
// JSON matches what `helm push` writes (json.Marshal with omitempty).
const METADATA_ORDER = ['name', 'home', 'sources', 'version', 'description', 'keywords', 'maintainers', 'icon', 'apiVersion', 'condition', 'tags', 'appVersion', 'deprecated', 'annotations', 'kubeVersion', 'dependencies', 'type']
const DEPENDENCY_ORDER = ['name', 'version', 'repository', 'condition', 'tags', 'enabled', 'import-values', 'alias']
const MAINTAINER_ORDER = ['name', 'email', 'url']

function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '' || v === false || v === 0) return true
  if (Array.isArray(v)) return v.length === 0
  if (typeof v === 'object') return Object.keys(v).length === 0
  return false
}

function ordered(obj: Record<string, unknown>, order: string[], nested: Record<string, (v: unknown) => unknown> = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const key of order) {
    const v = obj[key]
    if (isEmpty(v)) continue
    out[key] = nested[key] ? nested[key](v) : key === 'annotations' ? sortedRecord(v as Record<string, unknown>) : v
  }
  return out
}

function sortedRecord(r: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(r).sort().map((k) => [k, r[k]]))
}

const listOf = (order: string[]) => (v: unknown) =>
  Array.isArray(v) ? v.map((x) => (typeof x === 'object' && x !== null ? ordered(x as Record<string, unknown>, order) : x)) : v

/** The helm config JSON for chart metadata (known fields only, helm's field order). */
export function chartConfigJson(meta: ChartMetadata): Buffer {
  const json = ordered(meta, METADATA_ORDER, {dependencies: listOf(DEPENDENCY_ORDER), maintainers: listOf(MAINTAINER_ORDER)})
  return goJson(json)
}

/** The manifest annotations helm writes for a chart. */
export function chartAnnotations(meta: ChartMetadata, created?: string, extra: Record<string, string> = {}): Record<string, string> {
  const a: Record<string, string> = {}
  const add = (k: string, v: unknown) => {
    if (typeof v === 'string' && v.trim() !== '') a[k] = v
  }
  add(Annotation.Description, meta.description)
  add(Annotation.Title, meta.name)
  add(Annotation.Version, meta.version)
  add('org.opencontainers.image.url', meta.home)
  add(Annotation.Created, created)
  if (Array.isArray(meta.sources) && meta.sources.length > 0) add(Annotation.Source, meta.sources[0])
  if (Array.isArray(meta.maintainers) && meta.maintainers.length > 0) {
    const authors = (meta.maintainers as {name?: string; email?: string}[])
      .map((m) => `${m.name ?? ''}${m.email ? ` (${m.email})` : ''}`)
      .join(', ')
    add('org.opencontainers.image.authors', authors)
  }
  const immutable = new Set<string>([Annotation.Title, Annotation.Version])
  for (const [k, v] of Object.entries({...meta.annotations, ...extra})) if (!immutable.has(k)) a[k] = v
  return sortedRecord(a) as Record<string, string>
}

/** JSON.stringify with Go's json.Marshal HTML escaping (<, >, &, U+2028, U+2029), as helm writes. */
export function goJson(value: unknown): Buffer {
  const text = JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
  return Buffer.from(text, 'utf8')
}

function blob(mediaType: string, bytes: Buffer): ArtifactBlob {
  return {descriptor: {mediaType, digest: digestOf(bytes), size: bytes.length}, bytes}
}

/**
 * Build the OCI artifact for a chart archive, byte-compatible with `helm push` (same config JSON,
 * layer order and manifest shape; `created` only when given).
 */
export function chartToOciArtifact(tgz: Uint8Array, meta: ChartMetadata, opts: ChartArtifactOptions = {}): ChartArtifact {
  const config = blob(MediaType.HelmConfig, chartConfigJson(meta))
  const layers = [blob(MediaType.HelmChart, Buffer.from(tgz))]
  if (opts.prov) layers.push(blob(MediaType.HelmProvenance, Buffer.from(opts.prov)))
  layers.sort((x, y) => (x.descriptor.digest < y.descriptor.digest ? -1 : x.descriptor.digest > y.descriptor.digest ? 1 : 0))
  const manifest = {
    schemaVersion: 2,
    config: config.descriptor,
    layers: layers.map((l) => l.descriptor),
    annotations: chartAnnotations(meta, opts.created, opts.annotations),
  }
  const bytes = goJson(manifest)
  return {manifest: blob(MediaType.OciManifest, bytes), config, layers}
}

const CHART_LAYER_TYPES = new Set<string>([MediaType.HelmChart, MediaType.HelmLegacyChart])

/** The chart (and provenance) layer descriptors of a chart manifest; throws when it is not a chart. */
export function chartLayers(manifestBytes: Uint8Array, where: string): {chart: Descriptor; prov?: Descriptor; config: Descriptor} {
  let m: Partial<ImageManifest>
  try {
    m = JSON.parse(Buffer.from(manifestBytes).toString('utf8')) as Partial<ImageManifest>
  } catch (err) {
    throw new SpecError(`manifest of ${where} is not valid JSON`, where, undefined, {hint: 'the registry returned something that is not an OCI manifest', cause: err})
  }
  if (!m || typeof m !== 'object' || !m.config || !Array.isArray(m.layers)) {
    throw new UnsupportedError(`${where} is not a Helm chart: expected an OCI image manifest with config and layers`, {
      hint: 'an index or other artifact cannot be pulled as a chart; check the reference',
    })
  }
  if (m.config.mediaType !== MediaType.HelmConfig) {
    throw new UnsupportedError(`${where} is not a Helm chart (config media type ${m.config.mediaType})`, {
      hint: 'this reference holds a container image or another artifact, not a chart',
    })
  }
  const charts = m.layers.filter((l) => CHART_LAYER_TYPES.has(l.mediaType))
  if (charts.length !== 1) {
    throw new UnsupportedError(`${where}: expected exactly one chart layer, found ${charts.length}`, {hint: 'push the chart again with helm push or airgap'})
  }
  const prov = m.layers.find((l) => l.mediaType === MediaType.HelmProvenance)
  return {chart: charts[0]!, config: m.config, ...(prov ? {prov} : {})}
}

/**
 * Extract the chart .tgz from a chart artifact: `fetchBlob` gets a layer's bytes, which are then
 * checked against the descriptor. Accepts the legacy application/tar+gzip layer type.
 */
export async function ociArtifactToChart(
  manifestBytes: Uint8Array,
  fetchBlob: (desc: Descriptor) => Promise<Uint8Array>,
  where = 'chart artifact',
): Promise<Buffer> {
  const {chart} = chartLayers(manifestBytes, where)
  if (chart.size > MAX_CHART_BYTES) {
    throw new UnsupportedError(`chart layer of ${where} is ${chart.size} bytes, more than ${MAX_CHART_BYTES}`, {hint: 'this is not a normal chart'})
  }
  const bytes = Buffer.from(await fetchBlob(chart))
  checkBytes(chart, bytes, `chart layer ${chart.digest} of ${where}`)
  return bytes
}

/** A chart pulled from a registry. */
export interface PulledOciChart {
  /** The .tgz bytes. */
  tgz: Buffer
  /** The manifest as resolved (digest of the artifact). */
  manifest: Descriptor
  manifestBytes: Buffer
  /** The tag that was resolved. */
  tag: string
  prov?: Buffer
}

/**
 * Pull a chart version from an OCI repository (e.g. a RegistryRepository opened for
 * `oci://host/ns/<name>`): resolve the tag (`+` -> `_`) or digest, fetch and verify the manifest
 * and chart layer. `where` names the repository in messages.
 */
export async function pullOciChart(versionOrDigest: string, repository: ReadOnlyTarget, where: string, signal?: AbortSignal): Promise<PulledOciChart> {
  const ref = versionOrDigest.startsWith('sha256:') ? versionOrDigest : chartTag(versionOrDigest)
  const label = `${where}${ref.startsWith('sha256:') ? '@' : ':'}${ref}`
  const manifest = await repository.resolve(ref, signal)
  const manifestBytes = await fetchAll(repository, manifest, `manifest of ${label}`, MAX_MANIFEST_BYTES, signal)
  const {prov} = chartLayers(manifestBytes, label)
  const fetchBlob = (d: Descriptor) => fetchAll(repository, d, `${label} layer ${d.digest}`, MAX_CHART_BYTES, signal)
  const tgz = await ociArtifactToChart(manifestBytes, fetchBlob, label)
  const result: PulledOciChart = {tgz, manifest, manifestBytes, tag: ref}
  if (prov) result.prov = await fetchBlob(prov)
  return result
}

/**
 * Split `oci://host[:port]/path/name[:version|@digest]` into the repository (`host/path/name`)
 * and the version or digest, as helm accepts chart references.
 */
export function parseOciChartRef(ref: string): {repository: string; version?: string; digest?: string} {
  if (!ref.startsWith('oci://')) throw new UsageError(`"${ref}" is not an OCI chart reference`, {hint: 'write it as oci://HOST/PATH/CHART[:VERSION]'})
  let rest = ref.slice('oci://'.length)
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at >= 0) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
  }
  const slash = rest.indexOf('/')
  const colon = rest.lastIndexOf(':')
  let version: string | undefined
  if (slash > 0 && colon > slash) {
    version = versionFromTag(rest.slice(colon + 1))
    rest = rest.slice(0, colon)
  }
  if (slash <= 0 || rest.endsWith('/')) throw new UsageError(`"${ref}" has no chart path`, {hint: 'write it as oci://HOST/PATH/CHART[:VERSION]'})
  return {repository: rest, ...(version ? {version} : {}), ...(digest ? {digest} : {})}
}

/** Tags of a repository that look like chart versions, as versions (`_` -> `+`). */
export async function listOciChartVersions(repository: ReadOnlyTarget & {tags?: (signal?: AbortSignal) => AsyncIterable<string>}, where: string, signal?: AbortSignal): Promise<string[]> {
  if (typeof repository.tags !== 'function') {
    throw new NotFoundError(`cannot list chart versions in ${where}: the target cannot list tags`, {hint: 'name an exact chart version'})
  }
  const out: string[] = []
  for await (const tag of repository.tags(signal)) out.push(versionFromTag(tag))
  return out
}

/**
 * Push a chart artifact into a target (blobs first, then the manifest) and tag it with the chart
 * version's tag (`+` -> `_`) unless `tag` is given. Returns the manifest descriptor.
 */
export async function pushChartArtifact(artifact: ChartArtifact, target: Target, version: string, tag?: string, signal?: AbortSignal): Promise<Descriptor> {
  for (const b of [artifact.config, ...artifact.layers, artifact.manifest]) {
    if (!(await target.exists(b.descriptor, signal))) await target.push(b.descriptor, Readable.from([b.bytes]), signal)
  }
  await target.tag(artifact.manifest.descriptor, tag ?? chartTag(version), signal)
  return artifact.manifest.descriptor
}
