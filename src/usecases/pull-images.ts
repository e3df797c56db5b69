/**
 * Images of a release: found in the charts (values, annotations, template literals) plus the
 * spec's explicit images, minus exclusions; then each resolved to a digest, through a pull-through
 * mirror when one is configured, while the original reference is what the bundle records.
 */
import pLimit from 'p-limit'
import type {ReadOnlyTarget} from '../content/types.js'
import {discoverImages, groupFindings, specFindings, type Finding, type ImageGroup, type RenderVariantReport} from '../discover/index.js'
import {AuthError, NotFoundError} from '../errors.js'
import {parseReference, type Reference} from '../oci/reference.js'
import type {Descriptor} from '../oci/types.js'
import type {LockDiscovery, LockMissing} from '../bundle/lock.js'
import {excluder} from '../release/index.js'
import type {PulledChart} from './pull-charts.js'
import {mirroredReference, type RegistryMirror} from './pull-input.js'
import type {Session} from './session.js'

export interface DiscoverReleaseOptions {
  /** Keep images of components the values disable (default true). */
  includeDisabled: boolean
  /** Extra images from the spec (normalised references). */
  images: readonly string[]
  /** Globs of references to leave out. */
  exclude: readonly string[]
  /** Leave out images that only `helm test` hooks run. */
  skipTestImages?: boolean
  /** Findings from elsewhere: the W&B v2 server manifest's images with their keys. */
  findings?: readonly Finding[]
  onWarning?: (message: string) => void
}

export interface DiscoveredRelease {
  /** What the release carries. */
  groups: ImageGroup[]
  /** Every image found, excluded and left-out ones included (for --why). */
  all: ImageGroup[]
  /** References the spec's exclude globs left out. */
  excluded: string[]
  /** References left out because only `helm test` hooks run them (skipTestImages). */
  testOnlySkipped: string[]
  /** Each chart's renders: which variants, how many objects, which files failed. */
  renders: ChartRenders[]
}

export interface ChartRenders {
  chart: string
  version: string
  variants: RenderVariantReport[]
}

/**
 * Every image the charts and the spec lead to, grouped by reference with all origins: the values
 * walk merged with the charts' renders (as given, and with disabled components on).
 */
export function discoverRelease(charts: readonly PulledChart[], opts: DiscoverReleaseOptions): DiscoveredRelease {
  const findings: Finding[] = []
  const renders: ChartRenders[] = []
  for (const c of charts) {
    const warn = (m: string): void => opts.onWarning?.(m)
    const onRenders = (variants: RenderVariantReport[]): void => {
      renders.push({chart: c.name, version: c.version, variants})
    }
    findings.push(...discoverImages(c.chart, {values: c.values, includeDisabled: opts.includeDisabled, onWarning: warn, onRenders}))
  }
  findings.push(...specFindings(opts.images), ...(opts.findings ?? []))
  const isExcluded = excluder(opts.exclude)
  const all = groupFindings(findings)
  const skipped = (g: ImageGroup): boolean => opts.skipTestImages === true && g.testOnly
  return {
    groups: all.filter((g) => !isExcluded(g.reference) && !skipped(g)),
    all,
    excluded: all.filter((g) => isExcluded(g.reference)).map((g) => g.reference),
    testOnlySkipped: all.filter((g) => !isExcluded(g.reference) && skipped(g)).map((g) => g.reference),
    renders,
  }
}

/**
 * Where an image was found, as recorded in the lock. Rendered origins are recorded only for an
 * image nothing else names, as `template` origins (file only): what `rewrite` reads there is
 * "a template writes it, values cannot redirect it", which is true of such an image, and the
 * lock format stays the one older readers know.
 */
export function lockDiscoveries(group: ImageGroup): LockDiscovery[] {
  const seen = new Set<string>()
  const out: LockDiscovery[] = []
  const renderedOnly = group.origins.every((o) => o.source === 'render')
  for (const o of group.origins) {
    if (o.source === 'render' && !renderedOnly) continue
    const d: LockDiscovery = {
      chart: o.chart,
      source: o.reference,
      ...(o.valuesPath ? {valuesPath: o.valuesPath} : {}),
      ...(o.template ? {template: o.template} : {}),
      kind: o.source === 'render' ? 'template' : o.source,
      ...(o.shape ? {shape: o.shape} : {}),
    }
    const key = JSON.stringify(d)
    if (seen.has(key)) continue
    seen.add(key)
    out.push(d)
  }
  return out
}

/**
 * One origin as a short phrase: `operator-wandb values app.image`, `operator-wandb templates/x.yaml`,
 * `operator-wandb/app templates/deployment.yaml Deployment/release-name-app containers[app]`,
 * `server manifest 0.99.0 key kafka.images.etcd`.
 */
export function describeOrigin(o: Finding): string {
  if (o.source === 'manifest') return `server manifest ${o.chart.slice(o.chart.lastIndexOf(':') + 1)} key ${o.valuesPath ?? ''}`
  if (o.rendered) return `${o.chart} ${o.template} ${o.rendered.kind}/${o.rendered.name} ${o.rendered.container}${o.rendered.testHook ? ' (helm test)' : ''}`
  if (o.valuesPath) return `${o.chart} values ${o.valuesPath}`
  if (o.template) return `${o.chart} ${o.template}`
  if (o.source === 'annotation') return `${o.chart} Chart.yaml annotations`
  return o.chart === '(spec)' ? 'spec images' : o.chart
}

export interface ResolvedImage {
  group: ImageGroup
  reference: Reference
  /** The repository it is read from (the mirror's when mirrored). */
  source: ReadOnlyTarget
  /** Where it is read from, e.g. `127.0.0.1:5000/dockerhub/wandb/local:1` (for messages). */
  fetchedFrom: string
  descriptor: Descriptor
}

export interface MissingImage {
  group: ImageGroup
  fetchedFrom: string
  reason: string
}

export interface ResolveOptions {
  session: Session
  mirrors: readonly RegistryMirror[]
  concurrency?: number
  signal?: AbortSignal
  onResolved?: (image: ResolvedImage) => void
  onMissing?: (image: MissingImage) => void
}

/**
 * Resolve every group to a digest (HEAD, via mirrors). Images that do not exist (or that the
 * registry refuses, as Docker Hub does for repositories that do not exist) are returned as missing;
 * any other failure (network, TLS, server error) is thrown.
 */
export async function resolveImages(groups: readonly ImageGroup[], opts: ResolveOptions): Promise<{resolved: ResolvedImage[]; missing: MissingImage[]}> {
  const limit = pLimit(opts.concurrency ?? 8)
  const results = await Promise.all(groups.map((g) => limit(() => resolveOne(g, opts))))
  const resolved = results.filter((r): r is ResolvedImage => 'descriptor' in r)
  const missing = results.filter((r): r is MissingImage => 'reason' in r)
  return {resolved, missing}
}

async function resolveOne(group: ImageGroup, opts: ResolveOptions): Promise<ResolvedImage | MissingImage> {
  const reference = parseReference(group.reference)
  const via = mirroredReference(reference, opts.mirrors)
  const ref = reference.digest ?? reference.tag ?? 'latest'
  const fetchedFrom = `${via.registry}/${via.repository}${reference.digest ? `@${reference.digest}` : `:${ref}`}`
  const {repository} = opts.session.repository(`${via.registry}/${via.repository}`, 'source')
  try {
    const descriptor = await repository.resolve(ref, opts.signal)
    const image: ResolvedImage = {group, reference, source: repository, fetchedFrom, descriptor}
    opts.onResolved?.(image)
    return image
  } catch (err) {
    if (!(err instanceof NotFoundError) && !(err instanceof AuthError)) throw err
    const reason = err instanceof NotFoundError ? 'not found' : 'access denied (the repository may not exist)'
    const image: MissingImage = {group, fetchedFrom, reason: `${reason} at ${fetchedFrom}`}
    opts.onMissing?.(image)
    return image
  }
}

/** Missing images as lock entries. */
export function lockMissing(missing: readonly MissingImage[]): LockMissing[] {
  return missing.map((m) => ({source: m.group.reference, reason: m.reason, discoveredBy: lockDiscoveries(m.group)}))
}

/** `ref (origin; origin)` lines for an error message or a warning. */
export function describeMissing(missing: readonly MissingImage[]): string {
  return missing.map((m) => `${m.group.reference} [${m.reason}; needed by ${m.group.origins.filter((o) => o.enabled || !m.group.enabled).map(describeOrigin).join(', ')}]`).join('; ')
}
