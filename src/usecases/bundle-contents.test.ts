/** planContents: what a bundle will carry, planned from in-memory sources before anything is written. */
import {describe, expect, it, beforeAll} from 'vitest'
import {MemoryTarget} from '../content/memory.js'
import {CopyTracker} from '../copy/tracker.js'
import {UsageError} from '../errors.js'
import {parsePlatform} from '../oci/platform.js'
import {loadInto, makeHelmChart, makeImage, makeIndex, type GeneratedChart, type GeneratedImage, type GeneratedIndex} from '../../test/support/images.js'
import {lockCharts, lockImages, lockSignatures, planContents, sumSizes, type BundleHaveList} from './bundle-contents.js'

let src: MemoryTarget
let multi: GeneratedIndex
let app: GeneratedImage
let chart: GeneratedChart

beforeAll(async () => {
  multi = await makeIndex({seed: 'contents-multi', platforms: ['linux/amd64', 'linux/arm64'], sharedLayers: 1, layers: 1})
  app = await makeImage({seed: 'contents-app', layers: 2, baseLayers: [multi.images[0]!.layers[0]!], platform: 'linux/arm/v7'})
  chart = await makeHelmChart({name: 'demo', version: '0.1.0'})
  src = new MemoryTarget()
  await loadInto(src, multi, 'multi')
  await loadInto(src, app, 'app')
  await loadInto(src, chart, 'chart')
})

const tracker = () => new CopyTracker({concurrency: 4})
const chartInput = () => ({source: src, ref: 'chart', name: 'reg.example/charts/demo:0.1.0', chart: {name: 'demo', version: '0.1.0', source: 'oci://reg.example/charts/demo', tgzDigest: chart.blobs[0]!.descriptor.digest}})

describe('planContents', () => {
  it('lists every blob once across images that share layers, and the lock entries each item makes', async () => {
    const planned = await planContents(
      {
        images: [
          {source: src, ref: 'multi', name: 'docker.io/acme/multi:1'},
          {source: src, ref: 'app', name: 'docker.io/acme/app:1', discoveredBy: [{chart: 'demo', valuesPath: 'image', source: 'acme/app:1'}]},
        ],
        charts: [chartInput()],
        signatures: [{source: src, ref: 'app', name: 'docker.io/acme/app:sha256-x.sig', signature: {subject: app.root.digest, kind: 'sig'}}],
      },
      tracker(),
      undefined,
    )
    const every = new Set([...multi.blobs, ...app.blobs, ...chart.blobs].map((b) => b.descriptor.digest))
    expect(planned.blobs.map((b) => b.digest).sort()).toEqual([...every].sort())
    expect(planned.expected).toEqual([])

    const images = lockImages(planned.items)
    expect(images.map((i) => [i.source, i.platforms])).toEqual([
      ['docker.io/acme/multi:1', ['linux/amd64', 'linux/arm64']],
      ['docker.io/acme/app:1', ['linux/arm/v7']],
    ])
    expect(images[1]!.bytes).toBe(sumSizes(app.blobs.map((b) => b.descriptor)))
    expect(images[0]!.discoveredBy).toBeUndefined()
    expect(images[1]!.discoveredBy).toHaveLength(1)
    expect(lockCharts(planned.items)).toEqual([{...chartInput().chart, digest: chart.root.digest}])
    expect(lockSignatures(planned.items)).toEqual([{subject: app.root.digest, kind: 'sig', ref: 'docker.io/acme/app:sha256-x.sig', digest: app.root.digest, mediaType: app.root.mediaType, size: app.root.size}])
  })

  it('narrows an index to the wanted platforms (a new root) and carries only their blobs', async () => {
    const planned = await planContents({images: [{source: src, ref: 'multi', name: 'docker.io/acme/multi:1'}], platforms: [parsePlatform('linux/arm64')]}, tracker(), undefined)
    const [image] = lockImages(planned.items)
    expect(image!.platforms).toEqual(['linux/arm64'])
    expect(image!.digest).not.toBe(multi.root.digest)
    const amd64Only = multi.images[0]!.blobs.map((b) => b.descriptor.digest).filter((d) => !multi.images[1]!.blobs.some((b) => b.descriptor.digest === d))
    for (const d of amd64Only) expect(planned.blobs.map((b) => b.digest)).not.toContain(d)
  })

  it('a delta leaves out layers the mirror holds (naming where), never manifests nor a chart', async () => {
    const layer = app.layers.at(-1)!.descriptor.digest
    const chartBlobs = chart.blobs.map((b) => b.descriptor.digest)
    const have: BundleHaveList = {has: (d) => d === layer || d === app.root.digest || chartBlobs.includes(d), repositories: (d) => (d === layer ? ['mirror/acme/app'] : [])}
    const planned = await planContents({images: [{source: src, ref: 'app', name: 'docker.io/acme/app:1'}], charts: [chartInput()], have}, tracker(), undefined)
    expect(planned.expected).toEqual([{digest: layer, size: app.layers.at(-1)!.descriptor.size, mediaType: app.layers.at(-1)!.descriptor.mediaType, repositories: ['mirror/acme/app']}])
    const stored = planned.blobs.map((b) => b.digest)
    expect(stored).toContain(app.root.digest)
    for (const d of chartBlobs) expect(stored).toContain(d)
    expect(stored).not.toContain(layer)
  })

  it('refuses a name listed twice before resolving anything', async () => {
    const twice = {source: src, ref: 'app', name: 'docker.io/acme/app:1'}
    await expect(planContents({images: [twice, twice]}, tracker(), undefined)).rejects.toThrow(UsageError)
  })
})
