/**
 * pushBundle() (`airgap push`): from a verified bundle into the private registry and Helm
 * repository. The bundle is opened ONCE; everything below reads through that one reader, so what
 * is pushed is what was verified, whatever is renamed over the path meanwhile.
 *
 *  1. verify the signature (refused without --key unless allowUnsigned), lock ↔ index and the
 *     content graph (verify.ts) — before the first write anywhere;
 *  2. place every image (plan.ts: collisions refused; v2.ts: the W&B v2 operator's layout when the
 *     bundle carries a server manifest), read the bundle's graphs and ask the mirror what it holds
 *     (survey.ts: plain data);
 *  3. plan (plan.ts, pure): what to upload and mount, what to hash, where charts go; a delta
 *     bundle whose left-out blobs are not in the mirror is refused here;
 *  4. hash every blob that may be sent (all with --full-verify): a damaged bundle pushes nothing;
 *  5. apply the plan (apply.ts: images.ts or parts.ts, charts.ts) with the copy engine and one
 *     CopyTracker;
 *  6. write the receipt and apply the failure policy (outcome.ts).
 */
import {setMaxListeners} from 'node:events'
import {BundleReader} from '../../bundle/index.js'
import {CopyTracker, emptyStats} from '../../copy/index.js'
import {UsageError} from '../../errors.js'
import {Session} from '../session.js'
import {verifyBundleBlobs, verifyBundleMetadata} from '../verify.js'
import {requireUpstreamVerified} from '../upstream-required.js'
import {applyPushPlan} from './apply.js'
import {chartDestination} from './charts.js'
import {repositoryFor, type PushContext} from './context.js'
import {finishPush} from './outcome.js'
import {placeImages, planPush, surveyQuestions, type PushRequest} from './plan.js'
import {surveyBundle, surveyMirror} from './survey.js'
import {checkRollback, recordRelease} from './releases.js'
import {releasesRepository} from '../../mirror/releases.js'
import type {PushOptions, PushResult} from './types.js'
import {placeV2} from './v2.js'

export type {PartPushReport, PushHooks, PushOptions, PushResult} from './types.js'

/** Push a bundle; see the module comment for the steps. */
export async function pushBundle(opts: PushOptions): Promise<PushResult> {
  const clock = opts.now ?? (() => new Date())
  const started = clock()
  const t0 = performance.now()
  const request = await pushRequest(opts)
  const signal = opts.signal ? AbortSignal.any([opts.signal]) : undefined
  if (signal) setMaxListeners(0, signal)

  const reader = await BundleReader.open(opts.bundle)
  const session = new Session(opts)
  try {
    // 1. Signature, lock, index and content graph (small), through the one reader.
    const verified = await verifyBundleMetadata(reader, {publicKey: opts.publicKey})
    // 2. Placements (collisions refused before anything is read in bulk or written; a bundle
    //    with a W&B v2 server manifest in the v2 operator's layout, v2.ts), the bundle's graphs,
    //    and what the mirror holds.
    const serverManifest = verified.serverManifest
    const v2 = serverManifest === undefined ? undefined : await placeV2(reader, {...verified, serverManifest}, request, signal)
    for (const key of v2?.notCarried ?? []) opts.hooks?.onWarning?.(`server manifest image ${key} is not in the bundle (pulled with --skip-missing or excluded): the v2 operator will fail to pull it from the mirror`)
    const contents = v2 === undefined ? verified : {...verified, images: v2.images}
    const placements = v2?.placements ?? placeImages(contents, request)
    if (opts.requireUpstreamVerified) requireUpstreamVerified({images: contents.split ? contents.split.images : contents.images, upstreamVerification: contents.upstreamVerification}, opts.bundle)
    const ctx: PushContext = {
      reader,
      session,
      tracker: new CopyTracker({concurrency: opts.concurrency ?? 8}),
      stats: emptyStats(),
      hooks: opts.hooks ?? {},
      located: new Map(),
      repositories: new Map(),
      signal,
      failures: [],
    }
    const {graphs, held} = await surveyBundle(reader, contents, ctx.tracker, signal)
    // The hashing workers boot (~60 ms each, on every core) while the mirror is asked, as soon as
    // one large blob is known to be sent: the charts' (always checked) now, an image's when the
    // survey finds the mirror lacks it, every blob's with --full-verify or for a split part; a
    // repeat push boots none. The reader owns them: they hash through its descriptor and stop
    // when the hashing is done or the reader closes.
    const mayHash = (digests: readonly string[]): void => {
      const nodes = new Set(digests.flatMap((d) => (graphs.get(d) ?? []).map((n) => n.digest)))
      reader.prepareHashWorkers((d) => nodes.has(d))
    }
    if (request.fullVerify || contents.split) reader.prepareHashWorkers()
    else mayHash(contents.charts.map((c) => c.digest))
    const survey = await surveyMirror(surveyQuestions(contents, request, placements, graphs), {
      host: request.registry.host,
      repositoryAt: (ref) => repositoryFor(ctx, ref),
      signal,
      onImageToSend: (i) => mayHash([contents.images[i]!.digest]),
    })
    // A tag moved back to an older release's digest: a warning, or refused with --no-rollback.
    await checkRollback({
      registry: request.registry,
      lockDigest: contents.lockDigest,
      created: contents.created,
      placements,
      states: contents.split ? undefined : survey.images,
      repositoryAt: (ref) => repositoryFor(ctx, ref),
      noRollback: opts.noRollback ?? false,
      warn: (m) => opts.hooks?.onWarning?.(m),
      signal,
    })
    // 3. The plan (pure).
    const plan = planPush({contents, request, placements, graphs, held, survey})
    // 4. Hash what may be sent, before the first write.
    const report = await verifyBundleBlobs(reader, verified, {only: plan.hash === 'all' ? undefined : plan.hash, signal})
    const verifySeconds = (performance.now() - t0) / 1000
    opts.hooks?.onVerified?.(report)
    if (report.authenticity !== 'verified') {
      opts.hooks?.onWarning?.(
        `AUTHENTICITY NOT CHECKED: ${report.signed ? 'no --key was given' : 'the bundle is not signed'}; pushing ${opts.bundle} only because --allow-unsigned was given`,
      )
    }
    // 5. Apply.
    const tPush = performance.now()
    const applied = await applyPushPlan(ctx, plan, {auth: opts.helmAuth, now: clock})
    // 6. This release's record in the mirror (what a later push checks rollbacks against), unless
    //    every image was already in place; then the receipt and the failure policy.
    if (!survey.images?.every((s) => s === 'tagged')) {
      await recordRelease(repositoryFor(ctx, `${request.registry.host}/${releasesRepository(request.registry.prefix)}`), {lockDigest: contents.lockDigest, created: contents.created, images: applied.images}, signal).catch(
        (err: unknown) => opts.hooks?.onWarning?.(`could not record this release in the mirror (rollback checks of later pushes will not know it): ${err instanceof Error ? err.message : String(err)}`),
      )
    }
    return await finishPush({
      bundle: opts.bundle,
      receiptPath: opts.receipt ?? `${opts.bundle}.receipt.json`,
      plan,
      verified: report,
      applied,
      started,
      finished: clock(),
      seconds: (performance.now() - t0) / 1000,
      verifySeconds,
      pushSeconds: (performance.now() - tPush) / 1000,
      serverManifest: v2?.receipt,
    })
  } finally {
    await reader.close()
    await session.close()
  }
}

/** The flags, parsed and checked before the bundle is opened. */
async function pushRequest(opts: PushOptions): Promise<PushRequest> {
  const registry = opts.registry
  const charts = opts.helmRepo ? await chartDestination(opts.helmRepo) : undefined
  if (!opts.publicKey && !opts.allowUnsigned) {
    throw new UsageError(`refusing to push ${opts.bundle} without checking its signature`, {
      hint: "pass the signer's public key with --key cosign.pub (or AIRGAP_KEY), or --allow-unsigned to push without checking who produced the bundle",
    })
  }
  return {registry, keepSourceHost: opts.keepSourceHost ?? false, fullVerify: opts.fullVerify ?? false, charts}
}
