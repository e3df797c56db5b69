/**
 * Apply a push plan, in this order: the delta's cross-repository mounts, the images (a whole
 * bundle's, or one part's of a split set), the charts, the carried signatures. Nothing is
 * committed before the bundle's verification has passed (see applyPushPlan). Item failures are
 * collected (the outcome decides); an abort stops everything.
 */
import pLimit from 'p-limit'
import {addStats} from '../../copy/index.js'
import {NotFoundError} from '../../errors.js'
import {pushSignatures} from '../../image-signatures/publish.js'
import {publishCharts, type PublishOptions} from './charts.js'
import {repositoryFor, type PushContext} from './context.js'
import {pushImages} from './images.js'
import type {AppliedPush} from './outcome.js'
import {pushPart} from './parts.js'
import {mirrorRepositoryOf, type PlannedMount, type PushPlan} from './plan.js'

/**
 * Run `plan` against the mirror. `verified` settles when the bundle's blobs are hashed: uploads of
 * a whole bundle's images start at once (the bundle reader holds their last chunks), everything
 * else waits for it, and nothing at all happens after it failed.
 */
export async function applyPushPlan(ctx: PushContext, plan: PushPlan, charts: PublishOptions, verified: Promise<unknown>): Promise<AppliedPush> {
  if (plan.delta || plan.part) await verified
  if (plan.delta) await applyMounts(ctx, plan.registry.host, plan.delta.mounts)
  const part = plan.part ? await pushPart(ctx, plan.part) : undefined
  const images = part ? part.images : await pushImages(ctx, plan, verified)
  await verified
  const published = await publishCharts(ctx, plan.charts, plan.chartDestination, charts)
  // Upstream signatures (pull --with-signatures), into their images' repositories.
  const signatures = plan.signatures.length
    ? await pushSignatures({
        source: ctx.reader,
        signatures: plan.signatures,
        repositoryFor: (source) => repositoryFor(ctx, mirrorRepositoryOf(plan, source)),
        tracker: ctx.tracker,
        hooks: ctx.hooks,
        signal: ctx.signal,
        onStats: (s) => addStats(ctx.stats, s),
      })
    : undefined
  return {images, charts: published, signatures, part, stats: ctx.stats, failures: ctx.failures}
}

/** Mount the planned blobs (4 at a time); a mount the registry declines is a NotFoundError naming the blob. */
async function applyMounts(ctx: PushContext, host: string, mounts: readonly PlannedMount[]): Promise<void> {
  const limit = pLimit(4)
  await Promise.all(
    mounts.map((m) =>
      limit(async () => {
        const repo = repositoryFor(ctx, `${host}/${m.repository}`)
        if (await repo.mount(m.blob, m.from, ctx.signal)) return
        throw new NotFoundError(`delta bundle: ${repo.registryHost} declined to mount ${m.blob.digest} from ${m.from} into ${repo.repository}`, {
          hint: 'push the full bundle (pull without --since)',
        })
      }),
    ),
  )
}
