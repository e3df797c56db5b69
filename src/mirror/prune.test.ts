import {describe, expect, it} from 'vitest'
import {UsageError} from '../errors.js'
import {planPrune} from './prune.js'
import type {PushReceipt} from './receipt.js'

const d = (c: string) => `sha256:${c.repeat(64)}`
const receipt = (images: Array<[string, string]>, charts: Array<[string, string]> = []): PushReceipt =>
  ({
    apiVersion: 'airgap.dev/v1alpha1',
    kind: 'PushReceipt',
    complete: true,
    bundle: {path: 'b.tar', lockDigest: d('f'), authenticity: 'verified'},
    registry: 'mirror:5000/wandb',
    keepSourceHost: false,
    images: images.map(([mirror, digest]) => ({source: 'x', mirror, digest, mediaType: 'm', platforms: [], status: 'pushed', discoveredBy: []})),
    charts: charts.map(([ociRef, digest]) => ({name: 'c', version: '1.0.0', digest, tgzDigest: d('e'), ociRef, status: 'pushed'})),
    stats: {} as PushReceipt['stats'],
    started: '',
    finished: '',
    seconds: 0,
  }) as PushReceipt

describe('planPrune', () => {
  const registry = {host: 'mirror:5000', prefix: 'wandb'}

  it('deletes what no kept receipt names; keeps cosign tags of kept images; lists tags sharing a kept manifest; ignores other prefixes', () => {
    const plan = planPrune({
      registry,
      receipts: [{file: 'r1.json', receipt: receipt([['mirror:5000/wandb/app:1', d('1')]], [['oci://mirror:5000/wandb/charts/c', d('c')]])}],
      mirror: {
        'wandb/app': {'1': d('1'), latest: d('1'), '0': d('0'), [`sha256-${'1'.repeat(64)}.sig`]: d('5'), [`sha256-${'0'.repeat(64)}.sig`]: d('6')},
        'wandb/charts/c': {'1.0.0': d('c'), '0.9.0': d('9')},
        'wandb-other/app': {'0': d('0')},
        other: {'0': d('0')},
      },
    })
    expect(plan.registry).toBe('mirror:5000/wandb')
    expect(plan.deletions).toEqual([
      {repository: 'wandb/app', digest: d('0'), tags: ['0']},
      {repository: 'wandb/app', digest: d('6'), tags: [`sha256-${'0'.repeat(64)}.sig`]},
      {repository: 'wandb/charts/c', digest: d('9'), tags: ['0.9.0']},
    ])
    expect(plan.shared).toEqual([{repository: 'wandb/app', tag: 'latest', digest: d('1')}])
    expect(plan.keptTags).toBe(4)
    expect(plan.keep).toEqual([{receipt: 'r1.json', lockDigest: d('f')}])
  })

  it('an image pushed to another host keeps nothing here, and no receipt is a usage error', () => {
    const plan = planPrune({registry, receipts: [{file: 'r', receipt: receipt([['elsewhere:5000/wandb/app:1', d('1')]])}], mirror: {'wandb/app': {'1': d('1')}}})
    expect(plan.deletions).toEqual([{repository: 'wandb/app', digest: d('1'), tags: ['1']}])
    expect(() => planPrune({registry, receipts: [], mirror: {}})).toThrow(UsageError)
  })
})
