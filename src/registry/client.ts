/**
 * RegistryClient: one per registry host. Holds the HTTP client, the credentials and the token
 * cache; authenticates requests (one retry after a 401 challenge) and reports Warning headers.
 * Credentials are bound to the registry's own origin: a URL the registry names elsewhere (a Link
 * or Location on another host) is requested without them (the HTTP layer enforces it per hop).
 */
import {AuthError, type RegistryContext, type Side} from '../errors.js'
import {Authenticator} from '../auth/token.js'
import {CATALOG_SCOPE} from '../auth/scope.js'
import type {CredentialStore} from '../auth/types.js'
import {createHttpClient, type HttpBody, type HttpClient, type HttpClientOptions, type HttpResponse} from '../http/client.js'
import {registryApiHost} from '../oci/reference.js'
import {responseError} from './errors.js'
import {paginate, type PageLimits} from './pages.js'
import {warningTexts} from './util.js'
import {RegistryRepository, type RepositoryOptions} from './repository.js'

export interface RegistryClientOptions {
  /** A shared HTTP client; when absent one is built from `httpOptions` (and closed by close()). */
  http?: HttpClient
  httpOptions?: HttpClientOptions
  credentials?: CredentialStore
  /** Default side for error messages of repositories opened from this client. */
  side?: Side
  /** Called once per distinct `Warning:` header text the registry sends. */
  onWarning?: (message: string, registry: string) => void
  /** Blobs larger than this are uploaded in chunks (default 1 GiB; smaller blobs go up in one streamed PUT). */
  chunkThreshold?: number
  /** Chunk size for chunked uploads (default 64 MiB; each chunk is streamed, never buffered). */
  chunkSize?: number
  /** Bounds of Link pagination (catalog, tag lists); see pages.ts. */
  pages?: PageLimits
}

/** A request to the registry API. */
export interface RegistryRequest {
  method: string
  /** Absolute URL, or a path starting with /v2/. */
  url: string | URL
  headers?: Record<string, string>
  body?: HttpBody
  /** Token scopes this request needs. */
  scopes: readonly string[]
  ctx: RegistryContext
  signal?: AbortSignal
  followRedirects?: boolean
  retry?: boolean
  /** Bytes the exchange may legitimately move, for the request deadline (see HttpRequest). */
  expectedBytes?: number
}

export class RegistryClient {
  /** The registry as the user named it, e.g. `docker.io`, `127.0.0.1:5000`. */
  readonly registry: string
  /** The host serving the API, e.g. `registry-1.docker.io`. */
  readonly apiHost: string
  readonly http: HttpClient
  readonly options: RegistryClientOptions
  private readonly ownsHttp: boolean
  private readonly auth: Authenticator
  private readonly warned = new Set<string>()

  constructor(registry: string, options: RegistryClientOptions = {}) {
    this.registry = registry
    this.apiHost = registryApiHost(registry)
    this.options = options
    this.ownsHttp = options.http === undefined
    this.http = options.http ?? createHttpClient(options.httpOptions)
    this.auth = new Authenticator({http: this.http, registry, apiHost: this.apiHost, credentials: options.credentials})
  }

  /** `scheme://apiHost`. */
  get baseUrl(): string {
    return this.http.baseUrl(this.apiHost)
  }

  /** A handle on one repository of this registry. */
  repository(name: string, options: RepositoryOptions = {}): RegistryRepository {
    return new RegistryRepository(this, name, {side: this.options.side, ...options})
  }

  /**
   * Send an authenticated request; a 401 is answered once with fresh credentials. The credentials
   * (Basic or a bearer token issued for this registry) go only to the registry's origin: a URL on
   * another origin is requested without them, and a 401 from there is refused, never answered.
   */
  async send(req: RegistryRequest): Promise<HttpResponse> {
    const url = new URL(typeof req.url === 'string' && req.url.startsWith('/') ? `${this.baseUrl}${req.url}` : req.url)
    const origin = new URL(this.baseUrl).origin
    const attempt = async (authorization: string | undefined) =>
      this.http.request({
        method: req.method,
        url,
        headers: req.headers,
        credentials: authorization === undefined ? undefined : {authorization, origin},
        body: req.body,
        signal: req.signal,
        side: req.ctx.side,
        followRedirects: req.followRedirects,
        retry: req.retry,
        expectedBytes: req.expectedBytes,
      })
    let res = await attempt(await this.auth.authorization(req.scopes, req.ctx, req.signal))
    const replayable = req.body === undefined || typeof req.body === 'string' || req.body instanceof Uint8Array
    if (res.status === 401 && res.url.origin !== origin) {
      await res.dump()
      throw new AuthError(req.ctx, `${res.url.origin}, named by ${this.registry} for ${req.method} ${url.pathname}, asks for credentials; airgap sends the credentials of ${origin} to that origin only`, {
        hint: `the registry points at another server; configure it to use URLs on ${origin}, or ask its operator`,
      })
    }
    if (res.status === 401 && replayable) {
      const header = await this.auth.challenge(res, req.scopes, req.ctx, req.signal)
      await res.dump()
      res = await attempt(header)
    }
    this.reportWarnings(res)
    return res
  }

  /** Whether credentials are configured for this registry (for error wording). */
  hasCredentials(): Promise<boolean> {
    return this.auth.hasCredential()
  }

  /** Build the error for an unsuccessful response. */
  async fail(res: HttpResponse, ctx: RegistryContext, action: string, subject?: string): Promise<Error> {
    return responseError(res, {ctx, action, subject, withCredentials: await this.hasCredentials()})
  }

  private reportWarnings(res: HttpResponse): void {
    const onWarning = this.options.onWarning
    if (!onWarning) return
    for (const text of warningTexts(res.headers.warning)) {
      if (this.warned.has(text)) continue
      this.warned.add(text)
      onWarning(text, this.registry)
    }
  }

  private context(): RegistryContext {
    return {registry: this.registry, side: this.options.side}
  }

  /** Check that the registry speaks the v2 API and that the credentials work. */
  async ping(signal?: AbortSignal): Promise<void> {
    const ctx = this.context()
    const res = await this.send({method: 'GET', url: '/v2/', scopes: [], ctx, signal})
    if (res.status === 200) {
      await res.dump()
      return
    }
    throw await this.fail(res, ctx, 'access', 'registry API /v2/')
  }

  /** All repository names (`/v2/_catalog`, following Link pagination within its bounds). */
  catalog(signal?: AbortSignal, pageSize = 1000): AsyncIterable<string> {
    return paginate(this, {
      first: new URL(`${this.baseUrl}/v2/_catalog?n=${pageSize}`),
      field: 'repositories',
      scopes: [CATALOG_SCOPE],
      ctx: this.context(),
      action: 'list the catalog of',
      subject: 'catalog',
      signal,
    })
  }

  /** Release connections (only when this client created its HTTP client). */
  async close(): Promise<void> {
    if (this.ownsHttp) await this.http.close()
  }
}
