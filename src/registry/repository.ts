/**
 * RegistryRepository: one repository of a registry as a content Target (resolve, fetch, exists,
 * push, tag) plus the optional capabilities Mounter, ReferencePusher, TagLister and Located.
 */
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream'
import {repositoryScope} from '../auth/scope.js'
import {checkBytes, readAll, verifier} from '../content/verify.js'
import type {ChunkPusher, Mounter, ReferencePusher, TagLister, Target, Located, UnverifiedFetcher, VerifiedBodyPusher, VerifiedFetcher} from '../content/types.js'
import {IntegrityError, UsageError, type RegistryContext, type Side} from '../errors.js'
import {isRetryableError, mapTransportError} from '../http/errors.js'
import type {HttpResponse} from '../http/client.js'
import {backoffDelay, sleep} from '../http/retry.js'
import {digestOf, isDigest} from '../oci/digest.js'
import {bareMediaType, isGraphMediaType, manifestMediaTypeOf} from '../oci/manifest.js'
import {isValidTag} from '../oci/reference.js'
import {MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, type Descriptor} from '../oci/types.js'
import type {RegistryClient} from './client.js'
import {DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_THRESHOLD, nextLink} from './util.js'

export interface RepositoryOptions {
  /** Which side of a copy this repository is, for error messages. */
  side?: Side
}

/** How often a broken blob download is resumed with a Range request. */
export const MAX_RESUMES = 3

export class RegistryRepository implements Target, Mounter, ReferencePusher, TagLister, Located, UnverifiedFetcher, VerifiedFetcher, VerifiedBodyPusher, ChunkPusher {
  readonly location: string
  /** fetch() streams verify size and digest (VerifiedFetcher). */
  readonly verifiesFetchedContent = true as const
  readonly registryHost: string
  readonly repository: string
  side: Side | undefined

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

  private get pullScopes(): string[] {
    return [repositoryScope(this.repository, 'pull')]
  }

  private get pushScopes(): string[] {
    return [repositoryScope(this.repository, 'pull', 'push')]
  }

  private url(path: string): string {
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

  private where(desc: Descriptor): string {
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
    const head = await this.client.send({method: 'HEAD', url: this.url(`manifests/${ref}`), headers, scopes: this.pullScopes, ctx, signal})
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
    const res = await this.client.send({method: 'GET', url: this.url(`manifests/${ref}`), headers, scopes: this.pullScopes, ctx, signal})
    if (res.status !== 200) throw await this.client.fail(res, ctx, 'pull', `manifest ${ref}`)
    const bytes = await readAll(res.body, MAX_MANIFEST_BYTES, ctx.reference ?? ref)
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
    const res = await this.client.send({
      method: 'GET',
      url: this.url(`manifests/${desc.digest}`),
      headers: {accept},
      scopes: this.pullScopes,
      ctx,
      signal,
    })
    if (res.status !== 200) throw await this.client.fail(res, ctx, 'pull', `manifest ${desc.digest}`)
    this.checkServedDigest(res, desc)
    const bytes = await readAll(res.body, MAX_MANIFEST_BYTES, where)
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

  private blobRequest(desc: Descriptor, offset: number, signal?: AbortSignal): Promise<HttpResponse> {
    const headers: Record<string, string> = offset > 0 ? {range: `bytes=${offset}-`} : {}
    return this.client.send({
      method: 'GET',
      url: this.url(`blobs/${desc.digest}`),
      headers,
      scopes: this.pullScopes,
      ctx: this.ctx(desc.digest),
      signal,
    })
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
    const first = await this.blobRequest(desc, 0, signal)
    if (first.status !== 200) throw await this.client.fail(first, ctx, 'pull', `blob ${desc.digest}`)
    this.checkServedDigest(first, desc)
    return Readable.from(this.blobChunks(desc, first, signal), {objectMode: false})
  }

  /** The blob's bytes across as many responses as it takes (Range requests after a break). */
  private async *blobChunks(desc: Descriptor, first: HttpResponse, signal?: AbortSignal): AsyncGenerator<Buffer> {
    let res = first
    let offset = 0
    let skip = 0
    for (let resumes = 0; ; ) {
      try {
        for await (const chunk of res.body) {
          let buf = chunk as Buffer
          if (skip > 0) {
            const drop = Math.min(skip, buf.length)
            skip -= drop
            buf = buf.subarray(drop)
            if (buf.length === 0) continue
          }
          offset += buf.length
          yield buf
        }
        return
      } catch (err) {
        if (resumes >= MAX_RESUMES || offset >= desc.size || !isRetryableError(err) || signal?.aborted) {
          throw mapTransportError(err, {host: this.client.apiHost, side: this.side, operation: `GET blob ${desc.digest}`})
        }
        await sleep(backoffDelay(resumes), signal)
        resumes++
        res = await this.blobRequest(desc, offset, signal)
        skip = await this.resumeSkip(res, desc, offset)
      }
    }
  }

  /** Validate a resumed response; the number of leading bytes to drop (when Range was ignored). */
  private async resumeSkip(res: HttpResponse, desc: Descriptor, offset: number): Promise<number> {
    if (res.status === 200) return offset
    if (res.status === 206) {
      const m = /bytes\s+(\d+)-/.exec(res.header('content-range') ?? '')
      if (m && Number(m[1]) === offset) return 0
      await res.dump()
      throw new IntegrityError(`${this.where(desc)}: the registry answered a resume from byte ${offset} with range "${res.header('content-range') ?? ''}"`, {
        hint: 'retry the download',
      })
    }
    throw await this.client.fail(res, this.ctx(desc.digest), 'pull', `blob ${desc.digest}`)
  }

  /** HEAD the manifest or blob. */
  async exists(desc: Descriptor, signal?: AbortSignal): Promise<boolean> {
    const manifest = isGraphMediaType(desc.mediaType)
    const ctx = this.ctx(desc.digest)
    const res = await this.client.send({
      method: 'HEAD',
      url: this.url(`${manifest ? 'manifests' : 'blobs'}/${desc.digest}`),
      headers: manifest ? {accept: `${bareMediaType(desc.mediaType)}, ${MANIFEST_ACCEPT}`} : {},
      scopes: this.pullScopes,
      ctx,
      signal,
    })
    await res.dump()
    if (res.status === 200) return true
    if (res.status === 404) return false
    throw await this.client.fail(res, ctx, 'pull', `${manifest ? 'manifest' : 'blob'} ${desc.digest}`)
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
      url: this.url(`manifests/${ref}`),
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
    if (await this.exists(desc, signal)) return
    const location = await this.startUpload(desc, signal)
    try {
      const threshold = this.client.options.chunkThreshold ?? DEFAULT_CHUNK_THRESHOLD
      if (desc.size <= threshold) await this.putMonolithic(desc, location, shareable(chunks), signal)
      else await this.putChunked(desc, location, chunks, signal, true)
    } catch (err) {
      await this.cancelUpload(location, desc)
      throw err
    }
  }

  private async pushBlob(desc: Descriptor, body: Readable, signal?: AbortSignal, bodyVerifies = false): Promise<void> {
    if (await this.exists(desc, signal)) {
      body.destroy()
      return
    }
    const location = await this.startUpload(desc, signal)
    const verified = bodyVerifies ? body : pipeline(body, verifier(desc, this.where(desc)), () => undefined)
    try {
      const threshold = this.client.options.chunkThreshold ?? DEFAULT_CHUNK_THRESHOLD
      if (desc.size <= threshold) await this.putMonolithic(desc, location, verified, signal)
      else await this.putChunked(desc, location, verified, signal)
    } catch (err) {
      verified.destroy()
      await this.cancelUpload(location, desc)
      throw err
    }
  }

  private async startUpload(desc: Descriptor, signal?: AbortSignal, query = ''): Promise<URL> {
    const ctx = this.ctx(desc.digest)
    const url = new URL(`${this.client.baseUrl}${this.url('blobs/uploads/')}${query}`)
    const res = await this.client.send({method: 'POST', url, headers: {'content-length': '0'}, scopes: this.pushScopes, ctx, signal})
    if (res.status !== 202) throw await this.client.fail(res, ctx, 'push', `blob ${desc.digest}`)
    await res.dump()
    return this.locationOf(res, url, desc)
  }

  private async locationOf(res: HttpResponse, requestUrl: URL, desc: Descriptor): Promise<URL> {
    const location = res.header('location')
    if (!location) {
      throw await this.client.fail(res, this.ctx(desc.digest), 'push', `upload of blob ${desc.digest} (no Location header)`)
    }
    return new URL(location, requestUrl)
  }

  private withDigest(location: URL, digest: string): URL {
    const u = new URL(location)
    u.search = `${u.search ? `${u.search}&` : '?'}digest=${encodeURIComponent(digest)}`
    return u
  }

  private async putMonolithic(desc: Descriptor, location: URL, body: Readable | AsyncIterable<Buffer>, signal?: AbortSignal): Promise<void> {
    const ctx = this.ctx(desc.digest)
    const res = await this.client.send({
      method: 'PUT',
      url: this.withDigest(location, desc.digest),
      headers: {'content-type': 'application/octet-stream', 'content-length': String(desc.size)},
      body,
      scopes: this.pushScopes,
      ctx,
      signal,
    })
    if (res.status !== 201) throw await this.client.fail(res, ctx, 'push', `blob ${desc.digest}`)
    await res.dump()
  }

  /**
   * Chunked upload: one PATCH per `chunkSize` bytes, each body a slice streamed straight from
   * `body` (no chunk is ever held in memory), following the new Location every time; then the
   * final PUT ?digest=. `body` must already be the verified stream: it is read to its end after
   * the last chunk so that its size and digest check runs before the upload is committed.
   */
  private async putChunked(desc: Descriptor, start: URL, body: AsyncIterable<unknown>, signal?: AbortSignal, shared = false): Promise<void> {
    const ctx = this.ctx(desc.digest)
    const chunkSize = this.client.options.chunkSize ?? DEFAULT_CHUNK_SIZE
    const slicer = new StreamSlicer(body, this.where(desc))
    let location = start
    for (let offset = 0; offset < desc.size; ) {
      const length = Math.min(chunkSize, desc.size - offset)
      const res = await this.client.send({
        method: 'PATCH',
        url: location,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(length),
          'content-range': `${offset}-${offset + length - 1}`,
        },
        // Shared chunks (pushChunks) go out as they are; a slice left over for the next PATCH stays
        // valid because the source is not asked for more until that PATCH has been sent.
        body: shared ? shareable(slicer.slice(length)) : slicer.next(length),
        retry: false,
        scopes: this.pushScopes,
        ctx,
        signal,
      })
      if (res.status !== 202) throw await this.client.fail(res, ctx, 'push', `blob ${desc.digest}`)
      await res.dump()
      location = await this.locationOf(res, location, desc)
      offset += length
    }
    await slicer.end()
    const res = await this.client.send({
      method: 'PUT',
      url: this.withDigest(location, desc.digest),
      headers: {'content-length': '0'},
      scopes: this.pushScopes,
      ctx,
      signal,
    })
    if (res.status !== 201) throw await this.client.fail(res, ctx, 'push', `blob ${desc.digest}`)
    await res.dump()
  }

  private async cancelUpload(location: URL, desc: Descriptor): Promise<void> {
    try {
      const res = await this.client.send({method: 'DELETE', url: location, scopes: this.pushScopes, ctx: this.ctx(desc.digest)})
      await res.dump()
    } catch {
      // best effort: the registry expires abandoned upload sessions itself
    }
  }

  // ---- Mounter -------------------------------------------------------------------------------

  /** Cross-repository mount: true when mounted (201), false when the registry declined (202). */
  async mount(desc: Descriptor, fromRepository: string, signal?: AbortSignal): Promise<boolean> {
    const ctx = this.ctx(desc.digest)
    const query = `?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(fromRepository)}`
    const url = new URL(`${this.client.baseUrl}${this.url('blobs/uploads/')}${query}`)
    const scopes = [...this.pushScopes, repositoryScope(fromRepository, 'pull')]
    const res = await this.client.send({method: 'POST', url, headers: {'content-length': '0'}, scopes, ctx, signal})
    if (res.status === 201) {
      await res.dump()
      return true
    }
    if (res.status === 202) {
      await res.dump()
      await this.cancelUpload(await this.locationOf(res, url, desc), desc)
      return false
    }
    throw await this.client.fail(res, ctx, 'mount into', `blob ${desc.digest}`)
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
    const res = await this.client.send({method: 'DELETE', url: this.url(`manifests/${digest}`), scopes: [repositoryScope(this.repository, 'pull', 'push', 'delete')], ctx, signal})
    if (res.status === 404 || res.status === 202 || res.status === 200 || res.status === 204) {
      await res.dump()
      return res.status !== 404
    }
    throw await this.client.fail(res, ctx, 'delete from', `manifest ${digest}`)
  }

  // ---- TagLister -----------------------------------------------------------------------------

  /** All tags, following Link pagination. */
  async *tags(signal?: AbortSignal, pageSize = 1000): AsyncIterable<string> {
    const ctx = this.ctx()
    let url: URL | undefined = new URL(`${this.client.baseUrl}${this.url(`tags/list?n=${pageSize}`)}`)
    while (url) {
      const res = await this.client.send({method: 'GET', url, scopes: this.pullScopes, ctx, signal})
      if (res.status !== 200) throw await this.client.fail(res, ctx, 'list tags of', `repository ${this.repository}`)
      const body = JSON.parse(await res.text(undefined, 'whole')) as {tags?: string[] | null}
      yield* body.tags ?? []
      url = nextLink(res.header('link'), url)
    }
  }
}

/**
 * Cut one byte stream into consecutive sub-streams of given lengths without buffering or copying:
 * each slice pulls from the shared source only as fast as its consumer reads, and the bytes past
 * its end stay with the source for the next slice. Take a slice only after the previous one was
 * read to its end (a slice never reads past its own end, so the order cannot mix up).
 */
export class StreamSlicer {
  private readonly source: AsyncIterator<unknown>
  private rest: Buffer | undefined

  constructor(
    source: AsyncIterable<unknown>,
    private readonly where: string,
  ) {
    this.source = source[Symbol.asyncIterator]()
  }

  /** A stream of exactly the next `length` bytes; it fails when the source ends before that. */
  next(length: number): Readable {
    return Readable.from(this.slice(length), {objectMode: false, highWaterMark: 64 * 1024})
  }

  /** Read the source to its end (which runs its checks); fails if bytes are left over. */
  async end(): Promise<void> {
    const leftover = this.rest !== undefined || !(await this.source.next()).done
    this.rest = undefined
    if (leftover) {
      throw new IntegrityError(`content of ${this.where} is longer than its chunks`, {hint: 'the content changed while it was uploaded; retry'})
    }
  }

  /** The next `length` bytes as the source's own chunks (or parts of them), without a stream around them. */
  async *slice(length: number): AsyncGenerator<Buffer> {
    for (let left = length; left > 0; ) {
      let buf = this.rest ?? (await this.nextChunk(left, length))
      this.rest = undefined
      if (buf.length > left) {
        this.rest = buf.subarray(left)
        buf = buf.subarray(0, left)
      }
      left -= buf.length
      if (buf.length > 0) yield buf
    }
  }

  private async nextChunk(left: number, length: number): Promise<Buffer> {
    const r = await this.source.next()
    if (r.done) {
      throw new IntegrityError(`content of ${this.where} ended ${left} bytes before the end of a ${length}-byte chunk`, {
        hint: 'the content is shorter than its descriptor says; fetch it again',
      })
    }
    return Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value as Uint8Array)
  }
}

/** Chunks at least this large are sent from the producer's reused memory (see pushChunks). */
const SHARED_CHUNK_MIN = 256 * 1024

async function* shareable(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) yield chunk.length >= SHARED_CHUNK_MIN ? chunk : Buffer.from(chunk)
}

async function* copied(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) yield Buffer.from(chunk)
}
