/**
 * The push plan, pure (no I/O): from what the verified bundle holds and what the survey found in
 * the mirror (survey.ts), everything `airgap push` will do, decided before the first write:
 *  - placements: where each image goes; two sources landing in one mirror repository are refused;
 *  - per image, what the mirror holds already, and each blob's upload, once, by the first image
 *    that needs it (the others mount it from there);
 *  - the blobs to hash before the first write: all that may be sent (every blob with
 *    --full-verify and for a part of a split set);
 *  - delta bundles: every blob left out is in place or mounted from another repository, or the
 *    push is refused listing the missing ones;
 *  - charts and where they go; the carried signatures;
 *  - split media: per image of the set, whether this part carries it and which of its blobs.
 */
import type {LockChart, LockExpectedBlob, LockImage, LockSignature, LockSplit, LockSplitImage} from '../../bundle/lock.js'
import {isManifestDescriptor} from '../../copy/index.js'
import {NotFoundError} from '../../errors.js'
import {chartTag} from '../../helm/oci.js'
import type {HelmRepoKind} from '../../helm/publish.js'
import {formatMirrorRegistry, mirrorRepository, planMirror, type MirrorPlacement, type MirrorRegistry, type PathRules} from '../../mirror/mapping.js'
import type {ReceiptConnection} from '../../mirror/receipt.js'
import {parseReference} from '../../oci/reference.js'
import type {Descriptor} from '../../oci/types.js'
import type {VerifyReport} from '../verify.js'

/** What the user asked for, parsed (before the bundle is opened). */
export interface PushRequest {
  registry: MirrorRegistry
  keepSourceHost: boolean
  /** --max-nested-paths, --flatten: applied to every image, signature and delta repository. */
  pathRules: PathRules
  /** How the mirror is reached (recorded in the receipt). */
  connection: ReceiptConnection
  /** Hash every blob of the bundle, also those of images the mirror holds. */
  fullVerify: boolean
  /** Where charts go (--helm-repo); none: charts are not published. */
  charts?: ChartDestination
}

export interface ChartDestination {
  url: string
  /** The URL without credentials. */
  display: string
  kind: HelmRepoKind
  /** For oci:// destinations, the registry and path. */
  oci?: MirrorRegistry
}

/** What the verified bundle lists (its lock). */
export type PushContents = Pick<VerifyReport, 'images' | 'charts' | 'signatures' | 'expectedInMirror' | 'split'>

/** Every node of each graph in the bundle (root first, each digest once), by root digest. */
export type Graphs = ReadonlyMap<string, readonly Descriptor[]>

/** What the mirror holds of an image: its tag names the digest, the manifest is there, or not. */
export type RootState = 'tagged' | 'present' | 'absent'

/** An image or carried signature still to push (delta preflight), with its mirror repository path. */
export interface DeltaItem {
  name: string
  root: Descriptor
  /** Repository path inside the mirror host. */
  repository: string
}

/** A blob a delta bundle leaves out, needed by an item in its repository, and where else to look. */
export interface ExpectedNeed {
  item: string
  /** Repository path inside the mirror host. */
  repository: string
  blob: Descriptor
  /** Other repository paths of the mirror that may hold it (have-list hint first, then the bundle's). */
  candidates: string[]
}

/** Where the survey found an expected blob: in place, in another repository, or (neither) nowhere. */
export interface LocatedBlob extends ExpectedNeed {
  present: boolean
  mountFrom?: string
}

/** What the survey asks the mirror. */
export interface SurveyQuestions {
  /** Each image's mirror reference, tag and root; absent: not asked (--full-verify, split parts). */
  images?: ReadonlyArray<{mirror: string; tag?: string; root: Descriptor}>
  /** Delta bundles: every image and signature with its repository path, and the blobs left out. */
  delta?: {items: readonly DeltaItem[]; expected: readonly LockExpectedBlob[]; graphs: Graphs}
}

/**
 * What a placement's tag names in the mirror now: a digest, `none` (no such tag) or `unknown` (the
 * mirror answered with a server error). The rollback check reads it instead of asking again.
 */
export type TagNow = {digest: string} | 'none' | 'unknown'

/** The digest a tag names now, when the mirror said (undefined: no such tag, no tag, or no answer). */
export function taggedDigest(now: TagNow | undefined): string | undefined {
  return typeof now === 'object' ? now.digest : undefined
}

/** What the survey found in the mirror, as plain data. */
export interface MirrorSurvey {
  /** Per placement, in order; absent when the mirror was not asked (--full-verify, split parts). */
  images?: RootState[]
  /** Per placement, in order, alongside `images`: what its tag names now (undefined: it has no tag). */
  tags?: Array<TagNow | undefined>
  /** Delta bundles: every expected blob an item still to push needs, located. */
  expected: LocatedBlob[]
}

export interface ImagePlan {
  image: LockImage
  placement: MirrorPlacement
  /** What the mirror holds; `unknown` when it was not asked (then every blob goes to the copy engine, which checks each). */
  mirror: RootState | 'unknown'
  /** Every node of the image's graph, root first. */
  nodes: readonly Descriptor[]
}

/** One blob upload, into the repository of image `owner` (an index into PushPlan.images). */
export interface PlannedUpload {
  blob: Descriptor
  owner: number
}

/** A cross-repository mount of an expected blob before the images are pushed. */
export interface PlannedMount {
  /** Repository paths inside the mirror host. */
  repository: string
  from: string
  blob: Descriptor
}

export interface DeltaPlan {
  /** Blobs the bundle leaves out (lock expectedInMirror). */
  expected: number
  /** Needs found in place. */
  present: number
  mounts: PlannedMount[]
}

export interface ChartPlan {
  chart: LockChart
  /** For oci:// destinations: the repository reference (`HOST/PATH/name`) and tag. */
  oci?: {repository: string; tag: string}
}

export interface PartImagePlan {
  image: LockSplitImage
  placement: MirrorPlacement
  /** This part carries the image (its manifests, some of its blobs). */
  carried: boolean
  /** The image's layers and configs this part holds. */
  blobsHere: Descriptor[]
}

export interface PartPlan {
  split: LockSplit
  images: PartImagePlan[]
}

export interface PushPlan {
  registry: MirrorRegistry
  keepSourceHost: boolean
  pathRules: PathRules
  connection: ReceiptConnection
  /** Images of a whole bundle; empty for a part of a split set (see `part`). */
  images: ImagePlan[]
  uploads: PlannedUpload[]
  /** Blobs to hash before the first write. */
  hash: 'all' | ReadonlySet<string>
  delta?: DeltaPlan
  charts: ChartPlan[]
  chartDestination?: ChartDestination
  signatures: LockSignature[]
  part?: PartPlan
}

export interface PlanInput {
  contents: PushContents
  request: PushRequest
  /** From placeImages(). */
  placements: readonly MirrorPlacement[]
  graphs: Graphs
  /** Digests of the blobs the bundle file holds (a part of a split set holds some). */
  held: ReadonlySet<string>
  survey: MirrorSurvey
}

/**
 * Place every image (a part of a split set: every image of the set, so that each part's receipt
 * covers the whole set); refuses collisions (UsageError) before anything is written.
 */
export function placeImages(contents: PushContents, request: PushRequest): MirrorPlacement[] {
  return planMirror(contents.split ? contents.split.images : contents.images, request.registry, request.keepSourceHost, request.pathRules)
}

/** The graphs to read from the bundle: every image it carries, every chart and signature. */
export function graphRoots(contents: PushContents): Array<{digest: string; name: string}> {
  return [
    ...contents.images.map((i) => ({digest: i.digest, name: i.source})),
    ...contents.charts.map((c) => ({digest: c.digest, name: `${c.name}@${c.version}`})),
    ...(contents.signatures ?? []).map((s) => ({digest: s.digest, name: s.ref})),
  ]
}

/**
 * What to ask the mirror: each image's tag or manifest, unless every blob is sent anyway
 * (--full-verify: the copy engine checks each; a split part: its own flow); for a delta bundle,
 * where the blobs it leaves out are.
 */
export function surveyQuestions(contents: PushContents, request: PushRequest, placements: readonly MirrorPlacement[], graphs: Graphs): SurveyQuestions {
  const askImages = !request.fullVerify && !contents.split
  return {
    images: askImages ? placements.map((p, i) => ({mirror: p.mirror, tag: p.tag, root: rootOf(contents.images[i]!)})) : undefined,
    delta: contents.expectedInMirror?.length ? {items: deltaItems(contents, request, placements), expected: contents.expectedInMirror, graphs} : undefined,
  }
}

/** The whole plan; throws NotFoundError when a delta bundle's blobs are not in the mirror. */
export function planPush(input: PlanInput): PushPlan {
  const {contents, request, placements, graphs, survey} = input
  const nodesOf = (digest: string): readonly Descriptor[] => graphs.get(digest) ?? []
  const images = contents.split
    ? []
    : contents.images.map((image, i): ImagePlan => ({image, placement: placements[i]!, mirror: survey.images?.[i] ?? 'unknown', nodes: nodesOf(image.digest)}))
  const charts = contents.charts.map((chart) => planChart(chart, request.charts))
  return {
    registry: request.registry,
    keepSourceHost: request.keepSourceHost,
    pathRules: request.pathRules,
    connection: request.connection,
    images,
    uploads: planUploads(images),
    hash: request.fullVerify || contents.split ? 'all' : blobsToHash(images, charts, nodesOf),
    delta: contents.expectedInMirror?.length ? planDelta(survey.expected, contents.expectedInMirror.length, request.registry.host) : undefined,
    charts,
    chartDestination: request.charts,
    signatures: contents.signatures ?? [],
    part: contents.split ? planPart(contents.split, contents.images, placements, graphs, input.held) : undefined,
  }
}

/** `HOST/PREFIX/path` of the mirror repository for a source repository or reference, under the plan's path rules. */
export function mirrorRepositoryOf(plan: Pick<PushPlan, 'registry' | 'keepSourceHost' | 'pathRules'>, source: string): string {
  return `${plan.registry.host}/${mirrorRepository(parseReference(source), plan.registry, plan.keepSourceHost, plan.pathRules)}`
}

/** The root descriptor of a lock image or signature. */
export function rootOf(item: {mediaType: string; digest: string; size: number}): Descriptor {
  return {mediaType: item.mediaType, digest: item.digest, size: item.size}
}

/**
 * Every blob (not manifest) of the images the mirror may lack, once, owned by the first image
 * that holds it; images the mirror holds send nothing.
 */
function planUploads(images: readonly ImagePlan[]): PlannedUpload[] {
  const uploads: PlannedUpload[] = []
  const scheduled = new Set<string>()
  images.forEach((plan, owner) => {
    if (plan.mirror === 'tagged' || plan.mirror === 'present') return
    for (const blob of plan.nodes) {
      if (isManifestDescriptor(blob) || scheduled.has(blob.digest)) continue
      scheduled.add(blob.digest)
      uploads.push({blob, owner})
    }
  })
  return uploads
}

/**
 * What may be sent: every node of the images the mirror does not hold (or was not asked about)
 * and of every chart (charts are always checked). A registry only accepts a manifest whose
 * content it has, so an image whose manifest is there sends nothing and is not re-read.
 */
function blobsToHash(images: readonly ImagePlan[], charts: readonly ChartPlan[], nodesOf: (digest: string) => readonly Descriptor[]): Set<string> {
  const hash = new Set<string>()
  for (const plan of images) if (plan.mirror === 'absent' || plan.mirror === 'unknown') for (const n of plan.nodes) hash.add(n.digest)
  for (const {chart} of charts) for (const n of nodesOf(chart.digest)) hash.add(n.digest)
  return hash
}

function planChart(chart: LockChart, destination: ChartDestination | undefined): ChartPlan {
  if (!destination?.oci) return {chart}
  return {chart, oci: {repository: `${formatMirrorRegistry(destination.oci)}/${chart.name}`, tag: chartTag(chart.version)}}
}

// ---- delta bundles ------------------------------------------------------------------------------

/** The images and signatures of a delta bundle, each with the mirror repository it goes to. */
export function deltaItems(contents: PushContents, request: PushRequest, placements: readonly MirrorPlacement[]): DeltaItem[] {
  const pathOf = (source: string): string => mirrorRepository(parseReference(source), request.registry, request.keepSourceHost, request.pathRules)
  const inHost = `${request.registry.host}/`
  return [
    // Where each image goes (placeImages or, for a W&B v2 bundle, the operator's layout), inside the host.
    ...contents.images.map((image, i) => ({name: image.source, root: rootOf(image), repository: placements[i]!.repository.slice(inHost.length)})),
    ...(contents.signatures ?? []).map((s) => ({name: s.ref, root: rootOf(s), repository: pathOf(s.ref)})),
  ]
}

/**
 * The expected blobs each item still to push needs (`toPush[i]`: the mirror lacks item i's root),
 * with the other repositories to look in: where the have-list saw it, then the bundle's others.
 */
export function expectedNeeds(items: readonly DeltaItem[], toPush: readonly boolean[], graphs: Graphs, expected: readonly LockExpectedBlob[]): ExpectedNeed[] {
  const byDigest = new Map(expected.map((e) => [e.digest, e]))
  const itemPaths = [...new Set(items.map((i) => i.repository))]
  return items.flatMap((item, i) => {
    if (!toPush[i]) return []
    return (graphs.get(item.root.digest) ?? [])
      .filter((n) => byDigest.has(n.digest))
      .map((blob) => {
        const candidates = [...new Set([...(byDigest.get(blob.digest)!.repositories ?? []), ...itemPaths])].filter((p) => p !== item.repository)
        return {item: item.name, repository: item.repository, blob, candidates}
      })
  })
}

/** Present, mounted (once per repository and blob), or missing: refused with the full list. */
export function planDelta(located: readonly LocatedBlob[], expected: number, host: string): DeltaPlan {
  let present = 0
  const mounts: PlannedMount[] = []
  const planned = new Set<string>()
  const missing: string[] = []
  for (const need of located) {
    if (need.present) present++
    else if (need.mountFrom !== undefined) {
      const key = `${need.repository}@${need.blob.digest}`
      if (planned.has(key)) continue
      planned.add(key)
      mounts.push({repository: need.repository, from: need.mountFrom, blob: need.blob})
    } else missing.push(`${need.blob.digest} (${need.blob.size} bytes, needed by ${need.item} in ${host}/${need.repository})`)
  }
  if (missing.length > 0) {
    missing.sort()
    throw new NotFoundError(`delta bundle: ${missing.length} blob(s) it leaves out are not in the mirror ${host}, so nothing was pushed: ${missing.join('; ')}`, {
      hint: 'push the full bundle (pull without --since), or pull the delta again with --since a receipt or inventory of this mirror',
    })
  }
  return {expected, present, mounts}
}

// ---- split media --------------------------------------------------------------------------------

/** Every image of the set with its placement; for those this part carries, the blobs it holds. */
export function planPart(split: LockSplit, carried: readonly LockImage[], placements: readonly MirrorPlacement[], graphs: Graphs, held: ReadonlySet<string>): PartPlan {
  const here = new Set(carried.map((i) => i.source))
  return {
    split,
    images: split.images.map((image, i) => ({
      image,
      placement: placements[i]!,
      carried: here.has(image.source),
      blobsHere: here.has(image.source) ? (graphs.get(image.digest) ?? []).filter((d) => !isManifestDescriptor(d) && held.has(d.digest)) : [],
    })),
  }
}

/**
 * The parts holding the blobs of `image` that its mirror repository lacks, ascending. A blob no
 * part owns (shared with a chart) travels in every part of the image.
 */
export function lackingParts(split: LockSplit, image: LockSplitImage, missing: readonly string[]): number[] {
  const partOf = new Map(split.blobs.map((b) => [b.digest, b.part]))
  const lacking = new Set<number>()
  for (const digest of missing) for (const p of partOf.has(digest) ? [partOf.get(digest)!] : image.parts) lacking.add(p)
  return [...lacking].sort((a, b) => a - b)
}
