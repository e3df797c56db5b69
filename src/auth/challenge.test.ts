import {describe, expect, it} from 'vitest'
import {parseChallenges} from './challenge.js'

describe('parseChallenges', () => {
  it('parses a distribution Bearer challenge with a scope holding commas', () => {
    const h = 'Bearer realm="http://127.0.0.1:5556/token",service="test-registry",scope="repository:ns/img:pull,push"'
    expect(parseChallenges(h)).toEqual([
      {scheme: 'bearer', params: {realm: 'http://127.0.0.1:5556/token', service: 'test-registry', scope: 'repository:ns/img:pull,push'}},
    ])
  })

  it('parses several challenges in one header and keeps their order', () => {
    const h = 'Basic realm="basic-realm", Bearer realm="https://auth.example/token", service=reg, error="insufficient_scope"'
    expect(parseChallenges(h)).toEqual([
      {scheme: 'basic', params: {realm: 'basic-realm'}},
      {scheme: 'bearer', params: {realm: 'https://auth.example/token', service: 'reg', error: 'insufficient_scope'}},
    ])
  })

  it('unescapes quoted-pair escapes and keeps commas and equals signs inside quotes', () => {
    const h = 'Bearer realm="a \\"quoted\\" realm, with = signs",scope="x"'
    expect(parseChallenges(h)[0]?.params).toEqual({realm: 'a "quoted" realm, with = signs', scope: 'x'})
  })

  it('lower-cases scheme and parameter names, accepts spaces around = and several header values', () => {
    expect(parseChallenges(['BASIC Realm = "r"', 'Negotiate abc123=='])).toEqual([
      {scheme: 'basic', params: {realm: 'r'}},
      {scheme: 'negotiate', params: {token68: 'abc123=='}},
    ])
  })

  it('returns nothing for a missing or empty header', () => {
    expect(parseChallenges(undefined)).toEqual([])
    expect(parseChallenges('')).toEqual([])
  })
})
