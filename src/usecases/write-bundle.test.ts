/**
 * writeBundle + verifyBundle + readBundleContents with in-memory sources (MemoryTarget) and real
 * bundle files. The real-registry, skopeo and CLI checks are in test/integration/bundle-*.test.ts.
 */
import {generateKeyPairSync} from 'node:crypto'
import {mkdtemp, readFile, rm, stat} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {MemoryTarget} from '../content/memory.js'
import {IntegrityError} from '../errors.js'
import {parsePlatform} from '../oci/platform.js'
import {keyFingerprint} from '../signing/index.js'
import {BundleReader} from '../bundle/index.js'
import {loadInto, makeHelmChart, makeImage, makeIndex, type GeneratedChart, type GeneratedImage, type GeneratedIndex} from '../../test/support/images.js'
import {writeBundle, type BundleImageInput} from './write-bundle.js'
import {readBundleContents, verifyBundleFile} from './verify.js'

let dir: string
let src: MemoryTarget
let multi: GeneratedIndex
let app: GeneratedImage
let big: GeneratedImage
let chart: GeneratedChart
const keys = generateKeyPairSync('ec', {namedCurve: 'P-256'})

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-bundle-app-'))
  multi = await makeIndex({seed: 'bundle-app-multi', sharedLayers: 1, layers: 1})
  app = await makeImage({seed: 'bundle-app-single', layers: 2, baseLayers: [multi.images[0]!.layers[0]!]})
  big = await makeImage({seed: 'bundle-app-big', layers: 4, fileSize: 64 * 1024})
  chart = await makeHelmChart({name: 'demo', version: '0.1.0'})
  src = new MemoryTarget()
  await loadInto(src, multi, 'multi')
  await loadInto(src, app, 'app')
  await loadInto(src, big, 'big')
  await loadInto(src, chart, 'chart')
})
afterAll(async () => {
  if (dir) await rm(dir, {recursive: true, force: true})
})

const images = (): BundleImageInput[] => [
  {source: src, ref: 'multi', name: 'docker.io/acme/multi:v1'},
  {source: src, ref: 'app', name: 'docker.io/acme/app:1.0', discoveredBy: [{chart: 'demo', valuesPath: 'image', source: 'acme/app:1.0'}]},
]

describe('writeBundle', () => {
  it('stores every image once, writes a lock that verify accepts with the key, and list reads it', async () => {
    const out = join(dir, 'a.tar')
    const res = await writeBundle({
      images: images(),
      charts: [{source: src, ref: 'chart', name: 'registry.example/charts/demo:0.1.0', chart: {name: 'demo', version: '0.1.0', source: 'oci://registry.example/charts/demo', tgzDigest: chart.blobs[0]!.descriptor.digest}}],
      out,
      epoch: 1_700_000_000,
      signKey: keys,
      specBytes: Buffer.from('apiVersion: airgap.dev/v1alpha1\nkind: Spec\n'),
      createdBy: 'airgap/test',
    })
    expect(res.size).toBe((await stat(out)).size)
    expect(res.signer).toBe(keyFingerprint(keys.publicKey))
    // The shared base layer is stored once: unique blobs of the three graphs.
    const unique = new Set([...multi.blobs, ...app.blobs, ...chart.blobs].map((b) => b.descriptor.digest))
    expect(res.lock.blobs.count).toBe(unique.size)
    const reader = await BundleReader.open(out)
    expect(reader.entries().filter((e) => e.kind === 'blob').map((e) => e.name.replace('blobs/sha256/', 'sha256:')).sort()).toEqual([...unique].sort())
    await reader.close()
    expect(res.lock.images).toEqual([
      expect.objectContaining({source: 'docker.io/acme/app:1.0', digest: app.root.digest, platforms: ['linux/amd64'], discoveredBy: [{chart: 'demo', valuesPath: 'image', source: 'acme/app:1.0'}]}),
      expect.objectContaining({source: 'docker.io/acme/multi:v1', digest: multi.root.digest, platforms: ['linux/amd64', 'linux/arm64/v8'], bytes: multi.blobs.reduce((n, b) => n + b.descriptor.size, 0)}),
    ])
    expect(res.lock.charts).toEqual([expect.objectContaining({name: 'demo', digest: chart.root.digest})])

    const report = await verifyBundleFile(out, {publicKey: keys.publicKey})
    expect(report).toMatchObject({authenticity: 'verified', signed: true, signer: keyFingerprint(keys.publicKey), blobs: unique.size, createdBy: 'airgap/test'})
    expect((await verifyBundleFile(out)).authenticity).toBe('not-checked')
    const listed = await readBundleContents(out)
    expect(listed).toMatchObject({signed: true, signerHint: keyFingerprint(keys.publicKey), spec: true, blobs: {count: unique.size}})
    expect(listed.images.map((i) => i.source)).toEqual(['docker.io/acme/app:1.0', 'docker.io/acme/multi:v1'])
  })

  it('narrows indexes to the wanted platforms exactly as copy() does', async () => {
    const out = join(dir, 'amd64.tar')
    const res = await writeBundle({images: images(), out, platforms: [parsePlatform('linux/amd64')]})
    const multiLock = res.lock.images.find((i) => i.source === 'docker.io/acme/multi:v1')!
    expect(multiLock.platforms).toEqual(['linux/amd64'])
    expect(multiLock.digest).not.toBe(multi.root.digest)
    const reader = await BundleReader.open(out)
    expect(await reader.exists(multi.images[1]!.manifest.descriptor)).toBe(false)
    expect(await reader.exists(multi.images[0]!.manifest.descriptor)).toBe(true)
    await reader.close()
    await expect(verifyBundleFile(out)).resolves.toMatchObject({authenticity: 'unsigned'})
  })

  it('is byte-identical for the same content and epoch (unsigned), and identical up to the signature when signed', async () => {
    const [a, b] = [join(dir, 'r1.tar'), join(dir, 'r2.tar')]
    await writeBundle({images: images(), out: a, epoch: 1234})
    await writeBundle({images: [...images()].reverse(), out: b, epoch: 1234, concurrency: 1})
    expect((await readFile(a)).equals(await readFile(b))).toBe(true)
    const [sa, sb] = [join(dir, 's1.tar'), join(dir, 's2.tar')]
    await writeBundle({images: images(), out: sa, epoch: 1234, signKey: keys})
    await writeBundle({images: images(), out: sb, epoch: 1234, signKey: keys})
    const reader = await BundleReader.open(sa)
    const sig = reader.entries().find((e) => e.name === 'airgap/signature.sigstore.json')!
    await reader.close()
    const [x, y] = [await readFile(sa), await readFile(sb)]
    // ECDSA signatures are randomised: everything before the signature's data is identical.
    expect(x.subarray(0, sig.offset).equals(y.subarray(0, sig.offset))).toBe(true)
  })

  it('resumes after an abort: the second run fetches only what is missing and gives the same bytes', async () => {
    const input = (): BundleImageInput[] => [{source: src, ref: 'big', name: 'docker.io/acme/big:1'}]
    const ref = join(dir, 'resume-ref.tar')
    await writeBundle({images: input(), out: ref, epoch: 7})
    const total = big.blobs.reduce((n, b) => n + b.descriptor.size, 0)

    const out = join(dir, 'resume.tar')
    const controller = new AbortController()
    let firstRun = 0
    const largest = Math.max(...big.layers.map((l) => l.descriptor.size))
    await expect(
      writeBundle({
        images: input(),
        out,
        epoch: 7,
        concurrency: 1,
        signal: controller.signal,
        hooks: {
          onBytes: (_d, n) => {
            firstRun += n
            if (firstRun > largest + 1) controller.abort(new Error('simulated kill'))
          },
        },
      }),
    ).rejects.toThrow(/simulated kill/)
    await expect(stat(out)).rejects.toThrow(/ENOENT/)
    expect((await stat(`${out}.partial`)).size).toBeGreaterThan(largest)

    let secondRun = 0
    let planned: {missingBytes: number; bytes: number} | undefined
    await writeBundle({images: input(), out, epoch: 7, hooks: {onBytes: (_d, n) => (secondRun += n), onPlanned: (p) => (planned = p)}})
    expect(planned!.bytes).toBe(total)
    expect(planned!.missingBytes).toBeLessThanOrEqual(total - largest)
    expect(secondRun).toBe(planned!.missingBytes)
    expect(secondRun).toBeLessThan(total)
    expect((await readFile(out)).equals(await readFile(ref))).toBe(true)
  })

  it('verify refuses a bundle without a signature when a key is given', async () => {
    const out = join(dir, 'unsigned.tar')
    await writeBundle({images: images(), out})
    const err = await verifyBundleFile(out, {publicKey: keys.publicKey}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as Error).message).toMatch(/bundle is not signed/)
  })
})
