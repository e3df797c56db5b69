import {parse} from 'yaml'
import {describe, expect, it} from 'vitest'
import {NotFoundError, SpecError} from '../errors.js'
import {digestOf} from '../oci/digest.js'
import {indexDigest, indexEntryFor, mergeIndex, parseRepoIndex, resolveIndexEntry} from './repo-index.js'
import {repositoryUrls} from './repository.js'

const INDEX = `apiVersion: v1
entries:
  operator-wandb:
    - {apiVersion: v2, name: operator-wandb, version: 0.43.8, appVersion: 1.10, urls: [operator-wandb-0.43.8.tgz], digest: ${'a'.repeat(64)}}
    - {apiVersion: v2, name: operator-wandb, version: 0.44.0-rc.1, urls: [https://cdn.example.com/operator-wandb-0.44.0-rc.1.tgz]}
    - {apiVersion: v2, name: operator-wandb, version: 0.43.10, urls: [charts/operator-wandb-0.43.10.tgz]}
    - {apiVersion: v2, name: operator-wandb, version: 0.42.0, urls: [operator-wandb-0.42.0.tgz]}
    - {name: operator-wandb, version: 0.1.0}
  operator:
    - {apiVersion: v2, name: operator, version: 1.2.3, urls: [operator-1.2.3.tgz]}
  only-pre:
    - {apiVersion: v2, name: only-pre, version: 1.0.0-beta.1, urls: [p.tgz]}
generated: "2026-01-01T00:00:00Z"
`

describe('parseRepoIndex', () => {
  it('parses YAML, keeps Chart.yaml fields, sorts newest first, drops entries without urls', () => {
    const index = parseRepoIndex(INDEX, 'https://charts.example.com/index.yaml')
    expect(index.generated).toBe('2026-01-01T00:00:00Z')
    expect(index.entries.get('operator-wandb')!.map((e) => e.version)).toEqual(['0.44.0-rc.1', '0.43.10', '0.43.8', '0.42.0'])
    const e = index.entries.get('operator-wandb')![2]!
    expect(e).toMatchObject({apiVersion: 'v2', name: 'operator-wandb', appVersion: '1.1', urls: ['operator-wandb-0.43.8.tgz'], digest: 'a'.repeat(64)})
  })

  it('parses the JSON form too', () => {
    const json = JSON.stringify({apiVersion: 'v1', entries: {a: [{name: 'a', version: '1.0.0', urls: ['a-1.0.0.tgz']}]}})
    expect(parseRepoIndex(json, 'x').entries.get('a')![0]!.version).toBe('1.0.0')
  })

  it('names the URL and line on YAML errors, and refuses non-index documents', () => {
    const err = (() => {
      try {
        parseRepoIndex('apiVersion: v1\nentries:\n  a: [\n', 'https://h/index.yaml')
      } catch (e) {
        return e as Error
      }
      return undefined
    })()
    expect(err).toBeInstanceOf(SpecError)
    expect(err!.message).toMatch(/^invalid Helm repository index https:\/\/h\/index\.yaml(:\d+)?: /)
    expect(() => parseRepoIndex('<html>hello</html>', 'https://h/index.yaml')).toThrow(/is not a Helm repository index/)
  })
})

describe('resolveIndexEntry', () => {
  const index = parseRepoIndex(INDEX, 'x')
  const pick = (c?: string) => resolveIndexEntry(index, 'operator-wandb', c, 'https://charts.example.com').version

  it('picks exact versions, ranges, and the newest stable version by default', () => {
    expect(pick()).toBe('0.43.10')
    expect(pick('')).toBe('0.43.10')
    expect(pick('0.42.0')).toBe('0.42.0')
    expect(pick('v0.42.0')).toBe('0.42.0')
    expect(pick('0.44.0-rc.1')).toBe('0.44.0-rc.1')
    expect(pick('~0.43.0')).toBe('0.43.10')
    expect(pick('>=0.42.0 <0.43.9')).toBe('0.43.8')
    expect(pick('0.43.x')).toBe('0.43.10')
  })

  it('lists available versions when the version is missing', () => {
    expect(() => pick('9.9.9')).toThrow(NotFoundError)
    try {
      pick('9.9.9')
    } catch (e) {
      expect((e as NotFoundError).message).toBe('chart "operator-wandb" version "9.9.9" not found in Helm repository https://charts.example.com')
      expect((e as NotFoundError).hint).toBe('available versions (newest first): 0.44.0-rc.1, 0.43.10, 0.43.8, 0.42.0')
      expect((e as NotFoundError).exitCode).toBe(7)
    }
  })

  it('lists chart names when the chart is missing, and explains prerelease-only charts', () => {
    try {
      resolveIndexEntry(index, 'nope', undefined, 'R')
      expect.unreachable()
    } catch (e) {
      expect((e as NotFoundError).message).toBe('chart "nope" not found in Helm repository R')
      expect((e as NotFoundError).hint).toBe('charts in this repository: only-pre, operator, operator-wandb')
    }
    expect(() => resolveIndexEntry(index, 'only-pre', undefined, 'R')).toThrow(/has no stable \(non-prerelease\) version/)
    expect(resolveIndexEntry(index, 'only-pre', '1.0.0-beta.1', 'R').version).toBe('1.0.0-beta.1')
  })
})

describe('indexDigest and repositoryUrls', () => {
  it('accepts bare hex and sha256: digests', () => {
    expect(indexDigest('A'.repeat(64))).toBe(`sha256:${'a'.repeat(64)}`)
    expect(indexDigest(`sha256:${'b'.repeat(64)}`)).toBe(`sha256:${'b'.repeat(64)}`)
    expect(indexDigest('md5:abc')).toBeUndefined()
    expect(indexDigest(undefined)).toBeUndefined()
  })

  it('splits repository URLs into base and index URL', () => {
    expect(repositoryUrls('https://h/charts/')).toEqual({base: 'https://h/charts', index: 'https://h/charts/index.yaml'})
    expect(repositoryUrls('http://h:8080')).toEqual({base: 'http://h:8080', index: 'http://h:8080/index.yaml'})
    expect(repositoryUrls('https://h/x/index.yaml')).toEqual({base: 'https://h/x', index: 'https://h/x/index.yaml'})
    expect(() => repositoryUrls('oci://h/x')).toThrow(/must use http or https/)
    expect(() => repositoryUrls('not a url')).toThrow(/invalid Helm repository URL/)
  })
})

describe('indexEntryFor and mergeIndex', () => {
  const tgz = Buffer.from('fake tgz bytes')
  const meta = {apiVersion: 'v2', name: 'app', version: '1.1.0', appVersion: '2.0', description: 'An app'}

  it('builds entries like helm repo index (sorted keys, bare hex digest)', () => {
    const e = indexEntryFor(meta, tgz, 'app-1.1.0.tgz', '2026-02-01T00:00:00Z')
    expect(Object.keys(e)).toEqual(['apiVersion', 'appVersion', 'created', 'description', 'digest', 'name', 'urls', 'version'])
    expect(e.digest).toBe(digestOf(tgz).slice(7))
    expect(e.urls).toEqual(['app-1.1.0.tgz'])
  })

  it('keeps existing entries, replaces same name@version, sorts newest first, deterministic', () => {
    const existing = `apiVersion: v1
entries:
  app:
    - {apiVersion: v2, name: app, version: 1.0.0, urls: [app-1.0.0.tgz], digest: old}
    - {apiVersion: v2, name: app, version: 1.1.0, urls: [app-1.1.0.tgz], digest: stale}
  zeta:
    - {apiVersion: v2, name: zeta, version: 0.1.0, urls: [zeta-0.1.0.tgz]}
generated: "2020-01-01T00:00:00Z"
`
    const newer = indexEntryFor({...meta, version: '1.10.0'}, tgz, 'app-1.10.0.tgz', '2026-02-01T00:00:00Z')
    const replaced = indexEntryFor(meta, tgz, 'app-1.1.0.tgz', '2026-02-01T00:00:00Z')
    const beta = indexEntryFor({...meta, name: 'beta', version: '0.0.1'}, tgz, 'beta-0.0.1.tgz', '2026-02-01T00:00:00Z')
    const out = mergeIndex(existing, [replaced, newer, beta], '2026-02-02T00:00:00Z')
    expect(mergeIndex(existing, [beta, newer, replaced], '2026-02-02T00:00:00Z')).toBe(out)
    const doc = parse(out) as {apiVersion: string; generated: string; entries: Record<string, {version: string; digest?: string}[]>}
    expect(doc.apiVersion).toBe('v1')
    expect(doc.generated).toBe('2026-02-02T00:00:00Z')
    expect(Object.keys(doc.entries)).toEqual(['app', 'beta', 'zeta'])
    expect(doc.entries.app!.map((e) => e.version)).toEqual(['1.10.0', '1.1.0', '1.0.0'])
    expect(doc.entries.app![1]!.digest).toBe(digestOf(tgz).slice(7))
    expect(doc.entries.app![2]!.digest).toBe('old')
    // the output is itself a valid index
    expect(parseRepoIndex(out, 'merged').entries.get('zeta')![0]!.urls).toEqual(['zeta-0.1.0.tgz'])
  })

  it('creates a new index when there is none', () => {
    const out = mergeIndex(undefined, [indexEntryFor(meta, tgz, 'app-1.1.0.tgz', 'T')], 'G')
    expect(out.startsWith('apiVersion: v1\nentries:\n  app:\n')).toBe(true)
    expect(out.endsWith('generated: G\n')).toBe(true)
  })
})
