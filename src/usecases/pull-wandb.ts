/**
 * A W&B release for the v2 operator (issue 17) on the connected side, for `airgap pull` and
 * `airgap images`:
 *
 *  1. the server manifest `manifestRepository:version` is read from its registry (through a
 *     `--registry-mirror` when one covers it) and resolved as the operator does (src/server-manifest);
 *  2. the operator chart: the one named, or the newest version of the published chart that satisfies
 *     the manifest's requiredOperatorVersion; checked against that range once fetched (a local .tgz
 *     or an explicit version too); cert-manager when asked;
 *  3. every image the manifest names becomes a finding whose origin is its manifest key
 *     (`chart` = `<manifest repository>:<version>`, `valuesPath` = the key, source `manifest`);
 *  4. the artifact itself is carried unchanged under its full source name (BundleServerManifestInput).
 */
import semver from 'semver'
import type {Finding} from '../discover/index.js'
import {NotFoundError} from '../errors.js'
import {listOciChartVersions} from '../helm/index.js'
import {formatReference} from '../oci/reference.js'
import {splitOperatorChart, type ChartSource, type WandbRelease} from '../release/index.js'
import {checkOperatorVersion, loadServerManifest, type OperatorVersionCheck, type ServerManifest} from '../server-manifest/index.js'
import type {BundleServerManifestInput} from './bundle-contents.js'
import type {PulledChart} from './pull-charts.js'
import {mirroredReference, type RegistryMirror} from './pull-input.js'
import type {Session} from './session.js'

/** cert-manager, which the operator chart needs (`--with-cert-manager`). */
export const CERT_MANAGER_CHART: ChartSource = {type: 'repo', name: 'cert-manager', repo: 'https://charts.jetstack.io', values: [], set: {}}

export interface WandbInputs {
  release: WandbRelease
  manifest: ServerManifest
  /** `HOST/PATH/wandb/server-manifest:<version>`: the artifact's name in the bundle. */
  source: string
  /** The operator chart (and cert-manager when asked) to fetch with the spec's charts. */
  charts: ChartSource[]
  /** Every manifest image as a finding with its key. */
  findings: Finding[]
  /** Where the manifest was read (through a pull-through mirror, or its source). */
  fetchedFrom: string
  bundleInput: BundleServerManifestInput
}

export interface LoadWandbOptions {
  session: Session
  mirrors: readonly RegistryMirror[]
  signal?: AbortSignal
  warn: (message: string) => void
}

/** Read the manifest, choose the operator chart; see the module comment (steps 1 to 3). */
export async function loadWandbInputs(release: WandbRelease, opts: LoadWandbOptions): Promise<WandbInputs> {
  const repository = release.manifestRepository.slice('oci://'.length)
  const source = `${repository}:${release.version}`
  const [registry = '', ...rest] = repository.split('/')
  const via = mirroredReference({registry, repository: rest.join('/')}, opts.mirrors)
  const fetchedFrom = `${via.registry}/${via.repository}:${release.version}`
  const {repository: target} = opts.session.repository(`${via.registry}/${via.repository}`, 'source')
  const manifest = await loadServerManifest(target, release.version, source, {signal: opts.signal})
  manifest.warnings.forEach(opts.warn)
  const operator = await operatorChartSource(release, manifest, opts)
  const charts = release.withCertManager ? [operator, CERT_MANAGER_CHART] : [operator]
  const chartLabel = `${repository}:${release.version}`
  const findings = manifest.images.map(
    (image): Finding => ({reference: formatReference(image.source), chart: chartLabel, valuesPath: image.key, source: 'manifest', enabled: true}),
  )
  const bundleInput: BundleServerManifestInput = {
    source: target,
    ref: manifest.artifact.root.digest,
    name: source,
    serverManifest: {version: release.version, requiredOperatorVersion: manifest.requiredOperatorVersion},
  }
  return {release, manifest, source, charts, findings, fetchedFrom, bundleInput}
}

/**
 * Check the fetched operator chart against the manifest's requiredOperatorVersion (UsageError when
 * it does not satisfy it) and record its version in the lock entry.
 */
export function checkWandbOperator(inputs: WandbInputs, charts: readonly PulledChart[]): OperatorVersionCheck | undefined {
  const operator = charts.find((c) => sameChartSource(c.spec, inputs.charts[0]!))
  if (operator === undefined) return undefined
  inputs.bundleInput.serverManifest.operatorChartVersion = operator.version
  return checkOperatorVersion(inputs.manifest.requiredOperatorVersion, operator.version, inputs.source)
}

function sameChartSource(a: ChartSource, b: ChartSource): boolean {
  if (a.type === 'oci' && b.type === 'oci') return a.oci === b.oci
  if (a.type === 'path' && b.type === 'path') return a.path === b.path
  return false
}

/** The operator chart as a chart source: a local .tgz, an exact OCI version, or the newest satisfying the manifest. */
async function operatorChartSource(release: WandbRelease, manifest: ServerManifest, opts: LoadWandbOptions): Promise<ChartSource> {
  if (!release.operatorChart.startsWith('oci://')) return {type: 'path', path: release.operatorChart, values: [], set: {}}
  const split = splitOperatorChart(release.operatorChart)
  const version = split.version
  // A --registry-mirror covering the chart's registry is used for the chart too (it is stored under the mirror's name).
  const [registry = '', ...path] = split.oci.slice('oci://'.length).split('/')
  const via = mirroredReference({registry, repository: path.join('/')}, opts.mirrors)
  const oci = via.mirror === undefined ? split.oci : `oci://${via.registry}/${via.repository}`
  if (via.mirror !== undefined) opts.warn(`the operator chart ${split.oci} is read through the mirror ${via.mirror.mirror} and stored in the bundle as ${oci}`)
  if (version !== undefined) return {type: 'oci', oci, version, values: [], set: {}}
  const {repository} = opts.session.repository(oci.slice('oci://'.length), 'source')
  const versions = (await listOciChartVersions(repository, oci, opts.signal)).filter((v) => semver.valid(v) !== null)
  const sorted = semver.rsort([...versions])
  const fits = sorted.find((v) => {
    try {
      return checkOperatorVersion(manifest.requiredOperatorVersion, v, manifest.reference) !== null
    } catch {
      return false
    }
  })
  if (fits === undefined) {
    throw new NotFoundError(
      `no operator chart in ${oci} satisfies the server manifest's requiredOperatorVersion ${manifest.requiredOperatorVersion ?? '(none)'} (versions there: ${sorted.slice(0, 10).join(', ') || 'none'})`,
      {hint: 'name an operator chart with --operator-chart oci://HOST/PATH/operator:VERSION or a local .tgz'},
    )
  }
  return {type: 'oci', oci, version: fits, values: [], set: {}}
}
