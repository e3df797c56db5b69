import {Readable} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {MemoryTarget} from '../content/memory.js'
import {IntegrityError} from '../errors.js'
import type {Descriptor} from '../oci/types.js'
import {loadInto, makeImage} from '../../test/support/images.js'
import {CopyError, copy} from './index.js'

/** Test double: a MemoryTarget source that also serves raw blob bytes, optionally corrupted. */
class RawSource extends MemoryTarget {
  verifiedFetches = 0
  unverifiedFetches = 0
  corrupt = false

  override async fetch(desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    this.verifiedFetches++
    return super.fetch(desc, signal)
  }

  async fetchUnverified(desc: Descriptor): Promise<Readable> {
    this.unverifiedFetches++
    const bytes = Buffer.from(this.bytes(desc.digest)!)
    if (this.corrupt) bytes[0] = bytes[0]! ^ 0xff
    return Readable.from([bytes])
  }
}

/** A MemoryTarget destination (its push() verifies every byte) that declares it. */
class VerifyingDestination extends MemoryTarget {
  readonly verifiesPushedContent = true as const
}

async function source(): Promise<{src: RawSource; blobs: number}> {
  const image = await makeImage({seed: 'unverified', layers: 2})
  const src = new RawSource({location: 'memory source'})
  await loadInto(src, image, 'v1')
  return {src, blobs: image.blobs.length - 1}
}

describe('copy into a destination that verifies pushes (test doubles: raw-reading source)', () => {
  it('reads blobs unverified (one hash pass) when the destination declares verifiesPushedContent', async () => {
    const {src, blobs} = await source()
    const dst = new VerifyingDestination()
    await copy(src, 'v1', dst, 'v1')
    expect(src.unverifiedFetches).toBe(blobs)
    expect(src.verifiedFetches).toBe(1) // the manifest only: manifests are always verified
    expect(dst.digests()).toEqual(src.digests())
  })

  it('reads blobs verified when the destination does not declare it', async () => {
    const {src} = await source()
    await copy(src, 'v1', new MemoryTarget(), 'v1')
    expect(src.unverifiedFetches).toBe(0)
  })

  it('blames the source when its unverified bytes fail the destination check, and stores nothing', async () => {
    const {src} = await source()
    src.corrupt = true
    const dst = new VerifyingDestination()
    const err = await copy(src, 'v1', dst, 'v1').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CopyError)
    expect((err as CopyError).side).toBe('source')
    expect((err as CopyError).cause).toBeInstanceOf(IntegrityError)
    expect((err as CopyError).exitCode).toBe(5)
    expect(dst.digests()).toEqual([])
  })
})
