/**
 * writeBundle(): the signed bundle, end to end. `airgap pull` calls it once it knows which images
 * and charts to carry.
 *
 *  1. plan (bundle-contents.ts): resolve every root once (pinned by digest from then on), narrow
 *     indexes to the wanted platforms exactly as copy() does, and walk the manifests to list every
 *     blob with its size;
 *  2. write with writePart() (write-part.ts): the whole bundle as one part, or with `maxPartSize`
 *     the parts of a split set one after the other (write-parts.ts). Each part opens (or resumes) a
 *     BundleWriter, copies its items with ONE CopyTracker shared by all parts, and writes
 *     index.json, airgap/lock.json, the Sigstore signature over the lock and airgap/spec.yaml.
 */
import type {LockUpstreamVerification} from '../bundle/lock-upstream.js'
import {setMaxListeners} from 'node:events'
import type {CopyHooks, CopyStats} from '../copy/index.js'
import {CopyTracker} from '../copy/index.js'
import {digestOf} from '../oci/digest.js'
import type {Platform} from '../oci/types.js'
import {keyFingerprint, type SigningKey} from '../signing/index.js'
import type {BundleLock, LockMissing} from '../bundle/lock.js'
import {planContents, sumSizes, type BundleChartInput, type BundleHaveList, type BundleImageInput, type BundleServerManifestInput, type BundleSignatureInput, type PlannedContents} from './bundle-contents.js'
import {writePart, type PartSettings} from './write-part.js'
import {writeParts, type SplitHooks, type SplitResult} from './write-parts.js'

export type {BundleChartInput, BundleHaveList, BundleImageInput, BundleServerManifestInput, BundleSignatureInput} from './bundle-contents.js'
export type {PartResult, SplitResult} from './write-parts.js'

/** Transfers (CopyHooks), the plan, split parts and warnings. */
export interface BundleHooks extends CopyHooks, SplitHooks {}

export interface WriteBundleOptions {
  images: readonly BundleImageInput[]
  charts?: readonly BundleChartInput[]
  /** Path of the bundle tarball to write. */
  out: string
  /** Seconds since the epoch for every mtime and `created` (SOURCE_DATE_EPOCH; default 0). */
  epoch?: number
  /** The lock's `created` (seconds; default `epoch`): when the release was pulled. */
  createdAt?: number
  /** Keep only these platforms of multi-platform images (default all). */
  platforms?: readonly Platform[]
  /** Sign airgap/lock.json with this key pair (a Sigstore bundle in airgap/signature.sigstore.json). */
  signKey?: SigningKey
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
  /** The W&B v2 server manifest to carry unchanged (the lock's `serverManifest`). */
  serverManifest?: BundleServerManifestInput
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

/** Write a bundle tarball (or a split set) holding `images` and `charts`; see the module comment. */
export async function writeBundle(opts: WriteBundleOptions): Promise<WriteBundleResult> {
  const started = performance.now()
  const tracker = new CopyTracker({concurrency: opts.concurrency ?? 3})
  const hooks = opts.hooks ?? {}
  // Every queued transfer listens on the signal: a private one avoids Node's 10-listener warning.
  const signal = opts.signal ? AbortSignal.any([opts.signal]) : undefined
  if (signal) setMaxListeners(0, signal)

  const contents = await planContents(opts, tracker, signal)
  const settings: PartSettings = {
    epoch: opts.epoch ?? 0,
    createdAt: opts.createdAt,
    platforms: opts.platforms,
    signKey: opts.signKey,
    specBytes: opts.specBytes,
    missing: opts.missing,
    expected: contents.expected,
    createdBy: opts.createdBy ?? 'airgap',
    upstreamVerification: opts.upstreamVerification,
    hooks,
    tracker,
    signal,
  }
  const written =
    opts.maxPartSize === undefined
      ? await writeWhole(settings, contents, opts.out, hooks)
      : await writeParts(settings, contents, {out: opts.out, maxPartSize: opts.maxPartSize, force: opts.force === true, hooks})
  return {
    ...written,
    signed: opts.signKey !== undefined,
    signer: opts.signKey ? keyFingerprint(opts.signKey.publicKey) : undefined,
    seconds: Math.round(performance.now() - started) / 1000,
  }
}

/** The whole bundle as one part. */
async function writeWhole(settings: PartSettings, contents: PlannedContents, out: string, hooks: BundleHooks): Promise<Omit<WriteBundleResult, 'signed' | 'signer' | 'seconds'>> {
  const {items, blobs, expected} = contents
  const written = await writePart(settings, {
    out,
    items,
    blobs,
    storedElsewhere: new Set(expected.map((e) => e.digest)),
    onOpened: (missing) =>
      hooks.onPlanned?.({images: items.length, blobs: blobs.length, bytes: sumSizes(blobs), missingBlobs: missing.length, missingBytes: sumSizes(missing)}),
  })
  return {path: written.path, size: written.size, lock: written.lock, lockDigest: digestOf(written.lockBytes), stats: written.stats, split: undefined}
}
