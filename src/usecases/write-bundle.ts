/**
 * writeBundle(): the signed bundle, end to end. `airgap pull` calls it once it knows which images
 * and charts to carry.
 *
 *  1. plan: resolve every root once (pinned by digest from then on), narrow indexes to the wanted
 *     platforms exactly as copy() does, and walk the manifests to list every blob with its size;
 *  2. open the BundleWriter with all blobs (a rerun after a crash keeps what was journaled);
 *  3. copy every image and chart into the writer with ONE CopyTracker: each unique blob is fetched
 *     once, largest first, at the session's concurrency; blobs already written are skipped;
 *  4. index.json (ref.name = full source reference), airgap/lock.json, the Sigstore signature over
 *     the lock, airgap/spec.yaml; finish (atomic rename).
 */
import type {KeyObject} from 'node:crypto'
import {setMaxListeners} from 'node:events'
import {setTimeout as delay} from 'node:timers/promises'
import type {ReadOnlyTarget, Target} from '../content/types.js'
import {fetchAll} from '../content/verify.js'
import {digestOf} from '../oci/digest.js'
import {copy, CopyTracker, addStats, emptyStats, type CopyHooks, type CopyStats} from '../copy/index.js'
import {planCopy, type CopyPlan} from '../copy/plan.js'
import {IntegrityError, InternalError, NetworkError, UsageError} from '../errors.js'
import {isIndexMediaType, isManifestMediaType, parseManifest} from '../oci/manifest.js'
import {formatPlatform, normalizePlatform} from '../oci/platform.js'
import {MediaType, type Descriptor, type Platform} from '../oci/types.js'
import {keyFingerprint, serializeBundle, signBlob} from '../signing/index.js'
import type {LockUpstreamVerification} from '../bundle/lock-upstream.js'
import {createLock, serializeLock, type BundleLock, type LockChart, type LockDiscovery, type LockExpectedBlob, type LockImage, type LockMissing, type LockSignature} from '../bundle/lock.js'
import {BundleWriter, buildIndexJson} from '../bundle/index.js'
import {writeParts, type PartResult, type SplitResult} from './write-parts.js'

/** One image (or any OCI artifact) to carry. */
export interface BundleImageInput {
  /** Where to read it from (a registry repository, a layout, another bundle). */
  source: ReadOnlyTarget
  /** What to resolve in `source`: a tag, a digest or a ref.name. */
  ref: string
  /** Full normalised source reference, e.g. `docker.io/wandb/local:0.62.2`: the ref.name in the bundle. */
  name: string
  discoveredBy?: LockDiscovery[]
}

/** A Helm chart stored as an OCI artifact (it is copied like an image and listed under `charts`). */
export interface BundleChartInput extends BundleImageInput {
  chart: Omit<LockChart, 'digest'>
}

/** An upstream signature artifact (cosign tag or OCI referrer) carried with its image. */
export interface BundleSignatureInput extends BundleImageInput {
  signature: Pick<LockSignature, 'subject' | 'kind'>
}

/** What the mirror already holds (`airgap pull --since`): see src/delta. */
export interface BundleHaveList {
  has(digest: string): boolean
  /** Mirror repositories known to hold the digest (mount candidates for push). */
  repositories(digest: string): string[]
}

export interface BundleHooks extends CopyHooks {
  /** After planning: every blob of the bundle, and what is still to be fetched. */
  onPlanned?(plan: {images: number; blobs: number; bytes: number; missingBlobs: number; missingBytes: number}): void
  /** Split bundles: a part was written (or kept from an earlier run). */
  onPart?(part: PartResult): void
  /** Something the user must know (e.g. a blob larger than --max-part-size). */
  onWarning?(message: string): void
}

export interface WriteBundleOptions {
  images: readonly BundleImageInput[]
  charts?: readonly BundleChartInput[]
  /** Path of the bundle tarball to write. */
  out: string
  /** Seconds since the epoch for every mtime and `created` (SOURCE_DATE_EPOCH; default 0). */
  epoch?: number
  /** Keep only these platforms of multi-platform images (default all). */
  platforms?: readonly Platform[]
  /** Sign airgap/lock.json with this key pair (a Sigstore bundle in airgap/signature.sigstore.json). */
  signKey?: {privateKey: KeyObject; publicKey: KeyObject}
  /** Stored as airgap/spec.yaml and pinned in the lock. */
  specBytes?: Buffer
  /** Images found but not carried, recorded in the lock's `missing` (issue 4). */
  missing?: readonly LockMissing[]
  /** `createdBy` in the lock (default `airgap`). */
  createdBy?: string
  hooks?: BundleHooks
  /** Blob transfers in flight (default 3). */
  concurrency?: number
  signal?: AbortSignal
  /** On resume, re-hash blobs kept from the interrupted run (default false: trust the fsync'd journal). */
  verifyResumed?: boolean
  /**
   * Split media: write parts of at most this many bytes (`<out>.part-001-of-00N.tar` …) instead of
   * one bundle; see src/usecases/write-parts.ts.
   */
  maxPartSize?: number
  /** Split media: overwrite part files that belong to another set (default: refuse). */
  force?: boolean
  /**
   * Write a delta: image blobs (not manifests, not chart content) on this list are left out and
   * recorded in the lock's `expectedInMirror`.
   */
  have?: BundleHaveList
  /** Upstream signatures and attestations to carry (index.json entries + the lock's `signatures`). */
  signatures?: readonly BundleSignatureInput[]
  /** `pull --verify-upstream`: the verdicts, recorded in the lock (and so signed). */
  upstreamVerification?: LockUpstreamVerification | undefined
}

export interface WriteBundleResult {
  path: string
  /** Size of the bundle file in bytes. */
  size: number
  lock: BundleLock
  /** sha256 of airgap/lock.json (what the signature covers). */
  lockDigest: string
  signed: boolean
  /** Fingerprint (`sha256:` of the SPKI DER) of the signing key. */
  signer?: string
  /** What this run transferred (a resumed run transfers only what was missing). */
  stats: CopyStats
  seconds: number
  /** Split media: the parts written; `path` is part 1, `size` the sum, `lock` the set seen as one bundle. */
  split?: SplitResult
}

export interface Planned {
  input: BundleImageInput
  chart?: BundleChartInput['chart']
  signature?: BundleSignatureInput['signature']
  plan: CopyPlan
  platforms: string[]
}

/** Write a bundle tarball holding `images` and `charts`; see the module comment for the phases. */
export async function writeBundle(opts: WriteBundleOptions): Promise<WriteBundleResult> {
  const started = performance.now()
  const items = [
    ...opts.images.map((input) => ({input})),
    ...(opts.charts ?? []).map((c) => ({input: c as BundleImageInput, chart: c.chart})),
    ...(opts.signatures ?? []).map((s) => ({input: s as BundleImageInput, signature: s.signature})),
  ]
  checkNames(items.map((i) => i.input.name))
  const tracker = new CopyTracker({concurrency: opts.concurrency ?? 3})
  const hooks = opts.hooks ?? {}
  // Every queued transfer listens on the signal: a private one avoids Node's 10-listener warning.
  const signal = opts.signal ? AbortSignal.any([opts.signal]) : undefined
  if (signal) setMaxListeners(0, signal)

  // Phase 1: plan.
  const planned = await Promise.all(items.map((item) => planItem(item, opts.platforms, tracker, signal)))
  const {blobs, expected} = splitDelta(planned, opts.have)
  if (opts.maxPartSize !== undefined) return writeParts({opts, planned, expected, tracker, signal, started})

  // Phase 2: open (or resume) the writer with every blob.
  const writer = await BundleWriter.open({out: opts.out, epoch: opts.epoch ?? 0, blobs, ...(opts.verifyResumed ? {verifyResumed: true} : {})})
  try {
    const missing = writer.missing()
    hooks.onPlanned?.({
      images: planned.length,
      blobs: blobs.length,
      bytes: sum(blobs),
      missingBlobs: missing.length,
      missingBytes: sum(missing),
    })

    // Phase 3: copy everything with one tracker (dedupe across images, largest blobs first).
    const dst = storageAsTarget(writer, new Set(expected.map((e) => e.digest)))
    const stats = emptyStats()
    const results = await Promise.allSettled(
      planned.map(async ({input, plan}) => {
        const {descriptor, stats: s} = await copy(input.source, plan.resolved.digest, dst, '', {
          ...(opts.platforms?.length ? {platforms: opts.platforms} : {}),
          tracker,
          hooks,
          ...(signal ? {signal} : {}),
          image: input.name,
        })
        addStats(stats, s)
        if (descriptor.digest !== plan.root.digest) {
          throw new InternalError(`${input.name}: copied root ${descriptor.digest} differs from the planned ${plan.root.digest}`, {
            hint: 'this is a bug in airgap: please report it',
          })
        }
      }),
    )
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
    if (failed) throw failed.reason

    // Phase 4: metadata, signature, finish.
    const indexJson = buildIndexJson(planned.map((p) => ({ref: p.input.name, desc: p.plan.root})))
    const lock = createLock({
      createdBy: opts.createdBy ?? 'airgap',
      epoch: opts.epoch ?? 0,
      indexJson,
      images: planned.filter((p) => !p.chart && !p.signature).map(lockImage),
      charts: planned.flatMap((p) => (p.chart ? [{...p.chart, digest: p.plan.root.digest}] : [])),
      blobs: {count: blobs.length, bytes: sum(blobs)},
      ...(opts.specBytes ? {specBytes: opts.specBytes} : {}),
      ...(opts.missing?.length ? {missing: opts.missing} : {}),
      ...(expected.length ? {expectedInMirror: expected} : {}),
      ...(planned.some((p) => p.signature) ? {signatures: planned.flatMap(lockSignature)} : {}),
      upstreamVerification: opts.upstreamVerification,
    })
    const lockBytes = serializeLock(lock)
    const signKey = opts.signKey
    const {path, size} = await writer.finish({
      indexJson,
      files: {'airgap/lock.json': lockBytes, ...(opts.specBytes ? {'airgap/spec.yaml': opts.specBytes} : {})},
      ...(signKey ? {sign: async (bytes: Buffer) => Buffer.from(serializeBundle(signBlob(bytes, signKey.privateKey, signKey.publicKey)))} : {}),
    })
    return {
      path,
      size,
      lock,
      lockDigest: digestOf(lockBytes),
      signed: signKey !== undefined,
      ...(signKey ? {signer: keyFingerprint(signKey.publicKey)} : {}),
      stats,
      seconds: Math.round(performance.now() - started) / 1000,
    }
  } finally {
    await writer.close()
  }
}

function checkNames(names: string[]): void {
  const seen = new Set<string>()
  for (const name of names) {
    if (seen.has(name)) throw new UsageError(`${name} is listed twice`, {hint: 'list every image and chart once'})
    seen.add(name)
  }
}

async function planItem(
  item: {input: BundleImageInput; chart?: BundleChartInput['chart']; signature?: BundleSignatureInput['signature']},
  platforms: readonly Platform[] | undefined,
  tracker: CopyTracker,
  signal: AbortSignal | undefined,
): Promise<Planned> {
  const {input} = item
  const plan = await planCopy(input.source, input.ref, {
    ...(platforms?.length ? {platforms} : {}),
    tracker,
    ...(signal ? {signal} : {}),
    image: input.name,
  })
  const kept = plan.platforms.length > 0 ? plan.platforms : await manifestPlatform(input, plan, tracker, signal)
  return {input, plan, platforms: kept, ...(item.chart ? {chart: item.chart} : {}), ...(item.signature ? {signature: item.signature} : {})}
}

/** The platform of a single image (from its config), or [] for artifacts such as Helm charts. */
async function manifestPlatform(input: BundleImageInput, plan: CopyPlan, tracker: CopyTracker, signal: AbortSignal | undefined): Promise<string[]> {
  if (!isManifestMediaType(plan.root.mediaType)) return []
  const bytes = tracker.cache.get(plan.root.digest) ?? (await fetchAll(input.source, plan.root, input.name, undefined, signal))
  const parsed = parseManifest(bytes, plan.root.mediaType, input.name)
  if (parsed.kind !== 'manifest') return []
  const config = parsed.manifest.config
  if (config.mediaType !== MediaType.OciConfig && config.mediaType !== MediaType.DockerConfig) return []
  const raw = await fetchSmallWithRetry(() => fetchAll(input.source, config, `${input.name} config`, 1024 * 1024, signal), signal)
  const c = JSON.parse(raw.toString('utf8')) as {os?: unknown; architecture?: unknown; variant?: unknown}
  if (typeof c.os !== 'string' || typeof c.architecture !== 'string' || !c.os || !c.architecture) return []
  const p: Platform = {os: c.os, architecture: c.architecture, ...(typeof c.variant === 'string' && c.variant ? {variant: c.variant} : {})}
  return [formatPlatform(normalizePlatform(p))]
}

/**
 * Fetch a small blob during planning, a second and third time when the first read broke or came
 * back damaged (the copy engine does the same for the transfers themselves).
 */
async function fetchSmallWithRetry(fetchOnce: () => Promise<Buffer>, signal: AbortSignal | undefined): Promise<Buffer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetchOnce()
    } catch (err) {
      const transient = err instanceof IntegrityError || err instanceof NetworkError
      if (attempt >= 3 || !transient || signal?.aborted) throw err
      await delay(250 * attempt, undefined, signal ? {signal} : {})
    }
  }
}

export function lockImage(p: Planned): LockImage {
  const {root, nodes} = p.plan
  return {
    source: p.input.name,
    digest: root.digest,
    mediaType: root.mediaType,
    size: root.size,
    platforms: p.platforms,
    bytes: sum(nodes),
    ...(p.input.discoveredBy?.length ? {discoveredBy: p.input.discoveredBy} : {}),
  }
}

export function lockSignature(p: Planned): LockSignature[] {
  if (!p.signature) return []
  const {root} = p.plan
  return [{...p.signature, ref: p.input.name, digest: root.digest, mediaType: root.mediaType, size: root.size}]
}

/**
 * The blobs to store, and (for a delta) the blobs left out because the mirror holds them:
 * manifests and indexes are always stored, and so is everything a chart needs (push may publish
 * it to a classic Helm repository, which needs the .tgz bytes).
 */
function splitDelta(planned: readonly Planned[], have: BundleHaveList | undefined): {blobs: Descriptor[]; expected: LockExpectedBlob[]} {
  const all = uniqueNodes(planned.flatMap((p) => p.plan.nodes))
  if (!have) return {blobs: all, expected: []}
  const chartNodes = new Set(planned.filter((p) => p.chart).flatMap((p) => p.plan.nodes.map((n) => n.digest)))
  const leaveOut = (d: Descriptor): boolean => !isManifestMediaType(d.mediaType) && !isIndexMediaType(d.mediaType) && !chartNodes.has(d.digest) && have.has(d.digest)
  const expected = all.filter(leaveOut).map((d): LockExpectedBlob => {
    const repositories = have.repositories(d.digest)
    return {digest: d.digest, size: d.size, mediaType: d.mediaType, ...(repositories.length ? {repositories} : {})}
  })
  return {blobs: all.filter((d) => !leaveOut(d)), expected}
}

function uniqueNodes(nodes: Descriptor[]): Descriptor[] {
  const byDigest = new Map<string, Descriptor>()
  for (const n of nodes) if (!byDigest.has(n.digest)) byDigest.set(n.digest, n)
  return [...byDigest.values()]
}

export function sum(descs: readonly Descriptor[]): number {
  return descs.reduce((n, d) => n + d.size, 0)
}

/**
 * The writer as a copy destination: copy() never tags when given an empty destination ref. Blobs
 * of a delta that the mirror holds (`expected`) count as present, so copy() skips them.
 */
export function storageAsTarget(writer: BundleWriter, expected: ReadonlySet<string> = new Set()): Target {
  const refuse = (op: string) => (): Promise<never> =>
    Promise.reject(new UsageError(`${writer.location}: ${op} is not supported while writing a bundle`, {hint: 'this is a bug in airgap: please report it'}))
  return {
    location: writer.location,
    verifiesPushedContent: writer.verifiesPushedContent,
    exists: (d) => (expected.has(d.digest) ? Promise.resolve(true) : writer.exists(d)),
    fetch: (d) => writer.fetch(d),
    push: (d, body, s) => writer.push(d, body, s),
    resolve: refuse('resolve'),
    tag: refuse('tag'),
  } as Target
}
