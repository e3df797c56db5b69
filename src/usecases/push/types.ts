/** What `airgap push` is given (options, progress hooks) and what it returns (the result). */
import type {MirrorRegistry} from '../../mirror/mapping.js'
import type {KeyObject} from 'node:crypto'
import type {CopyHooks, CopyStats} from '../../copy/index.js'
import type {HelmAuth} from '../../helm/publish.js'
import type {SignaturePushResult} from '../../image-signatures/publish.js'
import type {PushReceipt} from '../../mirror/receipt.js'
import type {ConnectionOptions} from '../session.js'
import type {VerifyReport} from '../verify.js'

export interface PushHooks extends CopyHooks {
  /** The bundle verified (before anything was pushed). */
  onVerified?(report: VerifyReport): void
  /** Something the user must know (e.g. authenticity not checked). */
  onWarning?(message: string): void
  /** One image or chart finished (pushed or failed). */
  onItem?(item: {kind: 'image' | 'chart'; name: string; status: 'pushed' | 'failed'; error?: string}): void
}

export interface PushOptions extends ConnectionOptions {
  /** Path of the bundle tarball. */
  bundle: string
  /** `HOST[:PORT][/PREFIX]`. */
  registry: MirrorRegistry
  keepSourceHost?: boolean
  /** At most this many path components after the mirror host, prefix included (longer paths are folded; see src/mirror/mapping.ts). */
  maxNestedPaths?: number
  /** Every image one path component below the prefix. */
  flatten?: boolean
  /** The signer's public key; required unless allowUnsigned. */
  publicKey?: KeyObject
  /** Push without checking the signature (explicit opt-in). */
  allowUnsigned?: boolean
  /** Hash every blob of the bundle first, even those the mirror already holds. */
  fullVerify?: boolean
  /** Refuse the bundle unless its lock records every image's upstream signature as verified (pull --verify-upstream). */
  requireUpstreamVerified?: boolean
  /** Refuse to move a tag back to the digest of a release pulled before the one there now. */
  noRollback?: boolean
  /** oci://HOST/PATH, http(s)://…, chartmuseum+http(s)://…, file:///… */
  helmRepo?: string
  helmAuth?: HelmAuth
  /** Receipt file (default `<bundle>.receipt.json`). */
  receipt?: string
  /** Blob transfers in flight (default 8). */
  concurrency?: number
  hooks?: PushHooks
  signal?: AbortSignal
  now?: () => Date
}

export interface PushResult {
  receiptPath: string
  receipt: PushReceipt
  authenticity: VerifyReport['authenticity']
  signer?: string
  images: {total: number; pushed: number; failed: number}
  charts: {total: number; pushed: number; failed: number}
  stats: CopyStats
  /**
   * Seconds of the whole run, and from its start until the verification pass finished (the
   * uploads run alongside it, so the two overlap: this is no serial phase to add to the rest).
   */
  seconds: number
  verifySeconds: number
  /** Blobs hashed before the first write (what was about to be sent) and their bytes. */
  verified: {blobs: number; bytes: number}
  /** Bytes sent per second during the push phase. */
  bytesPerSecond: number
  /** Delta bundles: blobs left out, found in place, and mounted from other repositories first. */
  delta?: {expected: number; present: number; mounted: number}
  /** Upstream signatures carried by the bundle, each with where it went. */
  signatures?: SignaturePushResult[]
  /** Split media: what this part completed and which parts the other images still wait for. */
  split?: PartPushReport
}

/** Split media: what one part's push did for the whole set. */
export interface PartPushReport {
  setId: string
  part: number
  parts: number
  /** Images whose manifests this run pushed (their last blobs arrived). */
  completed: string[]
  /** Images already complete in the mirror before this run. */
  alreadyComplete: string[]
  /** Images still incomplete, with the parts whose content the mirror still lacks. */
  waiting: Array<{image: string; parts: number[]}>
  /** Every part some image still waits for, ascending (empty: the set is complete). */
  missingParts: number[]
}
