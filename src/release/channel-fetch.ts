/**
 * Fetch a release channel from the W&B deploy server, as the v1 operator does
 * (`pkg/wandb/spec/channel/deployer/deployer.go`): `GET <base>/api/v1/operator/channel`, or
 * `…/channel/release/<id>` for a pinned release, HTTP Basic with user `license` and the licence as
 * password. The licence never appears in errors.
 */
import {AirgapError, AuthError, NetworkError, NotFoundError, SpecError} from '../errors.js'
import {MAX_SPEC_BYTES} from './types.js'

export const DEFAULT_DEPLOYER_URL = 'https://deploy.wandb.ai'

export interface FetchChannelOptions {
  /** Deploy server base URL (default https://deploy.wandb.ai); a trailing slash is fine. */
  url?: string
  /** Pinned release id (the operator's `values._releaseId`). */
  release?: string
  /** The W&B licence (a JWT). */
  license: string
  /** A fetch implementation (default: global fetch); lets the caller add a CA or proxy dispatcher. */
  fetchImpl?: typeof fetch
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
  const doFetch = options.fetchImpl ?? fetch
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 30_000)
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout
  const authorization = `Basic ${Buffer.from(`license:${options.license}`).toString('base64')}`
  let response: Response
  try {
    response = await doFetch(origin, {headers: {authorization, accept: 'application/json', 'content-type': 'application/json'}, signal, redirect: 'follow'})
  } catch (err) {
    if (options.signal?.aborted) throw err
    throw new NetworkError(`cannot reach the W&B deploy server at ${origin}: ${scrub(describe(err), options.license)}`, {
      hint: 'check the network path (proxy, CA) to the deploy server, or use a release spec file instead',
    })
  }
  const text = await readCapped(response, origin)
  if (response.status !== 200) throw statusError(response.status, origin, options.release)
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

async function readCapped(response: Response, origin: string): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? '0')
  if (declared > MAX_SPEC_BYTES) {
    await response.body?.cancel()
    throw new SpecError(`${origin}: channel response is ${declared} bytes, more than the limit of ${MAX_SPEC_BYTES}`, origin)
  }
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = response.body?.getReader()
  while (reader) {
    const {done, value} = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > MAX_SPEC_BYTES) {
      await reader.cancel().catch(() => undefined)
      throw new SpecError(`${origin}: channel response is more than the limit of ${MAX_SPEC_BYTES} bytes`, origin)
    }
    chunks.push(value)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function describe(err: unknown): string {
  const cause = (err as {cause?: {code?: string; message?: string}}).cause
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err)
}

function scrub(text: string, secret: string): string {
  return secret ? text.split(secret).join('[REDACTED]') : text
}
