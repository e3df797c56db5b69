/**
 * writeBundle with maxPartSize, in process (MemoryTarget sources, real files): charts travel whole
 * in every part, every part verifies alone with verifyBundle, and a limit too small for the shared
 * content is refused before anything is written.
 */
import {generateKeyPairSync} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdtemp, readdir, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {MemoryTarget} from '../content/memory.js'
import {UsageError} from '../errors.js'
import {digestOf} from '../oci/digest.js'
import {loadInto, makeHelmChart, makeImage} from '../../test/support/images.js'
import {writeBundle, type BundleChartInput, type BundleImageInput} from './write-bundle.js'
import {verifyBundleFile} from './verify.js'

let dir: string
let images: BundleImageInput[]
let charts: BundleChartInput[]
const signKey = generateKeyPairSync('ec', {namedCurve: 'P-256'})

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-parts-'))
  const src = new MemoryTarget()
  images = []
  for (const i of [1, 2, 3]) {
    const g = await makeImage({seed: `parts-${i}`, layers: 2, files: 1, fileSize: 30 * 1024})
    await loadInto(src, g, `t${i}`)
    images.push({source: src, ref: `t${i}`, name: `r.example/app${i}:${i}`})
  }
  const chart = await makeHelmChart({name: 'demo', version: '0.1.0'})
  await loadInto(src, chart, 'chart')
  charts = [{source: src, ref: 'chart', name: 'charts.example/demo:0.1.0', chart: {name: 'demo', version: '0.1.0', source: 'https://charts.example', tgzDigest: digestOf(chart.chartTgz)}}]
})

afterAll(async () => {
  if (dir) await rm(dir, {recursive: true, force: true})
})

it('carries the chart whole in every part, and every part verifies alone with the key', async () => {
  const warnings: string[] = []
  const out = join(dir, 'set.tar')
  const result = await writeBundle({images, charts, out, maxPartSize: 120 * 1024, signKey, hooks: {onWarning: (m) => warnings.push(m)}})
  const parts = result.split!.parts
  expect(parts.length).toBeGreaterThanOrEqual(2)
  expect(warnings).toEqual([])
  expect(result.lock.images.map((i) => i.source).sort()).toEqual(images.map((i) => i.name).sort())
  for (const p of parts) {
    expect(p.size).toBeLessThanOrEqual(120 * 1024)
    const report = await verifyBundleFile(p.path, {publicKey: signKey.publicKey})
    expect(report.authenticity).toBe('verified')
    expect(report.charts.map((c) => `${c.name}@${c.version}`)).toEqual(['demo@0.1.0'])
    expect(report.split).toEqual(expect.objectContaining({setId: result.split!.setId, part: p.part, parts: parts.length}))
  }
  // Each image is carried by the parts its blobs are in, and by no other.
  const carriedBy = new Map<string, number[]>()
  for (const p of parts) for (const name of p.images) carriedBy.set(name, [...(carriedBy.get(name) ?? []), p.part])
  const lock = (await verifyBundleFile(parts[0]!.path)).split!
  for (const image of lock.images) expect(carriedBy.get(image.source)).toEqual(image.parts)
  expect(existsSync(out)).toBe(false)
})

it('refuses a part size that cannot hold the manifests, chart and metadata, before writing anything', async () => {
  const out = join(dir, 'tiny.tar')
  await expect(writeBundle({images, charts, out, maxPartSize: 8 * 1024})).rejects.toThrow(UsageError)
  expect((await readdir(dir)).filter((f) => f.startsWith('tiny'))).toEqual([])
})
