/** The shared state of one copy session: in-flight nodes, the transfer limiter, the manifest cache. */
import PQueue from 'p-queue'
import type {Descriptor} from '../oci/types.js'
import {LinkGovernor} from './link.js'

export interface CopyTrackerOptions {
  /** Parallel leaf operations (existence checks, transfers, manifest fetches). Default 3. */
  concurrency?: number
  /** Byte cap of the manifest cache. Default 32 MiB. */
  maxMetadataBytes?: number
}

/** Priority of cheap metadata operations (they unlock more work, so they go first). */
export const METADATA_PRIORITY = Number.MAX_SAFE_INTEGER

/**
 * Pass one tracker to several copy()/copyGraph() calls (e.g. all images of a pull) so that a node
 * shared by several images is transferred once per destination, concurrency is bounded across all
 * of them, and manifests are fetched once.
 *
 * Only leaf operations take a queue slot; a node waiting for its children holds none, so deep
 * graphs cannot deadlock the limiter.
 */
export class CopyTracker {
  readonly queue: PQueue
  readonly cache: ManifestCache
  /** Range streams of large blobs, adapted to the link (shared by every copy of the session). */
  readonly link = new LinkGovernor()
  private readonly inflight = new WeakMap<object, Map<string, Promise<void>>>()
  private readonly present = new WeakMap<object, Set<string>>()
  private readonly tagged = new WeakMap<object, Map<string, string>>()

  constructor(opts: CopyTrackerOptions = {}) {
    this.queue = new PQueue({concurrency: Math.max(1, opts.concurrency ?? 3)})
    this.cache = new ManifestCache(opts.maxMetadataBytes ?? 32 * 1024 * 1024)
  }

  /**
   * Record that `dst` holds `digest` (an existence check made before the copy, e.g. while
   * planning): copy() then skips that node without asking the destination again.
   */
  markPresent(dst: object, digest: string): void {
    let set = this.present.get(dst)
    if (!set) this.present.set(dst, (set = new Set()))
    set.add(digest)
  }

  /** True when markPresent() recorded `digest` at `dst`. */
  knownPresent(dst: object, digest: string): boolean {
    return this.present.get(dst)?.has(digest) ?? false
  }

  /** Record that tag `ref` at `dst` already points at `digest`: copy() then does not tag again. */
  markTagged(dst: object, ref: string, digest: string): void {
    let map = this.tagged.get(dst)
    if (!map) this.tagged.set(dst, (map = new Map()))
    map.set(ref, digest)
  }

  /** True when markTagged() recorded `ref` at `dst` pointing at `digest`. */
  knownTagged(dst: object, ref: string, digest: string): boolean {
    return this.tagged.get(dst)?.get(ref) === digest
  }

  /**
   * Run `work` for `desc` at `dst` unless it is already running or done; every caller awaits the
   * same promise. A failed node is forgotten so that a later call can retry it.
   */
  once(dst: object, desc: Descriptor, work: () => Promise<void>): {promise: Promise<void>; owner: boolean} {
    let byDigest = this.inflight.get(dst)
    if (!byDigest) this.inflight.set(dst, (byDigest = new Map()))
    const running = byDigest.get(desc.digest)
    if (running) return {promise: running, owner: false}
    const map = byDigest
    const promise = work().catch((err: unknown) => {
      if (map.get(desc.digest) === promise) map.delete(desc.digest)
      throw err
    })
    map.set(desc.digest, promise)
    return {promise, owner: true}
  }
}

/** Manifest bytes by digest, evicting the least recently used past a byte cap. */
export class ManifestCache {
  private readonly entries = new Map<string, Buffer>()
  private bytes = 0

  constructor(readonly maxBytes: number) {}

  get(digest: string): Buffer | undefined {
    const b = this.entries.get(digest)
    if (b) {
      this.entries.delete(digest)
      this.entries.set(digest, b)
    }
    return b
  }

  set(digest: string, bytes: Buffer): void {
    if (bytes.length > this.maxBytes || this.entries.has(digest)) return
    this.entries.set(digest, bytes)
    this.bytes += bytes.length
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break
      this.entries.delete(k)
      this.bytes -= v.length
    }
  }

  get size(): number {
    return this.bytes
  }
}
