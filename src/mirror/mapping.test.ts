import {describe, expect, it} from 'vitest'
import {UsageError} from '../errors.js'
import {checkPathRules, formatMirrorRegistry, mirrorRepository, parseMirrorRegistry, planMirror, shortenPath} from './mapping.js'

const D = `sha256:${'a'.repeat(64)}`

describe('mirror placement', () => {
  it('parses HOST[:PORT][/PREFIX] and refuses malformed registries', () => {
    expect(parseMirrorRegistry('registry.corp:5000/mirror/x/')).toEqual({host: 'registry.corp:5000', prefix: 'mirror/x'})
    expect(parseMirrorRegistry('127.0.0.1:5000')).toEqual({host: '127.0.0.1:5000', prefix: ''})
    expect(formatMirrorRegistry(parseMirrorRegistry('https://r.corp/m'))).toBe('r.corp/m')
    expect(() => parseMirrorRegistry('r.corp/Mirror')).toThrow(UsageError)
    expect(() => parseMirrorRegistry('')).toThrow(/invalid --registry/)
  })

  it('drops the source host by default and keeps it with keepSourceHost', () => {
    const reg = parseMirrorRegistry('m.corp:5000/pre')
    const [wandb, redis] = planMirror(
      [
        {source: 'docker.io/wandb/local:0.62.2', digest: D},
        {source: 'docker.io/library/redis:7', digest: D},
      ],
      reg,
      false,
    )
    expect(wandb!.mirror).toBe('m.corp:5000/pre/wandb/local:0.62.2')
    expect(redis!.mirror).toBe('m.corp:5000/pre/library/redis:7')
    expect(mirrorRepository({registry: 'docker.io', repository: 'wandb/local'}, reg, true)).toBe('pre/docker.io/wandb/local')
    const [kept] = planMirror([{source: 'quay.io/prometheus/prometheus:v2', digest: D}], reg, true)
    expect(kept!.mirror).toBe('m.corp:5000/pre/quay.io/prometheus/prometheus:v2')
  })

  it('pushes digest-only sources by digest', () => {
    const [p] = planMirror([{source: `gcr.io/x/y@${D}`, digest: D}], parseMirrorRegistry('m:5000'), false)
    expect(p!.mirror).toBe(`m:5000/x/y@${D}`)
    expect(p!.tag).toBeUndefined()
  })

  it('refuses two source repositories that collide, suggesting --keep-source-host', () => {
    const images = [
      {source: 'docker.io/bitnami/redis:7', digest: D},
      {source: 'quay.io/bitnami/redis:7.2', digest: D},
    ]
    const reg = parseMirrorRegistry('m:5000')
    let err: unknown
    try {
      planMirror(images, reg, false)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).message).toContain('docker.io/bitnami/redis and quay.io/bitnami/redis both map to m:5000/bitnami/redis')
    expect((err as UsageError).hint).toContain('--keep-source-host')
    expect(planMirror(images, reg, true).map((p) => p.repository)).toEqual(['m:5000/docker.io/bitnami/redis', 'm:5000/quay.io/bitnami/redis'])
  })

  it('allows two tags of one source repository', () => {
    const out = planMirror(
      [
        {source: 'docker.io/wandb/local:1', digest: D},
        {source: 'docker.io/wandb/local:2', digest: D},
      ],
      parseMirrorRegistry('m:5000'),
      false,
    )
    expect(out.map((p) => p.mirror)).toEqual(['m:5000/wandb/local:1', 'm:5000/wandb/local:2'])
  })

  describe('path rules (--max-nested-paths, --flatten)', () => {
    const reg = parseMirrorRegistry('m.corp:5000/pre')

    it('counts every component after the host, the prefix included, and folds the overflow into the last one with "-"', () => {
      expect(shortenPath('pre/a/b/c', reg, {maxNestedPaths: 2})).toBe('pre/a-b-c')
      expect(shortenPath('pre/a/b/c', reg, {maxNestedPaths: 3})).toBe('pre/a/b-c')
      expect(shortenPath('pre/a/b/c', reg, {maxNestedPaths: 4})).toBe('pre/a/b/c')
      expect(shortenPath('pre/a/b/c', reg, {maxNestedPaths: 9})).toBe('pre/a/b/c')
      expect(shortenPath('pre/a/b/c', reg, {flatten: true})).toBe('pre/a-b-c')
      expect(shortenPath('pre/a', reg, {flatten: true})).toBe('pre/a')
      expect(shortenPath('a/b/c', parseMirrorRegistry('m:5000'), {flatten: true})).toBe('a-b-c')
      expect(shortenPath('a/b/c', parseMirrorRegistry('m:5000'), {maxNestedPaths: 1})).toBe('a-b-c')
    })

    it('places every image within N components, keeping tags and digest-only sources', () => {
      const out = planMirror(
        [
          {source: 'docker.io/wandb/local:0.62.2', digest: D},
          {source: 'quay.io/prometheus/prometheus:v2', digest: D},
          {source: `gcr.io/a/b/c/d@${D}`, digest: D},
          {source: 'docker.io/library/redis:7', digest: D},
        ],
        reg,
        true,
        {maxNestedPaths: 2},
      )
      expect(out.map((p) => p.mirror)).toEqual([
        'm.corp:5000/pre/docker.io-wandb-local:0.62.2',
        'm.corp:5000/pre/quay.io-prometheus-prometheus:v2',
        `m.corp:5000/pre/gcr.io-a-b-c-d@${D}`,
        'm.corp:5000/pre/docker.io-library-redis:7',
      ])
      for (const p of out) expect(p.repository.split('/').length - 1).toBeLessThanOrEqual(2)
      expect(mirrorRepository({registry: 'docker.io', repository: 'wandb/local'}, reg, false, {maxNestedPaths: 2})).toBe('pre/wandb-local')
    })

    it('refuses a limit the prefix alone reaches, naming the smallest that works', () => {
      expect(() => checkPathRules(parseMirrorRegistry('m:5000/a/b'), {maxNestedPaths: 2})).toThrow(/--max-nested-paths 2 leaves no room for images under m:5000\/a\/b/)
      expect(() => checkPathRules(parseMirrorRegistry('m:5000/a/b'), {maxNestedPaths: 2})).toThrow(UsageError)
      expect(() => planMirror([{source: 'docker.io/x/y:1', digest: D}], parseMirrorRegistry('m:5000'), false, {maxNestedPaths: 0})).toThrow(UsageError)
      try {
        checkPathRules(parseMirrorRegistry('m:5000/a/b'), {maxNestedPaths: 1})
      } catch (e) {
        expect((e as UsageError).hint).toContain('--max-nested-paths 3 or more')
      }
      expect(() => checkPathRules(parseMirrorRegistry('m:5000/a/b'), {maxNestedPaths: 3})).not.toThrow()
    })

    it('refuses two sources the rules fold into one name, naming both, before anything is pushed', () => {
      const images = [
        {source: 'docker.io/wandb/local-x:1', digest: D},
        {source: 'docker.io/wandb-local/x:1', digest: D},
      ]
      expect(planMirror(images, reg, false).map((p) => p.repository)).toEqual(['m.corp:5000/pre/wandb/local-x', 'm.corp:5000/pre/wandb-local/x'])
      let err: unknown
      try {
        planMirror(images, reg, false, {flatten: true})
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(UsageError)
      expect((err as UsageError).message).toBe('mirror names collide under --flatten: docker.io/wandb/local-x and docker.io/wandb-local/x both map to m.corp:5000/pre/wandb-local-x; nothing was pushed')
      expect((err as UsageError).hint).toContain('raise --max-nested-paths or drop --flatten')
    })

    it('refuses a name folded onto the repository of the release records', () => {
      expect(() => planMirror([{source: 'quay.io/airgap/releases:1', digest: D}], reg, false, {flatten: true})).toThrow(/quay.io\/airgap\/releases maps to m.corp:5000\/pre\/airgap-releases, where push keeps its release records/)
    })
  })
})
