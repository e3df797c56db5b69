import {describe, expect, it} from 'vitest'
import {AuthError} from '../errors.js'
import {HttpClient, type HttpResponse} from '../http/client.js'
import {Authenticator, DEFAULT_TOKEN_TTL_S, refreshTime, tokenCacheKey} from './token.js'

describe('token cache helpers', () => {
  it('refreshes 20 % early, at most 30 s early, defaulting to 60 s lifetimes', () => {
    expect(refreshTime(0, 60)).toBe(48_000)
    expect(refreshTime(0, 300)).toBe(270_000)
    expect(refreshTime(0, 0)).toBe(refreshTime(0, DEFAULT_TOKEN_TTL_S))
  })
  it('keys tokens by realm, service and the canonical scope set', () => {
    const a = tokenCacheKey('https://auth/token', 'reg', ['repository:x:push', 'repository:x:pull'])
    const b = tokenCacheKey('https://auth/token', 'reg', ['repository:x:pull,push'])
    expect(a).toBe(b)
    expect(tokenCacheKey('https://auth/token', 'other', ['repository:x:pull,push'])).not.toBe(b)
    expect(tokenCacheKey('https://auth/token', 'reg', ['repository:x:pull'])).not.toBe(b)
  })
})

describe('credentials and http:// token realms', () => {
  const res401 = (realm: string) =>
    ({status: 401, headers: {'www-authenticate': `Bearer realm="${realm}",service="reg"`}}) as unknown as HttpResponse
  const ctx = {registry: 'reg.example:5000'}
  const credentials = {get: () => Promise.resolve({username: 'u', password: 'secret'})}

  it('refuses to send the credentials of an HTTPS registry to an http:// realm not named with --plain-http', async () => {
    const http = new HttpClient({proxy: false})
    const auth = new Authenticator({http, registry: 'reg.example:5000', credentials})
    const err = await auth.challenge(res401('http://auth.example/token'), [], ctx).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthError)
    expect((err as AuthError).message).toMatch(/token server http:\/\/auth\.example\/token is plain HTTP/)
    expect((err as AuthError).hint).toMatch(/--plain-http auth\.example/)
    await http.close()
  })

  it('lets a plain-HTTP registry, or a realm named with --plain-http, have them (no refusal before the request)', async () => {
    for (const plainHttp of [['reg.example:5000'], ['auth.invalid']]) {
      const http = new HttpClient({proxy: false, plainHttp, retry: {retries: 0}})
      const auth = new Authenticator({http, registry: 'reg.example:5000', credentials})
      // the request itself fails (no such host); what matters is that it was attempted
      const err = await auth.challenge(res401('http://auth.invalid/token'), [], ctx).catch((e: unknown) => e)
      expect((err as Error).message).not.toMatch(/plain HTTP/)
      await http.close()
    }
  })
})
