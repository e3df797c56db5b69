/**
 * W&B v2 server-manifest artifacts for tests, built from OUR OWN fixtures (test/fixtures/wandb-v2,
 * made up in the shape of the operator's manifests), in the three forms the operator reads:
 *
 *  - `single`: one tar+gzip layer holding manifest.yaml and sizing.yaml;
 *  - `layers`: a tar+gzip layer (manifest.yaml, an older sizing.yaml) and a plain tar layer
 *    (sizing.yaml replacing the first layer's, zz-patch.yaml that the name-order merge puts last);
 *  - `index`: an OCI index whose FIRST entry is the single-layer manifest (the second entry is a
 *    decoy artifact naming other images, which the operator never reads).
 *
 * And the upstream it needs: small generated images for every image the fixture files name, pushed
 * into a registry under `PREFIX/<source registry>/<source repository>:<tag>` (a pull-through
 * mirror's layout), so that a test can resolve every manifest image against a real registry.
 */
import {readFileSync} from 'node:fs'
import {gzipSync} from 'node:zlib'
import {fileURLToPath} from 'node:url'
import {parseAllDocuments} from 'yaml'
import type {RegistryClient} from '../../src/registry/index.js'
import {formatReference, parseReference, type Reference} from '../../src/oci/reference.js'
import {MediaType} from '../../src/oci/types.js'
import {buildChartArchive, chartToOciArtifact, pushChartArtifact} from '../../src/helm/index.js'
import {blob, jsonBlob, loadInto, makeImage, tarOf, type BlobData, type Generated} from './images.js'

export const V2_FIXTURES = new URL('../fixtures/wandb-v2/', import.meta.url)
export const fixtureText = (name: string): string => readFileSync(fileURLToPath(new URL(name, V2_FIXTURES)), 'utf8')

export type ManifestVariant = 'single' | 'layers' | 'index'
export const MANIFEST_VARIANTS: readonly ManifestVariant[] = ['single', 'layers', 'index']
/** Artifact type the published manifests use is not relied on; this one is made up. */
export const SERVER_MANIFEST_ARTIFACT_TYPE = 'application/vnd.airgap.test.server-manifest.v1'

export interface LayerSpec {
  /** tar+gzip (true) or plain tar (false). */
  gzip: boolean
  /** Tar entry name -> content. */
  files: Record<string, string>
}

export interface ServerManifestArtifact extends Generated {
  variant: ManifestVariant
  /** The image manifest the operator reads (the root, or the index's first entry). */
  manifest: BlobData
  /** Every YAML text the artifact holds (what the images are taken from). */
  texts: string[]
}

/** An OCI image manifest with an empty config and one layer per spec (content-addressed, deterministic). */
export async function manifestArtifact(layers: readonly LayerSpec[]): Promise<{manifest: BlobData; blobs: BlobData[]}> {
  const config = blob('{}', MediaType.OciEmpty)
  const layerBlobs: BlobData[] = []
  for (const spec of layers) {
    const tar = await tarOf(Object.entries(spec.files).map(([name, content]) => ({name, content: Buffer.from(content, 'utf8')})))
    layerBlobs.push(spec.gzip ? blob(gzipSync(tar, {level: 9}), MediaType.OciLayerGzip) : blob(tar, MediaType.OciLayer))
  }
  const manifest = jsonBlob(
    {schemaVersion: 2, mediaType: MediaType.OciManifest, artifactType: SERVER_MANIFEST_ARTIFACT_TYPE, config: config.descriptor, layers: layerBlobs.map((l) => l.descriptor)},
    MediaType.OciManifest,
  )
  return {manifest, blobs: [config, ...layerBlobs, manifest]}
}

const DECOY = ['applications:', '  decoy:', '    name: decoy', '    image: {registry: registry.example.com, repository: acme/never-read, tag: "0.0.1"}', ''].join('\n')

/** The server manifest in the given form, from the fixture files. */
export async function makeServerManifest(variant: ManifestVariant): Promise<ServerManifestArtifact> {
  const manifestYaml = fixtureText('manifest.yaml')
  const sizingYaml = fixtureText('sizing.yaml')
  if (variant === 'layers') {
    const layers: LayerSpec[] = [
      {gzip: true, files: {'manifest.yaml': manifestYaml, 'sizing.yaml': fixtureText('stale-sizing.yaml')}},
      {gzip: false, files: {'sizing.yaml': sizingYaml, 'zz-patch.yaml': fixtureText('zz-patch.yaml')}},
    ]
    const {manifest, blobs} = await manifestArtifact(layers)
    return {variant, root: manifest.descriptor, blobs, manifest, texts: [manifestYaml, sizingYaml, fixtureText('zz-patch.yaml')]}
  }
  const single = await manifestArtifact([{gzip: true, files: {'manifest.yaml': manifestYaml, 'sizing.yaml': sizingYaml}}])
  if (variant === 'single') return {variant, root: single.manifest.descriptor, blobs: single.blobs, manifest: single.manifest, texts: [manifestYaml, sizingYaml]}
  const decoy = await manifestArtifact([{gzip: true, files: {'manifest.yaml': DECOY}}])
  const index = jsonBlob(
    {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        {...single.manifest.descriptor, platform: {os: 'linux', architecture: 'amd64'}},
        {...decoy.manifest.descriptor, platform: {os: 'linux', architecture: 'arm64'}},
      ],
    },
    MediaType.OciIndex,
  )
  return {variant, root: index.descriptor, blobs: [...single.blobs, ...decoy.blobs, index], manifest: single.manifest, texts: [manifestYaml, sizingYaml]}
}

/**
 * Source references of every image entry in `texts` (maps under `image` keys or inside `images`
 * maps with a `repository`), read with a walk of its own, independent of src/server-manifest.
 */
export function imageSources(texts: readonly string[]): Reference[] {
  const found = new Map<string, Reference>()
  const entry = (v: Record<string, unknown>): void => {
    const repository = String(v['repository'] ?? '')
    if (repository === '') return
    const registry = String(v['registry'] ?? '')
    const name = registry === '' ? repository : `${registry}/${repository}`
    const ref = parseReference(`${name}${v['tag'] !== undefined ? `:${String(v['tag'])}` : ''}${v['digest'] ? `@${String(v['digest'])}` : ''}`)
    found.set(formatReference(ref), ref)
  }
  const walk = (v: unknown, key?: string): void => {
    if (Array.isArray(v)) return v.forEach((x) => walk(x))
    if (v === null || typeof v !== 'object') return
    const map = v as Record<string, unknown>
    if (key === 'image') return entry(map)
    if (key === 'images') return Object.values(map).forEach((x) => x !== null && typeof x === 'object' && entry(x as Record<string, unknown>))
    for (const [k, x] of Object.entries(map)) walk(x, k)
  }
  for (const text of texts) for (const doc of parseAllDocuments(text)) walk(doc.toJS())
  return [...found.values()].sort((a, b) => formatReference(a).localeCompare(formatReference(b)))
}

/** `PREFIX/<registry>/<repository>`: where a source image lives in the test upstream. */
export function upstreamRepository(prefix: string, ref: Pick<Reference, 'registry' | 'repository'>): string {
  return `${prefix}/${ref.registry}/${ref.repository}`
}

/**
 * Push a small generated image for every source (tagged with its tag) into `client` under
 * `PREFIX/<registry>/<repository>`; `skip` names sources (formatReference) left out, to make one
 * missing upstream. Returns what was pushed.
 */
export async function seedUpstreamImages(client: RegistryClient, prefix: string, sources: readonly Reference[], skip: ReadonlySet<string> = new Set()): Promise<Reference[]> {
  const pushed: Reference[] = []
  for (const ref of sources) {
    const name = formatReference(ref)
    if (skip.has(name)) continue
    const image = await makeImage({seed: `v2-upstream:${name}`, layers: 1, files: 1, fileSize: 256})
    await loadInto(client.repository(upstreamRepository(prefix, ref)), image, ref.tag)
    pushed.push(ref)
  }
  return pushed
}

/** The v2 operator chart's own image and one dependency's, as our made-up operator chart names them. */
export const OPERATOR_V2_IMAGES = ['us-docker.pkg.dev/wandb-production/public/wandb/operator:v2.0.0-beta.3', 'ghcr.io/cybozu-go/moco:0.26.0'] as const

/**
 * A made-up v2 operator chart `.tgz` (name `operator`): values in the shape of deploy/operator
 * (`wandb-operator.image`, `moco.image`, `wandb.install`), no dependency to fetch, one template.
 */
export async function operatorV2ChartTgz(version: string): Promise<{tgz: Buffer; metadata: {apiVersion: string; name: string; version: string; appVersion: string}}> {
  const metadata = {apiVersion: 'v2', name: 'operator', version, appVersion: version}
  const values = [
    'wandb:',
    '  install: true',
    'wandb-operator:',
    '  image:',
    '    repository: us-docker.pkg.dev/wandb-production/public/wandb/operator',
    '    tag: v2.0.0-beta.3',
    'moco:',
    '  image:',
    '    repository: ghcr.io/cybozu-go/moco',
    '    tag: 0.26.0',
    '',
  ].join('\n')
  const deployment = [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata: {name: {{ .Release.Name }}-operator}',
    'spec:',
    '  template:',
    '    spec:',
    '      {{- with (index .Values "wandb-operator" "imagePullSecrets") }}',
    '      imagePullSecrets: {{ toJson . }}',
    '      {{- end }}',
    '      containers:',
    '        - name: operator',
    '          image: "{{ index .Values "wandb-operator" "image" "repository" }}:{{ index .Values "wandb-operator" "image" "tag" }}"',
    '',
  ].join('\n')
  const files = {'Chart.yaml': `apiVersion: v2\nname: operator\nversion: ${version}\nappVersion: ${version}\n`, 'values.yaml': values, 'templates/deployment.yaml': deployment}
  return {tgz: await buildChartArchive(files, 'operator'), metadata}
}

/** Push the made-up operator chart, one tag per version, into `repository` (a Helm OCI artifact). */
export async function pushOperatorV2Charts(client: RegistryClient, repository: string, versions: readonly string[]): Promise<void> {
  for (const version of versions) {
    const {tgz, metadata} = await operatorV2ChartTgz(version)
    await pushChartArtifact(chartToOciArtifact(tgz, metadata), client.repository(repository), version)
  }
}
