/**
 * The HTTP layer: one undici dispatcher per trust setting (system CAs + extra CA files, or
 * verification off for listed hosts), keep-alive connection reuse, proxies from the environment,
 * retries with backoff, a total deadline per request (src/http/deadline.ts), and transport
 * failures mapped to TlsError / NetworkError. Authentication is not done here (see src/auth), but
 * this is the one place that attaches an Authorization header: only to the origin the credentials
 * are bound to, on every hop (a redirect, a Link or Location URL elsewhere never gets them).
 */
import type {IncomingHttpHeaders} from 'node:http'
import type {Readable} from 'node:stream'
import {createSecureContext, rootCertificates, type SecureContext} from 'node:tls'
import type {Agent as UndiciAgent, EnvHttpProxyAgent} from 'undici'
import {Agent, loadEnvHttpProxyAgent, request, type Dispatcher} from './undici.js'
import {AirgapError, IntegrityError, UsageError, type Side} from '../errors.js'
import {DEFAULT_DEADLINE, Deadline, UNDECLARED_CAP, timeoutsFromEnv, type DeadlineSettings} from './deadline.js'
import {readInputTextSync, type InputFileKind} from '../files/input-file.js'
import {isRetryableError, mapTransportError} from './errors.js'
import {DEFAULT_RETRY, backoffDelay, isRetryableStatus, parseRetryAfter, sleep, type RetryOptions} from './retry.js'

export interface HttpTimeouts {
  /** TCP + TLS connect timeout (default 30 s). */
  connectMs?: number
  /** Time to wait for response headers (default 60 s). */
  headersMs?: number
  /** Longest pause between two body chunks (default 60 s). */
  bodyIdleMs?: number
  /** Time every request gets in total, whatever its size (default 60 s; see src/http/deadline.ts). */
  deadlineMs?: number
  /** Slowest average throughput accepted, added to the deadline per expected byte (default 64 KiB/s). */
  minBytesPerSecond?: number
}

/** An Authorization header and the one origin (`scheme://host[:port]`) it may be sent to. */
export interface BoundCredentials {
  authorization: string
  /** The origin the credentials were configured or issued for. */
  origin: string
}

export interface ProxyOptions {
  httpProxy?: string
  httpsProxy?: string
  noProxy?: string
}

export interface HttpClientOptions {
  /** PEM files whose certificates are trusted in addition to the system CAs. */
  caFiles?: readonly string[]
  /** `host[:port]` entries reached over plain HTTP; a bare host matches any port. */
  plainHttp?: readonly string[]
  /** `host[:port]` entries whose TLS certificate is not verified. */
  insecureSkipVerify?: readonly string[]
  userAgent?: string
  timeouts?: HttpTimeouts
  retry?: RetryOptions
  /** Connections kept per origin (default 32: enough for the parallel Range parts of large blobs, src/copy/link.ts). */
  connectionsPerOrigin?: number
  /**
   * Proxy settings; by default HTTPS_PROXY / HTTP_PROXY / NO_PROXY from the environment are used
   * (only when one of them is set). `false` disables proxies.
   */
  proxy?: ProxyOptions | false
}

/** A request body. An AsyncIterable is sent chunk by chunk; undici asks for the next chunk only once the socket took the last. */
export type HttpBody = string | Uint8Array | Readable | AsyncIterable<Uint8Array>

export interface HttpRequest {
  method: string
  url: string | URL
  headers?: Record<string, string>
  body?: HttpBody
  signal?: AbortSignal
  /** Retry transport failures, 408/429/5xx. Default true; never for a streamed (Readable) body. */
  retry?: boolean
  /** Follow 301/302/303/307/308 (default true, at most 5 hops). */
  followRedirects?: boolean
  /** Which side of a copy this request serves, for error messages. */
  side?: Side
  /**
   * Credentials, sent only to their origin (on every hop). A plain `authorization` header in
   * `headers` is bound to the origin of `url`.
   */
  credentials?: BoundCredentials
  /**
   * Bytes this exchange may legitimately move (a blob's size, a manifest's cap), for the deadline;
   * when absent, the response's Content-Length up to 64 MiB.
   */
  expectedBytes?: number
}

export interface HttpResponse {
  status: number
  headers: IncomingHttpHeaders
  body: Readable
  /** Final URL after redirects. */
  url: URL
  /** First value of a header (names are case-insensitive). */
  header(name: string): string | undefined
  /**
   * Read the body as text, at most `limit` bytes (default 1 MiB). A longer body is cut at `limit`
   * (for error details), or with `whole` refused with an IntegrityError (for bodies that are parsed:
   * a cut JSON or index.yaml must never be taken for the whole).
   */
  text(limit?: number, whole?: 'whole'): Promise<string>
  /** Discard the body so the connection can be reused. */
  dump(): Promise<void>
}

const REDIRECTS = new Set([301, 302, 303, 307, 308])
const MAX_REDIRECTS = 5

/** Does `host[:port]` appear in `list` (exact match, or a bare host listed for any port)? */
export function hostMatches(list: readonly string[] | undefined, hostPort: string): boolean {
  if (!list || list.length === 0) return false
  const h = hostPort.toLowerCase()
  const bare = stripPort(h)
  return list.some((entry) => {
    const e = entry.toLowerCase().replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '')
    return e === h || (e === bare && stripPort(e) === e)
  })
}

function stripPort(hostPort: string): string {
  if (hostPort.startsWith('[')) return hostPort.slice(0, hostPort.indexOf(']') + 1)
  const i = hostPort.lastIndexOf(':')
  return i > 0 && hostPort.indexOf(':') === i ? hostPort.slice(0, i) : hostPort
}

/** A PEM CA bundle named by --ca-file (system bundles are a few hundred KiB). */
const CA_FILE: InputFileKind = {what: 'CA file', maxBytes: 4 * 1024 * 1024, refusal: 'usage', hint: 'pass --ca-file with the path of a readable PEM certificate file'}

function readCaFiles(files: readonly string[]): string[] {
  return files.map((file) => readInputTextSync(file, CA_FILE))
}

function hasProxyEnv(): boolean {
  const e = process.env
  return Boolean(e.https_proxy ?? e.HTTPS_PROXY ?? e.http_proxy ?? e.HTTP_PROXY)
}

function isReplayable(body: HttpBody | undefined): boolean {
  return body === undefined || typeof body === 'string' || body instanceof Uint8Array
}

function firstHeader(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name.toLowerCase()]
  return Array.isArray(v) ? v[0] : v
}

async function readText(body: Readable, limit: number, wholeOf?: string): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    const buf = chunk as Buffer
    size += buf.length
    if (size > limit) {
      body.destroy()
      if (wholeOf !== undefined) {
        throw new IntegrityError(`the response to ${wholeOf} is larger than ${limit} bytes`, {
          hint: 'the server sent far more than such a response ever holds; check that the URL points at the right service',
        })
      }
      chunks.push(buf.subarray(0, buf.length - (size - limit)))
      break
    }
    chunks.push(buf)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** An HTTP client bound to one set of trust, proxy, timeout and retry settings. */
export class HttpClient {
  readonly userAgent: string
  private readonly options: HttpClientOptions
  private readonly retry: Required<RetryOptions>
  private readonly verifying: Dispatcher
  private insecure: Dispatcher | undefined
  private readonly timeouts: HttpTimeouts
  private readonly deadline: DeadlineSettings

  constructor(options: HttpClientOptions = {}) {
    this.options = options
    this.timeouts = {...timeoutsFromEnv(process.env.AIRGAP_HTTP_TIMEOUTS), ...options.timeouts}
    this.deadline = {
      baseMs: this.timeouts.deadlineMs ?? DEFAULT_DEADLINE.baseMs,
      minBytesPerSecond: this.timeouts.minBytesPerSecond ?? DEFAULT_DEADLINE.minBytesPerSecond,
    }
    this.userAgent = options.userAgent ?? 'airgap'
    this.retry = {...DEFAULT_RETRY, ...options.retry}
    // Setting `ca` replaces Node's default store, so keep NODE_EXTRA_CA_CERTS in it too.
    const extra = process.env.NODE_EXTRA_CA_CERTS ? [process.env.NODE_EXTRA_CA_CERTS] : []
    const ca = options.caFiles?.length ? [...rootCertificates, ...readCaFiles([...extra, ...options.caFiles])] : undefined
    // One secure context for every connection: given `ca` alone, tls.connect parses the whole
    // list (Node's ~140 roots + the extra CAs) again for each new connection.
    this.verifying = this.makeDispatcher(ca === undefined ? {} : {secureContext: createSecureContext({ca})})
  }

  private makeDispatcher(tlsOptions: {secureContext?: SecureContext; rejectUnauthorized?: boolean}): Dispatcher {
    const agentOptions: UndiciAgent.Options = {
      connections: this.options.connectionsPerOrigin ?? 32,
      keepAliveTimeout: 30_000,
      connect: {...tlsOptions, timeout: this.timeouts.connectMs ?? 30_000},
    }
    const proxy = this.options.proxy
    if (proxy === false || (proxy === undefined && !hasProxyEnv())) return new Agent(agentOptions)
    const ProxyAgent = loadEnvHttpProxyAgent()
    return new ProxyAgent({
      ...agentOptions,
      ...(proxy ?? {}),
      requestTls: tlsOptions,
      proxyTls: tlsOptions,
    } as EnvHttpProxyAgent.Options)
  }

  /** `http` for hosts listed in plainHttp, else `https`. */
  schemeFor(hostPort: string): 'http' | 'https' {
    return hostMatches(this.options.plainHttp, hostPort) ? 'http' : 'https'
  }

  /** `scheme://host[:port]` for a registry host. */
  baseUrl(hostPort: string): string {
    return `${this.schemeFor(hostPort)}://${hostPort}`
  }

  private dispatcherFor(url: URL): Dispatcher {
    if (url.protocol === 'https:' && hostMatches(this.options.insecureSkipVerify, url.host)) {
      this.insecure ??= this.makeDispatcher({rejectUnauthorized: false})
      return this.insecure
    }
    return this.verifying
  }

  /**
   * Send a request: follows redirects, retries retryable failures (replayable bodies only),
   * and maps transport failures to TlsError / NetworkError. Any HTTP status is returned as is.
   */
  async request(req: HttpRequest): Promise<HttpResponse> {
    const url = new URL(req.url)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`cannot fetch ${displayUrl(url)}: airgap fetches only http:// and https:// URLs`, {
        hint: 'use an http(s) URL; local files are given as paths, not as file:// URLs',
      })
    }
    const canRetry = req.retry !== false && isReplayable(req.body)
    const maxAttempts = canRetry ? this.retry.retries + 1 : 1
    for (let attempt = 0; ; attempt++) {
      let res: HttpResponse
      const deadline = new Deadline(this.deadline, this.expectedBytes(req), `${req.method} ${displayUrl(url)}`, url.host, req.signal)
      try {
        res = await this.followRedirects(req, url, deadline)
        deadline.watch(res.body)
      } catch (err) {
        deadline.clear()
        if (attempt + 1 < maxAttempts && isRetryableError(err) && !req.signal?.aborted) {
          await sleep(backoffDelay(attempt, this.retry), req.signal)
          continue
        }
        throw mapTransportError(err, {
          host: url.host,
          side: req.side,
          operation: `${req.method} ${url.pathname}`,
          attempts: attempt + 1,
        })
      }
      if (attempt + 1 < maxAttempts && isRetryableStatus(res.status)) {
        const wait =
          parseRetryAfter(res.header('retry-after'), this.retry.maxRetryAfterMs) ?? backoffDelay(attempt, this.retry)
        await res.dump()
        await sleep(wait, req.signal)
        continue
      }
      return res
    }
  }

  /** Bytes the request body and the expected response move together (for the deadline). */
  private expectedBytes(req: HttpRequest): number {
    const body = typeof req.body === 'string' ? Buffer.byteLength(req.body) : req.body instanceof Uint8Array ? req.body.length : 0
    return body + (req.expectedBytes ?? 0)
  }

  private async followRedirects(req: HttpRequest, start: URL, deadline: Deadline): Promise<HttpResponse> {
    let url = start
    let method = req.method
    let body = req.body
    const {authorization, ...headers}: Record<string, string> = {'user-agent': this.userAgent, ...lowerKeys(req.headers)}
    const credentials = req.credentials ?? (authorization === undefined ? undefined : {authorization, origin: start.origin})
    const boundTo = credentials ? new URL(credentials.origin).origin : undefined
    for (let hop = 0; ; hop++) {
      // The one place Authorization is attached: only on a hop to the credentials' own origin.
      const hopHeaders = credentials && url.origin === boundTo ? {...headers, authorization: credentials.authorization} : headers
      const res = await this.once(method, url, hopHeaders, body, deadline, req.expectedBytes === undefined)
      const location = res.header('location')
      if (req.followRedirects === false || !REDIRECTS.has(res.status) || !location || hop >= MAX_REDIRECTS) return res
      if (!isReplayable(body) && (res.status === 307 || res.status === 308)) return res
      await res.dump()
      const next = new URL(location, url)
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        throw new AirgapError(`${method} ${displayUrl(url)} redirected to a ${next.protocol} URL, which airgap never follows`, {
          hint: `the server ${url.host} is misconfigured or hostile; ask its operator`,
        })
      }
      if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
        method = method === 'HEAD' ? 'HEAD' : 'GET'
        body = undefined
        delete headers['content-length']
        delete headers['content-type']
      }
      url = next
    }
  }

  private async once(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: HttpBody | undefined,
    deadline: Deadline,
    sizeFromResponse: boolean,
  ): Promise<HttpResponse> {
    const t = this.timeouts
    const res = await request(url, {
      dispatcher: this.dispatcherFor(url),
      method: method as Dispatcher.HttpMethod,
      headers,
      // undici sends async iterables (writeIterable) although its request types omit them.
      body: (body ?? null) as Dispatcher.RequestOptions['body'],
      // undici closes the connection after every HEAD unless told otherwise (a guard against
      // servers that send a body with HEAD responses). Registries answer HEAD correctly, and
      // existence checks are most of a repeat push: reopening a connection (a TLS handshake)
      // per check made them several times slower.
      ...(method === 'HEAD' ? {reset: false} : {}),
      signal: deadline.signal,
      headersTimeout: t?.headersMs ?? 60_000,
      bodyTimeout: t?.bodyIdleMs ?? 60_000,
    })
    const responseBody = res.body as unknown as Readable
    const declared = Number(firstHeader(res.headers as IncomingHttpHeaders, 'content-length'))
    if (sizeFromResponse && Number.isSafeInteger(declared) && declared > 0) deadline.setBytes(Math.min(declared, UNDECLARED_CAP))
    return {
      status: res.statusCode,
      headers: res.headers as IncomingHttpHeaders,
      body: responseBody,
      url,
      header: (name) => firstHeader(res.headers as IncomingHttpHeaders, name),
      text: (limit = 1024 * 1024, whole) => readText(responseBody, limit, whole ? `${method} ${url.origin}${url.pathname}` : undefined),
      dump: async () => {
        try {
          await res.body.dump({limit: 256 * 1024})
        } catch {
          // a failing body on a response we discard does not matter
        }
      },
    }
  }

  /** Close idle connections and release the dispatchers. */
  async close(): Promise<void> {
    await Promise.all([this.verifying.close(), this.insecure?.close()])
  }
}

/** `scheme://host/path` without user info or query (safe for messages). */
export function displayUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`
}

function lowerKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers ?? {})) out[k.toLowerCase()] = v
  return out
}

/** Build an HttpClient; the factory the rest of airgap uses. */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  return new HttpClient(options)
}

