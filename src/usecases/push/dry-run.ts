/**
 * `airgap push --dry-run`: the plan as a report. The survey already asked the mirror which images
 * it holds; here each blob the plan would upload is asked for in the repository it would go to
 * (one HEAD each, read-only), so the figures are what the push would send. Nothing is written.
 */
import pLimit from 'p-limit'
import {isManifestDescriptor} from '../../copy/index.js'
import {mirrorRepository, type PathRules} from '../../mirror/mapping.js'
import {parseReference} from '../../oci/reference.js'
import {MediaType, type Descriptor} from '../../oci/types.js'
import type {VerifyReport} from '../verify.js'
import type {PushPlan, RootState} from './plan.js'

/** One image in the dry run: where it would go and what the mirror lacks of it. */
export interface DryRunImage {
  source: string
  /** Mirror reference the push would write. */
  mirror: string
  digest: string
  /** Bytes of every blob and manifest of the image. */
  bytes: number
  /** What the mirror holds: the tag names this digest, the manifest is there, nothing, or not asked (a part of a split set). */
  mirrorHolds: RootState | 'unknown'
  /** Its mirror name is not the plain mapping of its source: the path rules shortened it, or (a W&B v2 bundle) the operator's layout placed it. */
  renamed: boolean
  /** Blobs this image would upload (each blob counted once, for the first image that needs it). */
  send: {blobs: number; bytes: number}
}

export interface PushDryRunResult {
  dryRun: true
  bundle: string
  /** `HOST[:PORT][/PREFIX]`. */
  registry: string
  keepSourceHost: boolean
  pathRules: PathRules
  authenticity: VerifyReport['authenticity']
  signer?: string
  /** Where the real push would write its receipt (nothing is written now). */
  receiptPath: string
  images: DryRunImage[]
  /** Each chart, where it would go and what would be sent of it (a classic repository always gets its .tgz; the mirror is asked for an oci:// one). */
  charts: Array<{name: string; version: string; destination?: string; send: {blobs: number; bytes: number}}>
  /** Upstream signatures the bundle carries (pushed beside their images). */
  signatures: number
  /** What the push would send: blobs the mirror lacks (images and charts), manifests of images it lacks, tags to set (a split part: blobs only; manifests and tags go with an image's last part). */
  send: {blobs: number; bytes: number; manifests: number; manifestBytes: number; tags: number}
  /** Blobs of the images to push that the mirror already holds in place (not sent again). */
  alreadyThere: {blobs: number; bytes: number}
  /** Delta bundles: blobs left out, found in place, mounts planned. */
  delta?: {expected: number; present: number; mounts: number}
  /** A part of a split set: which one. */
  split?: {part: number; parts: number}
  /** A bundle with a W&B v2 server manifest: its images go where the v2 operator looks for them. */
  serverManifest?: {version: string}
}

export interface DryRunInput {
  bundle: string
  receiptPath: string
  contents: VerifyReport
  plan: PushPlan
  /** Every node of a chart's graph in the bundle, root first. */
  chartNodes(digest: string): readonly Descriptor[]
  /** Whether the mirror repository (`HOST/PATH`) holds the blob (read-only). */
  blobPresent(repository: string, blob: Descriptor): Promise<boolean>
}

interface Candidate {
  blob: Descriptor
  /** Index into the report's images, or (`chart`) its charts. */
  image: number
  chart?: boolean
  repository: string
}

/** The dry-run report of `plan`; asks the mirror about each blob the plan would upload. */
export async function dryRunReport(input: DryRunInput): Promise<PushDryRunResult> {
  const {plan, contents} = input
  const rows = plan.part
    ? plan.part.images.map((p) => ({image: p.image, placement: p.placement, holds: 'unknown' as const, nodes: [] as readonly Descriptor[], bytes: p.image.bytes}))
    : plan.images.map((p) => ({image: p.image, placement: p.placement, holds: p.mirror, nodes: p.nodes, bytes: p.image.bytes}))
  const candidates: Candidate[] = plan.part
    ? uniqueCandidates(plan.part.images.flatMap((p, i) => p.blobsHere.map((blob) => ({blob, image: i, repository: repositoryOf(p.placement.mirror)}))))
    : plan.uploads.map((u) => ({blob: u.blob, image: u.owner, repository: repositoryOf(plan.images[u.owner]!.placement.mirror)}))
  plan.charts.forEach(({chart, oci}, i) => {
    if (!oci && !plan.chartDestination) return
    for (const blob of input.chartNodes(chart.digest)) if (oci || blob.mediaType === MediaType.HelmChart) candidates.push({blob, image: i, chart: true, repository: oci?.repository ?? ''})
  })
  const limit = pLimit(8)
  const present = await Promise.all(candidates.map((c) => limit(async () => c.repository !== '' && (await input.blobPresent(c.repository, c.blob)))))
  const images: DryRunImage[] = rows.map((r) => ({
    source: r.image.source,
    mirror: r.placement.mirror,
    digest: r.image.digest,
    bytes: r.bytes,
    mirrorHolds: r.holds,
    renamed: r.placement.repository !== `${plan.registry.host}/${mirrorRepository(parseReference(r.image.source), plan.registry, plan.keepSourceHost)}`,
    send: {blobs: 0, bytes: 0},
  }))
  const charts = plan.charts.map(({chart, oci}) => ({name: chart.name, version: chart.version, destination: oci ? `oci://${oci.repository}:${oci.tag}` : plan.chartDestination?.display, send: {blobs: 0, bytes: 0}}))
  const alreadyThere = {blobs: 0, bytes: 0}
  const manifests = rows.filter((r) => r.holds === 'absent' || r.holds === 'unknown').flatMap((r) => r.nodes.filter(isManifestDescriptor))
  candidates.forEach((c, i) => {
    if (isManifestDescriptor(c.blob)) {
      if (!present[i]) manifests.push(c.blob)
      return
    }
    const counter = present[i] ? alreadyThere : c.chart ? charts[c.image]!.send : images[c.image]!.send
    counter.blobs++
    counter.bytes += c.blob.size
  })
  return {
    dryRun: true,
    bundle: input.bundle,
    registry: `${plan.registry.host}${plan.registry.prefix ? `/${plan.registry.prefix}` : ''}`,
    keepSourceHost: plan.keepSourceHost,
    pathRules: plan.pathRules,
    authenticity: contents.authenticity,
    signer: contents.signer,
    receiptPath: input.receiptPath,
    images,
    charts,
    signatures: plan.signatures.length,
    send: {
      blobs: [...images, ...charts].reduce((n, i) => n + i.send.blobs, 0),
      bytes: [...images, ...charts].reduce((n, i) => n + i.send.bytes, 0),
      manifests: manifests.length,
      manifestBytes: sum(manifests),
      tags: rows.filter((r) => (r.holds === 'absent' || r.holds === 'present') && r.placement.tag !== undefined).length,
    },
    alreadyThere,
    delta: plan.delta ? {expected: plan.delta.expected, present: plan.delta.present, mounts: plan.delta.mounts.length} : undefined,
    split: plan.part ? {part: plan.part.split.part, parts: plan.part.split.parts} : undefined,
    serverManifest: contents.serverManifest ? {version: contents.serverManifest.version} : undefined,
  }
}

/** `HOST/PATH` of a mirror reference (tag or digest dropped). */
function repositoryOf(mirror: string): string {
  const ref = parseReference(mirror)
  return `${ref.registry}/${ref.repository}`
}

/** Each blob once, with the first image that holds it (a part's images share blobs). */
function uniqueCandidates(candidates: Candidate[]): Candidate[] {
  const seen = new Set<string>()
  return candidates.filter((c) => !seen.has(c.blob.digest) && seen.add(c.blob.digest))
}

function sum(descs: readonly Descriptor[]): number {
  return descs.reduce((n, d) => n + d.size, 0)
}
