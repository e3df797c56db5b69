import {describe, expect, it} from 'vitest'
import {IntegrityError} from '../errors.js'
import {createLock, parseLock, serializeLock, type LockInput} from './lock.js'
import type {LockUpstreamVerification} from './lock-upstream.js'

const D = (c: string): string => `sha256:${c.repeat(64)}`

function input(upstreamVerification?: LockUpstreamVerification): LockInput {
  const base: LockInput = {
    createdBy: 'airgap/0.1.0',
    epoch: 1_700_000_000,
    indexJson: Buffer.from('{"schemaVersion":2,"manifests":[]}\n'),
    images: [
      {source: 'docker.io/wandb/local:1', digest: D('a'), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 5, platforms: [], bytes: 5},
      {source: 'docker.io/library/redis:7', digest: D('b'), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 5, platforms: [], bytes: 5},
    ],
    blobs: {count: 2, bytes: 10},
  }
  if (upstreamVerification) base.upstreamVerification = upstreamVerification
  return base
}

const section: LockUpstreamVerification = {
  policy: {digest: D('d'), default: 'warn'},
  images: [
    {source: 'docker.io/wandb/local:1', digest: D('a'), rule: 'wandb', verified: true, keyFingerprint: D('c'), logIndex: 7, integratedTime: 1_700_000_000},
    {source: 'docker.io/library/redis:7', digest: D('e'), rule: 'default', verified: false, reason: 'no rule covers it; the default is warn'},
  ],
}

function refusal(edit: (lock: Record<string, unknown>) => void): string {
  const lock = JSON.parse(serializeLock(createLock(input(section))).toString()) as Record<string, unknown>
  edit(lock)
  try {
    parseLock(Buffer.from(JSON.stringify(lock)), 'lock.json')
  } catch (err) {
    expect(err).toBeInstanceOf(IntegrityError)
    return (err as Error).message
  }
  throw new Error('expected the lock to be refused')
}

describe('lock: upstreamVerification', () => {
  it('round-trips, sorted by source; a lock without it has none', () => {
    const lock = createLock(input(section))
    expect(lock.upstreamVerification?.images.map((i) => i.source)).toEqual(['docker.io/library/redis:7', 'docker.io/wandb/local:1'])
    expect(parseLock(serializeLock(lock), 'lock.json').upstreamVerification).toEqual(lock.upstreamVerification)
    expect(lock.formatVersion).toBe(1)
    expect(createLock(input()).upstreamVerification).toBeUndefined()
    expect(serializeLock(createLock(input())).toString()).not.toContain('upstreamVerification')
  })

  it('refuses verdicts for images the lock does not list, duplicates, unknown fields and contradictions', () => {
    const images = (l: Record<string, unknown>) => (l.upstreamVerification as {images: Array<Record<string, unknown>>}).images
    expect(refusal((l) => (images(l)[0]!.source = 'docker.io/x/y:1'))).toMatch(/\$\.upstreamVerification\.images\[0\] names "docker\.io\/x\/y:1", which the lock does not list/)
    expect(refusal((l) => (images(l)[1]!.source = images(l)[0]!.source))).toMatch(/images\[1\] duplicate source/)
    expect(refusal((l) => (images(l)[0]!.trust = 'me'))).toMatch(/images\[0\] has unknown field "trust"/)
    expect(refusal((l) => (images(l)[1]!.verified = 'yes'))).toMatch(/images\[1\]\.verified must be true or false/)
    expect(refusal((l) => delete images(l)[0]!.reason)).toMatch(/images\[0\] is not verified and gives no reason/)
    expect(refusal((l) => ((l.upstreamVerification as {policy: {default: string}}).policy.default = 'maybe'))).toMatch(/policy\.default must be one of/)
  })
})
