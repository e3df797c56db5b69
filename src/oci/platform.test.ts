import {describe, expect, it} from 'vitest'
import {UsageError} from '../errors.js'
import {formatPlatform, normalizePlatform, parsePlatform, platformMatches} from './platform.js'
import type {Platform} from './types.js'

describe('parsePlatform', () => {
  it.each([
    ['linux/amd64', {os: 'linux', architecture: 'amd64'}],
    ['linux/arm64/v8', {os: 'linux', architecture: 'arm64', variant: 'v8'}],
    ['linux/arm/v7', {os: 'linux', architecture: 'arm', variant: 'v7'}],
    ['linux/aarch64', {os: 'linux', architecture: 'arm64'}],
    ['linux/x86_64', {os: 'linux', architecture: 'amd64'}],
    ['Linux/AMD64', {os: 'linux', architecture: 'amd64'}],
    ['linux/armhf', {os: 'linux', architecture: 'arm', variant: 'v7'}],
    ['linux/armel', {os: 'linux', architecture: 'arm', variant: 'v6'}],
    ['linux/arm/6', {os: 'linux', architecture: 'arm', variant: 'v6'}],
    ['linux/i386', {os: 'linux', architecture: '386'}],
    ['windows/amd64', {os: 'windows', architecture: 'amd64'}],
    ['macos/arm64', {os: 'darwin', architecture: 'arm64'}],
  ])('%s', (input, want) => {
    expect(parsePlatform(input)).toEqual(want)
  })

  it.each(['', 'linux', 'linux/', '/amd64', 'linux/amd64/v8/x', 'linux/am d64', 'linux//amd64'])('rejects %j', (input) => {
    expect(() => parsePlatform(input)).toThrow(UsageError)
    expect(() => parsePlatform(input)).toThrow(/expected os\/arch\[\/variant\]/)
  })

  it('formats back', () => {
    for (const s of ['linux/amd64', 'linux/arm64/v8', 'linux/arm/v7', 'windows/amd64']) {
      expect(formatPlatform(parsePlatform(s))).toBe(s)
    }
  })

  it('normalizePlatform keeps os.version and drops an empty variant', () => {
    expect(normalizePlatform({os: 'windows', architecture: 'AMD64', variant: '', 'os.version': '10.0.17763.1'})).toEqual({
      os: 'windows',
      architecture: 'amd64',
      'os.version': '10.0.17763.1',
    })
  })
})

describe('platformMatches', () => {
  const p = (s: string): Platform => parsePlatform(s)
  it.each([
    ['linux/amd64', {os: 'linux', architecture: 'amd64'}, true],
    ['linux/amd64', {os: 'linux', architecture: 'amd64', variant: 'v3'}, true],
    ['linux/amd64/v3', {os: 'linux', architecture: 'amd64'}, false],
    ['linux/amd64', {os: 'linux', architecture: 'arm64'}, false],
    ['linux/amd64', {os: 'windows', architecture: 'amd64'}, false],
    ['linux/arm64', {os: 'linux', architecture: 'arm64', variant: 'v8'}, true],
    ['linux/arm64', {os: 'linux', architecture: 'arm64'}, true],
    ['linux/arm64/v8', {os: 'linux', architecture: 'arm64'}, true],
    ['linux/arm64/v8', {os: 'linux', architecture: 'arm64', variant: 'v8'}, true],
    ['linux/arm64/v8', {os: 'linux', architecture: 'arm64', variant: 'v9'}, false],
    ['linux/aarch64', {os: 'linux', architecture: 'arm64', variant: 'v8'}, true],
    ['linux/arm', {os: 'linux', architecture: 'arm', variant: 'v7'}, true],
    ['linux/arm', {os: 'linux', architecture: 'arm'}, true],
    ['linux/arm', {os: 'linux', architecture: 'arm', variant: 'v6'}, false],
    ['linux/arm/v6', {os: 'linux', architecture: 'arm', variant: 'v6'}, true],
    ['linux/arm/v7', {os: 'linux', architecture: 'arm'}, true],
    ['linux/amd64', {os: 'unknown', architecture: 'unknown'}, false], // buildkit attestation entries
    ['linux/amd64', undefined, false],
  ] as Array<[string, Platform | undefined, boolean]>)('want %s, have %j -> %s', (want, have, result) => {
    expect(platformMatches(p(want), have)).toBe(result)
  })

  it('compares os.version only when wanted', () => {
    const have: Platform = {os: 'windows', architecture: 'amd64', 'os.version': '10.0.20348.1'}
    expect(platformMatches({os: 'windows', architecture: 'amd64'}, have)).toBe(true)
    expect(platformMatches({os: 'windows', architecture: 'amd64', 'os.version': '10.0.17763.1'}, have)).toBe(false)
  })
})
