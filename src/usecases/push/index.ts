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
 *  4. hash every blob that may be sent (all with --full-verify) while
 *  5. the plan is applied (apply.ts: images.ts or parts.ts, charts.ts) with the copy engine and
 *     one CopyTracker: uploads start at once, but the reader holds each blob's last chunk, and
 *     apply holds every manifest, tag, mount and chart, until the hashing has passed, so a damaged
 *     bundle commits nothing (its upload sessions are cancelled);
 *  6. write the receipt and apply the failure policy (outcome.ts).
 */
import {setMaxListeners} from 'node:events'
import {resolve as resolvePath} from 'node:path'
import {BundleReader} from '../../bundle/index.js'
import {checkPathRules, formatMirrorRegistry, prefixComponents, type MirrorRegistry, type PathRules} from '../../mirror/mapping.js'
import type {ReceiptConnection, ReceiptServerManifest} from '../../mirror/receipt.js'
import {CopyTracker, emptyStats} from '../../copy/index.js'
import {UsageError} from '../../errors.js'
import {Session} from '../session.js'
import {verifyBundleBlobs, verifyBundleMetadata, type VerifyReport} from '../verify.js'
import {requireUpstreamVerified} from '../upstream-required.js'
import {applyPushPlan} from './apply.js'
import {chartDestination} from './charts.js'
import {repositoryFor, type PushContext} from './context.js'
import {finishPush} from './outcome.js'
import {placeImages, planPush, surveyQuestions, type ChartDestination, type Graphs, type MirrorSurvey, type PushPlan, type PushRequest} from './plan.js'
import {dryRunReport, type PushDryRunResult} from './dry-run.js'
import {surveyBundle, surveyMirror} from './survey.js'
import {checkRollback, recordRelease} from './releases.js'
import {releasesRepository} from '../../mirror/releases.js'
import type {PushOptions, PushResult} from './types.js'
import {placeV2} from './v2.js'

export type {PartPushReport, PushHooks, PushOptions, PushResult} from './types.js'
export type {PushDryRunResult} from './dry-run.js'

/** Push a bundle; see the module comment for the steps. */
export async function pushBundle(opts: PushOptions): Promise<PushResult> {
  return withPushPlan(opts, false, async ({reader, contents, verified, serverManifest, request, survey, plan, ctx, clock, started, t0}) => {
    const {signal} = ctx
    if (verified.authenticity !== 'verified') {
      opts.hooks?.onWarning?.(
        `AUTHENTICITY NOT CHECKED: ${verified.signed ? 'no --key was given' : 'the bundle is not signed'}; pushing ${opts.bundle} only because --allow-unsigned was given`,
      )
    }
    // 4 and 5. Hash what may be sent while the uploads start: the reader holds each blob's last
    //    chunk until every blob has passed, and the plan commits nothing else (manifest, tag,
    //    mount, chart) before that either. A damaged bundle fails with the hashing's error.
    const tPush = performance.now()
    let verifySeconds = 0
    const only = plan.hash === 'all' ? undefined : plan.hash
    const hashing = verifyBundleBlobs(reader, verified, {only, signal})
    reader.holdUntilVerified(hashing, (digest) => only === undefined || only.has(digest))
    const verification = hashing.then((report) => {
      verifySeconds = (performance.now() - t0) / 1000
      opts.hooks?.onVerified?.(report)
      return report
    })
    const [hashed, pushed] = await Promise.allSettled([verification, applyPushPlan(ctx, plan, {auth: opts.helmAuth, now: clock}, verification)])
    if (hashed.status === 'rejected') throw hashed.reason
    if (pushed.status === 'rejected') throw pushed.reason
    const report = hashed.value
    const applied = pushed.value
    // 6. This release's record in the mirror (what a later push checks rollbacks against), unless
    //    every image was already in place; then the receipt and the failure policy.
    if (!survey.images?.every((s) => s === 'tagged')) {
      await recordRelease(repositoryFor(ctx, `${request.registry.host}/${releasesRepository(request.registry.prefix)}`), {lockDigest: contents.lockDigest, created: contents.created, images: applied.images}, signal).catch(
        (err: unknown) => opts.hooks?.onWarning?.(`could not record this release in the mirror (rollback checks of later pushes will not know it): ${err instanceof Error ? err.message : String(err)}`),
      )
    }
    return await finishPush({
      bundle: opts.bundle,
      receiptPath: receiptPathOf(opts),
      plan,
      verified: report,
      applied,
      started,
      finished: clock(),
      seconds: (performance.now() - t0) / 1000,
      verifySeconds,
      pushSeconds: (performance.now() - tPush) / 1000,
      serverManifest,
    })
  })
}

/**
 * `push --dry-run`: steps 1 to 3 (signature, lock and graph verified; the mirror asked what it
 * holds; the plan), then what the plan would send, by asking the mirror about each planned blob.
 * Nothing is written: no blob, manifest, tag, release record or receipt.
 */
export async function planPushBundle(opts: PushOptions): Promise<PushDryRunResult> {
  return withPushPlan(opts, true, async ({contents, plan, ctx, graphs}) =>
    dryRunReport({
      bundle: opts.bundle,
      receiptPath: receiptPathOf(opts),
      contents,
      plan,
      chartNodes: (digest) => graphs.get(digest) ?? [],
      blobPresent: (repository, blob) => repositoryFor(ctx, repository).exists(blob, ctx.signal),
    }),
  )
}

/** What both a push and its dry run have once the plan is made. */
interface PlannedPush {
  reader: BundleReader
  /** What the bundle holds, its images as the push places them (a v2 bundle: in the v2 layout). */
  contents: VerifyReport
  /** What verify read from the bundle (the lock's own images). */
  verified: VerifyReport
  /** The W&B v2 layout, for the receipt (a bundle with a server manifest). */
  serverManifest: ReceiptServerManifest | undefined
  request: PushRequest
  survey: MirrorSurvey
  plan: PushPlan
  graphs: Graphs
  ctx: PushContext
  clock: () => Date
  started: Date
  t0: number
}

/** Steps 1 to 3 (see the module comment), then `act` with the plan; the bundle and session close after. */
async function withPushPlan<T>(opts: PushOptions, dryRun: boolean, act: (planned: PlannedPush) => Promise<T>): Promise<T> {
  const clock = opts.now ?? (() => new Date())
  const started = clock()
  const t0 = performance.now()
  const request = await pushRequest(opts, dryRun)
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
    const contents = v2 === undefined ? verified : {...verified, images: v2.images, ...(v2.split ? {split: v2.split} : {})}
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
    // repeat push boots none, nor does a dry run. The reader owns them: they hash through its
    // descriptor and stop when the hashing is done or the reader closes.
    const mayHash = (digests: readonly string[]): void => {
      if (dryRun) return
      const nodes = new Set(digests.flatMap((d) => (graphs.get(d) ?? []).map((n) => n.digest)))
      reader.prepareHashWorkers((d) => nodes.has(d))
    }
    if (!dryRun && (request.fullVerify || contents.split)) reader.prepareHashWorkers()
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
      tags: contents.split ? undefined : survey.tags,
      repositoryAt: (ref) => repositoryFor(ctx, ref),
      noRollback: opts.noRollback ?? false,
      warn: (m) => opts.hooks?.onWarning?.(m),
      signal,
    })
    // 3. The plan (pure).
    const plan = planPush({contents, request, placements, graphs, held, survey})
    return await act({reader, contents, verified, serverManifest: v2?.receipt, request, survey, plan, graphs, ctx, clock, started, t0})
  } finally {
    await reader.close()
    await session.close()
  }
}

function receiptPathOf(opts: PushOptions): string {
  return opts.receipt ?? `${opts.bundle}.receipt.json`
}

/** The flags, parsed and checked before the bundle is opened (a dry run asks the mirror about every image, also with --full-verify). */
async function pushRequest(opts: PushOptions, dryRun: boolean): Promise<PushRequest> {
  const registry = opts.registry
  const charts = opts.helmRepo ? await chartDestination(opts.helmRepo) : undefined
  if (!opts.publicKey && !opts.allowUnsigned) {
    throw new UsageError(`refusing to push ${opts.bundle} without checking its signature`, {
      hint: "pass the signer's public key with --key cosign.pub (or AIRGAP_KEY), or --allow-unsigned to push without checking who produced the bundle",
    })
  }
  const pathRules = pathRulesOf(opts)
  checkPathRules(registry, pathRules)
  if (charts?.oci) checkChartDepth(charts.oci, registry, pathRules)
  return {registry, keepSourceHost: opts.keepSourceHost ?? false, pathRules, connection: connectionOf(opts, registry, charts), fullVerify: !dryRun && (opts.fullVerify ?? false), charts}
}

/** --max-nested-paths and --flatten as PathRules (only the rules given). */
function pathRulesOf(opts: PushOptions): PathRules {
  const rules: PathRules = {}
  if (opts.maxNestedPaths !== undefined) rules.maxNestedPaths = opts.maxNestedPaths
  if (opts.flatten) rules.flatten = true
  return rules
}

/** Charts pushed to the mirror registry itself must fit its path rules too (they are not renamed: refused). */
function checkChartDepth(oci: MirrorRegistry, registry: MirrorRegistry, rules: PathRules): void {
  if (oci.host !== registry.host || rules.maxNestedPaths === undefined) return
  const depth = prefixComponents(oci) + 1
  if (depth <= rules.maxNestedPaths) return
  throw new UsageError(`--helm-repo oci://${formatMirrorRegistry(oci)} would put each chart ${depth} path components deep in ${registry.host}, over --max-nested-paths ${rules.maxNestedPaths}`, {
    hint: `choose an oci:// path of at most ${rules.maxNestedPaths - 1} component(s), e.g. oci://${registry.host}${rules.maxNestedPaths > 1 ? '/charts' : ''}`,
  })
}

/** The hosts of this push reached over plain HTTP, and the CA files trusted (absolute), for the receipt. */
function connectionOf(opts: PushOptions, registry: MirrorRegistry, charts: ChartDestination | undefined): ReceiptConnection {
  const plain = new Set(opts.plainHttp ?? [])
  const hosts = [...new Set([registry.host, ...(charts?.oci ? [charts.oci.host] : [])])]
  return {plainHttp: hosts.filter((h) => plain.has(h)), caFiles: (opts.caFiles ?? []).filter((f) => f !== '').map((f) => resolvePath(f))}
}
