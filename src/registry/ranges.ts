/**
 * Range reads of a blob (RangeFetcher): `GET blobs/<digest>` with `Range: bytes=a-b`. Registries
 * commonly redirect blob GETs to storage (S3, GCS, a CDN); a later range of the same blob goes
 * straight to the URL the first one was served from, and the HTTP layer sends the registry's
 * credentials only to the registry's own origin, never to that storage. A storage URL that stopped
 * working (signed URLs expire) is left for the registry's API URL again.
 *
 * A 206 is taken only with a Content-Range naming the exact start asked for; a 200 means the server
 * ignored Range and sends the whole blob (the caller then reads it as one stream).
 */
import type {RangeResponse} from '../content/types.js'
import {IntegrityError} from '../errors.js'
import type {HttpResponse} from '../http/client.js'
import type {Descriptor} from '../oci/types.js'
import type {RepositoryHandle} from './upload.js'

/** Statuses of a storage URL that expired or refuses a request without the registry's credentials. */
const STALE_VIA = new Set([401, 403, 404, 410])

/** Bytes [start, end) of `desc`, from `via` (a storage URL an earlier range came from) or the registry. */
export async function fetchBlobRange(
  repo: RepositoryHandle,
  desc: Descriptor,
  start: number,
  end: number,
  opts: {via?: URL | undefined; signal?: AbortSignal | undefined},
): Promise<RangeResponse> {
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start < end && end <= desc.size)) {
    throw new RangeError(`range ${start}-${end} is outside blob ${desc.digest} of ${desc.size} bytes`)
  }
  const ctx = repo.ctx(desc.digest)
  const request = (url: string | URL): Promise<HttpResponse> =>
    repo.client.send({
      method: 'GET',
      url,
      headers: {range: `bytes=${start}-${end - 1}`},
      scopes: repo.pullScopes,
      ctx,
      signal: opts.signal,
      expectedBytes: end - start,
    })
  const api = repo.apiPath(`blobs/${desc.digest}`)
  let res: HttpResponse
  if (opts.via === undefined) {
    res = await request(api)
  } else {
    res = await request(opts.via).catch(() => request(api))
    if (STALE_VIA.has(res.status)) {
      await res.dump()
      res = await request(api)
    }
  }
  if (res.status === 200) return {offset: 0, ranged: false, length: desc.size, body: res.body, url: res.url}
  if (res.status !== 206) throw await repo.client.fail(res, ctx, 'pull', `blob ${desc.digest}`)
  const served = parseContentRange(res.header('content-range'))
  if (!served || served.start !== start || served.end >= end || (served.total !== undefined && served.total !== desc.size)) {
    await res.dump()
    throw new IntegrityError(
      `${repo.where(desc)}: asked for bytes ${start}-${end - 1}, the server answered with range "${res.header('content-range') ?? ''}"`,
      {hint: 'the registry or its storage serves ranges of another blob or size; retry, and report it to its operator if it persists'},
    )
  }
  return {offset: start, ranged: true, length: served.end - served.start + 1, body: res.body, url: res.url}
}

/** `bytes a-b/total` (total may be `*`). */
export function parseContentRange(header: string | undefined): {start: number; end: number; total: number | undefined} | undefined {
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i.exec(header ?? '')
  if (!m) return undefined
  const start = Number(m[1])
  const end = Number(m[2])
  const total = m[3] === '*' ? undefined : Number(m[3])
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return undefined
  if (total !== undefined && (!Number.isSafeInteger(total) || end >= total)) return undefined
  return {start, end, total}
}
