/**
 * Push one part of a split set (pull --max-part-size), parts in any order. For every image of the
 * set: push the blobs this part holds into the image's repository; then HEAD every blob the image
 * needs; when all are in the mirror, push its manifests and tag (the copy engine finds the blobs
 * present). Images that still lack blobs are reported as waiting for the parts that hold them
 * (receipt status `not-attempted`, not a failure).
 */
import {addStats, copy, copyGraph} from '../../copy/index.js'
import type {ReceiptImage} from '../../mirror/receipt.js'
import type {RegistryRepository} from '../../registry/index.js'
import {copied, copyOptions, itemFailed, repositoryFor, type PushContext} from './context.js'
import {receiptImage} from './outcome.js'
import {lackingParts, rootOf, type PartImagePlan, type PartPlan} from './plan.js'
import type {PartPushReport} from './types.js'

type PartImageOutcome = {receipt: ReceiptImage; completed?: boolean; alreadyComplete?: boolean; waitingFor?: number[]}

/** Push the part; one receipt entry per image of the set, and what the part did for the set. */
export async function pushPart(ctx: PushContext, plan: PartPlan): Promise<{images: ReceiptImage[]; report: PartPushReport; waiting: Set<string>}> {
  const {split} = plan
  const outcomes = await Promise.all(plan.images.map((image) => pushPartImage(ctx, plan, image)))
  const waiting = outcomes.flatMap((o) => (o.waitingFor ? [{image: o.receipt.source, parts: o.waitingFor}] : []))
  waiting.sort((a, b) => (a.image < b.image ? -1 : a.image > b.image ? 1 : 0))
  const report: PartPushReport = {
    setId: split.setId,
    part: split.part,
    parts: split.parts,
    completed: outcomes.filter((o) => o.completed).map((o) => o.receipt.source),
    alreadyComplete: outcomes.filter((o) => o.alreadyComplete).map((o) => o.receipt.source),
    waiting,
    missingParts: [...new Set(waiting.flatMap((w) => w.parts))].sort((a, b) => a - b),
  }
  return {images: outcomes.map((o) => o.receipt), report, waiting: new Set(waiting.map((w) => w.image))}
}

async function pushPartImage(ctx: PushContext, plan: PartPlan, {image, placement, carried, blobsHere}: PartImagePlan): Promise<PartImageOutcome> {
  try {
    const dst = repositoryFor(ctx, placement.mirror)
    await pushBlobs(ctx, dst, image.source, blobsHere)
    const lacking = lackingParts(plan.split, image, await missingBlobs(ctx, dst, image.blobs))
    if (lacking.length === 0 && carried) {
      const {stats} = await copy(ctx.reader, image.digest, dst, placement.tag ?? '', {tracker: ctx.tracker, hooks: ctx.hooks, image: image.source, signal: ctx.signal})
      addStats(ctx.stats, stats)
      ctx.hooks.onItem?.({kind: 'image', name: image.source, status: 'pushed'})
      const completed = stats.manifestsCopied > 0
      return {receipt: receiptImage(image, placement, 'pushed'), completed, alreadyComplete: !completed}
    }
    if (lacking.length === 0 && (await dst.exists(rootOf(image), ctx.signal))) return {receipt: receiptImage(image, placement, 'pushed'), alreadyComplete: true}
    // Blobs missing, or (rarely) every blob there but the manifests not: any part of the image brings them.
    const parts = lacking.length > 0 ? lacking : image.parts
    return {receipt: receiptImage(image, placement, 'not-attempted', `waiting for part(s) ${parts.join(', ')} of ${plan.split.parts}`), waitingFor: parts}
  } catch (err) {
    return {receipt: receiptImage(image, placement, 'failed', itemFailed(ctx, 'image', image.source, err))}
  }
}

/** Push the layers and configs this part holds (each verified as it streams out). */
async function pushBlobs(ctx: PushContext, dst: RegistryRepository, image: string, blobs: PartImagePlan['blobsHere']): Promise<void> {
  await Promise.all(
    blobs.map(async (blob) => {
      const stats = await copyGraph(ctx.reader, dst, blob, copyOptions(ctx, dst, image))
      copied(ctx, stats, dst, [blob.digest])
    }),
  )
}

/** The digests among `blobs` that `dst` lacks (one HEAD each, in the tracker's queue). */
async function missingBlobs(ctx: PushContext, dst: RegistryRepository, blobs: readonly string[]): Promise<string[]> {
  const present = await Promise.all(blobs.map((digest) => ctx.tracker.queue.add(() => dst.exists({mediaType: 'application/octet-stream', digest, size: 0}, ctx.signal))))
  return blobs.filter((_, i) => !present[i])
}
