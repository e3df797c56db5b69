/**
 * The made-up W&B release `airgap demo` carries: small deterministic images named like the real
 * ones (docker.io/wandb/local, console, megabinary, weave-python, controller, bitnamilegacy/redis,
 * quay.io/prometheus, otel), an `operator-wandb`-shaped chart whose values name them, the
 * `operator` chart, and the W&B channel response that points at them. Everything is generated in
 * memory: same bytes, same digests on every run. No IO here except what `seedUpstream` pushes.
 */
import {createHash} from 'node:crypto'
import {Readable} from 'node:stream'
import {gzipSync} from 'node:zlib'
import * as tar from 'tar-stream'
import {stringify} from 'yaml'
import type {Storage, Tagger} from '../content/types.js'
import {buildChartArchive, chartToOciArtifact} from '../helm/index.js'
import type {ChartMetadata} from '../helm/types.js'
import {digestOf} from '../oci/digest.js'
import {MediaType, type Descriptor, type Platform} from '../oci/types.js'

/** The release version the demo channel announces. */
export const DEMO_RELEASE = '0.74.1'

/** One demo image: full reference, the platforms it is built for, its own payload size. */
export interface DemoImageSpec {
  ref: string
  platforms: string[]
  /** Bytes of (incompressible) payload in the image's own layer. */
  payload: number
}

/** What the demo upstream registry holds (wandb/local and the controller are multi-platform). */
export const DEMO_IMAGES: readonly DemoImageSpec[] = [
  {ref: `docker.io/wandb/local:${DEMO_RELEASE}`, platforms: ['linux/amd64', 'linux/arm64'], payload: 384 * 1024},
  {ref: 'docker.io/wandb/console:2.19.4', platforms: ['linux/amd64'], payload: 128 * 1024},
  {ref: `docker.io/wandb/megabinary:${DEMO_RELEASE}`, platforms: ['linux/amd64'], payload: 512 * 1024},
  {ref: `docker.io/wandb/weave-python:${DEMO_RELEASE}`, platforms: ['linux/amd64'], payload: 256 * 1024},
  {ref: 'docker.io/wandb/controller:latest', platforms: ['linux/amd64', 'linux/arm64'], payload: 96 * 1024},
  {ref: 'docker.io/bitnamilegacy/redis:7.2.4-debian-12-r9', platforms: ['linux/amd64'], payload: 160 * 1024},
  {ref: 'quay.io/prometheus/prometheus:v2.47.0', platforms: ['linux/amd64'], payload: 192 * 1024},
  {ref: 'docker.io/otel/opentelemetry-collector-contrib:0.97.0', platforms: ['linux/amd64'], payload: 224 * 1024},
]

/** A blob with its descriptor. */
export interface DemoBlob {
  descriptor: Descriptor
  bytes: Buffer
}

/** A generated graph: every blob (children before parents) and the root to tag. */
export interface DemoArtifact {
  name: string
  root: Descriptor
  blobs: DemoBlob[]
}

/** Deterministic bytes: sha256 in counter mode over `seed`. */
export function pseudoRandom(seed: string, size: number): Buffer {
  const out = Buffer.allocUnsafe(size)
  for (let i = 0, off = 0; off < size; i++, off += 32) {
    createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off, 0, Math.min(32, size - off))
  }
  return out
}

export function blobOf(bytes: Buffer, mediaType: string, extra: Partial<Descriptor> = {}): DemoBlob {
  return {descriptor: {mediaType, digest: digestOf(bytes), size: bytes.length, ...extra}, bytes}
}

export const jsonBlob = (value: unknown, mediaType: string, extra: Partial<Descriptor> = {}): DemoBlob => blobOf(Buffer.from(JSON.stringify(value)), mediaType, extra)

export async function tarOf(files: Record<string, Buffer>): Promise<Buffer> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer)
  })
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve)
    pack.on('error', reject)
  })
  for (const [name, content] of Object.entries(files)) {
    await new Promise<void>((resolve, reject) => {
      pack.entry({name, size: content.length, mtime: new Date(0), mode: 0o644, uid: 0, gid: 0}, content, (err) => (err ? reject(err) : resolve()))
    })
  }
  pack.finalize()
  await done
  return Buffer.concat(chunks)
}

export interface Layer {
  blob: DemoBlob
  diffId: string
}

/** A gzip layer (gzip of Node's zlib is deterministic: no name, mtime 0). */
async function layer(files: Record<string, Buffer>): Promise<Layer> {
  const raw = await tarOf(files)
  return {blob: blobOf(gzipSync(raw, {level: 6}), MediaType.OciLayerGzip), diffId: digestOf(raw)}
}

function parsePlatformString(s: string): Platform {
  const [os, architecture, variant] = s.split('/')
  return {os: os!, architecture: architecture!, ...(variant ? {variant} : {})}
}

async function singleImage(spec: DemoImageSpec, platform: string, base: Layer): Promise<{blobs: DemoBlob[]; manifest: DemoBlob}> {
  const p = parsePlatformString(platform)
  const own = await layer({
    [`opt/${spec.ref.split('/').pop()!.split(':')[0]}/README`]: Buffer.from(`${spec.ref} for ${platform}: a stand-in image made by airgap demo\n`),
    [`opt/payload-${p.architecture}.bin`]: pseudoRandom(`${spec.ref}@${platform}`, spec.payload),
  })
  const config = jsonBlob(
    {
      architecture: p.architecture,
      os: p.os,
      config: {Entrypoint: ['/bin/true'], Labels: {'org.opencontainers.image.source': `https://example.invalid/${spec.ref}`}},
      rootfs: {type: 'layers', diff_ids: [base.diffId, own.diffId]},
      history: [{created_by: 'debian-12-slim base (demo)'}, {created_by: `COPY ${spec.ref} payload (demo)`}],
    },
    MediaType.OciConfig,
  )
  const manifest = jsonBlob(
    {schemaVersion: 2, mediaType: MediaType.OciManifest, config: config.descriptor, layers: [base.blob.descriptor, own.blob.descriptor]},
    MediaType.OciManifest,
    {platform: p},
  )
  return {blobs: [base.blob, own.blob, config], manifest}
}

/** Build one demo image (an index when it has several platforms) over the shared base layer. */
export async function buildImage(spec: DemoImageSpec, base: Layer): Promise<DemoArtifact> {
  const parts = await Promise.all(spec.platforms.map((p) => singleImage(spec, p, base)))
  const blobs = parts.flatMap((x) => [...x.blobs, x.manifest])
  if (parts.length === 1) {
    const {platform: _omit, ...root} = parts[0]!.manifest.descriptor
    return {name: spec.ref, root, blobs: unique(blobs)}
  }
  const index = jsonBlob({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: parts.map((x) => x.manifest.descriptor)}, MediaType.OciIndex)
  return {name: spec.ref, root: index.descriptor, blobs: unique([...blobs, index])}
}

function unique(blobs: DemoBlob[]): DemoBlob[] {
  const seen = new Set<string>()
  return blobs.filter((b) => !seen.has(b.descriptor.digest) && seen.add(b.descriptor.digest))
}

/** The layer every demo image starts from (so the bundle stores it once). */
export function baseLayer(): Promise<Layer> {
  return layer({
    'etc/os-release': Buffer.from('PRETTY_NAME="Debian GNU/Linux 12 (bookworm) - airgap demo stand-in"\nID=debian\nVERSION_ID="12"\n'),
    'usr/lib/base.bin': pseudoRandom('debian-12-slim', 256 * 1024),
  })
}

/** Chart files (chart-relative paths) of one demo chart. */
export interface DemoChartSpec {
  metadata: ChartMetadata
  files: Record<string, string>
}

const image = (repository: string, tag: string): Record<string, string> => ({repository, tag})

function deployment(component: string, imageExpr: string): string {
  return [
    '---',
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: {{ .Release.Name }}-${component}`,
    'spec:',
    '  template:',
    '    spec:',
    '      containers:',
    `        - name: ${component}`,
    `          image: ${imageExpr}`,
    '',
  ].join('\n')
}

/** operator-wandb, shaped like the real one: components with `image: {repository, tag}`, redis (bitnami shape) and prometheus as subcharts. */
export function operatorWandbChart(): DemoChartSpec {
  const metadata: ChartMetadata = {
    apiVersion: 'v2',
    name: 'operator-wandb',
    version: '0.43.8',
    appVersion: DEMO_RELEASE,
    description: 'W&B platform (airgap demo stand-in)',
    dependencies: [
      {name: 'redis', version: '18.19.4', condition: 'redis.install'},
      {name: 'prometheus', version: '0.1.0', condition: 'prometheus.install'},
    ],
  }
  const values = {
    global: {host: 'http://localhost:8080', imagePullSecrets: []},
    app: {install: true, image: image('wandb/local', 'latest')},
    console: {install: true, image: image('wandb/console', 'latest')},
    parquet: {install: true, image: image('wandb/megabinary', 'latest')},
    weave: {install: true, image: image('wandb/weave-python', 'latest')},
    otel: {install: true, daemonset: {image: image('otel/opentelemetry-collector-contrib', '0.97.0')}},
    redis: {install: true},
    prometheus: {install: true},
  }
  const img = (path: string): string => `"{{ .Values.${path}.repository }}:{{ .Values.${path}.tag }}"`
  const files: Record<string, string> = {
    'Chart.yaml': stringify(metadata),
    'values.yaml': stringify(values),
    'templates/app.yaml': deployment('app', img('app.image')),
    'templates/console.yaml': deployment('console', img('console.image')),
    'templates/parquet.yaml': deployment('parquet', img('parquet.image')),
    'templates/weave.yaml': deployment('weave', img('weave.image')),
    'templates/otel.yaml': deployment('otel', img('otel.daemonset.image')),
    'charts/redis/Chart.yaml': stringify({apiVersion: 'v2', name: 'redis', version: '18.19.4', appVersion: '7.2.4'}),
    'charts/redis/values.yaml': stringify({
      global: {imageRegistry: ''},
      image: {registry: 'docker.io', repository: 'bitnamilegacy/redis', tag: '7.2.4-debian-12-r9', digest: ''},
    }),
    'charts/redis/templates/master.yaml': deployment('redis-master', '"{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag }}"'),
    // As in the real chart, the Prometheus server is the prometheus-community chart aliased
    // `instance` inside W&B's `prometheus` chart: its image path is prometheus.instance.server.image.
    'charts/prometheus/Chart.yaml': stringify({
      apiVersion: 'v2',
      name: 'prometheus',
      version: '0.1.0',
      dependencies: [{name: 'prometheus', alias: 'instance', version: '24.5.0', condition: 'instance.enabled'}],
    }),
    'charts/prometheus/values.yaml': stringify({instance: {enabled: true}}),
    'charts/prometheus/charts/prometheus/Chart.yaml': stringify({apiVersion: 'v2', name: 'prometheus', version: '24.5.0', appVersion: 'v2.47.0'}),
    'charts/prometheus/charts/prometheus/values.yaml': stringify({server: {image: image('quay.io/prometheus/prometheus', 'v2.47.0')}}),
    'charts/prometheus/charts/prometheus/templates/server.yaml': deployment('prometheus', img('server.image')),
  }
  return {metadata, files}
}

/** The `operator` chart: the controller Deployment, `airgapped` off by default. */
export function operatorChart(): DemoChartSpec {
  const metadata: ChartMetadata = {apiVersion: 'v2', name: 'operator', version: '1.4.8', appVersion: '1.22.0', description: 'W&B operator (airgap demo stand-in)'}
  const values = {image: image('wandb/controller', 'latest'), airgapped: false, customCACerts: []}
  return {
    metadata,
    files: {
      'Chart.yaml': stringify(metadata),
      'values.yaml': stringify(values),
      'templates/deployment.yaml': deployment('manager', '"{{ .Values.image.repository }}:{{ .Values.image.tag }}"'),
    },
  }
}

/** A chart packaged (reproducibly) and wrapped as an OCI artifact in Helm's format. */
export async function buildChart(spec: DemoChartSpec): Promise<DemoArtifact & {tgz: Buffer}> {
  const tgz = await buildChartArchive(spec.files, spec.metadata.name)
  const art = chartToOciArtifact(tgz, spec.metadata)
  return {
    name: `charts/${spec.metadata.name}:${spec.metadata.version}`,
    root: art.manifest.descriptor,
    blobs: [art.config, ...art.layers, art.manifest],
    tgz,
  }
}

/** The W&B channel response (`GET /api/v1/operator/channel`) for the demo release, with its chart in `helmRepoUrl`. */
export function channelResponse(helmRepoUrl: string): Record<string, unknown> {
  return {
    metadata: {version: DEMO_RELEASE, releaseId: `demo-${DEMO_RELEASE}`, channel: 'demo'},
    chart: {url: helmRepoUrl, name: 'operator-wandb', version: '0.43.8'},
    values: {
      app: {image: image('wandb/local', DEMO_RELEASE)},
      console: {image: image('wandb/console', '2.19.4')},
      parquet: {image: image('wandb/megabinary', DEMO_RELEASE)},
      weave: {image: image('wandb/weave-python', DEMO_RELEASE)},
      otel: {daemonset: {image: image('otel/opentelemetry-collector-contrib', '0.97.0')}},
    },
  }
}

/** What seedUpstream put in the store. */
export interface SeedSummary {
  images: DemoArtifact[]
  charts: DemoArtifact[]
  blobs: number
  bytes: number
}

/** Push every demo image and chart into `store` (children first) and name each root. */
export async function seedUpstream(store: Storage & Tagger, signal?: AbortSignal): Promise<SeedSummary> {
  const base = await baseLayer()
  const images = await Promise.all(DEMO_IMAGES.map((s) => buildImage(s, base)))
  const charts = await Promise.all([operatorWandbChart(), operatorChart()].map(buildChart))
  return {images, charts, ...(await storeArtifacts(store, [...images, ...charts], signal))}
}

/** Push every blob of `artifacts` into `store` (children first, each once) and name each root. */
export async function storeArtifacts(store: Storage & Tagger, artifacts: readonly DemoArtifact[], signal?: AbortSignal): Promise<{blobs: number; bytes: number}> {
  const seen = new Map<string, number>()
  for (const art of artifacts) {
    for (const b of art.blobs) {
      if (!seen.has(b.descriptor.digest) && !(await store.exists(b.descriptor, signal))) {
        await store.push(b.descriptor, Readable.from([b.bytes]), signal)
      }
      seen.set(b.descriptor.digest, b.descriptor.size)
    }
    await store.tag(art.root, art.name, signal)
  }
  return {blobs: seen.size, bytes: [...seen.values()].reduce((a, b) => a + b, 0)}
}
