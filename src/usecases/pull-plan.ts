/**
 * `airgap pull --dry-run`: the pull's plan without the bundle. The same steps as pullBundle up to
 * the bundle plan (spec, charts fetched into memory, discovery, every image resolved to a digest,
 * --verify-upstream verdicts, --since have-list, --with-signatures), then the contents are planned
 * as writeBundle plans them (indexes narrowed to the wanted platforms, every manifest walked, each
 * blob listed once with its size). No blob is downloaded and nothing is written.
 *
 * What would make the real pull fail (an enabled component's image missing upstream, a rejected
 * upstream signature, an existing output file, too little disk) is reported in `wouldFail`, not
 * thrown: the plan is most useful exactly then.
 */
import {stat} from 'node:fs/promises'
import {dirname, resolve as resolvePath} from 'node:path'
import {CopyTracker} from '../copy/index.js'
import {AirgapError} from '../errors.js'
import {lockCharts, lockImages, planContents, sumSizes} from './bundle-contents.js'
import {chartBundleInput} from './pull-charts.js'
import {describeMissing, describeOrigin, type ResolvedImage} from './pull-images.js'
import {checkSpecInput, loadReleaseSpec, parseRegistryMirrors} from './pull-input.js'
import {freeBytes, loadSince, missingReport, ociPlainHosts, prepareRelease, type PullMissingReport, type PullOptions} from './pull.js'
import {Session} from './session.js'
import {pullSignatures} from './signatures.js'
import type {UpstreamVerdict} from './upstream.js'

export interface PullPlanOptions extends Omit<PullOptions, 'out' | 'signKey' | 'epoch' | 'createdAt'> {
  /** The bundle the real pull would write (checked: it must not exist without force; its folder's free space). */
  out?: string
}

export interface PullPlanImage {
  reference: string
  /** Digest of the stored root (an index narrowed to the kept platforms gets a new digest). */
  digest: string
  /** Digest the reference resolved to upstream. */
  upstreamDigest: string
  platforms: string[]
  /** Bytes of every node of the image's graph (manifests, configs, layers), each once. */
  bytes: number
  enabled: boolean
  fetchedFrom: string
  origins: string[]
}

export interface PullPlanResult {
  dryRun: true
  /** The bundle the real pull would write, when -o was given. */
  output?: string
  spec: {origin: string; name: string; version?: string}
  charts: Array<{name: string; version: string; source: string; digest: string; bytes: number}>
  images: PullPlanImage[]
  /** Images the charts name that do not exist upstream (not carried). */
  missing: PullMissingReport[]
  excluded: string[]
  totals: {
    /** Blobs the bundle would store, each once, and their bytes. */
    blobs: number
    bundleBytes: number
    /** Bytes not stored twice because images share blobs. */
    savedBySharing: number
  }
  delta?: {since: string; expectedBlobs: number; expectedBytes: number}
  signatures?: number
  upstreamVerification?: UpstreamVerdict[]
  /** Free space where the bundle would go, when -o was given. */
  disk?: {folder: string; free: number; needed: number; enough: boolean}
  /** Why the real pull would stop, each one line (empty: it would go through). */
  wouldFail: string[]
  warnings: string[]
}

/** The plan of a pull; see the module comment. */
export async function planPull(opts: PullPlanOptions): Promise<PullPlanResult> {
  checkSpecInput(opts)
  const mirrors = parseRegistryMirrors(opts.registryMirrors ?? [])
  const warnings: string[] = []
  const warn = (m: string): void => {
    warnings.push(m)
    opts.hooks?.onWarning?.(m)
  }
  const wouldFail: string[] = []
  if (opts.maxPartSize !== undefined) warn('--dry-run does not plan the parts of --max-part-size: the figures are those of the whole set')
  if (opts.maxPartSize !== undefined && opts.since) wouldFail.push('--max-part-size cannot be combined with --since yet')
  const out = opts.out === undefined ? undefined : resolvePath(opts.out)
  if (out !== undefined && !opts.force && (await stat(out).catch(() => undefined))) wouldFail.push(`${out} already exists (pass --force to overwrite it)`)
  const upstream = opts.verifyUpstream === undefined ? undefined : await import('./upstream.js')
  const policy = upstream && opts.verifyUpstream !== undefined ? await upstream.loadUpstreamPolicy(opts.verifyUpstream) : undefined
  const spec = await loadReleaseSpec(opts)
  const session = new Session({...opts, plainHttp: [...(opts.plainHttp ?? []), ...ociPlainHosts(spec)]})
  try {
    const {charts, resolved, missing, excluded} = await prepareRelease(spec, session, {...opts, mirrors, warn})
    const enabledMissing = missing.filter((m) => m.group.enabled)
    if (enabledMissing.length > 0 && !opts.skipMissing) {
      wouldFail.push(`${enabledMissing.length} image(s) needed by enabled components not found (exit 7 unless --skip-missing): ${describeMissing(enabledMissing)}`)
    }
    const verdicts = upstream && policy ? await upstream.verifyResolvedImages(resolved, policy, {concurrency: opts.concurrency ?? 8, signal: opts.signal}) : undefined
    if (upstream && policy && verdicts) {
      try {
        upstream.enforceUpstreamVerdicts(verdicts, policy, warn)
      } catch (err) {
        if (!(err instanceof AirgapError)) throw err
        wouldFail.push(err.message)
      }
    }
    const chartInputs = await Promise.all(charts.map(chartBundleInput))
    const have = opts.since ? await loadSince(opts.since, session, mirrors, warn, opts.signal) : undefined
    const signatures = opts.withSignatures ? await pullSignatures(resolved, opts.signal) : []
    const contents = await planContents(
      {
        images: resolved.map((r) => ({source: r.source, ref: r.descriptor.digest, name: r.group.reference})),
        charts: chartInputs,
        signatures,
        platforms: opts.platforms?.length ? opts.platforms : spec.spec.platforms,
        have,
      },
      new CopyTracker({concurrency: opts.concurrency ?? 8}),
      opts.signal,
    )
    const locked = new Map(lockImages(contents.items).map((i) => [i.source, i]))
    const images = resolved.map((r) => imageRow(r, locked.get(r.group.reference)))
    const chartRows = lockCharts(contents.items).map((c) => {
      const item = contents.items.find((i) => i.chart?.name === c.name && i.chart.version === c.version)
      return {name: c.name, version: c.version, source: c.source, digest: c.digest, bytes: item ? sumSizes(item.plan.nodes) : 0}
    })
    const bundleBytes = sumSizes(contents.blobs)
    const expectedBytes = sumSizes(contents.expected)
    const all = [...images.map((i) => i.bytes), ...chartRows.map((c) => c.bytes)].reduce((n, b) => n + b, 0)
    const disk = out === undefined ? undefined : diskFor(out, bundleBytes + (contents.blobs.length + 16) * 1024 + 1024 * 1024, opts.freeSpace ?? freeBytes)
    if (disk && !disk.enough) wouldFail.push(`not enough disk space in ${disk.folder}: ${mib(disk.needed)} needed, ${mib(disk.free)} free`)
    return {
      dryRun: true,
      output: out,
      spec: {origin: spec.origin, name: spec.metadata.name, version: spec.metadata.version},
      charts: chartRows,
      images,
      missing: missing.map(missingReport),
      excluded,
      totals: {blobs: contents.blobs.length, bundleBytes, savedBySharing: Math.max(0, all - bundleBytes - expectedBytes)},
      delta: opts.since ? {since: opts.since, expectedBlobs: contents.expected.length, expectedBytes} : undefined,
      signatures: opts.withSignatures ? signatures.length : undefined,
      upstreamVerification: verdicts,
      disk,
      wouldFail,
      warnings,
    }
  } finally {
    await session.close()
  }
}

function imageRow(r: ResolvedImage, locked: {digest: string; platforms: string[]; bytes: number} | undefined): PullPlanImage {
  if (!locked) throw new Error(`${r.group.reference} was resolved but not planned`)
  return {
    reference: r.group.reference,
    digest: locked.digest,
    upstreamDigest: r.descriptor.digest,
    platforms: locked.platforms,
    bytes: locked.bytes,
    enabled: r.group.enabled,
    fetchedFrom: r.fetchedFrom,
    origins: r.group.origins.map(describeOrigin),
  }
}

function diskFor(out: string, needed: number, freeSpace: (dir: string) => number): PullPlanResult['disk'] {
  const folder = dirname(out)
  try {
    const free = freeSpace(folder)
    return {folder, free, needed, enough: free >= needed}
  } catch {
    return undefined
  }
}

function mib(n: number): string {
  return `${(n / 1024 ** 2).toFixed(1)} MiB`
}
