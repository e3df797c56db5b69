/**
 * Push the images of a whole bundle as planned. Every planned upload starts at once (the tracker
 * queues them, largest first), each blob once, into the repository of the first image that holds
 * it. An image starts as soon as the blobs it shares with other images are in the mirror, so it
 * mounts them instead of uploading them twice; then its manifests and tag go (the copy engine finds
 * the blobs present). The bundle reader holds each blob's last chunk until the whole bundle is
 * verified, and checks the file is unchanged since it was hashed.
 */
import {copy, copyGraph} from '../../copy/index.js'
import type {ReceiptImage} from '../../mirror/receipt.js'
import {copied, copyOptions, itemFailed, repositoryFor, type PushContext} from './context.js'
import {receiptImage} from './outcome.js'
import type {ImagePlan, PushPlan} from './plan.js'

/**
 * Push every image of `plan`; one receipt entry per image, in order. The uploads start at once;
 * an image's manifests and tag wait for `verified` too (a failed verification leaves every image
 * not attempted: the push fails with the verification's error).
 */
export async function pushImages(ctx: PushContext, plan: PushPlan, verified: Promise<unknown>): Promise<ReceiptImage[]> {
  markSurveyed(ctx, plan.images)
  const uploaded = startUploads(ctx, plan)
  const done = plan.images.map(async (image, i) => {
    const results = await Promise.all(image.nodes.flatMap((d) => uploaded.get(d.digest) ?? []))
    await verified
    // A blob of this image that failed in its own repository is reported, not attempted again.
    const failure = results.find((r) => r.owner === i && r.error !== undefined)
    return pushImage(ctx, image, failure?.error)
  })
  const settled = await Promise.allSettled(done)
  return plan.images.map((image, i) => {
    const r = settled[i]!
    return r.status === 'fulfilled' ? r.value : receiptImage(image.image, image.placement, 'not-attempted', 'not attempted')
  })
}

/** What the survey found in the mirror: the copy engine does not ask again. */
function markSurveyed(ctx: PushContext, images: readonly ImagePlan[]): void {
  for (const {image, placement, mirror} of images) {
    if (mirror !== 'tagged' && mirror !== 'present') continue
    const dst = repositoryFor(ctx, placement.mirror)
    ctx.tracker.markPresent(dst, image.digest)
    if (mirror === 'tagged' && placement.tag !== undefined) ctx.tracker.markTagged(dst, placement.tag, image.digest)
  }
}

/**
 * Start every planned upload into its owner image's repository; returns digest -> outcome, never
 * rejected. A failure fails the owner image; other images holding that blob try it themselves.
 */
function startUploads(ctx: PushContext, plan: PushPlan): Map<string, Promise<{owner: number; error?: unknown}>> {
  const uploaded = new Map<string, Promise<{owner: number; error?: unknown}>>()
  for (const {blob, owner} of plan.uploads) {
    const {image, placement} = plan.images[owner]!
    const dst = repositoryFor(ctx, placement.mirror)
    const work = copyGraph(ctx.reader, dst, blob, copyOptions(ctx, dst, image.source)).then(
      (stats) => {
        copied(ctx, stats, dst, [blob.digest])
        return {owner}
      },
      (error: unknown) => ({owner, error}),
    )
    uploaded.set(blob.digest, work)
  }
  return uploaded
}

/** Push one image's manifests and tag (its blobs are in the mirror by now, or copied here). */
async function pushImage(ctx: PushContext, plan: ImagePlan, earlier: unknown): Promise<ReceiptImage> {
  const {image, placement} = plan
  try {
    if (earlier !== undefined) throw earlier
    const dst = repositoryFor(ctx, placement.mirror)
    // The survey's HEAD found the root absent: the copy engine does not ask again.
    const {stats} = await copy(ctx.reader, image.digest, dst, placement.tag ?? '', {...copyOptions(ctx, dst, image.source), rootAbsent: plan.mirror === 'absent'})
    copied(ctx, stats, dst, plan.nodes.map((n) => n.digest))
    ctx.hooks.onItem?.({kind: 'image', name: image.source, status: 'pushed'})
    return receiptImage(image, placement, 'pushed')
  } catch (err) {
    return receiptImage(image, placement, 'failed', itemFailed(ctx, 'image', image.source, err))
  }
}
