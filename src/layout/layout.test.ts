import {mkdtemp, readFile, readdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {IntegrityError, NotFoundError, UsageError} from '../errors.js'
import {MemoryTarget} from '../content/memory.js'
import {readAll} from '../content/verify.js'
import {copy} from '../copy/index.js'
import {digestOf} from '../oci/digest.js'
import {Annotation, MediaType, type Descriptor} from '../oci/types.js'
import {blob, loadInto, makeHelmChart, makeImage, makeIndex} from '../../test/support/images.js'
import {OciLayout} from './index.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-layout-'))
})
afterEach(async () => {
  await rm(dir, {recursive: true, force: true})
})

const layerOf = (bytes: Buffer): Descriptor => blob(bytes, MediaType.OciLayerGzip).descriptor
const hexOf = (d: Descriptor): string => d.digest.slice('sha256:'.length)
const readIndex = async (): Promise<{manifests: Descriptor[]}> => JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'))
const ingestFiles = async (): Promise<string[]> => readdir(join(dir, 'ingest')).catch(() => [])

describe('OciLayout.open', () => {
  it('creates oci-layout and an empty index.json', async () => {
    await OciLayout.open(dir, {create: true})
    expect(JSON.parse(await readFile(join(dir, 'oci-layout'), 'utf8'))).toEqual({imageLayoutVersion: '1.0.0'})
    expect(await readIndex()).toEqual({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: []})
  })

  it('refuses a directory that is not a layout unless asked to create it', async () => {
    await expect(OciLayout.open(join(dir, 'nope'))).rejects.toBeInstanceOf(NotFoundError)
  })

  it('reports a malformed index.json naming the file, and tolerates unknown media types', async () => {
    await OciLayout.open(dir, {create: true})
    await writeFile(join(dir, 'index.json'), '{"schemaVersion":2,"manifests":[')
    const err = await OciLayout.open(dir).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as Error).message).toContain(join(dir, 'index.json'))

    const odd = {mediaType: 'application/x-unknown', digest: digestOf(Buffer.from('x')), size: 1, annotations: {[Annotation.RefName]: 'odd'}}
    await writeFile(join(dir, 'index.json'), JSON.stringify({schemaVersion: 2, manifests: [odd], extra: true}))
    const layout = await OciLayout.open(dir)
    expect((await layout.resolve('odd')).mediaType).toBe('application/x-unknown')
  })
})

describe('OciLayout blobs', () => {
  it('pushes atomically into blobs/<alg>/<hex> and leaves no temporary file', async () => {
    const layout = await OciLayout.open(dir, {create: true})
    const bytes = Buffer.from('hello layout')
    const desc = layerOf(bytes)
    await layout.push(desc, Readable.from([bytes]))
    expect(await readFile(join(dir, 'blobs', 'sha256', hexOf(desc)))).toEqual(bytes)
    expect(await layout.exists(desc)).toBe(true)
    expect(await layout.exists({...desc, size: desc.size + 1})).toBe(false)
    expect(await ingestFiles()).toEqual([])
    expect(await readAll(await layout.fetch(desc), 1024, 'test')).toEqual(bytes)
  })

  it('rejects a push whose bytes do not match and leaves nothing behind', async () => {
    const layout = await OciLayout.open(dir, {create: true})
    const desc = layerOf(Buffer.from('the real content'))
    await expect(layout.push(desc, Readable.from([Buffer.from('the fake content')]))).rejects.toBeInstanceOf(IntegrityError)
    await expect(layout.push(desc, Readable.from([Buffer.from('short')]))).rejects.toBeInstanceOf(IntegrityError)
    expect(await layout.exists(desc)).toBe(false)
    expect(await readdir(join(dir, 'blobs', 'sha256'))).toEqual([])
    expect(await ingestFiles()).toEqual([])
  })

  it('leaves nothing behind when the body stream fails midway', async () => {
    const layout = await OciLayout.open(dir, {create: true})
    const desc = layerOf(Buffer.alloc(200_000, 3))
    const body = new Readable({
      read() {
        this.push(Buffer.alloc(65536, 3))
        this.destroy(new Error('connection reset'))
      },
    })
    await expect(layout.push(desc, body)).rejects.toThrow('connection reset')
    expect(await layout.exists(desc)).toBe(false)
    expect(await ingestFiles()).toEqual([])
  })

  it('accepts many concurrent pushes of the same digest', async () => {
    const layout = await OciLayout.open(dir, {create: true})
    const bytes = Buffer.alloc(300_000, 9)
    const desc = layerOf(bytes)
    const chunks = (): Readable => Readable.from([bytes.subarray(0, 100_000), bytes.subarray(100_000)])
    await Promise.all(Array.from({length: 12}, () => layout.push(desc, chunks())))
    expect((await readFile(layout.blobPath(desc.digest))).equals(bytes)).toBe(true)
    expect(await ingestFiles()).toEqual([])
  })

  it('fails a fetch of a blob damaged on disk with IntegrityError, and of a missing blob with NotFoundError', async () => {
    const layout = await OciLayout.open(dir, {create: true})
    const bytes = Buffer.from('precious bytes')
    const desc = layerOf(bytes)
    await layout.push(desc, Readable.from([bytes]))
    await writeFile(layout.blobPath(desc.digest), Buffer.from('precious bytez'))
    await expect(readAll(await layout.fetch(desc), 1024, 'test')).rejects.toBeInstanceOf(IntegrityError)
    await expect(layout.fetch(layerOf(Buffer.from('absent')))).rejects.toBeInstanceOf(NotFoundError)
  })
})

describe('OciLayout names', () => {
  it('tags with ref.name and io.containerd.image.name and resolves full refs, bare tags, normalised refs and digests', async () => {
    const layout = await OciLayout.open(dir, {create: true})
    const img = await makeImage({seed: 'names'})
    await loadInto(layout, img, 'docker.io/acme/app:1.0')

    const {manifests} = await readIndex()
    expect(manifests).toEqual([
      {
        ...img.root,
        annotations: {[Annotation.RefName]: 'docker.io/acme/app:1.0', [Annotation.ContainerdImageName]: 'docker.io/acme/app:1.0'},
      },
    ])
    for (const ref of ['docker.io/acme/app:1.0', '1.0', 'acme/app:1.0', img.root.digest, `docker.io/acme/app@${img.root.digest}`]) {
      expect(await layout.resolve(ref), ref).toEqual(img.root)
    }
    await expect(layout.resolve('2.0')).rejects.toBeInstanceOf(NotFoundError)
    await expect(layout.resolve(img.config.descriptor.digest)).rejects.toBeInstanceOf(UsageError)
  })

  it('replaces the entry of a re-used name and lists names', async () => {
    const layout = await OciLayout.open(dir, {create: true})
    const a = await makeImage({seed: 'a'})
    const b = await makeImage({seed: 'b'})
    await loadInto(layout, a, 'reg.example/ns/app:latest')
    await loadInto(layout, b, 'reg.example/ns/other:latest')
    await layout.tag(b.root, 'reg.example/ns/app:latest')
    const names: string[] = []
    for await (const n of layout.tags()) names.push(n)
    expect(names).toEqual(['reg.example/ns/app:latest', 'reg.example/ns/other:latest']) // replaced in place
    expect((await layout.resolve('reg.example/ns/app:latest')).digest).toBe(b.root.digest)
    // Two names with tag "latest" and different digests: a bare tag is ambiguous.
    await layout.tag(a.root, 'reg.example/ns/app:latest')
    await expect(layout.resolve('latest')).rejects.toBeInstanceOf(UsageError)
  })

  it('serialises concurrent tags so that none is lost', async () => {
    const layout = await OciLayout.open(dir, {create: true})
    const chart = await makeHelmChart({name: 'demo', version: '0.1.0'})
    await loadInto(layout, chart)
    const second = await OciLayout.open(dir)
    await Promise.all(Array.from({length: 20}, (_, i) => (i % 2 ? layout : second).tag(chart.root, `reg.example/charts/demo:0.1.${i}`)))
    expect((await readIndex()).manifests).toHaveLength(20)
  })

  it('refuses to tag a manifest that was not pushed', async () => {
    const layout = await OciLayout.open(dir, {create: true})
    const img = await makeImage({seed: 'unpushed'})
    await expect(layout.tag(img.root, 'x/y:z')).rejects.toBeInstanceOf(NotFoundError)
  })
})

describe('OciLayout with the copy engine', () => {
  it('round-trips a two-platform index memory -> layout -> memory with identical bytes', async () => {
    const g = await makeIndex({seed: 'roundtrip'})
    const src = new MemoryTarget()
    await loadInto(src, g, 'v1')
    const layout = await OciLayout.open(dir, {create: true})
    await copy(src, 'v1', layout, 'docker.io/acme/multi:v1')
    const back = new MemoryTarget()
    const {descriptor} = await copy(await OciLayout.open(dir), 'docker.io/acme/multi:v1', back, 'v1')
    expect(descriptor).toEqual(g.root)
    for (const b of g.blobs) expect(back.bytes(b.descriptor.digest)?.equals(b.bytes)).toBe(true)
    expect(await ingestFiles()).toEqual([])
  })
})
