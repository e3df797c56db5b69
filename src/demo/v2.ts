/**
 * The made-up W&B release for the v2 operator that `airgap demo --v2` carries: a server manifest
 * (an OCI artifact whose tar+gzip layer holds manifest.yaml, shaped like the operator's) naming
 * small deterministic images, and a v2 `operator` chart as a Helm OCI artifact. The manifest uses
 * the three forms of image entries the operator reads: a registry and a repository, a blank
 * registry (a Docker Hub name), and (older manifests) the host inside `repository`.
 */
import {gzipSync} from 'node:zlib'
import {stringify} from 'yaml'
import {buildChartArchive, chartToOciArtifact} from '../helm/index.js'
import type {ChartMetadata} from '../helm/types.js'
import {MediaType} from '../oci/types.js'
import {blobOf, buildImage, jsonBlob, tarOf, type DemoArtifact, type DemoImageSpec, type Layer} from './fixtures.js'

export const DEMO_V2_VERSION = '0.99.0'
export const DEMO_V2_OPERATOR_VERSION = '2.0.0-beta.3'
/** Where the real ones are published (the demo serves its own under these names). */
export const DEMO_V2_MANIFEST = `us-docker.pkg.dev/wandb-production/public/wandb/server-manifest:${DEMO_V2_VERSION}`
export const DEMO_V2_OPERATOR_CHART = 'us-docker.pkg.dev/wandb-production/public/wandb/charts/operator'
export const DEMO_V2_OPERATOR_IMAGE = `us-docker.pkg.dev/wandb-production/public/wandb/operator:${DEMO_V2_OPERATOR_VERSION}`

type Entry = {registry?: string; repository: string; tag: string}
const KB = 1024

/** The manifest's image entries by key path (what the operator reads). */
const ENTRIES: ReadonlyArray<[string[], Entry]> = [
  [['applications', 'api', 'image'], {registry: 'us-docker.pkg.dev', repository: 'wandb-production/public/wandb/megabinary', tag: DEMO_V2_VERSION}],
  [['applications', 'frontend', 'image'], {repository: 'us-docker.pkg.dev/wandb-production/public/wandb/frontend', tag: DEMO_V2_VERSION}],
  [['migrations', 'default', 'image'], {registry: 'us-docker.pkg.dev', repository: 'wandb-production/public/wandb/megabinary', tag: DEMO_V2_VERSION}],
  [['bucket', 'default', 'images', 'seaweedfs'], {registry: 'docker.io', repository: 'chrislusf/seaweedfs', tag: '3.80'}],
  [['clickhouse', 'default', 'images', 'server'], {registry: 'docker.io', repository: 'altinity/clickhouse-server', tag: '24.8.14'}],
  [['clickhouseKeeper', 'default', 'images', 'keeper'], {registry: 'docker.io', repository: 'clickhouse/clickhouse-keeper', tag: '24.8.14'}],
  [['kafka', 'images', 'bufstream'], {registry: 'us-docker.pkg.dev', repository: 'buf-images-1/bufstream/bufstream', tag: '0.3.20'}],
  [['kafka', 'images', 'etcd'], {registry: 'quay.io', repository: 'coreos/etcd', tag: 'v3.5.17'}],
  [['kafka', 'images', 'bucketEnsure'], {repository: 'amazon/aws-cli', tag: '2.22.0'}],
  [['mysql', 'default', 'images', 'mysql'], {registry: 'ghcr.io', repository: 'cybozu-go/moco/mysql', tag: '8.4.3'}],
  [['redis', 'default', 'images', 'standalone'], {registry: 'quay.io', repository: 'opstree/redis', tag: 'v7.0.15'}],
  [['redis', 'default', 'images', 'sentinel'], {registry: 'quay.io', repository: 'opstree/redis-sentinel', tag: 'v7.0.15'}],
  [['redis', 'default', 'images', 'replication'], {registry: 'quay.io', repository: 'opstree/redis', tag: 'v7.0.15'}],
  [['redis', 'default', 'images', 'exporter'], {registry: 'quay.io', repository: 'opstree/redis-exporter', tag: 'v1.48.0'}],
]

/** Full source reference of an entry (a blank registry: Docker Hub, or the host written in repository). */
function sourceOf(e: Entry): string {
  const name = e.registry ? `${e.registry}/${e.repository}` : e.repository
  const first = name.split('/')[0]!
  return `${first.includes('.') || first.includes(':') ? name : `docker.io/${name}`}:${e.tag}`
}

/**
 * The operator chart's dependency images, at the values paths and in the shapes of deploy/operator's
 * dependency charts. redis-operator (`redisOperator.{imageName,imageTag}`) is left out: the values
 * walk does not read that shape, so rewrite warns that it is not in the mirror.
 */
const OPERATOR_DEPENDENCY_VALUES: ReadonlyArray<[string[], Record<string, string>]> = [
  [['moco', 'image'], {repository: 'ghcr.io/cybozu-go/moco', tag: '0.26.0'}],
  [['seaweedfs-operator', 'image'], {registry: 'docker.io', repository: 'chrislusf/seaweedfs-operator', tag: 'v0.1.35'}],
  [['altinity-clickhouse-operator', 'operator', 'image'], {repository: 'altinity/clickhouse-operator', tag: '0.26.3'}],
  [['altinity-clickhouse-operator', 'metrics', 'image'], {repository: 'altinity/metrics-exporter', tag: '0.26.3'}],
  [['victoria-metrics-operator', 'image'], {repository: 'victoriametrics/operator', tag: 'v0.66.3'}],
  [['grafana-operator', 'image'], {repository: 'ghcr.io/grafana-operator/grafana-operator', tag: 'v5.21.4'}],
]

function dependencySource(v: Record<string, string>): string {
  const name = v['registry'] ? `${v['registry']}/${v['repository']}` : v['repository']!
  return sourceOf({repository: name, tag: v['tag']!})
}

/** Every image the demo manifest names, plus the operator chart's, as demo image specs (small, one platform). */
export function demoV2Images(): DemoImageSpec[] {
  const refs = new Set([...ENTRIES.map(([, e]) => sourceOf(e)), DEMO_V2_OPERATOR_IMAGE, ...OPERATOR_DEPENDENCY_VALUES.map(([, v]) => dependencySource(v))])
  return [...refs].map((ref) => ({ref, platforms: ['linux/amd64'], payload: 48 * KB}))
}

/** manifest.yaml of the demo release. */
export function demoManifestYaml(): string {
  const doc: Record<string, unknown> = {requiredOperatorVersion: '^2.0.0'}
  for (const [path, entry] of ENTRIES) {
    let at = doc
    for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>
    at[path[path.length - 1]!] = {...entry}
  }
  for (const name of ['api', 'frontend']) Object.assign((doc['applications'] as Record<string, Record<string, unknown>>)[name]!, {name})
  return `# Made-up W&B server manifest for airgap demo --v2.\n${stringify(doc)}`
}

/** The server manifest artifact: an OCI manifest with an empty config and one tar+gzip layer. */
export async function demoServerManifest(): Promise<DemoArtifact> {
  const config = blobOf(Buffer.from('{}'), MediaType.OciEmpty)
  const layer = blobOf(gzipSync(await tarOf({'manifest.yaml': Buffer.from(demoManifestYaml())}), {level: 9}), MediaType.OciLayerGzip)
  const manifest = jsonBlob({schemaVersion: 2, mediaType: MediaType.OciManifest, config: config.descriptor, layers: [layer.descriptor]}, MediaType.OciManifest)
  return {name: DEMO_V2_MANIFEST, root: manifest.descriptor, blobs: [config, layer, manifest]}
}

/** The v2 operator chart (values in the shape of deploy/operator) as a Helm OCI artifact. */
export async function demoOperatorV2Chart(): Promise<DemoArtifact> {
  const metadata: ChartMetadata = {apiVersion: 'v2', name: 'operator', version: DEMO_V2_OPERATOR_VERSION, appVersion: DEMO_V2_OPERATOR_VERSION, description: 'W&B v2 operator (airgap demo stand-in)'}
  const [repository, tag] = DEMO_V2_OPERATOR_IMAGE.split(/:(?=[^:]+$)/) as [string, string]
  const values: Record<string, unknown> = {wandb: {install: true}, 'wandb-operator': {image: {repository, tag}}}
  for (const [path, value] of OPERATOR_DEPENDENCY_VALUES) {
    let at = values
    for (const key of path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>
    at[path[path.length - 1]!] = {...value}
  }
  const files = {
    'Chart.yaml': stringify(metadata),
    'values.yaml': stringify(values),
    'templates/deployment.yaml': [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata: {name: "{{ .Release.Name }}-operator"}',
      'spec:',
      '  template:',
      '    spec:',
      '      containers:',
      '        - name: operator',
      '          image: "{{ index .Values "wandb-operator" "image" "repository" }}:{{ index .Values "wandb-operator" "image" "tag" }}"',
      '',
    ].join('\n'),
  }
  const art = chartToOciArtifact(await buildChartArchive(files, 'operator'), metadata)
  return {name: `${DEMO_V2_OPERATOR_CHART}:${DEMO_V2_OPERATOR_VERSION}`, root: art.manifest.descriptor, blobs: [art.config, ...art.layers, art.manifest]}
}

/** Everything the v2 demo upstream holds. */
export async function demoV2Artifacts(base: Layer): Promise<DemoArtifact[]> {
  const images = await Promise.all(demoV2Images().map((s) => buildImage(s, base)))
  return [...images, await demoServerManifest(), await demoOperatorV2Chart()]
}
