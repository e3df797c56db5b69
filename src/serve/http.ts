/** Small HTTP helpers shared by the registry and Helm handlers of `airgap serve`. */
import type {IncomingMessage, ServerResponse} from 'node:http'
import type {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'

/** A distribution-spec error: status plus `{"errors":[{code,message,detail}]}`. */
export class DistributionError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly detail?: unknown,
    readonly headers: Record<string, string> = {},
  ) {
    super(message)
    this.name = 'DistributionError'
  }
}

/** Shorthands for the errors the server answers with. */
export const fail = {
  nameUnknown: (name: string, why = 'repository name not known to registry') => new DistributionError(404, 'NAME_UNKNOWN', why, {name}),
  manifestUnknown: (name: string, ref: string, why = 'manifest unknown') => new DistributionError(404, 'MANIFEST_UNKNOWN', why, {name, reference: ref}),
  blobUnknown: (name: string, digest: string) => new DistributionError(404, 'BLOB_UNKNOWN', 'blob unknown to registry', {name, digest}),
  uploadUnknown: (id: string) => new DistributionError(404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown to registry', {uuid: id}),
  uploadInvalid: (why: string) => new DistributionError(400, 'BLOB_UPLOAD_INVALID', why),
  digestInvalid: (why: string, detail?: unknown) => new DistributionError(400, 'DIGEST_INVALID', why, detail),
  manifestInvalid: (why: string) => new DistributionError(400, 'MANIFEST_INVALID', why),
  manifestBlobUnknown: (digest: string) =>
    new DistributionError(400, 'MANIFEST_BLOB_UNKNOWN', `manifest references ${digest}, which is not in the registry: push it first`, {digest}),
  nameInvalid: (name: string) => new DistributionError(400, 'NAME_INVALID', `invalid repository name "${name}"`, {name}),
  tagInvalid: (tag: string) => new DistributionError(400, 'TAG_INVALID', `invalid tag "${tag}"`, {tag}),
  readOnly: () => new DistributionError(405, 'UNSUPPORTED', 'this server is read-only (start airgap serve with --writable on a layout folder to accept pushes)'),
  unsupported: (what: string) => new DistributionError(405, 'UNSUPPORTED', `${what} is not supported`),
  tooLarge: (what: string, limit: number, headers: Record<string, string> = {}) =>
    new DistributionError(413, 'SIZE_INVALID', `${what} is larger than ${limit} bytes`, {limit}, headers),
  tooManyRequests: (why: string) => new DistributionError(429, 'TOOMANYREQUESTS', why, undefined, {'Retry-After': '1'}),
  badRequest: (why: string) => new DistributionError(400, 'BAD_REQUEST', why),
  notFound: () => new DistributionError(404, 'NOT_FOUND', 'not found'),
}

/** The request target's path and query; 400 when it is not a URL (e.g. `http://[x/` in absolute form). */
export function requestUrl(raw: string | undefined): URL {
  const target = raw ?? '/'
  try {
    const url = target.startsWith('/') ? new URL(`http://serve.invalid${target}`) : new URL(target)
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : invalidTarget(target)
  } catch {
    return invalidTarget(target)
  }
}

function invalidTarget(target: string): never {
  throw fail.badRequest(`invalid request target "${target.slice(0, 200)}"`)
}

/** The percent-decoded path of `url`; 400 for a malformed escape such as `%ZZ`. */
export function decodedPath(url: URL): string {
  try {
    return decodeURIComponent(url.pathname)
  } catch {
    throw fail.badRequest(`malformed percent-encoding in the path ${url.pathname.slice(0, 200)}`)
  }
}

/** Send a distribution error (no body for HEAD). */
export function sendError(req: IncomingMessage, res: ServerResponse, err: DistributionError): void {
  const body = JSON.stringify({errors: [{code: err.code, message: err.message, detail: err.detail}]})
  res.statusCode = err.status
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v)
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Content-Length', Buffer.byteLength(body))
  res.end(req.method === 'HEAD' ? undefined : body)
}

/** Send a JSON document. */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value)
  res.statusCode = status
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v)
  res.setHeader('Content-Type', 'application/json; charset=utf-8')
  res.setHeader('Content-Length', Buffer.byteLength(body))
  res.end(body)
}

/** Send an empty response with headers. */
export function sendEmpty(res: ServerResponse, status: number, headers: Record<string, string | number> = {}): void {
  res.statusCode = status
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v)
  if (res.getHeader('Content-Length') === undefined) res.setHeader('Content-Length', 0)
  res.end()
}

/** Stream `body` as the response; a stream failure (e.g. a digest mismatch) cuts the connection. */
export async function sendStream(res: ServerResponse, body: Readable): Promise<void> {
  try {
    await pipeline(body, res)
  } catch (err) {
    body.destroy()
    res.destroy()
    throw err
  }
}

/** Read a request body into memory, refusing more than `limit` bytes. */
export async function readBody(req: IncomingMessage, limit: number, what: string): Promise<Buffer> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > limit) throw fail.tooLarge(what, limit)
  const chunks: Buffer[] = []
  let total = 0
  for await (const chunk of req) {
    total += (chunk as Buffer).length
    if (total > limit) throw fail.tooLarge(what, limit)
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks, total)
}

/** Drain (and discard) a request body so the connection can be reused. */
export async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded) return
  for await (const _ of req) {
    // discard
  }
}
