/**
 * What a bundle carries, planned once before anything is written (phase 1 of writeBundle): every
 * image, chart and signature resolved and pinned by digest, indexes narrowed to the wanted
 * platforms exactly as copy() does, every node listed with its size; the blobs to store and, for a
 * delta, the blobs left out because the mirror holds them; and the lock entries the items make.
 */
import {setTimeout as delay} from 'node:timers/promises'
import type {ReadOnlyTarget} from '../content/types.js'
import {fetchAll} from '../content/verify.js'
import type {CopyTracker} from '../copy/index.js'
import {planCopy, type CopyPlan} from '../copy/plan.js'
import {IntegrityError, NetworkError, UsageError} from '../errors.js'
import {isIndexMediaType, isManifestMediaType, parseManifest} from '../oci/manifest.js'
import {formatPlatform, normalizePlatform} from '../oci/platform.js'
import {MediaType, type Descriptor, type Platform} from '../oci/types.js'
import type {LockChart, LockDiscovery, LockExpectedBlob, LockImage, LockServerManifest, LockSignature} from '../bundle/lock.js'

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

/**
 * The W&B v2 server manifest (an OCI artifact): carried unchanged, every platform of an index kept
 * whatever `platforms` says, under its full source name; listed in the lock's `serverManifest`.
 */
export interface BundleServerManifestInput extends BundleImageInput {
  serverManifest: Pick<LockServerManifest, 'version' | 'requiredOperatorVersion' | 'operatorChartVersion'>
}

/** What the mirror already holds (`airgap pull --since`): see src/delta. */
export interface BundleHaveList {
  has(digest: string): boolean
  /** Mirror repositories known to hold the digest (mount candidates for push). */
  repositories(digest: string): string[]
}

/** What to plan: the inputs, the platforms to keep, and for a delta what the mirror holds. */
export interface ContentsInput {
  images: readonly BundleImageInput[]
  charts?: readonly BundleChartInput[]
  signatures?: readonly BundleSignatureInput[]
  serverManifest?: BundleServerManifestInput
  /** Keep only these platforms of multi-platform images (default all). */
  platforms?: readonly Platform[]
  have?: BundleHaveList
}

/** One image, chart or signature after planning. */
export interface PlannedItem {
  input: BundleImageInput
  chart?: BundleChartInput['chart']
  signature?: BundleSignatureInput['signature']
  serverManifest?: BundleServerManifestInput['serverManifest']
  plan: CopyPlan
  /** Platforms kept (`os/arch[/variant]`), as the lock lists them. */
  platforms: string[]
}

/** Everything a bundle (or a set of parts) carries. */
export interface PlannedContents {
  items: PlannedItem[]
  /** Every blob to store, each once. */
  blobs: Descriptor[]
  /** A delta's blobs that the mirror holds: stored nowhere, listed in the lock's `expectedInMirror`. */
  expected: LockExpectedBlob[]
}

/** What onPlanned reports: every blob of the bundle, and what is still to be fetched. */
export interface PlannedTotals {
  images: number
  blobs: number
  bytes: number
  missingBlobs: number
  missingBytes: number
}

/** Plan every item with the shared tracker (each root resolved once); see the module comment. */
export async function planContents(input: ContentsInput, tracker: CopyTracker, signal: AbortSignal | undefined): Promise<PlannedContents> {
  const items = [
    ...input.images.map((i) => ({input: i})),
    ...(input.charts ?? []).map((c) => ({input: c as BundleImageInput, chart: c.chart})),
    ...(input.signatures ?? []).map((s) => ({input: s as BundleImageInput, signature: s.signature})),
    ...[input.serverManifest].flatMap((m) => (m === undefined ? [] : [{input: m as BundleImageInput, serverManifest: m.serverManifest}])),
  ]
  checkNames(items.map((i) => i.input.name))
  const planned = await Promise.all(items.map((item) => planItem(item, input.platforms, tracker, signal)))
  return {items: planned, ...splitDelta(planned, input.have)}
}

/** The images of `items` (not charts, not signatures), as the lock lists them. */
export function lockImages(items: readonly PlannedItem[]): LockImage[] {
  return items.filter((p) => !p.chart && !p.signature && !p.serverManifest).map(lockImage)
}

/** The server manifest of `items`, as the lock lists it (undefined when none). */
export function lockServerManifest(items: readonly PlannedItem[]): LockServerManifest | undefined {
  const item = items.find((p) => p.serverManifest !== undefined)
  if (item?.serverManifest === undefined) return undefined
  const {root} = item.plan
  return {source: item.input.name, ...item.serverManifest, digest: root.digest, mediaType: root.mediaType, size: root.size}
}

/** The platforms to keep for one item: every platform of the server manifest, the asked ones of the rest. */
export function itemPlatforms(item: Pick<PlannedItem, 'serverManifest'>, platforms: readonly Platform[] | undefined): readonly Platform[] | undefined {
  return item.serverManifest === undefined ? platforms : undefined
}

/** The charts of `items`, as the lock lists them. */
export function lockCharts(items: readonly PlannedItem[]): LockChart[] {
  return items.flatMap((p) => (p.chart ? [{...p.chart, digest: p.plan.root.digest}] : []))
}

/** The signatures of `items`, as the lock lists them. */
export function lockSignatures(items: readonly PlannedItem[]): LockSignature[] {
  return items.flatMap((p) => {
    if (!p.signature) return []
    const {root} = p.plan
    return [{...p.signature, ref: p.input.name, digest: root.digest, mediaType: root.mediaType, size: root.size}]
  })
}

export function sumSizes(descs: readonly Descriptor[]): number {
  return descs.reduce((n, d) => n + d.size, 0)
}

function lockImage(p: PlannedItem): LockImage {
  const {root, nodes} = p.plan
  return {
    source: p.input.name,
    digest: root.digest,
    mediaType: root.mediaType,
    size: root.size,
    platforms: p.platforms,
    bytes: sumSizes(nodes),
    discoveredBy: p.input.discoveredBy?.length ? p.input.discoveredBy : undefined,
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
  item: {input: BundleImageInput; chart?: BundleChartInput['chart']; signature?: BundleSignatureInput['signature']; serverManifest?: BundleServerManifestInput['serverManifest']},
  platforms: readonly Platform[] | undefined,
  tracker: CopyTracker,
  signal: AbortSignal | undefined,
): Promise<PlannedItem> {
  const {input} = item
  const plan = await planCopy(input.source, input.ref, {platforms: itemPlatforms(item, platforms), tracker, signal, image: input.name})
  const kept = plan.platforms.length > 0 ? plan.platforms : await manifestPlatform(input, plan, tracker, signal)
  return {input, plan, platforms: kept, chart: item.chart, signature: item.signature, serverManifest: item.serverManifest}
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
  const variant = typeof c.variant === 'string' && c.variant ? c.variant : undefined
  return [formatPlatform(normalizePlatform({os: c.os, architecture: c.architecture, variant}))]
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
      await delay(250 * attempt, undefined, {signal})
    }
  }
}

/**
 * The blobs to store, and (for a delta) the blobs left out because the mirror holds them:
 * manifests and indexes are always stored, and so is everything a chart needs (push may publish
 * it to a classic Helm repository, which needs the .tgz bytes) and the server manifest (rewrite's
 * file:// route reads its files from the bundle).
 */
function splitDelta(planned: readonly PlannedItem[], have: BundleHaveList | undefined): {blobs: Descriptor[]; expected: LockExpectedBlob[]} {
  const all = uniqueNodes(planned.flatMap((p) => p.plan.nodes))
  if (!have) return {blobs: all, expected: []}
  const chartNodes = new Set(planned.filter((p) => p.chart || p.serverManifest).flatMap((p) => p.plan.nodes.map((n) => n.digest)))
  const leaveOut = (d: Descriptor): boolean => !isManifestMediaType(d.mediaType) && !isIndexMediaType(d.mediaType) && !chartNodes.has(d.digest) && have.has(d.digest)
  const expected = all.filter(leaveOut).map((d): LockExpectedBlob => {
    const repositories = have.repositories(d.digest)
    return {digest: d.digest, size: d.size, mediaType: d.mediaType, repositories: repositories.length ? repositories : undefined}
  })
  return {blobs: all.filter((d) => !leaveOut(d)), expected}
}

function uniqueNodes(nodes: Descriptor[]): Descriptor[] {
  const byDigest = new Map<string, Descriptor>()
  for (const n of nodes) if (!byDigest.has(n.digest)) byDigest.set(n.digest, n)
  return [...byDigest.values()]
}
