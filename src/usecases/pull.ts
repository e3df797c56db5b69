/**
 * `airgap pull`: release spec → charts → every image the charts can run → one signed bundle.
 *
 *  1. check every option and load the spec (validated before any network call, except the live
 *     channel itself); refuse to overwrite a finished bundle unless `force`;
 *  2. fetch the charts (missing dependencies vendored) and store each as a Helm OCI artifact;
 *  3. discover images with the merged values (disabled components included by default), resolve
 *     each to a digest through pull-through mirrors; missing images are collected and reported
 *     together: an enabled component's missing image fails the pull (unless skipMissing);
 *  4. writeBundle: plan (checked against free disk space), resumable copy, lock, signature.
 *
 * Same spec and same registry content → same plan, so a rerun after kill -9 resumes.
 */
import {resolve as resolvePath} from 'node:path'
import type {CopyStats} from '../copy/index.js'
import type {ImageGroup} from '../discover/index.js'
import {NotFoundError, UsageError} from '../errors.js'
import {checkDiskSpace, freeBytes, refuseFinished} from './pull-disk.js'
import type {Platform} from '../oci/types.js'
import type {SigningKey} from '../signing/index.js'
import {specForBundle, type ReleaseSpec} from '../release/index.js'
import {writeBundle, type BundleHooks, type BundleImageInput} from './write-bundle.js'
import type {SplitResult} from './write-parts.js'
import {chartBundleInput, fetchCharts, type PulledChart} from './pull-charts.js'
import {describeMissing, discoverRelease, describeOrigin, lockDiscoveries, lockMissing, resolveImages, type MissingImage, type ResolvedImage} from './pull-images.js'
import {checkSpecInput, loadReleaseSpec, parseRegistryMirrors, type RegistryMirror, type SpecInput} from './pull-input.js'
import {Session, type ConnectionOptions} from './session.js'
import {expandFrom, loadHaveList} from '../delta/sources.js'
import {mirroredReference} from './pull-input.js'
import {pullSignatures} from './signatures.js'
import type {UpstreamVerdict} from './upstream.js'
import {checkWandbOperator, loadWandbInputs, type WandbInputs} from './pull-wandb.js'
import type {OperatorVersionCheck} from '../server-manifest/index.js'

/** Progress of a pull beyond blob transfers (one JSON line each with --json). */
export type PullEvent =
  | {event: 'spec'; origin: string; charts: number; images: number}
  | {event: 'chart'; name: string; version: string; source: string; bundleName: string; fetchedDependencies: string[]}
  | {event: 'discovered'; images: number; enabled: number; excluded: number}
  | {event: 'resolved'; image: string; digest: string; from: string}
  | {event: 'missing'; image: string; reason: string; enabled: boolean}
  | {event: 'planned'; images: number; blobs: number; bytes: number; missingBlobs: number; missingBytes: number}
  | {event: 'since'; file: string; digests: number}
  | {event: 'signatures'; images: number; found: number}
  | {event: 'upstream'; image: string; digest: string; rule: string; verified: boolean}
  | {event: 'server-manifest'; source: string; digest: string; images: number; fetchedFrom: string}

export {checkDiskSpace, freeBytes, refuseFinished} from './pull-disk.js'

export interface PullHooks extends BundleHooks {
  onEvent?(event: PullEvent): void
  onWarning?(message: string): void
}

export interface PullOptions extends ConnectionOptions, SpecInput {
  /** Bundle path to write. */
  out: string
  /** Platforms to keep (default: the spec's platforms, else all). */
  platforms?: readonly Platform[]
  /** `SOURCE=MIRROR` pull-through mirrors. */
  registryMirrors?: readonly string[]
  /** Only images of enabled components (default: the spec's includeDisabled, which defaults to all). */
  onlyEnabled?: boolean
  /** Carry on when an enabled component's image is missing (recorded in the lock). */
  skipMissing?: boolean
  /** Leave out images that only `helm test` hooks run. */
  skipTestImages?: boolean
  /** Overwrite a finished bundle at `out`. */
  force?: boolean
  /** Split media: write parts of at most this many bytes (`<out>.part-001-of-00N.tar` …). */
  maxPartSize?: number
  signKey?: SigningKey
  /** SOURCE_DATE_EPOCH seconds (default 0). */
  epoch?: number
  /** The lock's `created`, seconds (default `epoch`): the pull time, unless SOURCE_DATE_EPOCH fixes it. */
  createdAt?: number
  concurrency?: number
  hooks?: PullHooks
  signal?: AbortSignal
  /** Free bytes in a folder (default: fs.statfs); injectable for tests. */
  freeSpace?: (dir: string) => number
  /**
   * Write a delta: leave out the blobs the mirror holds, per this push receipt, bundle lock,
   * bundle or `airgap inventory` file (issue 10).
   */
  since?: string
  /** Carry cosign signatures, attestations, SBOMs and OCI referrers of every image (issue 10). */
  withSignatures?: boolean
  /** Verify every image's upstream signatures against this policy file before anything is written (issue 19). */
  verifyUpstream?: string
}

export interface PullImageReport {
  reference: string
  digest: string
  mediaType: string
  platforms: string[]
  bytes: number
  enabled: boolean
  /** Where it was read from when a mirror was used. */
  fetchedFrom: string
  origins: string[]
}

export interface PullMissingReport {
  reference: string
  reason: string
  enabled: boolean
  origins: string[]
}

export interface PullResult {
  path: string
  size: number
  signed: boolean
  signer?: string
  lockDigest: string
  spec: {origin: string; name: string; version?: string}
  charts: Array<{name: string; version: string; source: string; bundleName: string; digest: string; fetchedDependencies: string[]}>
  images: PullImageReport[]
  missing: PullMissingReport[]
  excluded: string[]
  /** Images left out because only `helm test` hooks run them (skipTestImages). */
  testOnlySkipped: string[]
  warnings: string[]
  /** Unique bytes of every blob in the bundle. */
  uniqueBytes: number
  /** Bytes not stored twice because images share blobs. */
  savedBySharing: number
  blobs: number
  /** What this run transferred (a resumed run only what was missing). */
  stats: CopyStats
  seconds: number
  bytesPerSecond: number
  /** Delta bundles (--since): blobs left out because the mirror holds them. */
  delta?: {since: string; expectedBlobs: number; expectedBytes: number}
  /** Upstream signature artifacts carried (--with-signatures). */
  signatures?: Array<{subject: string; ref: string; kind: string; digest: string}>
  /** Split media: the parts written (`path` is part 1, `size` their sum). */
  split?: SplitResult
  /** --verify-upstream: the verdict on each image's upstream signatures (also in the lock). */
  upstreamVerification?: UpstreamVerdict[]
  /** The W&B v2 server manifest carried (--wandb-version or the spec's wandb block). */
  serverManifest?: ServerManifestReport
}

export interface ServerManifestReport {
  source: string
  version: string
  digest: string
  /** Images it names (each carried, with its key as origin). */
  images: number
  requiredOperatorVersion?: string
  /** `2.0.0-beta.3 satisfies ^2.0.0`. */
  operatorCheck?: string
}

/** Pull a release into a bundle; see the module comment. */
export async function pullBundle(opts: PullOptions): Promise<PullResult> {
  const started = performance.now()
  checkSpecInput(opts)
  const mirrors = parseRegistryMirrors(opts.registryMirrors ?? [])
  const out = resolvePath(opts.out)
  if (opts.maxPartSize !== undefined && opts.since) {
    throw new UsageError('--max-part-size cannot be combined with --since yet', {hint: 'pull the delta as one bundle, or split a full pull'})
  }
  if (opts.maxPartSize === undefined) await refuseFinished(out, opts.force === true) // parts: checked per part file
  const warnings: string[] = []
  const hooks = opts.hooks ?? {}
  const warn = (m: string): void => {
    warnings.push(m)
    hooks.onWarning?.(m)
  }

  // The policy is checked before any network call; the Sigstore code is loaded only when asked for.
  const upstreamCheck = opts.verifyUpstream === undefined ? undefined : await (await import('./upstream.js')).loadUpstreamCheck(opts.verifyUpstream)
  const spec = await loadReleaseSpec(opts)
  const session = new Session({...opts, plainHttp: [...(opts.plainHttp ?? []), ...ociPlainHosts(spec)]})
  try {
    const prepared = await prepareRelease(spec, session, {...opts, mirrors, warn})
    const {charts, resolved, missing, excluded, testOnlySkipped} = prepared
    const enabledMissing = missing.filter((m) => m.group.enabled)
    if (enabledMissing.length > 0 && !opts.skipMissing) {
      throw new NotFoundError(`${enabledMissing.length} image(s) needed by enabled components not found: ${describeMissing(enabledMissing)}`, {
        hint: 'fix the values or add a --registry-mirror that has them; or pass --skip-missing to pull without them (recorded in the lock)',
      })
    }
    for (const m of missing) warn(`image ${m.group.reference} not carried (${m.reason}); needed by ${m.group.origins.map(describeOrigin).join(', ')}${m.group.enabled ? '' : ' (disabled components only)'}`)

    const onVerdict = (v: UpstreamVerdict): void => hooks.onEvent?.({event: 'upstream', image: v.image, digest: v.digest, rule: v.rule, verified: v.verified})
    const upstream = await upstreamCheck?.run(resolved, {concurrency: opts.concurrency ?? 8, signal: opts.signal, warn, onVerdict})

    const chartInputs = await Promise.all(charts.map(chartBundleInput))
    const platforms = opts.platforms?.length ? opts.platforms : spec.spec.platforms
    const images: BundleImageInput[] = resolved.map((r) => ({source: r.source, ref: r.descriptor.digest, name: r.group.reference, discoveredBy: lockDiscoveries(r.group)}))
    const freeSpace = opts.freeSpace ?? freeBytes
    const have = opts.since ? await loadSince(opts.since, session, mirrors, warn, opts.signal) : undefined
    if (have && opts.since) hooks.onEvent?.({event: 'since', file: opts.since, digests: have.size})
    const signatures = opts.withSignatures ? await pullSignatures(resolved, opts.signal) : []
    if (opts.withSignatures) hooks.onEvent?.({event: 'signatures', images: resolved.length, found: signatures.length})
    const result = await writeBundle({
      images,
      charts: chartInputs,
      out,
      epoch: opts.epoch ?? 0,
      createdAt: opts.createdAt,
      platforms,
      signKey: opts.signKey,
      specBytes: Buffer.from(specForBundle(spec), 'utf8'),
      missing: lockMissing(missing),
      ...(have ? {have} : {}),
      ...(signatures.length ? {signatures} : {}),
      createdBy: 'airgap',
      upstreamVerification: upstream?.lock,
      serverManifest: prepared.wandb?.bundleInput,
      ...(opts.concurrency ? {concurrency: opts.concurrency} : {}),
      signal: opts.signal,
      ...(opts.maxPartSize !== undefined ? {maxPartSize: opts.maxPartSize, force: opts.force === true} : {}),
      hooks: {
        ...hooks,
        onWarning: warn,
        onPlanned(plan) {
          hooks.onEvent?.({event: 'planned', ...plan})
          checkDiskSpace(out, plan.missingBytes + (plan.missingBlobs + 16) * 1024 + 1024 * 1024, freeSpace)
          hooks.onPlanned?.(plan)
        },
      },
    })

    const byRef = new Map(result.lock.images.map((i) => [i.source, i]))
    const imageReports = resolved.map((r): PullImageReport => {
      const locked = byRef.get(r.group.reference)
      return {
        reference: r.group.reference,
        digest: locked?.digest ?? r.descriptor.digest,
        mediaType: locked?.mediaType ?? r.descriptor.mediaType,
        platforms: locked?.platforms ?? [],
        bytes: locked?.bytes ?? 0,
        enabled: r.group.enabled,
        fetchedFrom: r.fetchedFrom,
        origins: r.group.origins.map(describeOrigin),
      }
    })
    const chartBytes = chartInputs.reduce((n, c) => n + c.bytes, 0)
    const imageBytes = imageReports.reduce((n, i) => n + i.bytes, 0)
    const seconds = Math.round(performance.now() - started) / 1000
    return {
      path: result.path,
      size: result.size,
      signed: result.signed,
      ...(result.signer ? {signer: result.signer} : {}),
      lockDigest: result.lockDigest,
      spec: {origin: spec.origin, name: spec.metadata.name, ...(spec.metadata.version ? {version: spec.metadata.version} : {})},
      charts: charts.map((c) => ({
        name: c.name,
        version: c.version,
        source: c.source,
        bundleName: c.bundleName,
        digest: result.lock.charts.find((l) => l.name === c.name && l.version === c.version)?.digest ?? '',
        fetchedDependencies: c.fetchedDependencies,
      })),
      images: imageReports,
      missing: missing.map(missingReport),
      excluded,
      testOnlySkipped,
      warnings,
      uniqueBytes: result.lock.blobs.bytes,
      savedBySharing: Math.max(0, imageBytes + chartBytes - result.lock.blobs.bytes),
      blobs: result.lock.blobs.count,
      stats: result.stats,
      seconds,
      bytesPerSecond: seconds > 0 ? Math.round(result.stats.bytesCopied / seconds) : 0,
      ...(opts.since
        ? {
            delta: {
              since: opts.since,
              expectedBlobs: result.lock.expectedInMirror?.length ?? 0,
              expectedBytes: (result.lock.expectedInMirror ?? []).reduce((n, e) => n + e.size, 0),
            },
          }
        : {}),
      ...(result.split ? {split: result.split} : {}),
      upstreamVerification: upstream?.verdicts,
      serverManifest: serverManifestReport(prepared, result.lock.serverManifest?.digest),
      ...(result.lock.signatures ? {signatures: result.lock.signatures.map((s) => ({subject: s.subject, ref: s.ref, kind: s.kind, digest: s.digest}))} : {}),
    }
  } finally {
    await session.close()
  }
}

export interface Prepared {
  charts: PulledChart[]
  groups: ImageGroup[]
  resolved: ResolvedImage[]
  missing: MissingImage[]
  excluded: string[]
  testOnlySkipped: string[]
  wandb?: WandbInputs
  operatorCheck?: OperatorVersionCheck
}

function serverManifestReport(prepared: Prepared, digest: string | undefined): ServerManifestReport | undefined {
  const wandb = prepared.wandb
  if (wandb === undefined) return undefined
  return {
    source: wandb.source,
    version: wandb.release.version,
    digest: digest ?? wandb.manifest.artifact.root.digest,
    images: wandb.manifest.images.length,
    requiredOperatorVersion: wandb.manifest.requiredOperatorVersion,
    operatorCheck: prepared.operatorCheck?.note,
  }
}

/** Charts, discovery and resolution. */
export async function prepareRelease(
  spec: ReleaseSpec,
  session: Session,
  opts: Pick<PullOptions, 'caFiles' | 'onlyEnabled' | 'skipTestImages' | 'concurrency' | 'signal' | 'hooks'> & {mirrors: RegistryMirror[]; warn: (m: string) => void},
): Promise<Prepared> {
  const hooks = opts.hooks ?? {}
  const wandb = spec.spec.wandb === undefined ? undefined : await loadWandbInputs(spec.spec.wandb, {session, mirrors: opts.mirrors, signal: opts.signal, warn: opts.warn})
  const chartSources = [...spec.spec.charts, ...(wandb?.charts ?? [])]
  hooks.onEvent?.({event: 'spec', origin: spec.origin, charts: chartSources.length, images: spec.spec.images.length})
  if (wandb !== undefined) {
    hooks.onEvent?.({event: 'server-manifest', source: wandb.source, digest: wandb.manifest.artifact.root.digest, images: wandb.manifest.images.length, fetchedFrom: wandb.fetchedFrom})
  }
  const charts = await fetchCharts(chartSources, {session, ...(opts.caFiles ? {caFiles: opts.caFiles} : {}), signal: opts.signal})
  const operatorCheck = wandb === undefined ? undefined : checkWandbOperator(wandb, charts)
  for (const c of charts) {
    hooks.onEvent?.({event: 'chart', name: c.name, version: c.version, source: c.source, bundleName: c.bundleName, fetchedDependencies: c.fetchedDependencies})
  }
  const {groups, excluded, testOnlySkipped} = discoverRelease(charts, {
    includeDisabled: spec.spec.includeDisabled && opts.onlyEnabled !== true,
    images: spec.spec.images,
    exclude: spec.spec.exclude,
    skipTestImages: opts.skipTestImages === true,
    findings: wandb?.findings,
    onWarning: opts.warn,
  })
  hooks.onEvent?.({event: 'discovered', images: groups.length, enabled: groups.filter((g) => g.enabled).length, excluded: excluded.length})
  const {resolved, missing} = await resolveImages(groups, {
    session,
    mirrors: opts.mirrors,
    ...(opts.concurrency ? {concurrency: opts.concurrency} : {}),
    signal: opts.signal,
    onResolved: (r) => hooks.onEvent?.({event: 'resolved', image: r.group.reference, digest: r.descriptor.digest, from: r.fetchedFrom}),
    onMissing: (m) => hooks.onEvent?.({event: 'missing', image: m.group.reference, reason: m.reason, enabled: m.group.enabled}),
  })
  return {charts, groups, resolved, missing, excluded, testOnlySkipped, wandb, operatorCheck}
}

/** The have-list of `--since`; images it names are walked again in their sources when the bundle is not at hand. */
export function loadSince(file: string, session: Session, mirrors: readonly RegistryMirror[], warn: (m: string) => void, signal: AbortSignal | undefined) {
  const open = (repository: string) => {
    const [registry = '', ...rest] = repository.split('/')
    const via = mirroredReference({registry, repository: rest.join('/')}, mirrors)
    return session.repository(`${via.registry}/${via.repository}`, 'source').repository
  }
  return loadHaveList(file, {expand: expandFrom(open, signal), onWarning: warn, signal})
}

export function missingReport(m: MissingImage): PullMissingReport {
  return {reference: m.group.reference, reason: m.reason, enabled: m.group.enabled, origins: m.group.origins.map(describeOrigin)}
}

/** Hosts of OCI charts the spec marks plainHttp (the W&B channel's `plainHTTP`). */
export function ociPlainHosts(spec: ReleaseSpec): string[] {
  return spec.spec.charts.flatMap((c) => (c.type === 'oci' && c.plainHttp ? [c.oci.slice('oci://'.length).split('/')[0] ?? ''] : [])).filter(Boolean)
}
