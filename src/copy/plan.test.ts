import {describe, expect, it} from 'vitest'
import {MemoryTarget} from '../content/memory.js'
import {parsePlatform} from '../oci/platform.js'
import {loadInto, makeHelmChart, makeImage, makeIndex} from '../../test/support/images.js'
import {copy} from './copy.js'
import {CopyError} from './errors.js'
import {planCopy} from './plan.js'
import {CopyTracker} from './tracker.js'

describe('planCopy', () => {
  it('lists every node of an index once (shared layers once) without fetching blobs', async () => {
    const g = await makeIndex({seed: 'plan-index', sharedLayers: 2, layers: 1})
    const src = new MemoryTarget()
    await loadInto(src, g, 'v1')
    const plan = await planCopy(src, 'v1')
    expect(plan.root).toEqual({mediaType: g.root.mediaType, digest: g.root.digest, size: g.root.size})
    expect(plan.resolved.digest).toBe(g.root.digest)
    expect(plan.nodes.map((n) => n.digest).sort()).toEqual(g.blobs.map((b) => b.descriptor.digest).sort())
    expect(plan.nodes[0]!.digest).toBe(g.root.digest)
    expect(plan.platforms).toEqual(['linux/amd64', 'linux/arm64/v8'])
  })

  it('narrows an index exactly as copy() does: copy() with the same tracker stores exactly the planned nodes', async () => {
    const g = await makeIndex({seed: 'plan-narrow'})
    const src = new MemoryTarget()
    await loadInto(src, g, 'v1')
    const tracker = new CopyTracker()
    const platforms = [parsePlatform('linux/arm64')]
    const plan = await planCopy(src, 'v1', {platforms, tracker})
    expect(plan.platforms).toEqual(['linux/arm64/v8'])
    const arm = g.images[1]!
    expect(plan.nodes.map((n) => n.digest).sort()).toEqual([plan.root.digest, ...arm.blobs.map((b) => b.descriptor.digest)].sort())
    const dst = new MemoryTarget()
    const {descriptor} = await copy(src, plan.resolved.digest, dst, '', {platforms, tracker})
    expect(descriptor).toEqual(plan.root)
    expect(dst.digests()).toEqual(plan.nodes.map((n) => n.digest).sort())
  })

  it('plans single images and artifacts (no platforms listed for them)', async () => {
    const img = await makeImage({seed: 'plan-single', layers: 3})
    const chart = await makeHelmChart({name: 'demo', version: '1.0.0'})
    const src = new MemoryTarget()
    await loadInto(src, img, 'img')
    await loadInto(src, chart, 'chart')
    expect((await planCopy(src, 'img')).nodes).toHaveLength(5)
    const c = await planCopy(src, 'chart')
    expect(c.nodes).toHaveLength(3)
    expect(c.platforms).toEqual([])
  })

  it('fails with a CopyError on the source side naming the image when the reference is unknown', async () => {
    const err = await planCopy(new MemoryTarget(), 'missing', {image: 'docker.io/acme/missing:1'}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CopyError)
    expect(err).toMatchObject({side: 'source', op: 'resolve'})
    expect((err as Error).message).toMatch(/docker\.io\/acme\/missing:1/)
  })
})
