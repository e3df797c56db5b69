/** inspectImage on OCI layouts: an index lists its children, an image sums its layers, from verified bytes. */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {IntegrityError} from '../errors.js'
import {OciLayout} from '../layout/index.js'
import {formatPlatform} from '../oci/platform.js'
import {loadInto, makeImage, makeIndex, type GeneratedImage, type GeneratedIndex} from '../../test/support/images.js'
import {inspectImage} from './inspect.js'

let dir: string
let multi: GeneratedIndex
let single: GeneratedImage

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-inspect-'))
  multi = await makeIndex({seed: 'inspect-multi', platforms: ['linux/amd64', 'linux/arm64/v8']})
  single = await makeImage({seed: 'inspect-single', layers: 3})
  const layout = await OciLayout.open(join(dir, 'l'), {create: true})
  await loadInto(layout, multi, 'multi')
  await loadInto(layout, single, 'single')
})
afterAll(async () => rm(dir, {recursive: true, force: true}))

describe('inspectImage', () => {
  it('an index: every child with its platform', async () => {
    const res = await inspectImage({reference: `oci:${join(dir, 'l')}:multi`})
    expect(res.digest).toBe(multi.root.digest)
    expect(res.manifests?.map((m) => m.platform)).toEqual(multi.images.map((i) => formatPlatform(i.platform)))
    expect(res.layers).toBeUndefined()
  })

  it('an image: its layer count and total layer size', async () => {
    const res = await inspectImage({reference: `oci:${join(dir, 'l')}:single`})
    expect(res.digest).toBe(single.root.digest)
    expect(res.layers).toBe(3)
    expect(res.layerBytes).toBe(single.layers.reduce((n, l) => n + l.descriptor.size, 0))
    expect(res.manifests).toBeUndefined()
  })

  it('refuses a manifest whose bytes no longer match its digest', async () => {
    const layout = join(dir, 'l')
    const [algo, hex] = single.root.digest.split(':') as [string, string]
    await writeFile(join(layout, 'blobs', algo, hex), Buffer.from('{"schemaVersion":2}'.padEnd(single.root.size, ' ')))
    await expect(inspectImage({reference: `oci:${layout}:single`})).rejects.toBeInstanceOf(IntegrityError)
  })
})
