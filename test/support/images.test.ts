import {createHash} from 'node:crypto'
import {Readable} from 'node:stream'
import {gunzipSync} from 'node:zlib'
import {extract} from 'tar-stream'
import {describe, expect, it} from 'vitest'
import {MemoryTarget} from '../../src/content/memory.js'
import {parseManifest} from '../../src/oci/manifest.js'
import {MediaType} from '../../src/oci/types.js'
import {loadInto, makeHelmChart, makeImage, makeIndex, makeLayer} from './images.js'

/** Entry names and contents of a tar archive. */
async function untar(tar: Buffer): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>()
  const ex = extract()
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = []
      stream.on('data', (c: unknown) => chunks.push(c as Buffer))
      stream.on('end', () => {
        out.set(header.name, Buffer.concat(chunks))
        next()
      })
      stream.resume()
    })
    ex.on('finish', resolve)
    ex.on('error', reject)
  })
  Readable.from([tar]).pipe(ex)
  await done
  return out
}

const sha256 = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

describe('test image generator', () => {
  it('makes real, deterministic gzip tar layers whose diffId is the sha256 of the tar', async () => {
    const a = await makeLayer({seed: 's', files: 3, fileSize: 1000})
    const again = await makeLayer({seed: 's', files: 3, fileSize: 1000})
    const other = await makeLayer({seed: 't', files: 3, fileSize: 1000})
    expect(again.descriptor.digest).toBe(a.descriptor.digest)
    expect(other.descriptor.digest).not.toBe(a.descriptor.digest)
    const tar = gunzipSync(a.bytes)
    expect(a.diffId).toBe(sha256(tar))
    const files = [...(await untar(tar)).entries()].filter(([name]) => name.endsWith('.bin'))
    expect(files).toHaveLength(3)
    for (const [, content] of files) expect(content.length).toBe(1000)
  })

  it('makes images whose config lists the diff_ids of their layers', async () => {
    for (const format of ['oci', 'docker'] as const) {
      const img = await makeImage({seed: 'img', format, layers: 3})
      const parsed = parseManifest(img.manifest.bytes, img.root.mediaType, 'test')
      if (parsed.kind !== 'manifest') throw new Error('expected a manifest')
      expect(parsed.manifest.config.digest).toBe(img.config.descriptor.digest)
      const config = JSON.parse(img.config.bytes.toString()) as {rootfs: {diff_ids: string[]}; os: string}
      expect(config.rootfs.diff_ids).toEqual(img.layers.map((l) => sha256(gunzipSync(l.bytes))))
      expect(img.root.mediaType).toBe(format === 'oci' ? MediaType.OciManifest : MediaType.DockerManifest)
      expect(img.layers[0]!.descriptor.mediaType).toBe(format === 'oci' ? MediaType.OciLayerGzip : MediaType.DockerLayer)
    }
  })

  it('makes two-platform indexes whose images share base layers', async () => {
    const g = await makeIndex({seed: 'multi', sharedLayers: 2, layers: 1})
    const [amd, arm] = g.images
    expect(amd!.platform).toEqual({os: 'linux', architecture: 'amd64'})
    expect(arm!.platform).toEqual({os: 'linux', architecture: 'arm64', variant: 'v8'})
    expect(arm!.layers.slice(0, 2).map((l) => l.descriptor.digest)).toEqual(amd!.layers.slice(0, 2).map((l) => l.descriptor.digest))
    expect(arm!.layers[2]!.descriptor.digest).not.toBe(amd!.layers[2]!.descriptor.digest)
    expect(new Set(g.blobs.map((b) => b.descriptor.digest)).size).toBe(g.blobs.length)
    expect(g.blobs[g.blobs.length - 1]!.descriptor).toEqual(g.root)
  })

  it('makes a Helm chart artifact like helm push: no manifest mediaType, helm config, chart tgz layer', async () => {
    const chart = await makeHelmChart({name: 'demo', version: '1.2.3', appVersion: '4.5.6'})
    const manifest = JSON.parse(chart.blobs[2]!.bytes.toString()) as Record<string, unknown> & {config: {mediaType: string}; layers: {mediaType: string}[]}
    expect(manifest.mediaType).toBeUndefined()
    expect(manifest.config.mediaType).toBe(MediaType.HelmConfig)
    expect(manifest.layers.map((l) => l.mediaType)).toEqual([MediaType.HelmChart])
    const files = await untar(gunzipSync(chart.chartTgz))
    expect(files.get('demo/Chart.yaml')?.toString()).toContain('version: 1.2.3')
    expect(files.get('demo/values.yaml')?.toString()).toContain('docker.io/acme/demo')
    const dst = new MemoryTarget()
    await loadInto(dst, chart, '1.2.3')
    expect((await dst.resolve('1.2.3')).digest).toBe(chart.root.digest)
  })
})
