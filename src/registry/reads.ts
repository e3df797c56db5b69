/**
 * Reads of a registry repository that survive a broken connection: a manifest GET whose body is
 * cut is asked again (MANIFEST_ATTEMPTS in all); a blob body that breaks is resumed with Range
 * requests from the byte it stopped at (MAX_RESUMES). What still fails is a NetworkError naming
 * the host and digest (exit 9), never a raw socket error.
 */
import {readAll} from '../content/verify.js'
import {IntegrityError, type RegistryContext} from '../errors.js'
import type {HttpResponse} from '../http/client.js'
import {isRetryableError, mapTransportError} from '../http/errors.js'
import {backoffDelay, sleep} from '../http/retry.js'
import {MAX_MANIFEST_BYTES, type Descriptor} from '../oci/types.js'
import type {RepositoryHandle} from './upload.js'

/** How often a broken blob download is resumed with a Range request. */
export const MAX_RESUMES = 3

/** Attempts at a manifest GET whose body breaks (the first one included). */
export const MANIFEST_ATTEMPTS = 3

/** A manifest's bytes and the headers they came with. */
export interface ManifestResponse {
  bytes: Buffer
  header(name: string): string | undefined
}

/**
 * GET manifests/<ref> and read its body (at most MAX_MANIFEST_BYTES). `check` sees the response
 * before its body is read (it may throw). A body that breaks is fetched again.
 */
export async function getManifest(
  repo: RepositoryHandle,
  ref: string,
  opts: {accept: string; ctx: RegistryContext; where: string; expectedBytes: number; check?: (res: HttpResponse) => void; signal?: AbortSignal | undefined},
): Promise<ManifestResponse> {
  for (let attempt = 1; ; attempt++) {
    const res = await repo.client.send({
      method: 'GET',
      url: repo.apiPath(`manifests/${ref}`),
      headers: {accept: opts.accept},
      scopes: repo.pullScopes,
      ctx: opts.ctx,
      signal: opts.signal,
      expectedBytes: opts.expectedBytes,
    })
    if (res.status !== 200) throw await repo.client.fail(res, opts.ctx, 'pull', `manifest ${ref}`)
    try {
      opts.check?.(res)
    } catch (err) {
      await res.dump()
      throw err
    }
    try {
      return {bytes: await readAll(res.body, MAX_MANIFEST_BYTES, opts.where), header: (name) => res.header(name)}
    } catch (err) {
      if (attempt >= MANIFEST_ATTEMPTS || !isRetryableError(err) || opts.signal?.aborted) {
        throw mapTransportError(err, {host: repo.client.apiHost, side: opts.ctx.side, operation: `GET manifest ${opts.ctx.reference ?? ref}`, attempts: attempt})
      }
      await sleep(backoffDelay(attempt - 1), opts.signal)
    }
  }
}

/** GET blobs/<digest>, from `offset` on. */
export function blobRequest(repo: RepositoryHandle, desc: Descriptor, offset: number, signal?: AbortSignal): Promise<HttpResponse> {
  const headers: Record<string, string> = offset > 0 ? {range: `bytes=${offset}-`} : {}
  return repo.client.send({
    method: 'GET',
    url: repo.apiPath(`blobs/${desc.digest}`),
    headers,
    scopes: repo.pullScopes,
    ctx: repo.ctx(desc.digest),
    signal,
    expectedBytes: desc.size,
  })
}

/** The blob's bytes across as many responses as it takes (Range requests after a break). */
export async function* blobChunks(repo: RepositoryHandle, desc: Descriptor, first: HttpResponse, signal?: AbortSignal): AsyncGenerator<Buffer> {
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
        throw mapTransportError(err, {host: repo.client.apiHost, side: repo.ctx().side, operation: `GET blob ${desc.digest}`})
      }
      await sleep(backoffDelay(resumes), signal)
      resumes++
      res = await blobRequest(repo, desc, offset, signal)
      skip = await resumeSkip(repo, res, desc, offset)
    }
  }
}

/** Validate a resumed response; the number of leading bytes to drop (when Range was ignored). */
async function resumeSkip(repo: RepositoryHandle, res: HttpResponse, desc: Descriptor, offset: number): Promise<number> {
  if (res.status === 200) return offset
  if (res.status === 206) {
    const m = /bytes\s+(\d+)-/.exec(res.header('content-range') ?? '')
    if (m && Number(m[1]) === offset) return 0
    await res.dump()
    throw new IntegrityError(`${repo.where(desc)}: the registry answered a resume from byte ${offset} with range "${res.header('content-range') ?? ''}"`, {
      hint: 'retry the download',
    })
  }
  throw await repo.client.fail(res, repo.ctx(desc.digest), 'pull', `blob ${desc.digest}`)
}
