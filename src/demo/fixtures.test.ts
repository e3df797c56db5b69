/**
 * The demo fixtures are deterministic, and the images the demo seeds are exactly the images that
 * discovery finds in its charts with the channel values: the demo pull can never miss one.
 */
import {describe, expect, it} from 'vitest'
import {MemoryTarget} from '../content/memory.js'
import {discoverImages} from '../discover/index.js'
import {loadChartArchive} from '../helm/index.js'
import {parseReference, formatReference} from '../oci/reference.js'
import {DEMO_IMAGES, buildChart, channelResponse, operatorChart, operatorWandbChart, seedUpstream} from './fixtures.js'

describe('demo fixtures', () => {
  it('are the same bytes on every run (same root digests twice)', async () => {
    const a = await seedUpstream(new MemoryTarget())
    const b = await seedUpstream(new MemoryTarget())
    expect(a.images.map((i) => i.root.digest)).toEqual(b.images.map((i) => i.root.digest))
    expect(a.charts.map((i) => i.root.digest)).toEqual(b.charts.map((i) => i.root.digest))
    expect(a.images.map((i) => i.name)).toEqual(DEMO_IMAGES.map((i) => i.ref))
  })

  it('share one base layer, so the store holds fewer blobs than the images list', async () => {
    const seeded = await seedUpstream(new MemoryTarget())
    const listed = seeded.images.reduce((n, i) => n + i.blobs.length, 0) + seeded.charts.reduce((n, c) => n + c.blobs.length, 0)
    expect(seeded.blobs).toBe(listed - (DEMO_IMAGES.length - 1))
  })

  it('seed exactly the images discovery finds in the charts with the channel values (+ the controller the channel adds)', async () => {
    const values = channelResponse('http://unused.invalid/charts').values as Record<string, unknown>
    const wandb = await loadChartArchive((await buildChart(operatorWandbChart())).tgz, 'operator-wandb-0.43.8.tgz')
    const operator = await loadChartArchive((await buildChart(operatorChart())).tgz, 'operator-1.4.8.tgz')
    const found = [...discoverImages(wandb, {values, includeDisabled: true}), ...discoverImages(operator, {includeDisabled: true})]
    const refs = new Set(found.map((f) => formatReference(parseReference(f.reference))))
    expect([...refs].sort()).toEqual(DEMO_IMAGES.map((i) => i.ref).sort())
  })
})
