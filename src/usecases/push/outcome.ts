/**
 * The outcome of a push: the receipt (what went where, written atomically, complete or marked
 * incomplete) and the failure policy. Some items failed and some made it: PartialError (exit 6);
 * nothing made it: the first failure itself, naming the incomplete receipt. Images of a split set
 * still waiting for other parts are not failures.
 */
import {resolve as resolvePath} from 'node:path'
import type {LockChart, LockImage} from '../../bundle/lock.js'
import type {CopyStats} from '../../copy/index.js'
import {AirgapError, PartialError} from '../../errors.js'
import type {SignaturePushResult} from '../../image-signatures/publish.js'
import {describePathRules, formatMirrorRegistry, type MirrorPlacement} from '../../mirror/mapping.js'
import {writeReceipt, type ItemStatus, type PushReceipt, type ReceiptChart, type ReceiptImage, type ReceiptServerManifest, type ReceiptStats} from '../../mirror/receipt.js'
import type {VerifyReport} from '../verify.js'
import type {PushPlan} from './plan.js'
import type {PartPushReport, PushResult} from './types.js'

/** An image's receipt entry. */
export function receiptImage(image: LockImage, placement: MirrorPlacement, status: ItemStatus, error?: string): ReceiptImage {
  return {
    source: image.source,
    mirror: placement.mirror,
    digest: image.digest,
    mediaType: image.mediaType,
    platforms: image.platforms,
    status,
    error,
    discoveredBy: image.discoveredBy ?? [],
  }
}

/** A chart's receipt entry; `where` it was published (repoUrl or ociRef). */
export function receiptChart(chart: LockChart, status: ItemStatus, where: {repoUrl?: string; ociRef?: string}, error?: string): ReceiptChart {
  return {name: chart.name, version: chart.version, digest: chart.digest, tgzDigest: chart.tgzDigest, repoUrl: where.repoUrl, ociRef: where.ociRef, status, error}
}

/** What applying the plan did. */
export interface AppliedPush {
  images: ReceiptImage[]
  charts: ReceiptChart[]
  signatures?: SignaturePushResult[]
  /** Split media: the part's report, and the images waiting for other parts (not failures). */
  part?: {report: PartPushReport; waiting: ReadonlySet<string>}
  stats: CopyStats
  failures: readonly unknown[]
}

export interface OutcomeInput {
  bundle: string
  receiptPath: string
  plan: PushPlan
  verified: VerifyReport
  applied: AppliedPush
  started: Date
  finished: Date
  /** Seconds of the whole run, of verification, and of the push phase. */
  seconds: number
  verifySeconds: number
  pushSeconds: number
  /** The v2 layout of a bundle with a W&B v2 server manifest (v2.ts). */
  serverManifest?: ReceiptServerManifest
}

/** Write the receipt, then apply the failure policy; the result when everything made it. */
export async function finishPush(input: OutcomeInput): Promise<PushResult> {
  const {plan, verified, applied} = input
  const receipt: PushReceipt = {
    apiVersion: 'airgap.dev/v1alpha1',
    kind: 'PushReceipt',
    complete: [...applied.images, ...applied.charts].every((i) => i.status === 'pushed' || i.status === 'skipped'),
    bundle: {path: resolvePath(input.bundle), lockDigest: verified.lockDigest, signer: verified.signer, authenticity: verified.authenticity},
    registry: formatMirrorRegistry(plan.registry),
    keepSourceHost: plan.keepSourceHost,
    pathRules: describePathRules(plan.pathRules) === '' ? undefined : plan.pathRules,
    connection: plan.connection,
    helmRepo: plan.chartDestination?.display,
    images: applied.images,
    charts: applied.charts,
    stats: receiptStats(applied.stats),
    started: input.started.toISOString(),
    finished: input.finished.toISOString(),
    seconds: round(input.seconds),
    serverManifest: withStatus(input.serverManifest, applied.images),
  }
  await writeReceipt(input.receiptPath, receipt)
  const waiting = applied.part?.waiting
  failIfIncomplete(receipt, waiting ? applied.images.filter((i) => !waiting.has(i.source)) : applied.images, input.receiptPath, applied.failures)
  const badSignatures = (applied.signatures ?? []).filter((s) => s.status === 'failed')
  if (badSignatures.length > 0) {
    throw new PartialError(`pushed every image, but ${badSignatures.length} signature(s) failed: ${badSignatures.map((s) => `${s.ref}: ${s.error}`).join('; ')}`, {
      hint: 'fix the cause and run the same push again: what is already in the mirror is skipped',
    })
  }
  return {
    receiptPath: input.receiptPath,
    receipt,
    authenticity: verified.authenticity,
    signer: verified.signer,
    images: counts(applied.images),
    charts: counts(applied.charts),
    stats: applied.stats,
    seconds: receipt.seconds,
    verifySeconds: round(input.verifySeconds),
    verified: {blobs: verified.blobs, bytes: verified.bytes},
    bytesPerSecond: Math.round(applied.stats.bytesCopied / Math.max(input.pushSeconds, 0.001)),
    delta: plan.delta ? {expected: plan.delta.expected, present: plan.delta.present, mounted: plan.delta.mounts.length} : undefined,
    signatures: applied.signatures,
    split: applied.part?.report,
  }
}

/** PartialError when some items made it and others did not; the first failure when none did. */
function failIfIncomplete(receipt: PushReceipt, images: readonly ReceiptImage[], receiptPath: string, failures: readonly unknown[]): void {
  if (receipt.complete) return
  const charts = receipt.charts
  const failed = [...images.map((i) => ({...i, name: i.source})), ...charts.map((c) => ({...c, name: `chart ${c.name}@${c.version}`}))].filter((i) => i.status === 'failed' || i.status === 'not-attempted')
  const pushed = [...images, ...charts].filter((i) => i.status === 'pushed').length
  if (failed.length === 0) return
  const list = failed.map((f) => `${f.name}: ${f.error ?? f.status}`).join('; ')
  if (pushed === 0 && failures[0] instanceof AirgapError) {
    const first = failures[0]
    first.message = `${first.message} (nothing was pushed; incomplete receipt ${receiptPath})`
    throw first
  }
  throw new PartialError(`pushed ${pushed} of ${images.length + charts.length} item(s); not pushed: ${list} (incomplete receipt ${receiptPath})`, {
    hint: 'fix the cause and run the same push again: what is already in the mirror is skipped',
  })
}

/** The v2 layout with whether the manifest itself made it. */
function withStatus(manifest: ReceiptServerManifest | undefined, images: readonly ReceiptImage[]): ReceiptServerManifest | undefined {
  if (manifest === undefined) return undefined
  return {...manifest, status: images.find((i) => i.source === manifest.source)?.status ?? 'not-attempted'}
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

function counts(items: readonly {status: string}[]): {total: number; pushed: number; failed: number} {
  const pushed = items.filter((i) => i.status === 'pushed').length
  return {total: items.length, pushed, failed: items.length - pushed}
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000
}
