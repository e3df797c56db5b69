import {describe, expect, it} from 'vitest'
import {accepts, paginate, parseRange} from './registry.js'
import {MediaType} from '../oci/types.js'

describe('parseRange', () => {
  it('parses single byte ranges, open ends and suffixes, clamped to the blob', () => {
    expect(parseRange('bytes=10-19', 100)).toEqual([10, 19])
    expect(parseRange('bytes=90-', 100)).toEqual([90, 99])
    expect(parseRange('bytes=90-500', 100)).toEqual([90, 99])
    expect(parseRange('bytes=-5', 100)).toEqual([95, 99])
    expect(parseRange('bytes=-500', 100)).toEqual([0, 99])
  })

  it('is unsatisfiable past the end, and ignored when absent, malformed or multi-range', () => {
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable')
    expect(parseRange('bytes=-0', 100)).toBe('unsatisfiable')
    expect(parseRange('bytes=0-0', 0)).toBe('unsatisfiable')
    expect(parseRange(undefined, 100)).toBeUndefined()
    expect(parseRange('bytes=5-1', 100)).toBeUndefined()
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined()
    expect(parseRange('items=0-1', 100)).toBeUndefined()
  })
})

describe('accepts', () => {
  it('serves what is stored unless the client lists manifest types without it', () => {
    expect(accepts(undefined, MediaType.OciIndex)).toBe(true)
    expect(accepts('*/*', MediaType.OciIndex)).toBe(true)
    expect(accepts(`${MediaType.OciManifest}, ${MediaType.OciIndex}`, MediaType.OciIndex)).toBe(true)
    expect(accepts('application/json', MediaType.OciIndex)).toBe(true)
    expect(accepts(MediaType.DockerManifest, MediaType.OciIndex)).toBe(false)
    expect(accepts([MediaType.DockerManifest, `${MediaType.OciIndex}; q=0.5`], MediaType.OciIndex)).toBe(true)
  })
})

describe('paginate', () => {
  const items = ['a', 'b', 'c', 'd']
  const page = (q: string) => paginate(items, new URL(`http://x/v2/_catalog${q}`))

  it('pages with n and last and says where the next page starts', () => {
    expect(page('')).toEqual({items})
    expect(page('?n=2')).toEqual({items: ['a', 'b'], next: 'last=b&n=2'})
    expect(page('?n=2&last=b')).toEqual({items: ['c', 'd']})
    expect(page('?last=c')).toEqual({items: ['d']})
    expect(page('?n=0')).toEqual({items: []})
  })
})
