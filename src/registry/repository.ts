/**
 * RegistryRepository: one repository of a registry as a content Target (resolve, fetch, exists,
 * push, tag) plus the optional capabilities Mounter, ReferencePusher, TagLister and Located.
 * Reads that survive broken connections are in reads.ts, uploads and mounts in upload.ts, Link
 * pagination in pages.ts, range reads (parallel parts of one blob) in ranges.ts.
 */
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream'
import {repositoryScope} from '../auth/scope.js'
import {checkBytes, readAll, verifier} from '../content/verify.js'
import type {ChunkPusher, Mounter, RangeFetcher, RangeResponse, ReferencePusher, TagLister, Target, Located, UnverifiedFetcher, VerifiedBodyPusher, VerifiedFetcher} from '../content/types.js'
import {IntegrityError, isServerFailure, UsageError, unlessServerFails, type RegistryContext, type Side} from '../errors.js'
import type {HttpResponse} from '../http/client.js'
import {digestOf, isDigest} from '../oci/digest.js'
import {bareMediaType, isGraphMediaType, manifestMediaTypeOf} from '../oci/manifest.js'
import {isValidTag} from '../oci/reference.js'
import {MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, type Descriptor} from '../oci/types.js'
import type {RegistryClient} from './client.js'
import {paginate} from './pages.js'
import {blobChunks, blobRequest, getManifest} from './reads.js'
import {fetchBlobRange} from './ranges.js'
import {copied, shareable} from './slicer.js'
import {cancelUpload, mountBlob, putChunked, putMonolithic, startUpload, type RepositoryHandle} from './upload.js'
import {DEFAULT_CHUNK_THRESHOLD} from './util.js'

export interface RepositoryOptions {
  /** Which side of a copy this repository is, for error messages. */
  side?: Side
}

export class RegistryRepository implements RepositoryHandle, Target, Mounter, ReferencePusher, TagLister, Located, UnverifiedFetcher, VerifiedFetcher, VerifiedBodyPusher, ChunkPusher, RangeFetcher {
  readonly location: string
  /** fetch() streams verify size and digest (VerifiedFetcher). */
  readonly verifiesFetchedContent = true as const
  readonly registryHost: string
  readonly repository: string
  side: Side | undefined
  /**
   * Blobs a HEAD just found absent here (404): the push that follows (the copy engine asks first,
   * then pushes) does not ask again. One round trip less per blob sent; taken once. Were the blob
   * to arrive meanwhile, the upload is merely redundant.
   */
  private readonly absentBlobs = new Set<string>()
  /**
   * Digests whose HEAD here ended in a server error after the HTTP client's retries, with that
   * error. A push asks about one node up to three times (the survey, the copy engine, the upload's
   * own check); each of them treats such an answer as "absent" (unlessServerFails), so asking again
   * would only repeat the retries and their backoff. Later questions get the same error at once.
   * Forgotten when the node is pushed here.
   */
  private readonly unanswered = new Map<string, unknown>()

  constructor(
    readonly client: RegistryClient,
    name: string,
    options: RepositoryOptions = {},
  ) {
    this.repository = name
    this.registryHost = client.registry
    this.location = `registry ${client.registry}/${name}`
    this.side = options.side
  }

  get pullScopes(): string[] {
    return [repositoryScope(this.repository, 'pull')]
  }

  get pushScopes(): string[] {
    return [repositoryScope(this.repository, 'pull', 'push')]
  }

  apiPath(path: string): string {
    return `/v2/${this.repository}/${path}`
  }

  /** Error context; `reference` is a tag or digest in this repository. */
  ctx(reference?: string): RegistryContext {
    const base = `${this.client.registry}/${this.repository}`
    const ctx: RegistryContext = {registry: this.client.registry, repository: this.repository}
    if (reference) ctx.reference = isDigest(reference) ? `${base}@${reference}` : `${base}:${reference}`
    if (this.side) ctx.side = this.side
    return ctx
  }

  where(desc: Descriptor): string {
    return `${this.client.registry}/${this.repository}@${desc.digest}${this.side ? ` (${this.side})` : ''}`
  }

  private checkRef(ref: string): void {
    if (!isDigest(ref) && !isValidTag(ref)) {
      throw new UsageError(`"${ref}" is neither a tag nor a digest (in ${this.client.registry}/${this.repository})`, {
        hint: 'tags match [A-Za-z0-9_][A-Za-z0-9._-]{0,127}; digests look like sha256:<64 hex>',
      })
    }
  }

  // ---- Resolver ----------------------------------------------------------------------------

  /** Resolve a tag or digest with HEAD (free on Docker Hub), falling back to GET. */
  async resolve(ref: string, signal?: AbortSignal): Promise<Descriptor> {
    this.checkRef(ref)
    const ctx = this.ctx(ref)
    const headers = {accept: MANIFEST_ACCEPT}
    const head = await this.client.send({method: 'HEAD', url: this.apiPath(`manifests/${ref}`), headers, scopes: this.pullScopes, ctx, signal})
    if (head.status !== 200) {
      if (head.status !== 405) throw await this.client.fail(head, ctx, 'pull', `manifest ${ref}`)
      await head.dump()
    } else {
      await head.dump()
      const digest = head.header('docker-content-digest')
      const size = Number(head.header('content-length'))
      const mediaType = bareMediaType(head.header('content-type'))
      if (digest && isDigest(digest) && Number.isSafeInteger(size) && size > 0 && isGraphMediaType(mediaType)) {
        if (isDigest(ref) && digest !== ref) throw this.digestMismatch(ref, digest)
        return {mediaType, digest, size}
      }
    }
    const res = await getManifest(this, ref, {accept: MANIFEST_ACCEPT, ctx, where: ctx.reference ?? ref, expectedBytes: MAX_MANIFEST_BYTES, signal})
    const bytes = res.bytes
    const digest = isDigest(ref) ? ref : (res.header('docker-content-digest') ?? digestOf(bytes))
    if (isDigest(ref)) checkBytes({mediaType: '', digest: ref, size: bytes.length}, bytes, ctx.reference ?? ref)
    else if (digestOf(bytes, digest.startsWith('sha512:') ? 'sha512' : 'sha256') !== digest) throw this.digestMismatch(ref, digest)
    const typed = bareMediaType(res.header('content-type'))
    const mediaType = isGraphMediaType(typed) ? typed : (manifestMediaTypeOf(bytes) ?? typed)
    return {mediaType, digest, size: bytes.length}
  }

  private digestMismatch(ref: string, got: string): IntegrityError {
    return new IntegrityError(`${this.client.registry}/${this.repository}: manifest ${ref} is served with digest ${got}`, {
      hint: 'the registry or a proxy in between changes content; do not trust it',
    })
  }

  // ---- Fetcher / ReadOnlyStorage -------------------------------------------------------------

  /** Stream `desc`, verified against its size and digest (blobs are resumed after a broken connection). */
  async fetch(desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    if (isGraphMediaType(desc.mediaType)) return Readable.from([await this.fetchManifest(desc, signal)])
    return this.fetchBlob(desc, signal)
  }

  /** The verified bytes of a manifest or index. */
  async fetchManifest(desc: Descriptor, signal?: AbortSignal): Promise<Buffer> {
    const where = this.where(desc)
    if (desc.size > MAX_MANIFEST_BYTES) {
      throw new IntegrityError(`manifest ${where} is ${desc.size} bytes, more than the ${MAX_MANIFEST_BYTES}-byte limit`, {
        hint: 'a manifest this large is not valid; check the reference',
      })
    }
    const ctx = this.ctx(desc.digest)
    const accept = isGraphMediaType(desc.mediaType) ? `${bareMediaType(desc.mediaType)}, ${MANIFEST_ACCEPT}` : MANIFEST_ACCEPT
    const check = (res: HttpResponse) => this.checkServedDigest(res, desc)
    const {bytes} = await getManifest(this, desc.digest, {accept, ctx, where, expectedBytes: desc.size, check, signal})
    checkBytes(desc, bytes, where)
    return bytes
  }

  private checkServedDigest(res: HttpResponse, desc: Descriptor): void {
    const served = res.header('docker-content-digest')
    if (served && isDigest(served) && served.split(':')[0] === desc.digest.split(':')[0] && served !== desc.digest) {
      throw new IntegrityError(`${this.where(desc)}: the registry says it served ${served}`, {
        hint: 'the registry or a proxy in between changes content; do not trust it',
      })
    }
  }

  private async fetchBlob(desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    const source = await this.fetchBlobUnverified(desc, signal)
    return pipeline(source, verifier(desc, this.where(desc)), () => undefined)
  }

  /**
   * UnverifiedFetcher: a blob's bytes without the size/digest check (resumed like fetch()), for a
   * destination that verifies them itself (the copy engine asks only for a VerifyingPusher).
   * Manifests are always verified (they are parsed).
   */
  async fetchUnverified(desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    if (isGraphMediaType(desc.mediaType)) return this.fetch(desc, signal)
    return this.fetchBlobUnverified(desc, signal)
  }

  private async fetchBlobUnverified(desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    const ctx = this.ctx(desc.digest)
    const first = await blobRequest(this, desc, 0, signal)
    if (first.status !== 200) throw await this.client.fail(first, ctx, 'pull', `blob ${desc.digest}`)
    this.checkServedDigest(first, desc)
    return Readable.from(blobChunks(this, desc, first, signal), {objectMode: false})
  }

  /** RangeFetcher: bytes [start, end) of a blob, unverified (see ranges.ts). */
  fetchRange(desc: Descriptor, start: number, end: number, opts: {via?: URL | undefined; signal?: AbortSignal | undefined} = {}): Promise<RangeResponse> {
    return fetchBlobRange(this, desc, start, end, opts)
  }

  /** HEAD the manifest or blob. */
  async exists(desc: Descriptor, signal?: AbortSignal): Promise<boolean> {
    const failed = this.unanswered.get(desc.digest)
    if (failed !== undefined) throw failed
    const manifest = isGraphMediaType(desc.mediaType)
    const ctx = this.ctx(desc.digest)
    const res = await this.client.send({
      method: 'HEAD',
      url: this.apiPath(`${manifest ? 'manifests' : 'blobs'}/${desc.digest}`),
      headers: manifest ? {accept: `${bareMediaType(desc.mediaType)}, ${MANIFEST_ACCEPT}`} : {},
      scopes: this.pullScopes,
      ctx,
      signal,
    })
    await res.dump()
    if (res.status === 200) {
      this.absentBlobs.delete(desc.digest)
      return true
    }
    if (res.status === 404) {
      if (!manifest) this.absentBlobs.add(desc.digest)
      return false
    }
    const err = await this.client.fail(res, ctx, 'pull', `${manifest ? 'manifest' : 'blob'} ${desc.digest}`)
    if (isServerFailure(err)) this.unanswered.set(desc.digest, err)
    throw err
  }

  // ---- Pusher --------------------------------------------------------------------------------

  /** Push a manifest (bytes unchanged, by digest) or a blob (skipped when present). */
  async push(desc: Descriptor, body: Readable, signal?: AbortSignal): Promise<void> {
    if (isGraphMediaType(desc.mediaType)) return this.putManifest(desc, await this.readManifest(desc, body), desc.digest, signal)
    return this.pushBlob(desc, body, signal)
  }

  private async readManifest(desc: Descriptor, body: Readable): Promise<Buffer> {
    const bytes = await readAll(body, MAX_MANIFEST_BYTES, this.where(desc))
    checkBytes(desc, bytes, this.where(desc))
    return bytes
  }

  private async putManifest(desc: Descriptor, bytes: Buffer, ref: string, signal?: AbortSignal): Promise<void> {
    const ctx = this.ctx(ref)
    const res = await this.client.send({
      method: 'PUT',
      url: this.apiPath(`manifests/${ref}`),
      headers: {'content-type': desc.mediaType},
      body: bytes,
      scopes: this.pushScopes,
      ctx,
      signal,
    })
    if (res.status !== 201 && res.status !== 200) throw await this.client.fail(res, ctx, 'push', `manifest ${ref}`)
    await res.dump()
    const stored = res.header('docker-content-digest')
    if (stored && isDigest(stored) && stored.split(':')[0] === desc.digest.split(':')[0] && stored !== desc.digest) {
      throw new IntegrityError(`${ctx.reference}: the registry stored the manifest as ${stored}, not ${desc.digest}`, {
        hint: 'the registry rewrites manifests; it cannot be used as a mirror that keeps digests',
      })
    }
    this.unanswered.delete(desc.digest)
  }

  /**
   * VerifiedBodyPusher: push `body`, which is already a verifying stream (it fails instead of
   * ending when its bytes differ from `desc`), without hashing it a second time. The upload is
   * committed only after the body ended cleanly (chunked: read to its end before the final PUT;
   * monolithic: a failing body aborts the PUT), and the registry checks `?digest=` itself.
   */
  async pushVerified(desc: Descriptor, body: Readable, signal?: AbortSignal): Promise<void> {
    if (isGraphMediaType(desc.mediaType)) return this.push(desc, body, signal)
    return this.pushBlob(desc, body, signal, true)
  }

  /**
   * ChunkPusher: push a ChunkFetcher's verified chunks. A blob up to the chunking threshold goes in
   * one PUT whose body is the chunks themselves, with no copy: undici asks for the next chunk only
   * after the socket took the previous one (write() returned true, or 'drain'). write() can return
   * true with a chunk still queued only when the chunk is below the socket's high-water mark
   * (16 KiB), so chunks under SHARED_CHUNK_MIN are copied before they are handed over.
   */
  async pushChunks(desc: Descriptor, chunks: AsyncIterable<Buffer>, signal?: AbortSignal): Promise<void> {
    if (isGraphMediaType(desc.mediaType)) return this.pushVerified(desc, Readable.from(copied(chunks), {objectMode: false}), signal)
    if (await this.presentBeforePush(desc, signal)) return
    const location = await startUpload(this, desc, signal)
    try {
      const threshold = this.client.options.chunkThreshold ?? DEFAULT_CHUNK_THRESHOLD
      if (desc.size <= threshold) await putMonolithic(this, desc, location, shareable(chunks), signal)
      else await putChunked(this, desc, location, chunks, signal, true)
    } catch (err) {
      await cancelUpload(this, location, desc)
      throw err
    }
    this.unanswered.delete(desc.digest)
  }

  /** Whether to skip a blob push: asked here unless a HEAD just found it absent (absentBlobs). */
  private async presentBeforePush(desc: Descriptor, signal: AbortSignal | undefined): Promise<boolean> {
    if (this.absentBlobs.delete(desc.digest)) return false
    return unlessServerFails(this.exists(desc, signal), false)
  }

  private async pushBlob(desc: Descriptor, body: Readable, signal?: AbortSignal, bodyVerifies = false): Promise<void> {
    if (await this.presentBeforePush(desc, signal)) {
      body.destroy()
      return
    }
    const location = await startUpload(this, desc, signal)
    const verified = bodyVerifies ? body : pipeline(body, verifier(desc, this.where(desc)), () => undefined)
    try {
      const threshold = this.client.options.chunkThreshold ?? DEFAULT_CHUNK_THRESHOLD
      if (desc.size <= threshold) await putMonolithic(this, desc, location, verified, signal)
      else await putChunked(this, desc, location, verified, signal)
    } catch (err) {
      verified.destroy()
      await cancelUpload(this, location, desc)
      throw err
    }
    this.unanswered.delete(desc.digest)
  }

  // ---- Mounter -------------------------------------------------------------------------------

  /** Cross-repository mount: true when mounted (201), false when the registry declined (202). */
  async mount(desc: Descriptor, fromRepository: string, signal?: AbortSignal): Promise<boolean> {
    const mounted = await mountBlob(this, desc, fromRepository, repositoryScope(fromRepository, 'pull'), signal)
    if (mounted) this.unanswered.delete(desc.digest)
    return mounted
  }

  // ---- Tagger / ReferencePusher --------------------------------------------------------------

  /** Point tag `ref` at the manifest `desc` (already in this repository). */
  async tag(desc: Descriptor, ref: string, signal?: AbortSignal): Promise<void> {
    this.checkRef(ref)
    const bytes = await this.fetchManifest(desc, signal)
    if (isDigest(ref)) return
    await this.putManifest(desc, bytes, ref, signal)
  }

  /** Push a manifest and tag it with one PUT manifests/<ref>. */
  async pushReference(desc: Descriptor, body: Readable, ref: string, signal?: AbortSignal): Promise<void> {
    this.checkRef(ref)
    await this.putManifest(desc, await this.readManifest(desc, body), ref, signal)
  }

  // ---- Deleter -------------------------------------------------------------------------------

  /**
   * Delete the manifest `digest` (and so every tag that points at it): `DELETE manifests/<digest>`.
   * Returns false when it is not there. A registry that does not allow deletes (405, or
   * `UNSUPPORTED`) fails with its RegistryError, so the caller can report the registry.
   */
  async deleteManifest(digest: string, signal?: AbortSignal): Promise<boolean> {
    if (!isDigest(digest)) throw new UsageError(`${this.location}: delete takes a digest, not "${digest}"`, {hint: 'resolve the tag to its digest first'})
    const ctx = this.ctx(digest)
    const res = await this.client.send({method: 'DELETE', url: this.apiPath(`manifests/${digest}`), scopes: [repositoryScope(this.repository, 'pull', 'push', 'delete')], ctx, signal})
    if (res.status === 404 || res.status === 202 || res.status === 200 || res.status === 204) {
      await res.dump()
      return res.status !== 404
    }
    throw await this.client.fail(res, ctx, 'delete from', `manifest ${digest}`)
  }

  // ---- TagLister -----------------------------------------------------------------------------

  /** All tags, following Link pagination within its bounds. */
  tags(signal?: AbortSignal, pageSize = 1000): AsyncIterable<string> {
    return paginate(this.client, {
      first: new URL(`${this.client.baseUrl}${this.apiPath(`tags/list?n=${pageSize}`)}`),
      field: 'tags',
      scopes: this.pullScopes,
      ctx: this.ctx(),
      action: 'list tags of',
      subject: `repository ${this.repository}`,
      signal,
    })
  }
}
