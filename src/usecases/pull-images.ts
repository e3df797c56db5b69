/**
 * Images of a release: found in the charts (values, annotations, template literals) plus the
 * spec's explicit images, minus exclusions; then each resolved to a digest, through a pull-through
 * mirror when one is configured, while the original reference is what the bundle records.
 */
import pLimit from 'p-limit'
import type {ReadOnlyTarget} from '../content/types.js'
import {discoverImages, groupFindings, specFindings, type Finding, type ImageGroup} from '../discover/index.js'
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
  /** Findings from elsewhere: the W&B v2 server manifest's images with their keys. */
  findings?: readonly Finding[]
  onWarning?: (message: string) => void
}

/** Every image the charts and the spec lead to, grouped by reference with all origins. */
export function discoverRelease(charts: readonly PulledChart[], opts: DiscoverReleaseOptions): {groups: ImageGroup[]; excluded: string[]} {
  const findings: Finding[] = []
  for (const c of charts) {
    const warn = (m: string): void => opts.onWarning?.(m)
    findings.push(...discoverImages(c.chart, {values: c.values, includeDisabled: opts.includeDisabled, onWarning: warn}))
  }
  findings.push(...specFindings(opts.images), ...(opts.findings ?? []))
  const isExcluded = excluder(opts.exclude)
  const all = groupFindings(findings)
  return {groups: all.filter((g) => !isExcluded(g.reference)), excluded: all.filter((g) => isExcluded(g.reference)).map((g) => g.reference)}
}

/** Where an image was found, as recorded in the lock. */
export function lockDiscoveries(group: ImageGroup): LockDiscovery[] {
  const seen = new Set<string>()
  const out: LockDiscovery[] = []
  for (const o of group.origins) {
    const d: LockDiscovery = {
      chart: o.chart,
      source: o.reference,
      ...(o.valuesPath ? {valuesPath: o.valuesPath} : {}),
      ...(o.template ? {template: o.template} : {}),
      kind: o.source,
      ...(o.shape ? {shape: o.shape} : {}),
    }
    const key = JSON.stringify(d)
    if (seen.has(key)) continue
    seen.add(key)
    out.push(d)
  }
  return out
}

/** One origin as a short phrase: `operator-wandb values app.image`, `operator-wandb templates/x.yaml`, `server manifest 0.99.0 key kafka.images.etcd`. */
export function describeOrigin(o: Finding): string {
  if (o.source === 'manifest') return `server manifest ${o.chart.slice(o.chart.lastIndexOf(':') + 1)} key ${o.valuesPath ?? ''}`
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
