import {describe, expect, it} from 'vitest'
import {UsageError} from '../errors.js'
import type {MirrorMap} from '../mirror/types.js'
import {buildMirrorSets, mirrorSetProblems} from './openshift.js'

const map: MirrorMap = {
  registry: 'registry.corp:5000/wandb',
  keepSourceHost: false,
  charts: [],
  images: [
    {source: 'docker.io/wandb/local:0.74.1', mirror: 'registry.corp:5000/wandb/wandb/local:0.74.1', digest: `sha256:${'1'.repeat(64)}`, origins: []},
    {source: 'docker.io/wandb/local:0.75.0', mirror: 'registry.corp:5000/wandb/wandb/local:0.75.0', digest: `sha256:${'2'.repeat(64)}`, origins: []},
    {source: 'docker.io/library/redis:7', mirror: 'registry.corp:5000/wandb/library/redis:7', digest: `sha256:${'3'.repeat(64)}`, origins: []},
    {source: 'quay.io/prometheus/node-exporter:v1.8.2', mirror: 'registry.corp:5000/wandb/prometheus/node-exporter:v1.8.2', digest: `sha256:${'4'.repeat(64)}`, origins: []},
  ],
}

describe('ImageDigestMirrorSet / ImageTagMirrorSet', () => {
  it('one entry per source repository, pointing at the repository it was pushed to; both validate against the CRD schema', () => {
    const {digest, tag} = buildMirrorSets(map, {sourcePolicy: 'NeverContactSource'})
    expect(digest.spec.imageDigestMirrors).toEqual([
      {source: 'docker.io/library/redis', mirrors: ['registry.corp:5000/wandb/library/redis'], mirrorSourcePolicy: 'NeverContactSource'},
      {source: 'docker.io/wandb/local', mirrors: ['registry.corp:5000/wandb/wandb/local'], mirrorSourcePolicy: 'NeverContactSource'},
      {source: 'quay.io/prometheus/node-exporter', mirrors: ['registry.corp:5000/wandb/prometheus/node-exporter'], mirrorSourcePolicy: 'NeverContactSource'},
    ])
    expect(tag.kind).toBe('ImageTagMirrorSet')
    expect(tag.spec.imageTagMirrors).toEqual(digest.spec.imageDigestMirrors)
    expect(mirrorSetProblems(digest)).toEqual([])
    expect(mirrorSetProblems(tag)).toEqual([])
  })

  it('the schema refuses what the CRD refuses: a tag in a location, upper-case paths, an unknown policy, a bad name', () => {
    const bad = (entry: Record<string, unknown>, name = 'ok') => ({apiVersion: 'config.openshift.io/v1', kind: 'ImageDigestMirrorSet', metadata: {name}, spec: {imageDigestMirrors: [entry]}})
    expect(mirrorSetProblems(bad({source: 'docker.io/wandb/local:0.74.1', mirrors: ['m:5000/x']})).join()).toMatch(/source/)
    expect(mirrorSetProblems(bad({source: 'docker.io/wandb/local', mirrors: ['m:5000/Wandb']})).join()).toMatch(/mirrors/)
    expect(mirrorSetProblems(bad({source: 'docker.io/x', mirrorSourcePolicy: 'Sometimes'})).join()).toMatch(/mirrorSourcePolicy/)
    expect(mirrorSetProblems(bad({source: '*.redhat.io', mirrors: ['mirror.local/redhat']}))).toEqual([])
    expect(mirrorSetProblems(bad({source: 'docker.io/x'}, 'Not_A_Name')).join()).toMatch(/metadata\.name/)
  })

  it('a mirror the CRD cannot express is refused with the reason', () => {
    const upper = {...map, images: [{...map.images[0]!, mirror: 'registry.corp:5000/WandB/wandb/local:0.74.1'}]}
    expect(() => buildMirrorSets(upper)).toThrow(UsageError)
  })
})
