/** Options, hooks and statistics of the copy engine. */
import type {Descriptor, Platform} from '../oci/types.js'
import type {CopyTracker} from './tracker.js'

/** Progress hooks. They are called synchronously and must not throw. */
export interface CopyHooks {
  /** A node's transfer begins (after the destination said it does not have it); `image` names the image being copied, when known. */
  onStart?(d: Descriptor, image?: string): void
  /** `n` more bytes of `d` went through. */
  onBytes?(d: Descriptor, n: number): void
  /** `d` is now at the destination. */
  onDone?(d: Descriptor): void
  /** `d` already existed at the destination; its sub-graph was skipped. */
  onSkipped?(d: Descriptor): void
  /** `d` was mounted from repository `from` instead of being copied. */
  onMounted?(d: Descriptor, from: string): void
}

export interface CopyGraphOptions {
  /** Parallel transfers (default 3). Ignored when `tracker` is given (the tracker's limit applies). */
  concurrency?: number
  /** Byte cap of the manifest cache (default 32 MiB). Ignored when `tracker` is given. */
  maxMetadataBytes?: number
  /** Repositories of the destination registry that may hold `d` already (cross-repository mount). */
  mountFrom?(d: Descriptor): readonly string[]
  hooks?: CopyHooks
  signal?: AbortSignal
  /**
   * Shared session: de-duplicates nodes across several copy() calls into the same destination,
   * bounds concurrency across them, and shares the manifest cache.
   */
  tracker?: CopyTracker
  /** Name of the image being copied, for error messages (copy() sets it to the source reference). */
  image?: string
  /**
   * The caller has just asked the destination for the root and takes it as absent (push's survey:
   * a 404, or a server error it treats as absent): the root is not asked about again. Its children
   * are asked as usual.
   */
  rootAbsent?: boolean
}

export interface CopyOptions extends CopyGraphOptions {
  /** Keep only these platforms of an index (a new, smaller index is written). Empty or absent: all. */
  platforms?: readonly Platform[]
}

export interface CopyStats {
  /** Blobs (layers, configs) whose bytes were transferred. */
  blobsCopied: number
  /** Bytes transferred, blobs and manifests together. */
  bytesCopied: number
  /** Blobs the destination already had. */
  blobsSkipped: number
  /** Blobs mounted from another repository instead of copied. */
  blobsMounted: number
  /** Manifests and indexes pushed. */
  manifestsCopied: number
  /** Manifests and indexes the destination already had (their sub-graphs were skipped). */
  manifestsSkipped: number
  /** Existence checks the destination answered with a server error (5xx, after retries); those nodes were pushed again. */
  existenceUnanswered: number
}

export const emptyStats = (): CopyStats => ({
  blobsCopied: 0,
  bytesCopied: 0,
  blobsSkipped: 0,
  blobsMounted: 0,
  manifestsCopied: 0,
  manifestsSkipped: 0,
  existenceUnanswered: 0,
})

/** Add `b` into `a`. */
export function addStats(a: CopyStats, b: CopyStats): CopyStats {
  for (const k of Object.keys(a) as (keyof CopyStats)[]) a[k] += b[k]
  return a
}
