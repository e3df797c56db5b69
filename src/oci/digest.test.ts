import {createHash} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {IntegrityError, UsageError} from '../errors.js'
import {createHasher, DIGEST_PATTERN, digestHex, digestOf, digestProblem, isDigest, parseDigest} from './digest.js'
import {isValidTag, TAG_PATTERN} from './reference.js'

const EMPTY_SHA256 = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'
const EMPTY_JSON = 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a'

describe('digestOf', () => {
  it('matches known sha256 values', () => {
    expect(digestOf(new Uint8Array())).toBe(EMPTY_SHA256)
    expect(digestOf(Buffer.from('{}'))).toBe(EMPTY_JSON) // the OCI empty descriptor
  })
  it('computes sha512 on request', () => {
    const want = `sha512:${createHash('sha512').update('abc').digest('hex')}`
    expect(digestOf(Buffer.from('abc'), 'sha512')).toBe(want)
    expect(isDigest(want)).toBe(true)
  })
})

describe('isDigest / digestProblem', () => {
  it.each([
    [EMPTY_SHA256, undefined],
    [`sha512:${'0'.repeat(128)}`, undefined],
    ['', /empty/],
    ['sha256', /must look like/],
    [`sha256:${'a'.repeat(63)}`, /64 hex characters, got 63/],
    [`sha256:${'a'.repeat(65)}`, /64 hex characters, got 65/],
    [`sha512:${'a'.repeat(64)}`, /128 hex characters, got 64/],
    [`sha256:${'A'.repeat(64)}`, /lower-case/],
    [`sha256:${'g'.repeat(64)}`, /must look like/],
    [`md5:${'a'.repeat(32)}`, /"md5" is not supported/],
    [`SHA256:${'a'.repeat(64)}`, /must look like/],
    [`sha256:${'a'.repeat(64)} `, /must look like/],
  ])('%j', (s, problem) => {
    const got = digestProblem(s)
    if (problem === undefined) expect(got).toBeUndefined()
    else expect(got).toMatch(problem)
    expect(isDigest(s)).toBe(problem === undefined)
  })
})

describe('parseDigest', () => {
  it('splits algorithm and hex', () => {
    expect(parseDigest(EMPTY_SHA256)).toEqual({algorithm: 'sha256', hex: EMPTY_SHA256.slice(7)})
    expect(digestHex(EMPTY_SHA256)).toBe(EMPTY_SHA256.slice(7))
  })
  it('throws UsageError for typed input and IntegrityError naming where for content', () => {
    expect(() => parseDigest('sha256:xyz')).toThrow(UsageError)
    expect(() => parseDigest('sha256:xyz')).toThrow(/invalid digest "sha256:xyz"/)
    let caught: unknown
    try {
      parseDigest('sha256:abc', 'index.json manifests[0]')
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(IntegrityError)
    expect((caught as Error).message).toBe(
      'invalid digest "sha256:abc" in index.json manifests[0]: sha256 digest must have 64 hex characters, got 3',
    )
  })
})

describe('createHasher', () => {
  it('hashes incrementally with the algorithm of the expected digest', () => {
    const data = Buffer.from('hello world, chunked')
    for (const alg of ['sha256', 'sha512'] as const) {
      const h = createHasher(digestOf(data, alg))
      h.update(data.subarray(0, 5))
      h.update(data.subarray(5))
      expect(h.digest()).toBe(digestOf(data, alg))
    }
  })
  it('refuses an invalid expected digest', () => {
    expect(() => createHasher('md5:abc')).toThrow(UsageError)
  })
})

describe('DIGEST_PATTERN and TAG_PATTERN (JSON Schema patterns, matched with the u flag as ajv does)', () => {
  it('accept exactly what isDigest and isValidTag accept', () => {
    const digests = [`sha256:${'a'.repeat(64)}`, `sha512:${'0'.repeat(128)}`, `sha256:${'A'.repeat(64)}`, `sha256:${'a'.repeat(63)}`, `sha384:${'a'.repeat(96)}`, 'sha256:', '', `sha256:${'a'.repeat(64)}\n`, `md5:${'a'.repeat(32)}`]
    for (const d of digests) expect(new RegExp(DIGEST_PATTERN, 'u').test(d), d).toBe(isDigest(d))
    const tags = ['latest', 'v1.2.3', '_x', '-x', '.x', 'a'.repeat(128), 'a'.repeat(129), 'ü', 'a b', '']
    for (const t of tags) expect(new RegExp(TAG_PATTERN, 'u').test(t), t).toBe(isValidTag(t))
  })
})
