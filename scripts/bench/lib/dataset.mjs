/**
 * Benchmark data sets: deterministic (fixed seed) images generated straight into a loopback
 * distribution registry with the project's own registry client (dist/), cached under
 * bench-out/datasets/<name>-<hash of the definition>/ so later runs only restart the registry.
 *
 * Layer bytes are an AES-256-CTR key stream keyed by sha256(seed:layerId): incompressible, produced
 * in 1 MiB chunks (a 4 GiB layer never sits in memory), identical wherever a layer id is reused
 * (shared base layers), wrapped in a real gzip stream of stored (level 0) blocks. The gzip wrapper
 * matters: skopeo sniffs layer bytes and gzips anything that does not look compressed, which would
 * change every digest and make it spend its time compressing. Nothing unpacks the (non-tar) payload.
 */
import {createCipheriv, createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdir, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {createGzip, constants as zlibConstants} from 'node:zlib'

const MiB = 1024 * 1024
const KiB = 1024
const CHUNK = MiB
const LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip'
const CONFIG = 'application/vnd.oci.image.config.v1+json'
const MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const INDEX = 'application/vnd.oci.image.index.v1+json'
/** Bump when the generator's output changes, so cached data sets are rebuilt. */
const GENERATOR_VERSION = 3

const L = (id, size) => ({id, size})

/**
 * The main data set: 10 repositories, ~1.03 GiB of unique layer bytes, shared base layers (base-os in
 * 9 images, base-runtime in 4), one multi-platform index (linux/amd64 + linux/arm64/v8), small
 * (4 KiB - 1 MiB) and large (up to 288 MiB) layers.
 */
export function mainDefinition() {
  const os = L('base-os', 64 * MiB)
  const runtime = L('base-runtime', 32 * MiB)
  const tiny = L('base-certs', 4 * KiB)
  return {
    name: 'main',
    seed: 'airgap-bench-main-v1',
    images: [
      {repo: 'bench/api', tag: '1.0', layers: [os, runtime, tiny, L('api-app', 288 * MiB)]},
      {repo: 'bench/worker', tag: '1.0', layers: [os, runtime, tiny, L('worker-app', 160 * MiB)]},
      {repo: 'bench/console', tag: '1.0', layers: [os, tiny, L('console-assets', 128 * MiB), L('console-cfg', 16 * KiB), L('console-bin', 200 * KiB)]},
      {repo: 'bench/weave', tag: '1.0', layers: [os, L('weave-app', 96 * MiB)]},
      {repo: 'bench/trace', tag: '1.0', layers: [os, runtime, L('trace-app', 64 * MiB), L('trace-cfg', 8 * KiB)]},
      {repo: 'bench/parquet', tag: '1.0', layers: [os, L('parquet-app', 48 * MiB)]},
      {repo: 'bench/flat', tag: '1.0', layers: [os, runtime, L('flat-app', 32 * MiB), L('flat-cfg', 4 * KiB)]},
      {repo: 'bench/tiny', tag: '1.0', layers: [tiny, L('tiny-a', 12 * KiB), L('tiny-b', MiB)]},
      {repo: 'bench/controller', tag: '1.0', layers: [os, L('controller-app', 16 * MiB)]},
      {
        repo: 'bench/multi',
        tag: '1.0',
        platforms: [
          {platform: {architecture: 'amd64', os: 'linux'}, layers: [os, L('multi-amd64', 40 * MiB)]},
          {platform: {architecture: 'arm64', os: 'linux', variant: 'v8'}, layers: [L('base-os-arm64', 64 * MiB), L('multi-arm64', 40 * MiB)]},
        ],
      },
    ],
    charts: [
      {name: 'bench-platform', version: '1.2.3', image: {repo: 'bench/api', tag: '1.0'}},
      {name: 'bench-operator', version: '0.4.0', image: {repo: 'bench/controller', tag: '1.0'}},
    ],
  }
}

/** 200 small images (one 2 KiB unique layer + a shared 4 KiB layer each): per-image overhead. */
export function smallDefinition(count = 200) {
  const shared = L('small-shared', 4 * KiB)
  return {
    name: `small${count}`,
    seed: 'airgap-bench-small-v1',
    images: Array.from({length: count}, (_, i) => {
      const n = String(i).padStart(3, '0')
      return {repo: `bench/small-${n}`, tag: '1.0', layers: [shared, L(`small-${n}`, 2 * KiB)]}
    }),
    charts: [],
  }
}

/** One image per size with a single layer of that many GiB (memory must stay flat). */
export function largeDefinition(sizesGiB = [1, 4]) {
  return {
    name: `large-${sizesGiB.join('-')}`,
    seed: 'airgap-bench-large-v1',
    images: sizesGiB.map((g) => ({repo: `bench/large-${g}g`, tag: '1.0', layers: [L(`large-${g}g`, g * 1024 * MiB)]})),
    charts: [],
  }
}

/**
 * A set shaped like a full W&B release (every component, enabled or not, plus the operator's
 * images): 44 images, two of them multi-platform indexes (amd64 + arm64), shared bases (an OS layer
 * in almost every image, Python and Node runtimes, a 2 GiB CUDA base), own layers from 4 KiB to
 * 900 MiB; about 8 GiB unique.
 */
export function releaseDefinition() {
  const os = L('rel-os', 80 * MiB)
  const osArm = L('rel-os-arm64', 80 * MiB)
  const certs = L('rel-certs', 4 * KiB)
  const py = L('rel-python', 400 * MiB)
  const node = L('rel-node', 150 * MiB)
  const cuda = L('rel-cuda', 2048 * MiB)
  const app = (name, ...extra) => ({repo: `release/${name}`, tag: '0.70.0', layers: [os, certs, ...extra]})
  const images = [
    app('local', py, L('local-app', 700 * MiB), L('local-cfg', 8 * KiB)),
    app('weave-python', py, cuda, L('weave-python-app', 900 * MiB)),
    app('weave-trace', py, L('weave-trace-app', 250 * MiB)),
    app('console', node, L('console-assets', 400 * MiB)),
    app('frontend', node, L('frontend-assets', 350 * MiB), L('frontend-cfg', 12 * KiB)),
    app('parquet', py, L('parquet-app', 300 * MiB)),
    app('flat-run-fields-updater', py, L('flat-app', 120 * MiB)),
    app('executor', py, L('executor-app', 200 * MiB)),
    app('glue', L('glue-app', 150 * MiB)),
    app('filestream', L('filestream-app', 120 * MiB)),
    app('filemeta', L('filemeta-app', 60 * MiB)),
    app('api', L('api-app', 90 * MiB)),
    app('mysql', L('mysql-server', 300 * MiB), L('mysql-cfg', 6 * KiB)),
    app('redis', L('redis-server', 60 * MiB)),
    {
      repo: 'release/gorilla', tag: '0.70.0',
      platforms: [
        {platform: {architecture: 'amd64', os: 'linux'}, layers: [os, certs, L('gorilla-amd64', 300 * MiB)]},
        {platform: {architecture: 'arm64', os: 'linux', variant: 'v8'}, layers: [osArm, certs, L('gorilla-arm64', 300 * MiB)]},
      ],
    },
    {
      repo: 'release/controller', tag: '1.21.0',
      platforms: [
        {platform: {architecture: 'amd64', os: 'linux'}, layers: [os, L('controller-amd64', 40 * MiB)]},
        {platform: {architecture: 'arm64', os: 'linux', variant: 'v8'}, layers: [osArm, L('controller-arm64', 40 * MiB)]},
      ],
    },
  ]
  // Small sidecars, jobs and exporters: 28 images of 4 KiB to 60 MiB of own bytes.
  for (let i = 0; i < 28; i++) {
    const own = i % 7 === 0 ? 4 * KiB : (8 + ((i * 13) % 53)) * MiB
    images.push(app(`sidecar-${String(i).padStart(2, '0')}`, L(`sidecar-${i}`, own), L(`sidecar-${i}-cfg`, (4 + i) * KiB)))
  }
  return {name: 'release', seed: 'airgap-bench-release-v1', images, charts: []}
}

/** Deterministic incompressible layer: random payload of `layer.size` bytes in a level-0 gzip stream. */
export function layerStream(seed, layer) {
  return randomStream(seed, layer).pipe(createGzip({level: zlibConstants.Z_NO_COMPRESSION, chunkSize: 256 * 1024}))
}

/** Deterministic incompressible bytes (`layer.size` of them, keyed by `seed:layer.id`), streamed in 1 MiB chunks. */
export function randomStream(seed, layer) {
  const key = createHash('sha256').update(`${seed}:${layer.id}`).digest()
  const cipher = createCipheriv('aes-256-ctr', key, Buffer.alloc(16))
  const zeros = Buffer.alloc(CHUNK)
  let left = layer.size
  return Readable.from(
    (function* () {
      while (left > 0) {
        const n = Math.min(CHUNK, left)
        left -= n
        yield cipher.update(n === CHUNK ? zeros : zeros.subarray(0, n))
      }
    })(),
    {objectMode: false},
  )
}

async function layerDescriptor(seed, layer) {
  const h = createHash('sha256')
  let size = 0
  for await (const c of layerStream(seed, layer)) {
    h.update(c)
    size += c.length
  }
  return {mediaType: LAYER, digest: `sha256:${h.digest('hex')}`, size}
}

const bytesDesc = (mediaType, bytes, extra = {}) => ({mediaType, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length, ...extra})

/** Cache key of a definition. */
export function definitionHash(def) {
  return createHash('sha256').update(JSON.stringify({v: GENERATOR_VERSION, def})).digest('hex').slice(0, 12)
}

/** Folder of a data set's cache (registry storage + dataset.json). */
export function datasetDir(outDir, def) {
  return join(outDir, 'datasets', `${def.name}-${definitionHash(def)}`)
}

/**
 * Make sure the data set exists in the registry storage under datasetDir(); `startRegistry(dataDir)`
 * starts a registry over that storage (the caller keeps it running). Returns {registry, summary}.
 */
export async function openDataset({outDir, def, startRegistry, dist, log = () => {}}) {
  const dir = datasetDir(outDir, def)
  const dataDir = join(dir, 'registry')
  const summaryFile = join(dir, 'dataset.json')
  const cached = existsSync(summaryFile)
  await removeStale(outDir, def)
  if (!cached) await rm(dataDir, {recursive: true, force: true})
  await mkdir(dataDir, {recursive: true})
  const registry = await startRegistry(`src-${def.name}`, dataDir)
  if (cached) {
    log(`data set ${def.name}: cached in ${dir}`)
    return {registry, summary: JSON.parse(await readFile(summaryFile, 'utf8'))}
  }
  log(`data set ${def.name}: generating into ${registry.host} (${dir}) …`)
  const started = Date.now()
  const summary = await generate({def, host: registry.host, dist, log})
  summary.generatedSeconds = (Date.now() - started) / 1000
  await writeFile(summaryFile, JSON.stringify(summary, null, 2) + '\n')
  log(`data set ${def.name}: ${summary.images.length} images, ${(summary.uniqueBytes / 2 ** 30).toFixed(2)} GiB unique in ${summary.generatedSeconds.toFixed(0)} s`)
  return {registry, summary}
}

/** Delete cached versions of this data set built from another definition (they are GiBs). */
async function removeStale(outDir, def) {
  const parent = join(outDir, 'datasets')
  const keep = `${def.name}-${definitionHash(def)}`
  for (const entry of await readdir(parent).catch(() => [])) {
    if (entry !== keep && new RegExp(`^${def.name}-[0-9a-f]{12}$`).test(entry)) await rm(join(parent, entry), {recursive: true, force: true})
  }
}

/** Push every image of `def` into the registry at `host` (plain HTTP) with the project's client. */
async function generate({def, host, dist, log}) {
  const {RegistryClient} = await import(dist('src/registry/index.js'))
  const client = new RegistryClient(host, {httpOptions: {plainHttp: [host]}})
  const layerDescs = new Map() // layer id -> descriptor
  const layerHome = new Map() // digest -> repository already holding it (for mounts)
  const uniqueLayers = new Map()
  const images = []
  try {
    for (const image of def.images) {
      const repo = client.repository(image.repo)
      const pushLayer = async (layer) => {
        let desc = layerDescs.get(layer.id)
        if (!desc) {
          desc = await layerDescriptor(def.seed, layer)
          layerDescs.set(layer.id, desc)
          uniqueLayers.set(desc.digest, desc.size)
        }
        const home = layerHome.get(desc.digest)
        if (home !== image.repo && !(home && (await repo.mount(desc, home)))) await repo.push(desc, layerStream(def.seed, layer))
        if (!home) layerHome.set(desc.digest, image.repo)
        return desc
      }
      const pushManifest = async (platform, layers, label) => {
        const descs = []
        for (const layer of layers) descs.push(await pushLayer(layer))
        const config = Buffer.from(JSON.stringify({
          architecture: platform.architecture, os: platform.os, ...(platform.variant ? {variant: platform.variant} : {}),
          config: {Labels: {'dev.airgap.bench': label}},
          rootfs: {type: 'layers', diff_ids: descs.map((d) => d.digest)},
        }))
        const configDesc = bytesDesc(CONFIG, config)
        await repo.push(configDesc, Readable.from([config]))
        const manifest = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MANIFEST, config: configDesc, layers: descs}))
        return {desc: bytesDesc(MANIFEST, manifest), bytes: manifest, layerBytes: descs.reduce((s, d) => s + d.size, 0) + config.length}
      }
      let root
      let bytes = 0
      if (image.platforms) {
        const children = []
        for (const p of image.platforms) {
          const m = await pushManifest(p.platform, p.layers, `${image.repo}:${image.tag}`)
          await repo.push(m.desc, Readable.from([m.bytes]))
          children.push({...m.desc, platform: p.platform})
          bytes += m.layerBytes + m.bytes.length
        }
        const index = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: INDEX, manifests: children}))
        root = bytesDesc(INDEX, index)
        await repo.pushReference(root, Readable.from([index]), image.tag)
        bytes += index.length
      } else {
        const m = await pushManifest({architecture: 'amd64', os: 'linux'}, image.layers, `${image.repo}:${image.tag}`)
        root = m.desc
        await repo.pushReference(root, Readable.from([m.bytes]), image.tag)
        bytes += m.layerBytes + m.bytes.length
      }
      images.push({repo: image.repo, tag: image.tag, digest: root.digest, mediaType: root.mediaType, bytes, multiPlatform: Boolean(image.platforms)})
      if (def.images.length <= 20) log(`  ${image.repo}:${image.tag} ${root.digest.slice(0, 19)} ${(bytes / MiB).toFixed(1)} MiB`)
    }
  } finally {
    await client.close()
  }
  const uniqueBytes = [...uniqueLayers.values()].reduce((a, b) => a + b, 0)
  const layerSizes = [...uniqueLayers.values()]
  return {
    name: def.name,
    hash: definitionHash(def),
    seed: def.seed,
    images,
    charts: def.charts,
    uniqueLayers: layerSizes.length,
    uniqueBytes,
    totalImageBytes: images.reduce((s, i) => s + i.bytes, 0),
    smallestLayer: Math.min(...layerSizes),
    largestLayer: Math.max(...layerSizes),
  }
}

/**
 * Build the data set's charts (templates naming one of the images of the data set at `host`) and a
 * Helm repository index.yaml into `repoRoot` (served by nginx). Returns the chart file names.
 */
export async function writeCharts({def, host, repoRoot, baseUrl, dist}) {
  const {buildChartArchive, indexEntryFor, mergeIndex, parseChartYaml} = await import(dist('src/helm/index.js'))
  await mkdir(repoRoot, {recursive: true})
  const entries = []
  const files = []
  for (const c of def.charts) {
    const chartYaml = `apiVersion: v2\nname: ${c.name}\nversion: ${c.version}\nappVersion: "${c.image.tag}"\ndescription: airgap benchmark chart\n`
    const values = `image:\n  repository: ${host}/${c.image.repo}\n  tag: "${c.image.tag}"\nreplicas: 1\n`
    const deployment = [
      'apiVersion: apps/v1', 'kind: Deployment', 'metadata:', `  name: ${c.name}`, 'spec:',
      '  replicas: {{ .Values.replicas }}', '  template:', '    spec:', '      containers:',
      `        - name: ${c.name}`, '          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"', '',
    ].join('\n')
    const tgz = await buildChartArchive({'Chart.yaml': chartYaml, 'values.yaml': values, 'templates/deployment.yaml': deployment}, c.name)
    const file = `${c.name}-${c.version}.tgz`
    await writeFile(join(repoRoot, file), tgz)
    entries.push(indexEntryFor(parseChartYaml(chartYaml, file), tgz, `${baseUrl}/${file}`, '2024-01-01T00:00:00Z'))
    files.push(file)
  }
  await writeFile(join(repoRoot, 'index.yaml'), mergeIndex(undefined, entries, '2024-01-01T00:00:00Z'))
  return files
}

/** The airgap.yaml release spec naming the data set's charts (HTTP repo) and images at `host`. */
export function specYaml({def, summary, host, chartRepoUrl}) {
  const lines = [
    'apiVersion: airgap.dev/v1alpha1',
    'kind: ReleaseSpec',
    'metadata:',
    `  name: bench-${def.name}`,
    'spec:',
  ]
  if (def.charts.length && chartRepoUrl) {
    lines.push('  charts:')
    for (const c of def.charts) lines.push(`    - {name: ${c.name}, repo: "${chartRepoUrl}", version: "${c.version}"}`)
  }
  lines.push('  images:')
  for (const i of summary.images) lines.push(`    - "${host}/${i.repo}:${i.tag}"`)
  return `${lines.join('\n')}\n`
}
