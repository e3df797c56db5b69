/**
 * pushBundle() (`airgap push`): from a verified bundle into the private registry and Helm repository.
 *
 *  1. verify first: signature (refused without --key unless allowUnsigned), lock ↔ index, graph and
 *     every blob digest in one read pass (verifyBundle) — before the first write anywhere;
 *  2. place every image in the mirror (planMirror: collisions refused before anything is pushed);
 *  3. copy every image out of the bundle with the copy engine and ONE CopyTracker: existing blobs
 *     skipped (HEAD), blobs shared with images already pushed in this run mounted, children before
 *     parents, tags and digests preserved; blobs are verified again as they stream out of the tar;
 *  4. publish the charts (oci:// with the copy engine; http(s)/chartmuseum/file via src/push);
 *  5. write the receipt (atomically), complete or marked incomplete. Some items failed and some
 *     made it: PartialError (exit 6); nothing made it: the first failure.
 */
import type {KeyObject} from 'node:crypto'
import {setMaxListeners} from 'node:events'
import {resolve as resolvePath} from 'node:path'
import {fetchAll} from '../content/verify.js'
import {copy, copyGraph, CopyTracker, addStats, emptyStats, isManifestDescriptor, type CopyHooks, type CopyStats} from '../copy/index.js'
import {planCopy} from '../copy/plan.js'
import {AirgapError, IntegrityError, NotFoundError, PartialError, UsageError} from '../errors.js'
import {chartLayers, chartTag, MAX_CHART_BYTES, ociArtifactToChart} from '../helm/oci.js'
import type {ChartMetadata} from '../helm/types.js'
import {digestOf} from '../oci/digest.js'
import type {Descriptor} from '../oci/types.js'
import type {LockChart, LockImage, LockSplit, LockSplitImage} from '../bundle/lock.js'
import {requireUpstreamVerified} from './upstream-required.js'
import {BundleReader, HashPool} from '../bundle/index.js'
import type {RegistryRepository} from '../registry/index.js'
// The chart publisher (and the YAML/tar/semver code it needs) is imported only when charts are published.
import type {ChartPackage, HelmAuth, helmRepoKind} from '../helm/publish.js'
import {formatMirrorRegistry, parseMirrorRegistry, parseOciRepoUrl, planMirror, type MirrorPlacement, type MirrorRegistry} from '../mirror/mapping.js'
import {writeReceipt, type PushReceipt, type ReceiptChart, type ReceiptImage, type ReceiptStats} from '../mirror/receipt.js'
import {safeUrl} from '../http/safe-url.js'
import {Session, type ConnectionOptions} from './session.js'
import {applyMounts, preflightDelta, type PlannedMount} from '../delta/preflight.js'
import {pushSignatures, type SignaturePushResult} from '../image-signatures/publish.js'
import {mirrorRepository} from '../mirror/mapping.js'
import {parseReference} from '../oci/reference.js'
import {verifyBundle, type VerifyReport} from './verify.js'

export interface PushHooks extends CopyHooks {
  /** The bundle verified (before anything was pushed). */
  onVerified?(report: VerifyReport): void
  /** Something the user must know (e.g. authenticity not checked). */
  onWarning?(message: string): void
  /** One image or chart finished (pushed or failed). */
  onItem?(item: {kind: 'image' | 'chart'; name: string; status: 'pushed' | 'failed'; error?: string}): void
}

export interface PushOptions extends ConnectionOptions {
  /** Path of the bundle tarball. */
  bundle: string
  /** `HOST[:PORT][/PREFIX]`. */
  registry: string
  keepSourceHost?: boolean
  /** The signer's public key; required unless allowUnsigned. */
  publicKey?: KeyObject
  /** Push without checking the signature (explicit opt-in). */
  allowUnsigned?: boolean
  /** Hash every blob of the bundle first, even those the mirror already holds. */
  fullVerify?: boolean
  /** Refuse the bundle unless its lock records every image's upstream signature as verified (pull --verify-upstream). */
  requireUpstreamVerified?: boolean
  /** oci://HOST/PATH, http(s)://…, chartmuseum+http(s)://…, file:///… */
  helmRepo?: string
  helmAuth?: HelmAuth
  /** Receipt file (default `<bundle>.receipt.json`). */
  receipt?: string
  /** Blob transfers in flight (default 8). */
  concurrency?: number
  hooks?: PushHooks
  signal?: AbortSignal
  now?: () => Date
}

export interface PushResult {
  receiptPath: string
  receipt: PushReceipt
  authenticity: VerifyReport['authenticity']
  signer?: string
  images: {total: number; pushed: number; failed: number}
  charts: {total: number; pushed: number; failed: number}
  stats: CopyStats
  /** Seconds of the whole run, and of the verification pass. */
  seconds: number
  verifySeconds: number
  /** Blobs hashed before the first write (what was about to be sent) and their bytes. */
  verified: {blobs: number; bytes: number}
  /** Bytes sent per second during the push phase. */
  bytesPerSecond: number
  /** Delta bundles: blobs left out, found in place, and mounted from other repositories first. */
  delta?: {expected: number; present: number; mounted: number}
  /** Upstream signatures carried by the bundle, each with where it went. */
  signatures?: SignaturePushResult[]
  /** Split media: what this part completed and which parts the other images still wait for. */
  split?: PartPushReport
}

/** Push a bundle; see the module comment for the phases. */
export async function pushBundle(opts: PushOptions): Promise<PushResult> {
  const clock = opts.now ?? (() => new Date())
  const started = clock()
  const t0 = performance.now()
  const registry = parseMirrorRegistry(opts.registry)
  const keepSourceHost = opts.keepSourceHost ?? false
  const chartTarget = opts.helmRepo ? await chartDestination(opts.helmRepo) : undefined
  if (!opts.publicKey && !opts.allowUnsigned) {
    throw new UsageError(`refusing to push ${opts.bundle} without checking its signature`, {
      hint: "pass the signer's public key with --key cosign.pub (or AIRGAP_KEY), or --allow-unsigned to push without checking who produced the bundle",
    })
  }

  // 1. Signature, lock, index and content graph (small), then placement: collisions are refused
  //    before anything is read in bulk or written.
  const signal = opts.signal ? AbortSignal.any([opts.signal]) : undefined
  if (signal) setMaxListeners(0, signal)
  const metadata = await verifyBundle(opts.bundle, {
    ...(opts.publicKey ? {publicKey: opts.publicKey} : {}),
    ...(signal ? {signal} : {}),
    blobs: 'none',
  })
  // A split part places every image of its set, so that each part's receipt covers the whole set.
  const placements = planMirror(metadata.split ? metadata.split.images : metadata.images, registry, keepSourceHost)
  if (opts.requireUpstreamVerified) requireUpstreamVerified({images: metadata.split ? metadata.split.images : metadata.images, upstreamVerification: metadata.upstreamVerification}, opts.bundle)

  const session = new Session(opts)
  const reader = await BundleReader.open(opts.bundle)
  // The hashing workers boot (~60 ms each, on every core) while the mirror is asked what it already
  // has: as soon as one large blob is known to be sent, not before (a repeat push boots none).
  let pool: HashPool | undefined
  const startPool = (only?: (digest: string) => boolean): void => {
    if (!pool && reader.hasWorkerSizedBlobs(only)) pool = new HashPool()
  }
  if (opts.fullVerify || metadata.split) startPool()
  try {
    const ctx: PushContext = {
      reader,
      session,
      tracker: new CopyTracker({concurrency: opts.concurrency ?? 8}),
      stats: emptyStats(),
      hooks: opts.hooks ?? {},
      located: new Map(),
      repositories: new Map(),
      signal,
    }
    // 2. Hash every blob that is about to be sent, before the first write: a damaged bundle pushes
    //    nothing. Images whose manifest the mirror already holds send nothing, so their blobs are
    //    not re-read (a registry only accepts a manifest whose content it has); --full-verify
    //    hashes everything regardless.
    checkSameIndex(reader, metadata)
    // Delta bundles (pull --since): every blob left out must be in the mirror; refused before any write.
    const delta = metadata.expectedInMirror?.length ? await checkDelta(ctx, metadata, placements, (source) => mirrorRepositoryOf(registry, keepSourceHost, source)) : undefined
    const toSend = opts.fullVerify || metadata.split ? 'all' : await blobsToSend(ctx, metadata, placements, (digests) => startPool((d) => digests.has(d)))
    const report = await hashBlobs(reader, metadata, toSend, pool, signal)
    void pool?.close()
    const verifySeconds = (performance.now() - t0) / 1000
    opts.hooks?.onVerified?.(report)
    if (report.authenticity !== 'verified') {
      opts.hooks?.onWarning?.(
        `AUTHENTICITY NOT CHECKED: ${report.signed ? 'no --key was given' : 'the bundle is not signed'}; pushing ${opts.bundle} only because --allow-unsigned was given`,
      )
    }
    const tPush = performance.now()
    if (delta) await applyMounts(delta.mounts, signal)
    // 3. Images.
    const part = report.split ? await pushPartImages(ctx, report.split, report.images, placements) : undefined
    const images = part ? part.images : await pushImages(ctx, report.images, placements, toSend)
    // 4. Charts.
    const charts = await publishCharts(ctx, report.charts, chartTarget, opts, clock)
    // Upstream signatures (pull --with-signatures), into their images' repositories.
    const signatures = metadata.signatures?.length
      ? await pushSignatures({
          source: reader,
          signatures: metadata.signatures,
          repositoryFor: (source) => repositoryFor(ctx, mirrorRepositoryOf(registry, keepSourceHost, source)),
          tracker: ctx.tracker,
          hooks: ctx.hooks,
          ...(signal ? {signal} : {}),
          onStats: (s) => addStats(ctx.stats, s),
        })
      : undefined
    // 5. Receipt.
    const pushSeconds = (performance.now() - tPush) / 1000
    const receipt: PushReceipt = {
      apiVersion: 'airgap.dev/v1alpha1',
      kind: 'PushReceipt',
      complete: [...images, ...charts].every((i) => i.status === 'pushed' || i.status === 'skipped'),
      bundle: {
        path: resolvePath(opts.bundle),
        lockDigest: report.lockDigest,
        ...(report.signer ? {signer: report.signer} : {}),
        authenticity: report.authenticity,
      },
      registry: formatMirrorRegistry(registry),
      keepSourceHost,
      ...(chartTarget ? {helmRepo: chartTarget.display} : {}),
      images,
      charts,
      stats: receiptStats(ctx.stats),
      started: started.toISOString(),
      finished: clock().toISOString(),
      seconds: round((performance.now() - t0) / 1000),
    }
    const receiptPath = opts.receipt ?? `${opts.bundle}.receipt.json`
    await writeReceipt(receiptPath, receipt)
    // Images waiting for other parts of a split set are not failures (exit 0, listed in `split`).
    failIfIncomplete(receipt, part ? images.filter((i) => !part.waiting.has(i.source)) : images, charts, receiptPath, ctx.failures)
    const badSignatures = (signatures ?? []).filter((s) => s.status === 'failed')
    if (badSignatures.length > 0) {
      throw new PartialError(`pushed every image, but ${badSignatures.length} signature(s) failed: ${badSignatures.map((s) => `${s.ref}: ${s.error}`).join('; ')}`, {
        hint: 'fix the cause and run the same push again: what is already in the mirror is skipped',
      })
    }
    return {
      receiptPath,
      receipt,
      authenticity: report.authenticity,
      ...(report.signer ? {signer: report.signer} : {}),
      images: counts(images),
      charts: counts(charts),
      stats: ctx.stats,
      seconds: receipt.seconds,
      verifySeconds: round(verifySeconds),
      verified: {blobs: report.blobs, bytes: report.bytes},
      bytesPerSecond: Math.round(ctx.stats.bytesCopied / Math.max(pushSeconds, 0.001)),
      ...(delta ? {delta: {expected: metadata.expectedInMirror!.length, present: delta.present, mounted: delta.mounts.length}} : {}),
      ...(signatures ? {signatures} : {}),
      ...(part ? {split: part.report} : {}),
    }
  } finally {
    await pool?.close()
    await reader.close()
    await session.close()
  }
}

/**
 * The reader pushed from must hold the index whose digest the verified (signed) lock pins: the file
 * may not be swapped between the verification above and the push.
 */
function checkSameIndex(reader: BundleReader, metadata: VerifyReport): void {
  const got = digestOf(reader.indexBytes)
  if (got !== metadata.indexDigest) {
    throw new IntegrityError(`bundle ${reader.path}: index.json changed while it was pushed (${got}, verified ${metadata.indexDigest})`, {
      hint: 'do not modify the bundle during a push; run the push again',
    })
  }
}

/**
 * Hash the blobs about to be sent (or all) on the already open reader, on worker threads for
 * large ones; the signature, lock, index and graph were checked by verifyBundle before.
 */
async function hashBlobs(
  reader: BundleReader,
  metadata: VerifyReport,
  toSend: 'all' | ReadonlySet<string>,
  pool: HashPool | undefined,
  signal: AbortSignal | undefined,
): Promise<VerifyReport> {
  const started = performance.now()
  const hashed = await reader.verifyAllBlobs({
    ...(toSend === 'all' ? {} : {only: (d: string) => toSend.has(d)}),
    ...(pool ? {pool} : {}),
    ...(signal ? {signal} : {}),
  })
  const seconds = (performance.now() - started) / 1000 + metadata.seconds
  return {...metadata, blobs: hashed.blobs, bytes: hashed.bytes, seconds: round(seconds), bytesPerSecond: Math.round(hashed.bytes / Math.max(seconds, 0.001))}
}

/** True when `tag` in `dst` resolves to `digest`; false when it names something else or nothing. */
async function tagNames(dst: RegistryRepository, tag: string, digest: string, signal: AbortSignal | undefined): Promise<boolean> {
  try {
    return (await dst.resolve(tag, signal)).digest === digest
  } catch (err) {
    if (err instanceof NotFoundError) return false
    throw err
  }
}

/** `HOST/PREFIX/path` of the mirror repository for a source repository or reference. */
function mirrorRepositoryOf(registry: MirrorRegistry, keepSourceHost: boolean, source: string): string {
  return `${registry.host}/${mirrorRepository(parseReference(source), registry, keepSourceHost)}`
}

/**
 * Delta preflight: the images and signatures still to push, with their mirror repositories; every
 * expected blob must be there or in another repository of the mirror (then mounted after verify).
 */
async function checkDelta(
  ctx: PushContext,
  metadata: VerifyReport,
  placements: readonly MirrorPlacement[],
  mirrorOf: (source: string) => string,
): Promise<{present: number; mounts: PlannedMount[]}> {
  const items = [
    ...metadata.images.map((image, i) => ({name: image.source, root: {mediaType: image.mediaType, digest: image.digest, size: image.size}, repository: repositoryFor(ctx, placements[i]!.mirror)})),
    ...(metadata.signatures ?? []).map((s) => ({name: s.ref, root: {mediaType: s.mediaType, digest: s.digest, size: s.size}, repository: repositoryFor(ctx, mirrorOf(s.ref))})),
  ]
  const host = items[0]?.repository.client
  return preflightDelta({
    source: ctx.reader,
    items,
    expected: metadata.expectedInMirror ?? [],
    repositoryAt: (path) => (host ? repositoryFor(ctx, `${host.registry}/${path}`) : repositoryFor(ctx, path)),
    tracker: ctx.tracker,
    ...(ctx.signal ? {signal: ctx.signal} : {}),
  })
}

/**
 * Digests of every node that the push may send: all nodes of charts, and of each image whose root
 * manifest the mirror does not hold yet. `onAdded` hears each image's or chart's nodes as soon as
 * they are known to be sent (the caller boots the hashing workers then).
 */
async function blobsToSend(
  ctx: PushContext,
  metadata: VerifyReport,
  placements: readonly MirrorPlacement[],
  onAdded: (digests: ReadonlySet<string>) => void,
): Promise<Set<string>> {
  const send = new Set<string>()
  const add = async (digest: string, image: string): Promise<void> => {
    const {nodes} = await planCopy(ctx.reader, digest, {tracker: ctx.tracker, image})
    const added = new Set(nodes.map((n) => n.digest))
    for (const d of added) send.add(d)
    onAdded(added)
  }
  await Promise.all(
    metadata.images.map(async (image, i) => {
      const place = placements[i]!
      const dst = repositoryFor(ctx, place.mirror)
      const root = {mediaType: image.mediaType, digest: image.digest, size: image.size}
      // The tag first: when it already names this digest (a repeat push), the image is complete
      // and tagged, and one HEAD settles it (a registry only accepts a manifest whose children it has).
      if (place.tag !== undefined && (await tagNames(dst, place.tag, root.digest, ctx.signal))) {
        ctx.tracker.markPresent(dst, root.digest)
        ctx.tracker.markTagged(dst, place.tag, root.digest)
      } else if (await dst.exists(root, ctx.signal)) ctx.tracker.markPresent(dst, root.digest)
      else await add(image.digest, image.source)
    }),
  )
  await Promise.all(metadata.charts.map((chart) => add(chart.digest, `${chart.name}@${chart.version}`)))
  return send
}

interface PushContext {
  reader: BundleReader
  session: Session
  tracker: CopyTracker
  stats: CopyStats
  hooks: PushHooks
  /** Digest -> mirror repositories (paths in the mirror host) known to hold it in this run. */
  located: Map<string, Set<string>>
  /** One repository object per mirror repository, so the tracker de-duplicates within it. */
  repositories: Map<string, RegistryRepository>
  signal: AbortSignal | undefined
  failures?: unknown[]
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000
}

function counts(items: {status: string}[]): {total: number; pushed: number; failed: number} {
  const pushed = items.filter((i) => i.status === 'pushed').length
  return {total: items.length, pushed, failed: items.length - pushed}
}

function receiptStats(s: CopyStats): ReceiptStats {
  return {
    blobsPushed: s.blobsCopied,
    blobsSkipped: s.blobsSkipped,
    blobsMounted: s.blobsMounted,
    manifestsPushed: s.manifestsCopied,
    manifestsSkipped: s.manifestsSkipped,
    bytes: s.bytesCopied,
  }
}

/** One line from any failure, for the receipt and the summary. */
function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err)
  return msg.split('\n')[0]!.slice(0, 500)
}

function repositoryFor(ctx: PushContext, ref: string): RegistryRepository {
  const {repository} = ctx.session.repository(ref, 'destination')
  const key = `${repository.registryHost}/${repository.repository}`
  const known = ctx.repositories.get(key)
  if (known) return known
  ctx.repositories.set(key, repository)
  return repository
}

function remember(ctx: PushContext, digests: Iterable<string>, repository: string): void {
  for (const d of digests) {
    let set = ctx.located.get(d)
    if (!set) ctx.located.set(d, (set = new Set()))
    set.add(repository)
  }
}

/** The mirror repositories other than `here` known to hold a blob: where copy() may mount it from. */
function mountSources(ctx: PushContext, here: string): (d: Descriptor) => string[] {
  return (d) => [...(ctx.located.get(d.digest) ?? [])].filter((r) => r !== here)
}

/**
 * Copy every image. Every blob is scheduled at once, each uploaded once into the repository of the
 * first image that holds it (one queue, largest first); an image starts as soon as the blobs it
 * shares with earlier images are in the mirror, so it mounts them instead of uploading them twice.
 */
async function pushImages(ctx: PushContext, images: readonly LockImage[], placements: readonly MirrorPlacement[], toSend: 'all' | ReadonlySet<string>): Promise<ReceiptImage[]> {
  const plans = await Promise.all(images.map((image) => planCopy(ctx.reader, image.digest, {tracker: ctx.tracker, image: image.source})))
  const nodes = plans.map((p) => p.nodes.map((n) => n.digest))
  // Images whose root the mirror holds already (blobsToSend) send nothing: no blob is scheduled for them.
  const uploaded = uploadBlobsOnce(ctx, images, placements, plans.map((p) => p.nodes.filter((n) => toSend === 'all' || toSend.has(n.digest))))
  const done: Promise<ReceiptImage>[] = images.map(async (image, i) => {
    const results = await Promise.all(nodes[i]!.flatMap((d) => uploaded.get(d) ?? []))
    // A blob of this image that failed in its own repository is reported, not attempted again.
    const failure = results.find((r) => r.owner === i && r.error !== undefined)
    return pushImage(ctx, image, placements[i]!, nodes[i]!, failure?.error)
  })
  const settled = await Promise.allSettled(done)
  return images.map((image, i) => {
    const r = settled[i]!
    return r.status === 'fulfilled' ? r.value : failedImage(image, placements[i]!, 'not attempted')
  })
}

/**
 * Start the upload of every blob (not manifests) into the repository of the first image that holds
 * it (its owner); returns digest -> outcome, never rejected. A failure fails the owner image; other
 * images holding that blob try it themselves.
 */
function uploadBlobsOnce(
  ctx: PushContext,
  images: readonly LockImage[],
  placements: readonly MirrorPlacement[],
  nodes: readonly Descriptor[][],
): Map<string, Promise<{owner: number; error?: unknown}>> {
  const uploaded = new Map<string, Promise<{owner: number; error?: unknown}>>()
  nodes.forEach((list, i) => {
    for (const desc of list) {
      if (isManifestDescriptor(desc) || uploaded.has(desc.digest)) continue
      const dst = repositoryFor(ctx, placements[i]!.mirror)
      const here = dst.repository
      const work = copyGraph(ctx.reader, dst, desc, {
        tracker: ctx.tracker,
        hooks: ctx.hooks,
        mountFrom: mountSources(ctx, here),
        image: images[i]!.source,
        ...(ctx.signal ? {signal: ctx.signal} : {}),
      }).then(
        (stats) => {
          addStats(ctx.stats, stats)
          remember(ctx, [desc.digest], here)
          return {owner: i}
        },
        (error: unknown) => ({owner: i, error}),
      )
      uploaded.set(desc.digest, work)
    }
  })
  return uploaded
}

async function pushImage(ctx: PushContext, image: LockImage, place: MirrorPlacement, nodes: string[], earlier?: unknown): Promise<ReceiptImage> {
  const base = failedImage(image, place, '')
  delete base.error
  try {
    if (earlier !== undefined) throw earlier
    const dst = repositoryFor(ctx, place.mirror)
    const here = dst.repository
    const {stats} = await copy(ctx.reader, image.digest, dst, place.tag ?? '', {
      tracker: ctx.tracker,
      hooks: ctx.hooks,
      mountFrom: mountSources(ctx, here),
      image: image.source,
      ...(ctx.signal ? {signal: ctx.signal} : {}),
    })
    addStats(ctx.stats, stats)
    remember(ctx, nodes, here)
    ctx.hooks.onItem?.({kind: 'image', name: image.source, status: 'pushed'})
    return {...base, status: 'pushed'}
  } catch (err) {
    if (ctx.signal?.aborted) throw err
    ;(ctx.failures ??= []).push(err)
    ctx.hooks.onItem?.({kind: 'image', name: image.source, status: 'failed', error: oneLine(err)})
    return {...base, status: 'failed', error: oneLine(err)}
  }
}

function failedImage(image: LockImage, place: MirrorPlacement, error: string): ReceiptImage {
  return {
    source: image.source,
    mirror: place.mirror,
    digest: image.digest,
    mediaType: image.mediaType,
    platforms: image.platforms,
    status: error === 'not attempted' ? 'not-attempted' : 'failed',
    error,
    discoveredBy: image.discoveredBy ?? [],
  }
}

// ---- charts -------------------------------------------------------------------------------------

interface ChartDestination {
  url: string
  display: string
  kind: ReturnType<typeof helmRepoKind>
  oci?: MirrorRegistry
}

async function chartDestination(url: string): Promise<ChartDestination> {
  const {helmRepoKind} = await import('../helm/publish.js')
  const kind = helmRepoKind(url)
  return {url, display: safeUrl(url), kind, ...(kind === 'oci' ? {oci: parseOciRepoUrl(url)} : {})}
}

async function publishCharts(
  ctx: PushContext,
  charts: readonly LockChart[],
  target: ChartDestination | undefined,
  opts: PushOptions,
  clock: () => Date,
): Promise<ReceiptChart[]> {
  if (!target) {
    if (charts.length > 0) opts.hooks?.onWarning?.(`the bundle holds ${charts.length} chart(s) but no --helm-repo was given; they were not published`)
    return charts.map((c) => ({...chartBase(c), status: 'skipped', error: 'no --helm-repo given'}))
  }
  const publisher = target.kind === 'oci' ? undefined : (await import('../helm/publish.js')).openChartPublisher(target.url, {http: ctx.session.http, ...(opts.helmAuth ? {auth: opts.helmAuth} : {}), now: clock})
  const out: ReceiptChart[] = []
  for (const chart of charts) {
    const where = `chart ${chart.name}@${chart.version}`
    try {
      if (target.oci) {
        const repo = `${formatMirrorRegistry(target.oci)}/${chart.name}`
        const dst = repositoryFor(ctx, `${repo}:${chartTag(chart.version)}`)
        const {stats} = await copy(ctx.reader, chart.digest, dst, chartTag(chart.version), {
          tracker: ctx.tracker,
          hooks: ctx.hooks,
          image: where,
          ...(ctx.signal ? {signal: ctx.signal} : {}),
        })
        addStats(ctx.stats, stats)
        out.push({...chartBase(chart), ociRef: `oci://${repo}`, status: 'pushed'})
      } else {
        const pkg = await chartPackage(ctx.reader, chart, ctx.signal)
        const {repoUrl} = await publisher!.publish(pkg, ctx.signal)
        out.push({...chartBase(chart), repoUrl, status: 'pushed'})
      }
      ctx.hooks.onItem?.({kind: 'chart', name: `${chart.name}@${chart.version}`, status: 'pushed'})
    } catch (err) {
      if (ctx.signal?.aborted) throw err
      ;(ctx.failures ??= []).push(err)
      ctx.hooks.onItem?.({kind: 'chart', name: `${chart.name}@${chart.version}`, status: 'failed', error: oneLine(err)})
      out.push({...chartBase(chart), status: 'failed', error: oneLine(err)})
    }
  }
  return out
}

function chartBase(c: LockChart): Omit<ReceiptChart, 'status'> {
  return {name: c.name, version: c.version, digest: c.digest, tgzDigest: c.tgzDigest}
}

/** The chart's .tgz and Chart.yaml metadata from its OCI artifact in the bundle (verified). */
export async function chartPackage(reader: BundleReader, chart: LockChart, signal?: AbortSignal): Promise<ChartPackage> {
  const where = `chart ${chart.name}@${chart.version} in ${reader.location}`
  const desc = await reader.resolve(chart.digest)
  const manifest = await fetchAll(reader, desc, where, undefined, signal)
  const fetchBlob = (d: Descriptor) => fetchAll(reader, d, `${where} layer ${d.digest}`, MAX_CHART_BYTES, signal)
  const tgz = await ociArtifactToChart(manifest, fetchBlob, where)
  const config = await fetchAll(reader, chartLayers(manifest, where).config, `${where} config`, 1024 * 1024, signal)
  const metadata = JSON.parse(config.toString('utf8')) as ChartMetadata
  if (metadata.name !== chart.name || metadata.version !== chart.version) {
    throw new UsageError(`${where}: its Chart.yaml says ${metadata.name}@${metadata.version}`, {hint: 'the bundle lists the chart under another name; pull it again'})
  }
  return {name: chart.name, version: chart.version, tgz, metadata}
}

/** PartialError when some items made it and others did not; the first failure when none did. */
function failIfIncomplete(receipt: PushReceipt, images: ReceiptImage[], charts: ReceiptChart[], receiptPath: string, failures: unknown[] | undefined): void {
  if (receipt.complete) return
  const failed = [...images.map((i) => ({...i, name: i.source})), ...charts.map((c) => ({...c, name: `chart ${c.name}@${c.version}`}))].filter((i) => i.status === 'failed' || i.status === 'not-attempted')
  const pushed = [...images, ...charts].filter((i) => i.status === 'pushed').length
  if (failed.length === 0) return
  const list = failed.map((f) => `${f.name}: ${f.error ?? f.status}`).join('; ')
  if (pushed === 0 && failures?.[0] instanceof AirgapError) {
    const first = failures[0]
    first.message = `${first.message} (nothing was pushed; incomplete receipt ${receiptPath})`
    throw first
  }
  throw new PartialError(`pushed ${pushed} of ${images.length + charts.length} item(s); not pushed: ${list} (incomplete receipt ${receiptPath})`, {
    hint: 'fix the cause and run the same push again: what is already in the mirror is skipped',
  })
}

// ---- split media (issue 10) ---------------------------------------------------------------------

/** Split media: what one part's push did for the whole set. */
export interface PartPushReport {
  setId: string
  part: number
  parts: number
  /** Images whose manifests this run pushed (their last blobs arrived). */
  completed: string[]
  /** Images already complete in the mirror before this run. */
  alreadyComplete: string[]
  /** Images still incomplete, with the parts whose content the mirror still lacks. */
  waiting: Array<{image: string; parts: number[]}>
  /** Every part some image still waits for, ascending (empty: the set is complete). */
  missingParts: number[]
}

/**
 * Push one part of a split set. For every image of the set: push the blobs this part holds into
 * the image's repository; then HEAD every blob the image needs; when all are in the mirror, push
 * its manifests and tag (the copy engine finds the blobs present). Images that still lack blobs
 * are reported as waiting for the parts that hold them (receipt status `not-attempted`).
 */
async function pushPartImages(
  ctx: PushContext,
  split: LockSplit,
  carried: readonly LockImage[],
  placements: readonly MirrorPlacement[],
): Promise<{images: ReceiptImage[]; waiting: Set<string>; report: PartPushReport}> {
  const here = new Set(carried.map((i) => i.source))
  const partOf = new Map(split.blobs.map((b) => [b.digest, b.part]))
  const report: PartPushReport = {setId: split.setId, part: split.part, parts: split.parts, completed: [], alreadyComplete: [], waiting: [], missingParts: []}
  const images = await Promise.all(
    split.images.map(async (image, i): Promise<ReceiptImage> => {
      const place = placements[i]!
      const base = failedImage(image, place, '')
      delete base.error
      try {
        const dst = repositoryFor(ctx, place.mirror)
        if (here.has(image.source)) await pushPartBlobs(ctx, image, dst)
        const lacking = await lackingParts(ctx, image, dst, partOf)
        if (lacking.length === 0 && here.has(image.source)) {
          const {stats} = await copy(ctx.reader, image.digest, dst, place.tag ?? '', {tracker: ctx.tracker, hooks: ctx.hooks, image: image.source, ...(ctx.signal ? {signal: ctx.signal} : {})})
          addStats(ctx.stats, stats)
          ;(stats.manifestsCopied > 0 ? report.completed : report.alreadyComplete).push(image.source)
          ctx.hooks.onItem?.({kind: 'image', name: image.source, status: 'pushed'})
          return {...base, status: 'pushed'}
        }
        if (lacking.length === 0 && (await dst.exists({mediaType: image.mediaType, digest: image.digest, size: image.size}, ctx.signal))) {
          report.alreadyComplete.push(image.source)
          return {...base, status: 'pushed'}
        }
        // Blobs missing, or (rarely) every blob there but the manifests not: any part of the image brings them.
        const parts = lacking.length > 0 ? lacking : image.parts
        report.waiting.push({image: image.source, parts})
        return {...base, status: 'not-attempted', error: `waiting for part(s) ${parts.join(', ')} of ${split.parts}`}
      } catch (err) {
        if (ctx.signal?.aborted) throw err
        ;(ctx.failures ??= []).push(err)
        ctx.hooks.onItem?.({kind: 'image', name: image.source, status: 'failed', error: oneLine(err)})
        return {...base, status: 'failed', error: oneLine(err)}
      }
    }),
  )
  report.waiting.sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0))
  report.missingParts = [...new Set(report.waiting.flatMap((w) => w.parts))].sort((a, b) => a - b)
  return {images, waiting: new Set(report.waiting.map((w) => w.image)), report}
}

/** Push the layers and configs of `image` that this part holds (each verified as it streams out). */
async function pushPartBlobs(ctx: PushContext, image: LockSplitImage, dst: RegistryRepository): Promise<void> {
  const {nodes} = await planCopy(ctx.reader, image.digest, {tracker: ctx.tracker, image: image.source, ...(ctx.signal ? {signal: ctx.signal} : {})})
  const blobs = nodes.filter((d) => !isManifestDescriptor(d))
  const held = (await Promise.all(blobs.map(async (d) => ((await ctx.reader.exists(d)) ? d : undefined)))).filter((d): d is Descriptor => d !== undefined)
  const from = dst.repository
  await Promise.all(
    held.map(async (d) => {
      const stats = await copyGraph(ctx.reader, dst, d, {
        tracker: ctx.tracker,
        hooks: ctx.hooks,
        mountFrom: mountSources(ctx, from),
        image: image.source,
        ...(ctx.signal ? {signal: ctx.signal} : {}),
      })
      addStats(ctx.stats, stats)
      remember(ctx, [d.digest], from)
    }),
  )
}

/** Parts holding blobs of `image` that its mirror repository lacks (HEAD each blob), ascending. */
async function lackingParts(ctx: PushContext, image: LockSplitImage, dst: RegistryRepository, partOf: ReadonlyMap<string, number>): Promise<number[]> {
  const lacking = new Set<number>()
  await Promise.all(
    image.blobs.map(async (digest) => {
      const present = await ctx.tracker.queue.add(() => dst.exists({mediaType: 'application/octet-stream', digest, size: 0}, ctx.signal))
      // A blob no part owns (shared with a chart) travels in every part of the image.
      if (!present) for (const p of partOf.has(digest) ? [partOf.get(digest)!] : image.parts) lacking.add(p)
    }),
  )
  return [...lacking].sort((a, b) => a - b)
}
