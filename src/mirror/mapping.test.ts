import {describe, expect, it} from 'vitest'
import {UsageError} from '../errors.js'
import {formatMirrorRegistry, mirrorRepository, parseMirrorRegistry, planMirror} from './mapping.js'

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
})
