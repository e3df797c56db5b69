/**
 * Registry authentication per host: Basic for Basic challenges, and the Bearer token flow
 * (distribution token spec + OAuth2 refresh tokens) with a token cache per (realm, service, scopes).
 * Credentials go to a token server only over HTTPS, unless the registry itself is plain HTTP or the
 * realm's host is named with --plain-http.
 */
import {AuthError, IntegrityError, type RegistryContext} from '../errors.js'
import type {HttpClient, HttpResponse} from '../http/client.js'
import {mapTransportError} from '../http/errors.js'
import {parseChallenges, type Challenge} from './challenge.js'
import {mergeScopes} from './scope.js'
import {hasSecret, type Credential, type CredentialStore} from './types.js'

/** Seconds a token lives when the server does not say (distribution's default). */
export const DEFAULT_TOKEN_TTL_S = 60
const CLIENT_ID = 'airgap'
/** Largest token response read (a token with many scopes is a few KiB). */
export const MAX_TOKEN_RESPONSE_BYTES = 1024 * 1024

interface CachedToken {
  token: string
  /** ms since epoch after which the token is refreshed (some margin before it really expires). */
  refreshAt: number
}

/** When to refresh a token that lives `expiresInS` seconds: 20 % early, at most 30 s early. */
export function refreshTime(now: number, expiresInS: number): number {
  const ttl = expiresInS > 0 ? expiresInS : DEFAULT_TOKEN_TTL_S
  return now + (ttl - Math.min(30, ttl * 0.2)) * 1000
}

/** Cache key of a token: realm, service and the canonical scope set. */
export function tokenCacheKey(realm: string, service: string | undefined, scopes: readonly string[]): string {
  return `${realm}\n${service ?? ''}\n${mergeScopes(scopes).join(' ')}`
}

function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`
}

export interface AuthenticatorOptions {
  http: HttpClient
  /** Registry as the user named it (for credential lookup and messages). */
  registry: string
  /** Host serving the registry API (default `registry`); its scheme decides whether an http:// realm may get credentials. */
  apiHost?: string
  credentials?: CredentialStore
  /** Clock for tests. */
  now?: () => number
}

/**
 * Produces Authorization headers for one registry. Call `authorization(scopes)` before a request
 * and `challenge(res, scopes)` after a 401; the registry client retries once with the result.
 */
export class Authenticator {
  private readonly http: HttpClient
  private readonly registry: string
  private readonly apiHost: string
  private readonly store: CredentialStore | undefined
  private readonly now: () => number
  private credential: Promise<Credential | undefined> | undefined
  private known: Challenge | undefined
  private readonly tokens = new Map<string, CachedToken>()
  private readonly pending = new Map<string, Promise<CachedToken>>()

  constructor(options: AuthenticatorOptions) {
    this.http = options.http
    this.registry = options.registry
    this.apiHost = options.apiHost ?? options.registry
    this.store = options.credentials
    this.now = options.now ?? Date.now
  }

  /** The credential for this registry (looked up once). */
  getCredential(): Promise<Credential | undefined> {
    this.credential ??= this.store ? this.store.get(this.registry) : Promise.resolve(undefined)
    return this.credential
  }

  /** Whether credentials were found for this registry. */
  async hasCredential(): Promise<boolean> {
    return hasSecret(await this.getCredential())
  }

  /** The scheme of the last challenge seen, if any ("basic", "bearer"). */
  get scheme(): string | undefined {
    return this.known?.scheme
  }

  /**
   * The Authorization header to send proactively for `scopes`, based on the last challenge seen
   * (undefined before any challenge: the first request goes anonymous and collects one).
   */
  async authorization(scopes: readonly string[], ctx: RegistryContext, signal?: AbortSignal): Promise<string | undefined> {
    if (!this.known) return undefined
    return this.headerFor(this.known, scopes, ctx, false, signal)
  }

  /**
   * Handle a 401: parse its WWW-Authenticate, get fresh credentials for the scopes it names plus
   * `scopes`, and return the header to retry with. Throws AuthError when nothing can be offered.
   */
  async challenge(res: HttpResponse, scopes: readonly string[], ctx: RegistryContext, signal?: AbortSignal): Promise<string> {
    const challenges = parseChallenges(res.headers['www-authenticate'])
    const chosen = challenges.find((c) => c.scheme === 'bearer') ?? challenges.find((c) => c.scheme === 'basic')
    if (!chosen) {
      const schemes = challenges.map((c) => c.scheme).join(', ') || 'none'
      throw new AuthError(ctx, `the registry asks for an authentication scheme airgap does not support (${schemes})`, {
        hint: 'use a registry that supports Basic or Bearer token authentication',
      })
    }
    this.known = chosen
    const extra = chosen.params.scope ? [chosen.params.scope] : []
    const header = await this.headerFor(chosen, [...scopes, ...extra], ctx, true, signal)
    if (header === undefined) {
      throw new AuthError(ctx, 'the registry requires credentials and none were found', {
        hint: `log in first (docker login ${this.registry}), pass credentials, or set DOCKER_CONFIG / REGISTRY_AUTH_FILE`,
      })
    }
    return header
  }

  private async headerFor(
    challenge: Challenge,
    scopes: readonly string[],
    ctx: RegistryContext,
    fresh: boolean,
    signal?: AbortSignal,
  ): Promise<string | undefined> {
    const cred = await this.getCredential()
    if (challenge.scheme === 'basic') {
      return cred?.username !== undefined && cred.password !== undefined ? basic(cred.username, cred.password) : undefined
    }
    if (cred?.registryToken) return `Bearer ${cred.registryToken}`
    const realm = challenge.params.realm
    if (!realm) {
      throw new AuthError(ctx, 'the registry sent a Bearer challenge without a realm', {
        hint: 'the registry is misconfigured; ask its operator',
      })
    }
    if (!/^https?:\/\/[^/]/i.test(realm)) {
      throw new AuthError(ctx, `the registry sent a Bearer challenge whose realm is not an http(s) URL (${JSON.stringify(realm.slice(0, 200))})`, {
        hint: 'the registry is misconfigured or hostile; ask its operator',
      })
    }
    const service = challenge.params.service
    const key = tokenCacheKey(realm, service, scopes)
    const cached = this.tokens.get(key)
    if (!fresh && cached && cached.refreshAt > this.now()) return `Bearer ${cached.token}`
    let inflight = this.pending.get(key)
    if (!inflight) {
      inflight = this.fetchToken(realm, service, mergeScopes(scopes), cred, ctx, signal).finally(() => this.pending.delete(key))
      this.pending.set(key, inflight)
    }
    const token = await inflight
    this.tokens.set(key, token)
    return `Bearer ${token.token}`
  }

  private async fetchToken(
    realm: string,
    service: string | undefined,
    scopes: string[],
    cred: Credential | undefined,
    ctx: RegistryContext,
    signal?: AbortSignal,
  ): Promise<CachedToken> {
    const withCreds = cred?.username !== undefined && cred.password !== undefined
    if (withCreds || cred?.identityToken) this.checkRealmTransport(realm, ctx)
    if (cred?.identityToken) {
      const res = await this.postRefreshToken(realm, service, scopes, cred.identityToken, ctx, signal)
      if (res.status !== 404 && res.status !== 405) return this.readToken(res, realm, ctx, true)
      await res.dump()
    }
    const url = new URL(realm)
    if (service) url.searchParams.set('service', service)
    for (const s of scopes) url.searchParams.append('scope', s)
    const credentials = withCreds ? {authorization: basic(cred.username!, cred.password!), origin: url.origin} : undefined
    const res = await this.http.request({method: 'GET', url, credentials, signal, side: ctx.side})
    return this.readToken(res, realm, ctx, withCreds)
  }

  /**
   * Refuse to send credentials in clear text to an http:// realm that an HTTPS registry names,
   * unless the realm's host is named with --plain-http.
   */
  private checkRealmTransport(realm: string, ctx: RegistryContext): void {
    const url = new URL(realm)
    if (url.protocol !== 'http:' || this.http.schemeFor(this.apiHost) === 'http' || this.http.schemeFor(url.host) === 'http') return
    throw new AuthError(ctx, `the registry's token server ${url.origin}${url.pathname} is plain HTTP; airgap does not send the credentials of an HTTPS registry there in clear text`, {
      hint: `if the network path to ${url.host} is trusted, name it with --plain-http ${url.host}; otherwise have the registry announce an https:// realm`,
    })
  }

  private async postRefreshToken(
    realm: string,
    service: string | undefined,
    scopes: string[],
    refreshToken: string,
    ctx: RegistryContext,
    signal?: AbortSignal,
  ): Promise<HttpResponse> {
    const form = new URLSearchParams({grant_type: 'refresh_token', refresh_token: refreshToken, client_id: CLIENT_ID})
    if (service) form.set('service', service)
    if (scopes.length) form.set('scope', scopes.join(' '))
    return this.http.request({
      method: 'POST',
      url: realm,
      headers: {'content-type': 'application/x-www-form-urlencoded'},
      body: form.toString(),
      signal,
      side: ctx.side,
    })
  }

  private async readToken(res: HttpResponse, realm: string, ctx: RegistryContext, withCreds: boolean): Promise<CachedToken> {
    const realmHost = new URL(realm).host
    if (res.status === 401 || res.status === 403) {
      await res.dump()
      throw new AuthError(
        ctx,
        withCreds
          ? `the token server ${realmHost} refused the credentials (wrong username or password)`
          : `the token server ${realmHost} refused anonymous access`,
      )
    }
    if (res.status !== 200) {
      const text = (await res.text(2048)).replace(/\s+/g, ' ').trim().slice(0, 200)
      throw new AuthError(ctx, `the token server ${realmHost} answered HTTP ${res.status}${text ? `: ${text}` : ''}`, {
        hint: 'check the registry and token server, then retry',
      })
    }
    let text: string
    try {
      text = await res.text(MAX_TOKEN_RESPONSE_BYTES, 'whole')
    } catch (err) {
      if (!(err instanceof IntegrityError)) throw mapTransportError(err, {host: realmHost, side: ctx.side, operation: 'GET token'})
      throw new AuthError(ctx, `the token server ${realmHost} answered with more than ${MAX_TOKEN_RESPONSE_BYTES} bytes, the limit for a token response`, {
        hint: 'the realm the registry names does not serve tokens (or is hostile); check the registry and token server',
        cause: err,
      })
    }
    let body: {token?: unknown; access_token?: unknown; expires_in?: number; issued_at?: string} | null
    try {
      body = JSON.parse(text) as typeof body
    } catch {
      throw new AuthError(ctx, `the token server ${realmHost} answered with something that is not JSON`)
    }
    const token = body?.token ?? body?.access_token
    if (typeof token !== 'string' || token === '') throw new AuthError(ctx, `the token server ${realmHost} answered without a token`)
    const expiresIn = typeof body?.expires_in === 'number' ? body.expires_in : DEFAULT_TOKEN_TTL_S
    return {token, refreshAt: refreshTime(this.now(), expiresIn)}
  }
}
