/** requireUpstreamVerified: push --require-upstream-verified refuses a lock unless every image has a verified verdict. */
import {describe, expect, it} from 'vitest'
import type {BundleLock} from '../bundle/lock.js'
import {IntegrityError} from '../errors.js'
import {requireUpstreamVerified} from './upstream-required.js'

const D = `sha256:${'c'.repeat(64)}`
const image = (source: string) => ({source, digest: D, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, platforms: [], bytes: 1})
type Lock = Pick<BundleLock, 'images' | 'upstreamVerification'>
const lock = (verdicts: Array<{source: string; verified: boolean; reason?: string}>): Lock => ({
  images: [image('docker.io/a/x:1'), image('docker.io/a/y:1')],
  upstreamVerification: {policy: {digest: D, default: 'warn'}, images: verdicts.map((v) => ({...v, digest: D, rule: 'acme'}))},
})

describe('requireUpstreamVerified', () => {
  it('passes when every image has a verified verdict', () => {
    expect(() => requireUpstreamVerified(lock([{source: 'docker.io/a/x:1', verified: true}, {source: 'docker.io/a/y:1', verified: true}]), 'b.tar')).not.toThrow()
  })

  it('names each image without a verified verdict, and why', () => {
    let err: unknown
    try {
      requireUpstreamVerified(lock([{source: 'docker.io/a/x:1', verified: false, reason: 'no signature found'}]), 'b.tar')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as IntegrityError).message).toBe('2 image(s) in b.tar are not upstream-verified: docker.io/a/x:1 [rule acme: no signature found]; docker.io/a/y:1 [no verdict]')
  })

  it('a lock pulled without --verify-upstream is refused with how to get one', () => {
    expect(() => requireUpstreamVerified({images: [image('docker.io/a/x:1')]}, 'b.tar')).toThrow(/records no upstream-signature verification/)
  })
})
