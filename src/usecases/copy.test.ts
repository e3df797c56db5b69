/** copyImage between OCI layouts (registry to registry, with skopeo as the other client, is test/integration/cli-copy.test.ts). */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {OciLayout} from '../layout/index.js'
import {parsePlatform} from '../oci/platform.js'
import {loadInto, makeIndex, type GeneratedIndex} from '../../test/support/images.js'
import {copyImage} from './copy.js'

let dir: string
let multi: GeneratedIndex
let src: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-copy-'))
  multi = await makeIndex({seed: 'copy-multi', layers: 1, sharedLayers: 1})
  src = join(dir, 'src')
  await loadInto(await OciLayout.open(src, {create: true}), multi, 'v1')
})
afterAll(async () => rm(dir, {recursive: true, force: true}))

describe('copyImage', () => {
  it('copies a whole index into a new layout, tagged with the source ref, and a second copy sends nothing', async () => {
    const dst = join(dir, 'all')
    const first = await copyImage({source: `oci:${src}:v1`, destination: `oci:${dst}`})
    expect(first.digest).toBe(multi.root.digest)
    expect(first.destination).toBe(`oci:${dst}:v1`)
    expect(first.stats.blobsCopied + first.stats.manifestsCopied).toBeGreaterThan(0)
    expect((await (await OciLayout.open(dst)).resolve('v1')).digest).toBe(multi.root.digest)

    const again = await copyImage({source: `oci:${src}:v1`, destination: `oci:${dst}:v1`})
    expect(again.stats.blobsCopied).toBe(0)
    expect(again.destination).toBe(`oci:${dst}:v1`)
  })

  it('keeps only the platforms asked for, which changes the root digest', async () => {
    const dst = join(dir, 'one-platform')
    const platform = multi.images[0]!.platform
    const res = await copyImage({source: `oci:${src}:v1`, destination: `oci:${dst}:only`, platforms: [parsePlatform(`${platform.os}/${platform.architecture}`)]})
    expect(res.digest).not.toBe(multi.root.digest)
    const layout = await OciLayout.open(dst)
    expect((await layout.resolve('only')).digest).toBe(res.digest)
  })
})
