/**
 * Fetch a release channel from the W&B deploy server, as the v1 operator does
 * (`pkg/wandb/spec/channel/deployer/deployer.go`): `GET <base>/api/v1/operator/channel`, or
 * `…/channel/release/<id>` for a pinned release, HTTP Basic with user `license` and the licence as
 * password. The licence never appears in errors, and goes only to the deploy server's own origin
 * (the one HTTP client binds it there: a redirect to another host gets no licence).
 */
import {AirgapError, AuthError, IntegrityError, NetworkError, NotFoundError, SpecError} from '../errors.js'
import type {HttpClient, HttpResponse} from '../http/client.js'
import {MAX_SPEC_BYTES} from './types.js'

export const DEFAULT_DEPLOYER_URL = 'https://deploy.wandb.ai'

export interface FetchChannelOptions {
  /** Deploy server base URL (default https://deploy.wandb.ai); a trailing slash is fine. */
  url?: string
  /** Pinned release id (the operator's `values._releaseId`). */
  release?: string
  /** The W&B licence (a JWT). */
  license: string
  /** The run's HTTP client (its CA files, plain-HTTP hosts, proxy and deadlines apply). */
  http: HttpClient
  signal?: AbortSignal
  /** Per-request timeout in ms (default 30 000, as the operator). */
  timeoutMs?: number
}

export interface ChannelDocument {
  /** The response body, parsed JSON. */
  body: unknown
  /** The URL fetched (no credentials), for messages and parseChannelResponse's origin. */
  origin: string
}

/** The channel URL for a base URL and optional release id. */
export function channelUrl(base: string, release?: string): string {
  let url: URL
  try {
    url = new URL(base)
  } catch {
    throw new SpecError(`invalid deploy server URL "${base}"`, undefined, undefined, {hint: `give a base URL such as ${DEFAULT_DEPLOYER_URL}`})
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new SpecError(`invalid deploy server URL "${base}": expected https:// or http://`, undefined, undefined, {hint: `give a base URL such as ${DEFAULT_DEPLOYER_URL}`})
  }
  if (url.username || url.password) {
    throw new SpecError('the deploy server URL must not contain credentials', undefined, undefined, {hint: 'the licence is sent as HTTP Basic password; give it with the licence option'})
  }
  const path = url.pathname.replace(/\/+$/, '')
  url.pathname = `${path}/api/v1/operator/channel${release ? `/release/${encodeURIComponent(release)}` : ''}`
  return url.toString()
}

/** GET the channel and parse its JSON body. Throws AuthError, NotFoundError, NetworkError, SpecError. */
export async function fetchChannel(options: FetchChannelOptions): Promise<ChannelDocument> {
  const origin = channelUrl(options.url ?? DEFAULT_DEPLOYER_URL, options.release)
  if (!options.license) {
    throw new SpecError(`no W&B licence given for ${origin}`, undefined, undefined, {hint: 'pass the licence (e.g. from an environment variable); the deploy server needs it'})
  }
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 30_000)
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
  const authorization = `Basic ${Buffer.from(`license:${options.license}`).toString('base64')}`
  let response: HttpResponse
  try {
    response = await options.http.request({
      method: 'GET',
      url: origin,
      headers: {accept: 'application/json', 'content-type': 'application/json'},
      credentials: {authorization, origin: new URL(origin).origin},
      expectedBytes: MAX_SPEC_BYTES,
      signal,
    })
  } catch (err) {
    if (options.signal?.aborted) throw err
    throw new NetworkError(`cannot reach the W&B deploy server at ${origin}: ${scrub(describe(err), options.license)}`, {
      hint: 'check the network path (proxy, CA) to the deploy server, or use a release spec file instead',
    })
  }
  if (response.status !== 200) {
    await response.dump()
    throw statusError(response.status, origin, options.release)
  }
  const text = await readCapped(response, origin)
  try {
    return {body: JSON.parse(text) as unknown, origin}
  } catch (err) {
    throw new SpecError(`${origin}: channel response is not JSON (${scrub((err as Error).message, options.license)})`, origin, undefined, {
      hint: 'check the deploy server URL; it must point at the W&B deploy server',
    })
  }
}

function statusError(status: number, origin: string, release: string | undefined): AirgapError {
  if (status === 401 || status === 403) {
    return new AuthError({registry: new URL(origin).host, reference: origin}, `HTTP ${status} from the deploy server`, {
      hint: 'check that the W&B licence is valid and not expired',
    })
  }
  if (status === 404) {
    return new NotFoundError(`${release ? `release "${release}"` : 'release channel'} not found at ${origin} (HTTP 404)`, {
      hint: release ? 'check the release id' : 'check the deploy server URL',
    })
  }
  return new AirgapError(`the W&B deploy server answered HTTP ${status} for ${origin}`, {hint: 'retry later; if it persists, use a release spec file instead'})
}

async function readCapped(response: HttpResponse, origin: string): Promise<string> {
  const declared = Number(response.header('content-length') ?? '0')
  if (declared > MAX_SPEC_BYTES) {
    await response.dump()
    throw new SpecError(`${origin}: channel response is ${declared} bytes, more than the limit of ${MAX_SPEC_BYTES}`, origin)
  }
  try {
    return await response.text(MAX_SPEC_BYTES, 'whole')
  } catch (err) {
    if (!(err instanceof IntegrityError)) throw err
    throw new SpecError(`${origin}: channel response is more than the limit of ${MAX_SPEC_BYTES} bytes`, origin)
  }
}

/** The transport's reason (ECONNREFUSED, a TLS failure…), without airgap's own wording around it. */
function describe(err: unknown): string {
  const cause = (err as {cause?: {code?: string; message?: string}}).cause
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err)
}

function scrub(text: string, secret: string): string {
  return secret ? text.split(secret).join('[REDACTED]') : text
}
