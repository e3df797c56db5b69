import {describe, expect, it} from 'vitest'
import {UsageError} from '../errors.js'
import {parseReference} from '../oci/reference.js'
import {MirrorIndex, mirrorLocation, mirrorRepositoryFor, mirrorTarget} from './relocate.js'
import type {MirrorMap} from '../mirror/types.js'

const D1 = `sha256:${'1'.repeat(64)}`
const D2 = `sha256:${'2'.repeat(64)}`

describe('relocation', () => {
  it('drops the source host by default and keeps it with keepSourceHost; library/ stays', () => {
    const redis = parseReference('redis')
    expect(mirrorRepositoryFor(redis, {registry: 'reg.corp/m', keepSourceHost: false})).toBe('reg.corp/m/library/redis')
    expect(mirrorRepositoryFor(redis, {registry: 'reg.corp/m/', keepSourceHost: true})).toBe('reg.corp/m/docker.io/library/redis')
    expect(mirrorLocation({registry: 'https://reg.corp:5000/a/b'})).toEqual({host: 'reg.corp:5000', prefix: 'a/b'})
    expect(() => mirrorLocation({registry: ''})).toThrow(UsageError)
  })

  it('bitnami split keeps the source path so only the registry changes', () => {
    const t = mirrorTarget({source: 'docker.io/bitnamilegacy/redis:7', mirror: 'reg.corp/m/docker.io/bitnamilegacy/redis:7', digest: D1, origins: []})
    expect(t.bitnami).toEqual({registry: 'reg.corp/m/docker.io', repository: 'bitnamilegacy/redis'})
  })

  it('looks up by tag, by digest, by repository alone when one version is mirrored', () => {
    const map: MirrorMap = {
      registry: 'reg.corp/m',
      keepSourceHost: false,
      charts: [],
      images: [
        {source: 'docker.io/wandb/local:1', mirror: 'reg.corp/m/wandb/local:1', digest: D1, origins: []},
        {source: 'docker.io/wandb/local:2', mirror: 'reg.corp/m/wandb/local:2', digest: D2, origins: []},
        {source: 'quay.io/a/b:1', mirror: 'reg.corp/m/a/b:1', digest: D1, origins: []},
      ],
    }
    const index = new MirrorIndex(map)
    const hit = (ref: string, tagKnown = true) => {
      const r = index.lookup(parseReference(ref), tagKnown)
      return r.kind === 'mirrored' ? r.target.image.mirror : r.kind === 'unresolved' ? `! ${r.reason}` : r.kind
    }
    expect(hit('wandb/local:2')).toBe('reg.corp/m/wandb/local:2')
    expect(hit(`index.docker.io/wandb/local@${D1}`)).toBe('reg.corp/m/wandb/local:1')
    expect(hit('wandb/local', false)).toBe('! no tag written and 2 versions are mirrored; set the tag')
    expect(hit('quay.io/a/b', false)).toBe('reg.corp/m/a/b:1')
    expect(hit('quay.io/a/b')).toBe('! tag latest not mirrored (mirrored: 1)')
    expect(hit('reg.corp/m/anything:9')).toBe('in-mirror')
    expect(hit('reg.corp/mx/anything:9')).toBe('! repository not in the mirror map')
  })

  it('refuses a map with an invalid reference, naming it', () => {
    const map: MirrorMap = {registry: 'reg.corp', keepSourceHost: false, charts: [], images: [{source: 'Bad Ref', mirror: 'reg.corp/x:1', digest: D1, origins: []}]}
    expect(() => new MirrorIndex(map)).toThrow(/mirror map: source reference "Bad Ref" is invalid/)
  })
})
