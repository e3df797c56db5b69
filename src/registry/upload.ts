/**
 * Blob uploads of a registry repository (distribution API): start a session, send the blob in one
 * streamed PUT or in PATCH chunks following each new Location, commit with `?digest=`, cancel on
 * failure; cross-repository mounts. The Location a registry names may be on another origin: it
 * is then requested without credentials (RegistryClient.send).
 */
import type {Readable} from 'node:stream'
import type {RegistryContext} from '../errors.js'
import type {HttpResponse} from '../http/client.js'
import type {Descriptor} from '../oci/types.js'
import type {RegistryClient} from './client.js'
import {shareable, StreamSlicer} from './slicer.js'
import {DEFAULT_CHUNK_SIZE} from './util.js'

/** What the upload and read helpers need of a repository. */
export interface RepositoryHandle {
  readonly client: RegistryClient
  readonly repository: string
  /** `/v2/<name>/<path>`. */
  apiPath(path: string): string
  ctx(reference?: string): RegistryContext
  /** `registry/name@digest (side)`, for messages. */
  where(desc: Descriptor): string
  readonly pullScopes: string[]
  readonly pushScopes: string[]
}

/** POST blobs/uploads/: the session's Location. */
export async function startUpload(repo: RepositoryHandle, desc: Descriptor, signal?: AbortSignal, query = ''): Promise<URL> {
  const ctx = repo.ctx(desc.digest)
  const url = new URL(`${repo.client.baseUrl}${repo.apiPath('blobs/uploads/')}${query}`)
  const res = await repo.client.send({method: 'POST', url, headers: {'content-length': '0'}, scopes: repo.pushScopes, ctx, signal})
  if (res.status !== 202) throw await repo.client.fail(res, ctx, 'push', `blob ${desc.digest}`)
  await res.dump()
  return locationOf(repo, res, url, desc)
}

async function locationOf(repo: RepositoryHandle, res: HttpResponse, requestUrl: URL, desc: Descriptor): Promise<URL> {
  const location = res.header('location')
  if (!location) {
    throw await repo.client.fail(res, repo.ctx(desc.digest), 'push', `upload of blob ${desc.digest} (no Location header)`)
  }
  return new URL(location, requestUrl)
}

function withDigest(location: URL, digest: string): URL {
  const u = new URL(location)
  u.search = `${u.search ? `${u.search}&` : '?'}digest=${encodeURIComponent(digest)}`
  return u
}

/** The whole blob in one streamed PUT. */
export async function putMonolithic(
  repo: RepositoryHandle,
  desc: Descriptor,
  location: URL,
  body: Readable | AsyncIterable<Buffer>,
  signal?: AbortSignal,
): Promise<void> {
  await closeUpload(repo, desc, location, body, signal)
}

/**
 * The PUT that completes an upload session: with the whole blob as its body (monolithic), or empty
 * after the PATCHes. Either way the registry checks all `desc.size` bytes before it answers 201.
 */
async function closeUpload(repo: RepositoryHandle, desc: Descriptor, location: URL, body: Readable | AsyncIterable<Buffer> | undefined, signal?: AbortSignal): Promise<void> {
  const ctx = repo.ctx(desc.digest)
  const res = await repo.client.send({
    method: 'PUT',
    url: withDigest(location, desc.digest),
    headers: body ? {'content-type': 'application/octet-stream', 'content-length': String(desc.size)} : {'content-length': '0'},
    body,
    scopes: repo.pushScopes,
    ctx,
    signal,
    expectedBytes: desc.size,
  })
  if (res.status !== 201) throw await repo.client.fail(res, ctx, 'push', `blob ${desc.digest}`)
  await res.dump()
}

/**
 * Chunked upload: one PATCH per `chunkSize` bytes, each body a slice streamed straight from
 * `body` (no chunk is ever held in memory), following the new Location every time; then the
 * final PUT ?digest=. `body` must already be the verified stream: it is read to its end after
 * the last chunk so that its size and digest check runs before the upload is committed.
 */
export async function putChunked(
  repo: RepositoryHandle,
  desc: Descriptor,
  start: URL,
  body: AsyncIterable<unknown>,
  signal?: AbortSignal,
  shared = false,
): Promise<void> {
  const ctx = repo.ctx(desc.digest)
  const chunkSize = repo.client.options.chunkSize ?? DEFAULT_CHUNK_SIZE
  const slicer = new StreamSlicer(body, repo.where(desc))
  let location = start
  for (let offset = 0; offset < desc.size; ) {
    const length = Math.min(chunkSize, desc.size - offset)
    const res = await repo.client.send({
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
      scopes: repo.pushScopes,
      ctx,
      signal,
      expectedBytes: length,
    })
    if (res.status !== 202) throw await repo.client.fail(res, ctx, 'push', `blob ${desc.digest}`)
    await res.dump()
    location = await locationOf(repo, res, location, desc)
    offset += length
  }
  await slicer.end()
  await closeUpload(repo, desc, location, undefined, signal)
}

/** DELETE an abandoned upload session (best effort). */
export async function cancelUpload(repo: RepositoryHandle, location: URL, desc: Descriptor): Promise<void> {
  try {
    const res = await repo.client.send({method: 'DELETE', url: location, scopes: repo.pushScopes, ctx: repo.ctx(desc.digest)})
    await res.dump()
  } catch {
    // best effort: the registry expires abandoned upload sessions itself
  }
}

/** Cross-repository mount: true when mounted (201), false when the registry declined (202). */
export async function mountBlob(repo: RepositoryHandle, desc: Descriptor, fromRepository: string, fromScope: string, signal?: AbortSignal): Promise<boolean> {
  const ctx = repo.ctx(desc.digest)
  const query = `?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(fromRepository)}`
  const url = new URL(`${repo.client.baseUrl}${repo.apiPath('blobs/uploads/')}${query}`)
  const scopes = [...repo.pushScopes, fromScope]
  const res = await repo.client.send({method: 'POST', url, headers: {'content-length': '0'}, scopes, ctx, signal})
  if (res.status === 201) {
    await res.dump()
    return true
  }
  if (res.status === 202) {
    await res.dump()
    await cancelUpload(repo, await locationOf(repo, res, url, desc), desc)
    return false
  }
  throw await repo.client.fail(res, ctx, 'mount into', `blob ${desc.digest}`)
}
