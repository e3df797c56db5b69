/**
 * `airgap rewrite` for the W&B v2 operator (issue 17): from the receipt of a bundle that carries a
 * server manifest, the `apps.wandb.com/v2` WeightsAndBiases (spec.wandb.version and
 * manifestRepository at the mirror, spec.global.imageRegistry = the mirror, pull secrets, CAs) and
 * the operator chart values (every dependency image from the mirror, wandb-operator.caCerts from
 * --custom-ca), both validated before anything is written.
 *
 * The v2 reconciler never pulls the manifest over plain HTTP: a plain-HTTP mirror is refused with
 * the reason unless `--manifest-route file` asks for the file:// route (the manifest files, read
 * from the bundle, in a ConfigMap mounted into the operator).
 *
 * For `--operator v1` on such a bundle (a v1 release carried with it), withV1Conversion() sets
 * what the v1-to-v2 conversion webhook reads (global.imageRegistry = the mirror).
 */
import {resolve, dirname, join} from 'node:path'
import {parse as parseYaml, parseDocument} from 'yaml'
import {AirgapError, IntegrityError, NotFoundError, UsageError} from '../errors.js'
import {readInputText, type InputFileKind} from '../files/input-file.js'
import {receiptToMirrorMap, type PushReceipt, type ReceiptServerManifest} from '../mirror/receipt.js'
import type {MirrorMap} from '../mirror/types.js'
import {buildOperatorV2Values, buildWandbV2Cr, v1ConversionCheck, type ManifestRoute, type ProofRow} from '../rewrite/index.js'
import {isPlainObject} from '../validation/json-schema.js'
import {loadServerManifest} from '../server-manifest/index.js'
import {bundledChart, LazyBundle} from './rewrite-bundle.js'
import {proveChartObjects, renderChartForProof, type ProofReport} from './rewrite-proof.js'
import {checkImages} from './rewrite-checks.js'

export const DEFAULT_MANIFEST_CONFIGMAP_FILE = 'wandb-server-manifest.yaml'

export interface RewriteV2Options {
  receipt: string
  bundle?: string
  /** Public URL of W&B (spec.wandb.hostname); default: global.host of `values`. */
  hostname?: string
  values?: string
  operatorYaml: string
  operatorValues: string
  /** oci (default) or file (the manifest in a ConfigMap). */
  manifestRoute?: ManifestRoute
  /** Where the file route's ConfigMap goes (default wandb-server-manifest.yaml beside operatorYaml). */
  manifestConfigMap?: string
  plainHttp: readonly string[]
  /** The node configs written with the resource that set plain HTTP up (containerd hosts.toml, registries.conf), for the plain-HTTP warning. */
  nodeConfigs?: string
  pullSecrets: readonly string[]
  customCa: readonly string[]
  caConfigMap?: string
  pinDigests: boolean
  allowExternal: readonly string[]
  name: string
  namespace: string
  operatorNamespace?: string
}

export interface RewriteV2Output {
  path: string
  kind: 'operator-cr' | 'operator-values' | 'server-manifest-configmap'
  text: string
}

export interface RewriteV2Plan {
  outputs: RewriteV2Output[]
  serverManifest: {version: string; digest: string; manifestRepository: string; route: ManifestRoute}
  imageRegistry: string
  operatorImage: string
  /** The rendering proof of the operator chart (see proveOperatorChartRendering). */
  rendering: RenderingProof
  warnings: string[]
}

/** Build and check every v2 output (nothing is written here); the bundle is opened once, for the manifest files and the proof. */
export async function planRewriteV2(opts: RewriteV2Options, receipt: PushReceipt & {serverManifest: ReceiptServerManifest}, warn: (m: string) => void): Promise<RewriteV2Plan> {
  const bundle = new LazyBundle(opts.bundle ?? receipt.bundle.path, receipt)
  try {
    return await planWithBundle(opts, receipt, bundle, warn)
  } finally {
    await bundle.close()
  }
}

async function planWithBundle(opts: RewriteV2Options, receipt: PushReceipt & {serverManifest: ReceiptServerManifest}, bundle: LazyBundle, warn: (m: string) => void): Promise<RewriteV2Plan> {
  const manifest = receipt.serverManifest
  if (manifest.status !== undefined && manifest.status !== 'pushed') {
    throw new UsageError(`the server manifest ${manifest.source} was not pushed (${manifest.status}): the v2 operator could not read it from ${manifest.mirror}`, {
      hint: 'run the same push again to finish it, then rewrite',
    })
  }
  const map = receiptToMirrorMap(receipt)
  const route = opts.manifestRoute ?? 'oci'
  const host = manifest.imageRegistry.split('/')[0]!
  const hostname = opts.hostname ?? (await siteHostname(opts.values))
  if (hostname === undefined) {
    throw new UsageError('the v2 WeightsAndBiases needs the public URL of W&B (spec.wandb.hostname)', {hint: 'pass --hostname https://wandb.corp.example (or set global.host in --values)'})
  }
  const customCACerts = await Promise.all(opts.customCa.map((f) => readInputText(f, CUSTOM_CA_FILE)))
  const manifestFiles = route === 'file' ? await manifestFilesOf(bundle, receipt) : undefined
  const cr = buildWandbV2Cr({
    imageRegistry: manifest.imageRegistry,
    manifestRepository: manifest.manifestRepository,
    version: manifest.version,
    hostname,
    name: opts.name,
    namespace: opts.namespace,
    pullSecrets: opts.pullSecrets,
    customCACerts,
    caCertsConfigMap: opts.caConfigMap,
    plainHttp: opts.plainHttp.includes(host),
    ...(opts.nodeConfigs !== undefined ? {nodeConfigs: opts.nodeConfigs} : {}),
    manifestRoute: route,
    manifestFiles,
    operatorNamespace: opts.operatorNamespace,
  })
  cr.warnings.forEach(warn)
  const values = buildOperatorV2Values({map, caCerts: customCACerts, pullSecrets: opts.pullSecrets, pinDigests: opts.pinDigests, extra: cr.operatorValues})
  values.warnings.forEach(warn)
  const operatorYaml = resolve(opts.operatorYaml)
  const outputs: RewriteV2Output[] = [
    {path: operatorYaml, kind: 'operator-cr', text: cr.crYaml},
    {path: resolve(opts.operatorValues), kind: 'operator-values', text: values.valuesYaml},
  ]
  if (cr.configMapYaml !== undefined) outputs.push({path: resolve(opts.manifestConfigMap ?? join(dirname(operatorYaml), DEFAULT_MANIFEST_CONFIGMAP_FILE)), kind: 'server-manifest-configmap', text: cr.configMapYaml})
  checkImages(outputs.filter((o) => o.kind === 'operator-values'), map, opts.allowExternal, false, warn)
  // The operator chart rendered with exactly these values, proven to pull only from the mirror.
  const proof = await proveOperatorChartRendering({
    values: values.values,
    map,
    bundle,
    pinDigests: opts.pinDigests,
    allowExternal: opts.allowExternal,
    pullSecrets: opts.pullSecrets,
    operatorValuesPath: resolve(opts.operatorValues),
    namespace: opts.operatorNamespace ?? opts.namespace,
  })
  proof.warnings.forEach(warn)
  const rendering: RenderingProof = {checked: true, objects: proof.objects, containers: proof.rows.length, rows: proof.rows}
  const wandbOperator = values.values['wandb-operator']
  const image = isPlainObject(wandbOperator) && isPlainObject(wandbOperator['image']) ? wandbOperator['image'] : {}
  return {
    outputs,
    serverManifest: {version: manifest.version, digest: manifest.digest, manifestRepository: route === 'oci' ? manifest.manifestRepository : 'file:///etc/wandb/server-manifest', route},
    imageRegistry: manifest.imageRegistry,
    operatorImage: `${String(image['repository'] ?? '')}:${String(image['tag'] ?? '')}`,
    rendering,
    warnings: [],
  }
}

/** Options that only the v1 resource uses, refused for the v2 one (UsageError naming them). */
export function refuseV1Options(opts: {channel?: string; chartSource?: string; chartsConfigMap?: string; chartCredentialSecret?: string}, version: string): void {
  const given = (
    [
      ['--channel', opts.channel],
      ['--chart-source', opts.chartSource],
      ['--charts-configmap', opts.chartsConfigMap],
      ['--chart-credential-secret', opts.chartCredentialSecret],
    ] as const
  ).flatMap(([flag, value]) => (value === undefined ? [] : [flag]))
  if (given.length === 0) return
  throw new UsageError(`${given.join(', ')} apply to the v1 operator; this bundle carries W&B ${version} for the v2 operator`, {
    hint: 'drop them (the v2 operator pulls every manifest image from spec.global.imageRegistry), or pass --operator v1 when the bundle also carries a v1 release',
  })
}

/** Whether the operator chart's rendering was proven to pull every image from the mirror. */
export interface RenderingProof {
  /** Always true: a rewrite whose operator chart cannot be proven writes nothing. */
  checked: true
  /** Objects rendered and containers proven. */
  objects: number
  containers: number
  /** Every container and how its image reaches the node (`rewrite --explain` only). */
  rows?: ProofRow[]
}

/** Chart name of the W&B v2 operator chart (oci://…/wandb/charts/operator). */
export const OPERATOR_V2_CHART = 'operator'

/**
 * The rendering proof of the v2 operator chart: the chart package carried in the bundle, rendered
 * like `helm install` with the operator values written, and every container of every pod-bearing
 * object proven to pull from the mirror (src/rewrite/proof.ts, the same proof as the v1 path).
 * An error finding or a template that fails is a ProofError (exit 3), a bundle that cannot be read
 * a NotFoundError: nothing is written either way.
 */
export async function proveOperatorChartRendering(input: {
  values: Record<string, unknown>
  map: MirrorMap
  bundle: LazyBundle
  pinDigests: boolean
  allowExternal: readonly string[]
  pullSecrets: readonly string[]
  operatorValuesPath: string
  namespace: string
}): Promise<ProofReport> {
  const hint = 'pass the pushed bundle with --bundle: rewrite renders the operator chart it carries to prove the values'
  const reader = await input.bundle.open()
  if (reader instanceof Error) {
    if (reader instanceof AirgapError) throw reader
    throw new NotFoundError(`the rendering proof of the operator chart needs bundle ${input.bundle.path}, which cannot be read (${reader.message.split('\n')[0]})`, {hint})
  }
  const charts = input.bundle.openedLock?.charts ?? []
  const entry = charts.find((c) => c.name === OPERATOR_V2_CHART) ?? (charts.length === 1 ? charts[0] : undefined)
  const chart = entry === undefined ? undefined : await bundledChart(input.bundle, entry.name, 'the rendering proof of the operator chart', hint)
  if (chart === undefined) {
    throw new NotFoundError(`bundle ${input.bundle.path} carries no operator chart (${OPERATOR_V2_CHART}), so the operator values cannot be proven`, {hint: 'pull the release again: a --wandb-version pull carries the operator chart'})
  }
  const objects = await renderChartForProof(chart, input.values, {name: 'wandb-operator', namespace: input.namespace}, input.operatorValuesPath)
  return proveChartObjects(
    {chart, map: input.map, pinDigests: input.pinDigests, allowExternal: input.allowExternal, mirrorPullSecrets: input.pullSecrets, valuesPath: input.operatorValuesPath, release: {name: 'wandb-operator', namespace: input.namespace}},
    objects,
  )
}

/**
 * A v1 WeightsAndBiases written for a mirror that also holds the server manifest: the v2
 * operator's conversion webhook looks for it at oci://<spec.values.global.imageRegistry>/wandb/server-manifest,
 * so global.imageRegistry is set to the mirror when unset (comments kept).
 */
export function withV1Conversion(operatorYaml: string, manifest: ReceiptServerManifest, warn: (m: string) => void): string {
  const doc = parseDocument(operatorYaml)
  const spec = doc.toJS() as {spec?: {values?: Record<string, unknown>}}
  const check = v1ConversionCheck(spec.spec?.values ?? {}, manifest.imageRegistry)
  check.warnings.forEach(warn)
  const global = check.overrides['global']
  if (!isPlainObject(global) || global['imageRegistry'] === undefined) return operatorYaml
  doc.setIn(['spec', 'values', 'global', 'imageRegistry'], global['imageRegistry'])
  return doc.toString({lineWidth: 0})
}

async function siteHostname(values: string | undefined): Promise<string | undefined> {
  if (values === undefined) return undefined
  const site = parseYaml(await readInputText(values, SITE_VALUES_FILE)) as unknown
  const global = isPlainObject(site) ? site['global'] : undefined
  const host = isPlainObject(global) ? global['host'] : undefined
  return typeof host === 'string' && host.trim() !== '' ? host : undefined
}

/** The manifest's YAML files from the bundle (the file:// route), read through the checked lock. */
async function manifestFilesOf(bundle: LazyBundle, receipt: PushReceipt & {serverManifest: ReceiptServerManifest}): Promise<Array<{name: string; bytes: Uint8Array}>> {
  const reader = await bundle.open()
  if (reader instanceof Error) throw reader
  const source = receipt.serverManifest.source
  const manifest = await loadServerManifest(reader, source, `${source} (in ${bundle.path})`)
  if (manifest.artifact.root.digest !== receipt.serverManifest.digest) {
    throw new IntegrityError(`bundle ${bundle.path} holds ${source} at ${manifest.artifact.root.digest}, but the receipt names ${receipt.serverManifest.digest}`, {hint: 'pass the bundle that was pushed with --bundle'})
  }
  return manifest.files.map((f) => ({name: f.name, bytes: f.bytes}))
}

const SITE_VALUES_FILE: InputFileKind = {what: 'site values file', maxBytes: 16 * 1024 * 1024, refusal: 'input', hint: 'check the --values path'}
const CUSTOM_CA_FILE: InputFileKind = {what: 'custom CA file', maxBytes: 4 * 1024 * 1024, refusal: 'usage', hint: 'check the --custom-ca path (a PEM certificate file)'}
