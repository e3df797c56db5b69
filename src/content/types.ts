/**
 * The content contract. Every place content lives (a registry repository, an OCI image layout
 * directory, a bundle tarball, memory) implements these interfaces, and the one copy engine
 * (src/copy) moves graphs between any two of them. AbortSignal plays the role of Go's context.
 */
import type {Readable} from 'node:stream'
import type {Descriptor} from '../oci/types.js'

export interface Fetcher {
  /**
   * A stream of the content's bytes. Implementations verify size and digest while streaming and
   * make the stream fail with an IntegrityError on mismatch (never emit trailing data silently).
   */
  fetch(desc: Descriptor, signal?: AbortSignal): Promise<Readable>
}

export interface Pusher {
  /**
   * Store the content. Verifies size and digest of `body` before the content becomes visible;
   * content that already exists is success.
   */
  push(desc: Descriptor, body: Readable, signal?: AbortSignal): Promise<void>
}

export interface ReadOnlyStorage extends Fetcher {
  exists(desc: Descriptor, signal?: AbortSignal): Promise<boolean>
}

export interface Storage extends ReadOnlyStorage, Pusher {}

export interface Resolver {
  /** Resolve a tag, a digest, or (for layouts and bundles) a ref.name to a descriptor. */
  resolve(ref: string, signal?: AbortSignal): Promise<Descriptor>
}

export interface Tagger {
  /** Point `ref` at the (already pushed) manifest or index `desc`. */
  tag(desc: Descriptor, ref: string, signal?: AbortSignal): Promise<void>
}

export interface ReadOnlyTarget extends ReadOnlyStorage, Resolver {}
export interface Target extends Storage, Resolver, Tagger {}

// Optional capabilities, detected at run time with the guards below; never required.

export interface Mounter {
  /**
   * Make `desc` exist here by mounting it from another repository of the same registry. Resolves
   * true when mounted, false when the registry declined (the caller then copies the bytes).
   */
  mount(desc: Descriptor, fromRepository: string, signal?: AbortSignal): Promise<boolean>
}

export interface ReferencePusher {
  /** Push a manifest and tag it in one request (registries). */
  pushReference(desc: Descriptor, body: Readable, ref: string, signal?: AbortSignal): Promise<void>
}

export interface TagLister {
  tags(signal?: AbortSignal): AsyncIterable<string>
}

export interface UnverifiedFetcher {
  /**
   * A blob's bytes as received, NOT checked against size or digest (saves one hash pass). Only for
   * a caller that hands them straight to a VerifyingPusher, which checks every byte itself.
   */
  fetchUnverified(desc: Descriptor, signal?: AbortSignal): Promise<Readable>
}

/**
 * A Pusher that declares it verifies size and digest of every pushed byte itself and commits
 * nothing that fails, so a copy into it may read its source unverified (one hash pass, not two).
 */
export interface VerifyingPusher {
  readonly verifiesPushedContent: true
}

/**
 * A Fetcher that declares every fetch() stream verifies size and digest itself: a stream whose
 * bytes differ from the descriptor fails (IntegrityError) instead of ending, so whatever consumes
 * it to its end has consumed verified content.
 */
export interface VerifiedFetcher {
  readonly verifiesFetchedContent: true
}

/**
 * A Pusher that can take a body which is ALREADY a verifying stream (from a VerifiedFetcher) and
 * skip its own hash pass. It must still commit nothing unless the body ends without error (and a
 * registry checks the digest of what it receives on the final PUT anyway).
 */
export interface VerifiedBodyPusher {
  pushVerified(desc: Descriptor, body: Readable, signal?: AbortSignal): Promise<void>
}

/**
 * A Fetcher that can hand a blob over as verified chunks in REUSED memory: a chunk is valid only
 * until the consumer asks for the next one (no allocation per chunk, so no garbage per byte).
 * Size and digest are checked before the last chunk is handed over: on a mismatch the iteration
 * throws instead, so a consumer never receives the complete bytes of corrupt content. (A bundle
 * reader that already hashed the blob through the same descriptor checks instead that the file is
 * unchanged since: BundleReader.fetchChunks.)
 */
export interface ChunkFetcher {
  fetchChunks(desc: Descriptor, signal?: AbortSignal): Promise<AsyncIterable<Buffer>>
}

/**
 * A Pusher that takes a ChunkFetcher's chunks and is finished with each chunk (sent or copied)
 * before it asks for the next. It commits nothing unless the iteration ends without error.
 */
export interface ChunkPusher {
  pushChunks(desc: Descriptor, chunks: AsyncIterable<Buffer>, signal?: AbortSignal): Promise<void>
}

/** A response to a range request: where its first byte sits in the blob and whether the range was honoured. */
export interface RangeResponse {
  /** Blob offset of the body's first byte: the range's start (206), or 0 when the server ignored Range and sent the whole blob (200). */
  offset: number
  /** True when the server answered with exactly the range asked for (206 and a matching Content-Range). */
  ranged: boolean
  /** Bytes of the body; never more than asked for when `ranged`. */
  length: number
  body: Readable
  /** The URL that served it (after redirects, e.g. a storage backend): later ranges of the blob go there. */
  url: URL
}

/**
 * A source that can serve byte ranges of a blob (HTTP Range). The bytes are NOT verified: only
 * for a caller that hands them to a PositionalPusher, which hashes the whole blob in order.
 */
export interface RangeFetcher {
  /** Bytes [start, end) of `desc`; `via` is a URL an earlier range of the same blob was served from. */
  fetchRange(desc: Descriptor, start: number, end: number, opts: {via?: URL | undefined; signal?: AbortSignal | undefined}): Promise<RangeResponse>
}

/** One blob being written at positions in any order; committed only when the whole blob hashes to its digest. */
export interface PositionalBlob {
  /** Write `buffers` (`total` bytes) at blob offset `position`; a region may be written only once. */
  write(position: number, buffers: readonly Buffer[], total: number): Promise<void>
  /** Wait until every byte is written and hashed in order; commit when size and digest match, else throw IntegrityError. */
  commit(): Promise<void>
  /** Give up: nothing is committed. */
  abandon(): void
}

/** A Pusher that can take a blob's bytes at positions, in parts, in any order (a bundle file). */
export interface PositionalPusher {
  /** A writer for `desc`, or undefined when the blob is already stored. */
  openBlob(desc: Descriptor, signal?: AbortSignal): Promise<PositionalBlob | undefined>
}

/** Describes where a target is, for messages and for cross-repository mounts. */
export interface Located {
  /** e.g. "registry 127.0.0.1:5000/ns/app", "layout ./out", "bundle ./b.tar". */
  readonly location: string
  /** For registry repositories: the registry host, used to decide whether a mount is possible. */
  readonly registryHost?: string
  /** For registry repositories: the repository path. */
  readonly repository?: string
}

export const isMounter = (t: object): t is Mounter => typeof (t as Partial<Mounter>).mount === 'function'
export const isReferencePusher = (t: object): t is ReferencePusher =>
  typeof (t as Partial<ReferencePusher>).pushReference === 'function'
export const isTagLister = (t: object): t is TagLister => typeof (t as Partial<TagLister>).tags === 'function'
export const isLocated = (t: object): t is Located => typeof (t as Partial<Located>).location === 'string'
export const isUnverifiedFetcher = (t: object): t is UnverifiedFetcher =>
  typeof (t as Partial<UnverifiedFetcher>).fetchUnverified === 'function'
export const isVerifyingPusher = (t: object): t is VerifyingPusher => (t as Partial<VerifyingPusher>).verifiesPushedContent === true
export const isVerifiedFetcher = (t: object): t is VerifiedFetcher => (t as Partial<VerifiedFetcher>).verifiesFetchedContent === true
export const isVerifiedBodyPusher = (t: object): t is VerifiedBodyPusher =>
  typeof (t as Partial<VerifiedBodyPusher>).pushVerified === 'function'
export const isChunkFetcher = (t: object): t is ChunkFetcher => typeof (t as Partial<ChunkFetcher>).fetchChunks === 'function'
export const isChunkPusher = (t: object): t is ChunkPusher => typeof (t as Partial<ChunkPusher>).pushChunks === 'function'
export const isRangeFetcher = (t: object): t is RangeFetcher => typeof (t as Partial<RangeFetcher>).fetchRange === 'function'
export const isPositionalPusher = (t: object): t is PositionalPusher => typeof (t as Partial<PositionalPusher>).openBlob === 'function'
