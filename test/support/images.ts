/**
 * Deterministic test content (test support only, never committed as blobs): real gzip'd tar layers
 * of random files, OCI and Docker schema 2 images with correct diff_ids, multi-platform indexes
 * whose images share base layers, and Helm chart OCI artifacts. The same seed gives the same bytes.
 */
import {createCipheriv, createHash} from 'node:crypto'
import {Readable} from 'node:stream'
import {gzipSync} from 'node:zlib'
import {pack} from 'tar-stream'
import type {Storage, Tagger} from '../../src/content/types.js'
import {digestOf} from '../../src/oci/digest.js'
import {parsePlatform} from '../../src/oci/platform.js'
import {MediaType, type Descriptor, type Platform} from '../../src/oci/types.js'

/** One piece of content and its descriptor. */
export interface BlobData {
  descriptor: Descriptor
  bytes: Buffer
}

export interface LayerData extends BlobData {
  /** sha256 of the uncompressed tar (the config's rootfs.diff_ids entry). */
  diffId: string
}

/** A generated graph: every node (children before parents, each digest once) and its root. */
export interface Generated {
  root: Descriptor
  blobs: BlobData[]
}

export interface GeneratedImage extends Generated {
  layers: LayerData[]
  config: BlobData
  manifest: BlobData
  platform: Platform
}

export interface GeneratedIndex extends Generated {
  images: GeneratedImage[]
  index: BlobData
}

export interface GeneratedChart extends Generated {
  /** The chart archive (`<name>/Chart.yaml`, `<name>/values.yaml`, `<name>/templates/…`). */
  chartTgz: Buffer
  chartYaml: string
  valuesYaml: string
}

export type Format = 'oci' | 'docker'

const EPOCH = new Date('2024-01-01T00:00:00Z')
const CREATED = '2024-01-01T00:00:00Z'

/** Deterministic random bytes: an AES-256-CTR key stream keyed by sha256(seed). */
export class SeededRandom {
  private readonly cipher

  constructor(seed: string) {
    const key = createHash('sha256').update(seed).digest()
    this.cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
  }

  bytes(n: number): Buffer {
    return this.cipher.update(Buffer.alloc(n))
  }

  /** An integer in [0, max). */
  int(max: number): number {
    return this.bytes(4).readUInt32BE(0) % max
  }
}

export function blob(bytes: Buffer | string, mediaType: string, extra: Partial<Descriptor> = {}): BlobData {
  const b = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes
  return {bytes: b, descriptor: {mediaType, digest: digestOf(b), size: b.length, ...extra}}
}

export function jsonBlob(value: unknown, mediaType: string, extra: Partial<Descriptor> = {}): BlobData {
  return blob(JSON.stringify(value), mediaType, extra)
}

interface TarEntry {
  name: string
  content?: Buffer
  type?: 'file' | 'directory'
}

/** A ustar archive of `entries` with fixed owner, modes and mtime. */
export async function tarOf(entries: TarEntry[]): Promise<Buffer> {
  const p = pack()
  const chunks: Buffer[] = []
  const done = new Promise<void>((resolve, reject) => {
    p.on('data', (c: unknown) => chunks.push(c as Buffer))
    p.on('end', resolve)
    p.on('error', reject)
  })
  for (const e of entries) {
    const directory = e.type === 'directory'
    const header = {name: e.name, mtime: EPOCH, uid: 0, gid: 0, uname: 'root', gname: 'root', mode: directory ? 0o755 : 0o644}
    await new Promise<void>((resolve, reject) => {
      const cb = (err?: Error | null): void => (err ? reject(err) : resolve())
      if (directory) p.entry({...header, type: 'directory'}, cb)
      else p.entry({...header, type: 'file', size: e.content?.length ?? 0}, e.content ?? Buffer.alloc(0), cb)
    })
  }
  p.finalize()
  await done
  return Buffer.concat(chunks)
}

export interface LayerOptions {
  seed: string
  /** Random files in the layer (default 2). */
  files?: number
  /** Bytes per random file (default 4 KiB). */
  fileSize?: number
  /** gzip the tar (default true); false gives an uncompressed layer. */
  compress?: boolean
  format?: Format
}

/** A layer: a real tar (optionally gzip'd) holding a folder with random files and a text file. */
export async function makeLayer(opts: LayerOptions): Promise<LayerData> {
  const rnd = new SeededRandom(`layer:${opts.seed}`)
  const id = createHash('sha256').update(opts.seed).digest('hex').slice(0, 12)
  const entries: TarEntry[] = [
    {name: 'opt/', type: 'directory'},
    {name: `opt/${id}/`, type: 'directory'},
    {name: `opt/${id}/README.txt`, content: Buffer.from(`test layer ${opts.seed}\n`)},
  ]
  for (let i = 0; i < (opts.files ?? 2); i++) {
    entries.push({name: `opt/${id}/file-${i}.bin`, content: rnd.bytes(opts.fileSize ?? 4096)})
  }
  const tar = await tarOf(entries)
  const compress = opts.compress ?? true
  const bytes = compress ? gzipSync(tar, {level: 1}) : tar
  const mediaType =
    opts.format === 'docker'
      ? compress
        ? MediaType.DockerLayer
        : 'application/vnd.docker.image.rootfs.diff.tar'
      : compress
        ? MediaType.OciLayerGzip
        : MediaType.OciLayer
  return {...blob(bytes, mediaType), diffId: digestOf(tar)}
}

export interface ImageOptions {
  seed: string
  format?: Format
  /** Default linux/amd64. */
  platform?: Platform | string
  /** Own layers (default 2), generated from the seed. */
  layers?: number
  files?: number
  fileSize?: number
  compress?: boolean
  /** Layers placed first (shared with other images). */
  baseLayers?: LayerData[]
  annotations?: Record<string, string>
}

/** One image: layers, a config with matching diff_ids and history, and a manifest. */
export async function makeImage(opts: ImageOptions): Promise<GeneratedImage> {
  const format = opts.format ?? 'oci'
  const platform = toPlatform(opts.platform ?? 'linux/amd64')
  const own: LayerData[] = []
  for (let i = 0; i < (opts.layers ?? 2); i++) {
    own.push(await makeLayer(layerOptions(opts, `${opts.seed}:${i}`, format)))
  }
  const layers = [...(opts.baseLayers ?? []), ...own]
  const config = jsonBlob(
    {
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? {variant: platform.variant} : {}),
      created: CREATED,
      config: {
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        Cmd: ['/bin/sh'],
        Labels: {'dev.airgap.test.seed': opts.seed},
      },
      rootfs: {type: 'layers', diff_ids: layers.map((l) => l.diffId)},
      history: layers.map((_, i) => ({created: CREATED, created_by: `airgap test layer ${i}`})),
    },
    format === 'docker' ? MediaType.DockerConfig : MediaType.OciConfig,
  )
  const manifestType = format === 'docker' ? MediaType.DockerManifest : MediaType.OciManifest
  const manifest = jsonBlob(
    {
      schemaVersion: 2,
      mediaType: manifestType,
      config: config.descriptor,
      layers: layers.map((l) => l.descriptor),
      ...(opts.annotations ? {annotations: opts.annotations} : {}),
    },
    manifestType,
  )
  return {
    root: manifest.descriptor,
    blobs: unique([...layers, config, manifest]),
    layers,
    config,
    manifest,
    platform,
  }
}

function layerOptions(opts: ImageOptions | IndexOptions, seed: string, format: Format): LayerOptions {
  const o: LayerOptions = {seed, format}
  if (opts.files !== undefined) o.files = opts.files
  if (opts.fileSize !== undefined) o.fileSize = opts.fileSize
  if (opts.compress !== undefined) o.compress = opts.compress
  return o
}

export interface IndexOptions {
  seed: string
  format?: Format
  /** Default linux/amd64 and linux/arm64/v8. */
  platforms?: (Platform | string)[]
  /** Layers every platform image shares (default 1). */
  sharedLayers?: number
  /** Own layers per platform image (default 1). */
  layers?: number
  files?: number
  fileSize?: number
  compress?: boolean
}

/** A multi-platform index (OCI index or Docker manifest list) whose images share base layers. */
export async function makeIndex(opts: IndexOptions): Promise<GeneratedIndex> {
  const format = opts.format ?? 'oci'
  const platforms = (opts.platforms ?? ['linux/amd64', 'linux/arm64/v8']).map(toPlatform)
  const shared: LayerData[] = []
  for (let i = 0; i < (opts.sharedLayers ?? 1); i++) shared.push(await makeLayer(layerOptions(opts, `${opts.seed}:base:${i}`, format)))
  const images: GeneratedImage[] = []
  for (const platform of platforms) {
    const key = `${platform.os}-${platform.architecture}-${platform.variant ?? ''}`
    const o: ImageOptions = {seed: `${opts.seed}:${key}`, format, platform, baseLayers: shared, layers: opts.layers ?? 1}
    if (opts.files !== undefined) o.files = opts.files
    if (opts.fileSize !== undefined) o.fileSize = opts.fileSize
    if (opts.compress !== undefined) o.compress = opts.compress
    images.push(await makeImage(o))
  }
  const indexType = format === 'docker' ? MediaType.DockerManifestList : MediaType.OciIndex
  const index = jsonBlob(
    {
      schemaVersion: 2,
      mediaType: indexType,
      manifests: images.map((img) => ({...img.manifest.descriptor, platform: img.platform})),
    },
    indexType,
  )
  return {root: index.descriptor, blobs: unique([...images.flatMap((i) => i.blobs), index]), images, index}
}

export interface ChartOptions {
  name: string
  version: string
  appVersion?: string
  /** values.yaml text; the default names one image, docker.io/acme/<name>:<appVersion>. */
  values?: string
}

/**
 * A Helm chart as Helm pushes it to an OCI registry: config `application/vnd.cncf.helm.config.v1+json`
 * (Chart.yaml as JSON), one chart-content layer (the .tgz), a manifest without `mediaType`.
 */
export async function makeHelmChart(opts: ChartOptions): Promise<GeneratedChart> {
  const appVersion = opts.appVersion ?? '1.0.0'
  const description = `Test chart ${opts.name}`
  const chartYaml = [
    'apiVersion: v2',
    `name: ${opts.name}`,
    `description: ${description}`,
    'type: application',
    `version: ${opts.version}`,
    `appVersion: "${appVersion}"`,
    '',
  ].join('\n')
  const valuesYaml = opts.values ?? ['image:', `  repository: docker.io/acme/${opts.name}`, `  tag: "${appVersion}"`, 'replicaCount: 1', ''].join('\n')
  const template = [
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: {{ .Release.Name }}-config',
    'data:',
    '  image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"',
    '',
  ].join('\n')
  const tar = await tarOf([
    {name: `${opts.name}/Chart.yaml`, content: Buffer.from(chartYaml)},
    {name: `${opts.name}/values.yaml`, content: Buffer.from(valuesYaml)},
    {name: `${opts.name}/templates/configmap.yaml`, content: Buffer.from(template)},
  ])
  const chartTgz = gzipSync(tar, {level: 9})
  const layer = blob(chartTgz, MediaType.HelmChart)
  const config = jsonBlob(
    {name: opts.name, version: opts.version, description, apiVersion: 'v2', appVersion, type: 'application'},
    MediaType.HelmConfig,
  )
  const manifest = jsonBlob(
    {
      schemaVersion: 2,
      config: config.descriptor,
      layers: [layer.descriptor],
      annotations: {
        'org.opencontainers.image.created': CREATED,
        'org.opencontainers.image.description': description,
        'org.opencontainers.image.title': opts.name,
        'org.opencontainers.image.version': opts.version,
      },
    },
    MediaType.OciManifest,
  )
  return {root: manifest.descriptor, blobs: [layer, config, manifest], chartTgz, chartYaml, valuesYaml}
}

/**
 * Push every node of `g` into `dst` (children first, skipping what exists), then tag the root
 * `ref` when given and `dst` can tag. Works with MemoryTarget, OciLayout and registry targets.
 */
export async function loadInto(dst: Storage & Partial<Tagger>, g: Generated, ref?: string, signal?: AbortSignal): Promise<void> {
  for (const b of g.blobs) {
    if (await dst.exists(b.descriptor, signal)) continue
    await dst.push(b.descriptor, Readable.from(b.bytes), signal)
  }
  if (ref !== undefined) {
    if (typeof dst.tag !== 'function') throw new Error(`loadInto: cannot tag ${ref}: the destination is not a Tagger`)
    await dst.tag(g.root, ref, signal)
  }
}

/** Bytes of every node by digest (for assertions). */
export function byDigest(...gs: Generated[]): Map<string, Buffer> {
  return new Map(gs.flatMap((g) => g.blobs.map((b) => [b.descriptor.digest, b.bytes] as const)))
}

function toPlatform(p: Platform | string): Platform {
  return typeof p === 'string' ? parsePlatform(p) : p
}

function unique<T extends BlobData>(blobs: T[]): T[] {
  const seen = new Set<string>()
  return blobs.filter((b) => !seen.has(b.descriptor.digest) && seen.add(b.descriptor.digest))
}
