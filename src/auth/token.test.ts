import {describe, expect, it} from 'vitest'
import {DEFAULT_TOKEN_TTL_S, refreshTime, tokenCacheKey} from './token.js'

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
