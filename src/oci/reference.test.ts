import fc from 'fast-check'
import {describe, expect, it} from 'vitest'
import {ExitCode, InvalidReferenceError} from '../errors.js'
import {
  familiarName,
  formatReference,
  isValidTag,
  parseReference,
  parseRepository,
  registryApiHost,
  repositoryName,
} from './reference.js'

const D256 = `sha256:${'a'.repeat(64)}`
const D512 = `sha512:${'b'.repeat(128)}`

describe('parseReference: valid references and their normal form', () => {
  const cases: Array<[string, string]> = [
    ['redis', 'docker.io/library/redis:latest'],
    ['redis:7', 'docker.io/library/redis:7'],
    ['library/redis', 'docker.io/library/redis:latest'],
    ['docker.io/redis', 'docker.io/library/redis:latest'],
    ['index.docker.io/redis:7', 'docker.io/library/redis:7'],
    ['index.docker.io/wandb/local', 'docker.io/wandb/local:latest'],
    ['wandb/local:0.62.2', 'docker.io/wandb/local:0.62.2'],
    ['docker.io/wandb/local:0.62.2', 'docker.io/wandb/local:0.62.2'],
    ['localhost/foo', 'localhost/foo:latest'],
    ['localhost:5000/foo', 'localhost:5000/foo:latest'],
    ['localhost:5000', 'docker.io/library/localhost:5000'],
    ['127.0.0.1:5000/ns/app:1', '127.0.0.1:5000/ns/app:1'],
    [`127.0.0.1:5000/ns/app:1@${D256}`, `127.0.0.1:5000/ns/app:1@${D256}`],
    [`127.0.0.1:5000/ns/app@${D256}`, `127.0.0.1:5000/ns/app@${D256}`],
    [`redis@${D256}`, `docker.io/library/redis@${D256}`],
    [`ghcr.io/org/app@${D512}`, `ghcr.io/org/app@${D512}`],
    ['gcr.io/a/b/c/d:v1.2.3-rc.1_x', 'gcr.io/a/b/c/d:v1.2.3-rc.1_x'],
    ['quay.io/a__b/c.d-e---f:TAG_UPPER', 'quay.io/a__b/c.d-e---f:TAG_UPPER'],
    ['foo/bar/baz', 'docker.io/foo/bar/baz:latest'],
    ['Registry.Example.com/ns/app', 'Registry.Example.com/ns/app:latest'],
    ['Foo/bar', 'Foo/bar:latest'], // upper case first component is a host (as in Docker)
    ['[::1]:5000/app:v1', '[::1]:5000/app:v1'],
    ['my-registry:443/team/app:_x', 'my-registry:443/team/app:_x'],
    [`a/b:${'t'.repeat(128)}`, `docker.io/a/b:${'t'.repeat(128)}`],
  ]
  it.each(cases)('%s -> %s', (input, want) => {
    expect(formatReference(parseReference(input))).toBe(want)
  })

  it('splits registry, repository, tag and digest', () => {
    expect(parseReference(`127.0.0.1:5000/ns/app:1@${D256}`)).toEqual({
      registry: '127.0.0.1:5000',
      repository: 'ns/app',
      tag: '1',
      digest: D256,
    })
    expect(parseReference('redis')).toEqual({registry: 'docker.io', repository: 'library/redis', tag: 'latest'})
    expect(parseReference(`redis@${D256}`)).toEqual({registry: 'docker.io', repository: 'library/redis', digest: D256})
  })
})

describe('parseReference: invalid references say why', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /reference is empty/],
    [' redis', /white space/],
    ['redis:7 ', /white space/],
    ['Redis', /repository name "Redis" must be lowercase/],
    ['docker.io/Library/redis', /must be lowercase/],
    ['localhost:5000/NS/app', /must be lowercase/],
    ['redis@', /'@' must be followed by a digest/],
    ['@sha256:' + 'a'.repeat(64), /repository name is missing/],
    ['redis@sha256:abc', /sha256 digest must have 64 hex characters, got 3/],
    [`redis@sha256:${'A'.repeat(64)}`, /lower-case/],
    [`redis@md5:${'a'.repeat(32)}`, /algorithm "md5" is not supported/],
    [`redis@sha512:${'a'.repeat(64)}`, /sha512 digest must have 128 hex characters, got 64/],
    [`redis@${'a'.repeat(64)}`, /invalid digest/],
    [`redis@${D256}@${D256}`, /only one '@'/],
    ['redis:', /tag after ':' is empty/],
    [`redis:${'t'.repeat(129)}`, /tag is longer than 128 characters \(129\)/],
    ['redis:-bad', /tag "-bad" must match/],
    ['redis:a+b', /tag "a\+b" must match/],
    ['host:5000/', /repository name is missing after the registry host/],
    ['a//b', /empty path component/],
    ['a/b/', /empty path component/],
    ['/a', /registry host is empty|invalid/],
    ['foo/-bar', /path component "-bar" is invalid/],
    ['foo/bar_', /path component "bar_" is invalid/],
    ['foo/a___b', /path component "a___b" is invalid/],
    ['foo/a..b', /path component "a..b" is invalid/],
    ['-host.com/app', /registry host "-host.com" is invalid/],
    ['host.com:abc/app', /tag|invalid/],
    ['a'.repeat(64), /64-character hexadecimal/],
    [`registry.example.com/${'a'.repeat(240)}`, /longer than 255 characters/],
    [`${'a'.repeat(247)}`, /longer than 255 characters/], // docker.io/library/ + 247 = 265
  ]
  it.each(cases)('%j is rejected: %s', (input, reason) => {
    let caught: unknown
    try {
      parseReference(input)
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(InvalidReferenceError)
    const err = caught as InvalidReferenceError
    expect(err.message).toMatch(reason)
    expect(err.message).toContain(`invalid image reference "${input}"`)
    expect(err.exitCode).toBe(ExitCode.USAGE)
    expect(err.hint).toBeTruthy()
  })

  it('accepts a name of exactly 255 characters and rejects 256', () => {
    const host = 'r.io/'
    expect(repositoryName(parseReference(host + 'a'.repeat(250)))).toHaveLength(255)
    expect(() => parseReference(host + 'a'.repeat(251))).toThrow(InvalidReferenceError)
  })
})

describe('parseRepository', () => {
  it('normalises like parseReference without tag or digest', () => {
    expect(parseRepository('redis')).toEqual({registry: 'docker.io', repository: 'library/redis'})
    expect(parseRepository('127.0.0.1:5000/ns/app')).toEqual({registry: '127.0.0.1:5000', repository: 'ns/app'})
  })
  it.each([
    ['redis:7', /takes no tag/],
    [`redis@${D256}`, /takes no digest/],
    ['', /empty/],
    ['UP/low/Case', /must be lowercase/],
  ])('%j is rejected: %s', (input, reason) => {
    expect(() => parseRepository(input)).toThrow(reason)
  })
})

describe('helpers', () => {
  it('registryApiHost maps Docker Hub to its API host only', () => {
    expect(registryApiHost('docker.io')).toBe('registry-1.docker.io')
    expect(registryApiHost('index.docker.io')).toBe('registry-1.docker.io')
    expect(registryApiHost('127.0.0.1:5000')).toBe('127.0.0.1:5000')
    expect(registryApiHost('ghcr.io')).toBe('ghcr.io')
  })
  it('repositoryName and familiarName', () => {
    expect(repositoryName(parseReference('redis:7'))).toBe('docker.io/library/redis')
    expect(familiarName(parseReference('redis:7'))).toBe('redis:7')
    expect(familiarName(parseReference('wandb/local'))).toBe('wandb/local:latest')
    expect(familiarName(parseReference('docker.io/library/a/b'))).toBe('library/a/b:latest')
    expect(familiarName(parseReference('localhost:5000/x:1'))).toBe('localhost:5000/x:1')
  })
  it.each([
    ['latest', true],
    ['v1.2.3-rc.1', true],
    ['_x', true],
    ['A', true],
    ['t'.repeat(128), true],
    ['t'.repeat(129), false],
    ['', false],
    ['.x', false],
    ['-x', false],
    ['a/b', false],
    ['a:b', false],
    ['1.0+build', false],
  ])('isValidTag(%j) = %s', (tag, want) => {
    expect(isValidTag(tag)).toBe(want)
  })
})

describe('properties', () => {
  const lower = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split(''))
  const component = fc
    .tuple(fc.stringOf(lower, {minLength: 1, maxLength: 6}), fc.constantFrom('', '.', '_', '__', '-', '--'), fc.stringOf(lower, {minLength: 1, maxLength: 6}))
    .map(([a, sep, b]) => (sep === '' ? a : `${a}${sep}${b}`))
  const host = fc.constantFrom('', 'localhost/', 'localhost:5000/', '127.0.0.1:5000/', 'ghcr.io/', 'docker.io/', 'index.docker.io/', 'Reg.Example.com:443/')
  const tagChar = fc.constantFrom(...'abcXYZ019_.-'.split(''))
  const tag = fc.option(
    fc.tuple(fc.constantFrom('a', 'Z', '0', '_'), fc.stringOf(tagChar, {maxLength: 20})).map(([h, t]) => `:${h}${t}`),
    {nil: ''},
  )
  const digest = fc.option(
    fc.oneof(
      fc.hexaString({minLength: 64, maxLength: 64}).map((h) => `@sha256:${h.toLowerCase()}`),
      fc.hexaString({minLength: 128, maxLength: 128}).map((h) => `@sha512:${h.toLowerCase()}`),
    ),
    {nil: ''},
  )
  const validRef = fc
    .tuple(host, fc.array(component, {minLength: 1, maxLength: 4}), tag, digest)
    .map(([h, path, t, d]) => `${h}${path.join('/')}${t}${d}`)
    .filter((s) => s.length < 250)

  it('formatReference(parseReference(x)) is a fixed point of parse+format', () => {
    fc.assert(
      fc.property(validRef, (input) => {
        const once = formatReference(parseReference(input))
        expect(formatReference(parseReference(once))).toBe(once)
        expect(parseReference(once)).toEqual(parseReference(input))
      }),
      {numRuns: 2000},
    )
  })

  it('arbitrary strings either parse to a fixed point or throw InvalidReferenceError, nothing else', () => {
    const noise = fc.oneof(
      fc.string({maxLength: 80}),
      fc.stringOf(fc.constantFrom(...'aA0:/@._-sha256'.split('')), {maxLength: 60}),
      fc.fullUnicodeString({maxLength: 40}),
    )
    fc.assert(
      fc.property(noise, (input) => {
        try {
          const once = formatReference(parseReference(input))
          expect(formatReference(parseReference(once))).toBe(once)
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidReferenceError)
        }
      }),
      {numRuns: 2000},
    )
  })
})
