/**
 * rewriteRelease() (`airgap rewrite`): from a push receipt to files that install W&B from the mirror.
 *
 *  1. the receipt gives the MirrorMap (receiptToMirrorMap: pushed images with their values paths,
 *     published charts);
 *  2. the channel values come from `--channel FILE` (a channel response) or, by default, from the
 *     bundle the receipt names: its `airgap/spec.yaml` (written by pull with specForBundle) holds the
 *     channel values as the inline values (`set`) of the operator-wandb chart, secrets removed.
 *     So the user carries no separate channel file; the bundle's lock digest must match the receipt;
 *  3. builds, in memory: operator.yaml (the WeightsAndBiases CR), the `wandb-charts` ConfigMap (chart
 *     source configmap; the .tgz is read from the bundle), operator-values.yaml, the extra FILEs
 *     rewritten in place (comments kept), containerd hosts.toml folders and registries.conf;
 *  4. checks before writing anything: the CR against the real CRD schema, and every image reference
 *     of every output must point into the mirror (or be named by allowExternal). Images that only
 *     appear as literals in chart templates are covered by the node-level mirror config; without it
 *     they fail too. Failures: SpecError (CR invalid) and ExternalImagesError (exit 3);
 *  5. the proof (rewrite-proof.ts): the operator-wandb chart carried in the bundle is rendered with
 *     the values the operator will use for the CR, and every container of every pod-bearing object
 *     is checked (src/rewrite/proof.ts); the chart route is checked against the bundled operator's
 *     version. Failure: ProofError (exit 3), naming the object and template;
 *  6. writes the files.
 * rewrite-bundle.ts reads the bundle (step 2, and the chart packages of steps 3 and 5), rewrite-checks.ts
 * makes the checks of step 4.
 *
 * Secrets: a literal license in the site values stays in operator.yaml (the user chose it) and is
 * never part of the result, the warnings or any message.
 */
import {dirname, join, resolve} from 'node:path'
import {NotFoundError, UsageError} from '../errors.js'
import {readInputText, type InputFileKind} from '../files/input-file.js'
import {parseReference} from '../oci/reference.js'
import {receiptToMirrorMap, readReceipt, type PushReceipt} from '../mirror/receipt.js'
import {buildMirrorSets, type MirrorSourcePolicy} from '../rewrite/openshift.js'
import {stringify as stringifyYaml} from 'yaml'
import {buildOperatorCr, buildOperatorValues, containerdHostsTree, controllerImage, OPERATOR_CHART, planImageOverrides, registriesConf, writeFileTree, type Change, type ChartSource, type NodeMirrorImage, type OperatorRequirement, type ProofRow} from '../rewrite/index.js'
import {type MirroredChart, type MirrorMap} from '../mirror/types.js'
import {mirrorLocation} from '../rewrite/relocate.js'
import {attachChartPackage, bundledChart, channelValues, LazyBundle, PLATFORM_CHART} from './rewrite-bundle.js'
import {checkCr, checkImages, checkRenamedNodeImages} from './rewrite-checks.js'
import {reachMirror} from './receipt-connection.js'
import {refuseDuplicateOutputs, rewriteFiles, writeOutput, type Output, type WrittenFile} from './rewrite-outputs.js'
import {checkOperatorRoute, proveOperatorCr, renderForOperator, type ProofReport} from './rewrite-proof.js'
import {planRewriteV2, refuseV1Options, withV1Conversion, type RenderingProof, type RewriteV2Plan} from './rewrite-v2.js'
import type {ManifestRoute} from '../rewrite/index.js'
import type {ReceiptServerManifest} from '../mirror/receipt.js'

export {PLATFORM_CHART} from './rewrite-bundle.js'
export {ExternalImagesError} from './rewrite-checks.js'
export {ProofError} from './rewrite-proof.js'

/** Default file names (relative to the working folder). */
export const DEFAULT_OPERATOR_YAML = 'operator.yaml'
export const DEFAULT_OPERATOR_VALUES = 'operator-values.yaml'
export const CHARTS_CONFIGMAP_FILE = 'wandb-charts.yaml'

export interface RewriteHooks {
  onWarning?(message: string): void
}

export interface RewriteReleaseOptions {
  /** The push receipt. */
  receipt: string
  /** The bundle (default: the path recorded in the receipt); read for channel values and the chart package. */
  bundle?: string
  /** Site values file (global.host, license, MySQL, bucket, …); comments are kept in the CR. */
  values?: string
  /** A channel response file; overrides the channel values stored in the bundle. */
  channel?: string
  /** operator.yaml path (default ./operator.yaml). */
  operatorYaml?: string
  /** operator-values.yaml path (default ./operator-values.yaml). */
  operatorValues?: string
  /** Chart source; default: repo when the chart is in a Helm repository, else oci, else configmap. */
  chartSource?: ChartSource
  /** ConfigMap file for the configmap route (default wandb-charts.yaml beside operator.yaml). */
  chartsConfigMap?: string
  pinDigests?: boolean
  /** Write containerd hosts.toml folders (one per source registry) under this folder. */
  containerdHosts?: string
  /** Write a CRI-O/podman registries.conf to this file. */
  registriesConf?: string
  /** Write an OpenShift ImageDigestMirrorSet and ImageTagMirrorSet here (one YAML file, two documents). */
  idms?: string
  /** Their mirrorSourcePolicy (default unset: the source may still be contacted). */
  idmsSourcePolicy?: MirrorSourcePolicy
  /** CA file path ON THE NODES for the mirror certificate (hosts.toml `ca`). */
  caFileOnNodes?: string
  /** Hosts that speak plain HTTP; when the mirror's host is one, node configs use http:// / insecure. */
  plainHttp?: string[]
  /** Pull secret names (CR global.imagePullSecrets and the operator's image.pullSecrets). */
  pullSecrets?: string[]
  /** PEM CA files for the operator (customCACerts). */
  customCa?: string[]
  /** Existing ConfigMap with CA certificates for the operator (caCertsConfigMap). */
  caConfigMap?: string
  /** References, repositories or globs allowed to stay outside the mirror. */
  allowExternal?: string[]
  /** CR name (default wandb) and namespace (default default). */
  name?: string
  namespace?: string
  /** Namespace of the operator, where the charts ConfigMap must live (default: namespace). */
  operatorNamespace?: string
  /** Secret holding HELM_USERNAME / HELM_PASSWORD for the chart download (repo/oci routes). */
  chartCredentialSecret?: string
  /** Extra YAML files (Helm values, Kubernetes manifests) to rewrite. */
  files?: string[]
  /** Which operator to write for (default: v2 when the bundle carries a W&B v2 server manifest, else v1). */
  operator?: 'v1' | 'v2'
  /** v2: public URL of W&B (spec.wandb.hostname; default global.host of --values). */
  hostname?: string
  /** v2: how the operator reads the server manifest (oci, default; file: a ConfigMap, for a plain-HTTP mirror). */
  manifestRoute?: ManifestRoute
  /** v2, file route: where to write the manifest ConfigMap (default wandb-server-manifest.yaml beside operator.yaml). */
  manifestConfigMap?: string
  /** Write rewritten FILEs here (same base name) instead of in place. */
  outDir?: string
  /** Return every rendered container with its image and how it is redirected (`--explain`). */
  explain?: boolean
  hooks?: RewriteHooks
}

export type {WrittenFile} from './rewrite-outputs.js'

/** What `airgap rewrite` did for the v2 operator. */
export interface RewriteV2Result {
  operator: 'v2'
  receipt: string
  /** spec.global.imageRegistry. */
  registry: string
  files: WrittenFile[]
  serverManifest: RewriteV2Plan['serverManifest']
  operatorImage: string
  rendering: RenderingProof
  /** Image references changed in each extra FILE. */
  rewritten: Array<{file: string; output: string; changes: Change[]}>
  warnings: string[]
}

export interface RewriteReleaseResult {
  operator: 'v1'
  receipt: string
  registry: string
  /** Whether node configs reach the mirror over plain HTTP, and who said so (the receipt records how the push reached it). */
  plainHttp: {mirror: boolean; from: 'flags' | 'receipt' | 'none'}
  files: WrittenFile[]
  /** Where the channel values came from. */
  channelValues: {from: 'channel' | 'bundle' | 'none'; file?: string}
  chart: {name: string; version: string; source: ChartSource; location: string}
  /** Distinct images (and values paths) the CR points at the mirror, plus the operator controller. */
  images: {redirected: number; valuesPaths: number; controller: string}
  /** Image references changed in each extra FILE. */
  rewritten: Array<{file: string; output: string; changes: Change[]}>
  /** Template-literal images: not redirectable through values; covered by the node-level mirror config. */
  nodeMirror: NodeMirrorImage[]
  /** The proof: the chart rendered with the CR's values; `rows` (every container and how its image is redirected) only with `explain`. */
  proof: {chart: string; objects: number; containers: number; rows?: ProofRow[]}
  /** Which operator the CR needs for its chart route, and the one the bundle carries. */
  operatorRequirement: OperatorRequirement
  warnings: string[]
}


/** Build every output, check it, then write it; see the module comment. */
export async function rewriteRelease(opts: RewriteReleaseOptions): Promise<RewriteReleaseResult | RewriteV2Result> {
  const warnings: string[] = []
  const warn = (m: string): void => {
    warnings.push(m)
    opts.hooks?.onWarning?.(m)
  }
  const receipt = await readReceipt(opts.receipt)
  const serverManifest = receipt.serverManifest
  const operator = opts.operator ?? (serverManifest !== undefined ? 'v2' : 'v1')
  if (operator === 'v2') {
    if (serverManifest === undefined) {
      throw new UsageError(`${opts.receipt} records no W&B v2 server manifest: --operator v2 needs a bundle pulled with --wandb-version (or spec.wandb)`, {hint: 'drop --operator v2 to write the v1 resource'})
    }
    return rewriteForV2(opts, {...receipt, serverManifest}, warnings, warn)
  }
  if (opts.manifestRoute !== undefined || opts.hostname !== undefined) {
    throw new UsageError('--manifest-route and --hostname apply to the v2 operator only', {hint: 'drop them, or pass --operator v2 for a bundle with a W&B v2 server manifest'})
  }
  if (serverManifest !== undefined && !receipt.charts.some((c) => c.name === PLATFORM_CHART)) {
    throw new UsageError(`the bundle of ${opts.receipt} carries no ${PLATFORM_CHART} chart, so there is no v1 resource to write`, {
      hint: 'drop --operator v1 to write the v2 resource, or pull a v1 release (SPEC or --channel-url) together with --wandb-version',
    })
  }
  const map = receiptToMirrorMap(receipt)
  if (!receipt.complete) warn(`receipt ${opts.receipt} is incomplete: only what was pushed is used (${notPushed(receipt)}); run the same push again to finish`)
  const bundle = new LazyBundle(opts.bundle ?? receipt.bundle.path, receipt)
  try {
    const channel = await channelValues(opts.channel, bundle, warn)
    const chartSource = opts.chartSource ?? defaultChartSource(map)
    if (chartSource === 'configmap') await attachChartPackage(map, bundle)
    const mirrorHost = mirrorLocation(map).host
    const reached = reachMirror(receipt, opts.receipt, {plainHttp: opts.plainHttp}, warn)
    const plainHosts = new Set(reached.plainHttp)
    const plainHttp = plainHosts.has(mirrorHost)
    const chart = map.charts.find((c) => c.name === PLATFORM_CHART)
    const ociPlainHttp = chart?.ociRef !== undefined && plainHosts.has(chart.ociRef.slice('oci://'.length).split('/')[0]!)

    const operatorYamlPath = resolve(opts.operatorYaml ?? DEFAULT_OPERATOR_YAML)
    const site = opts.values !== undefined ? await readInputText(opts.values, SITE_VALUES_FILE) : undefined
    const cr = buildOperatorCr({
      map,
      ...(channel.values ? {channelValues: channel.values} : {}),
      ...(site !== undefined ? {siteValues: site, siteFile: opts.values!} : {}),
      chartSource,
      pinDigests: opts.pinDigests ?? false,
      name: opts.name ?? 'wandb',
      namespace: opts.namespace ?? 'default',
      ...(opts.operatorNamespace ? {operatorNamespace: opts.operatorNamespace} : {}),
      ...(opts.pullSecrets?.length ? {pullSecrets: opts.pullSecrets} : {}),
      ...(ociPlainHttp ? {ociPlainHttp} : {}),
      ...(opts.chartCredentialSecret ? {chartCredentialSecret: opts.chartCredentialSecret} : {}),
    })
    cr.warnings.forEach(warn)
    // A mirror that also holds the v2 server manifest: what the v1-to-v2 conversion reads.
    if (serverManifest !== undefined) cr.operatorYaml = withV1Conversion(cr.operatorYaml, serverManifest, warn)
    const customCACerts = await Promise.all((opts.customCa ?? []).map((f) => readInputText(f, CUSTOM_CA_FILE)))
    const operatorValues = buildOperatorValues({
      map,
      airgapped: true,
      ...(customCACerts.length ? {customCACerts} : {}),
      ...(opts.caConfigMap ? {caCertsConfigMap: opts.caConfigMap} : {}),
      ...(opts.pullSecrets?.length ? {pullSecrets: opts.pullSecrets} : {}),
      pinDigests: opts.pinDigests ?? false,
    })

    const outputs: Output[] = [
      {path: operatorYamlPath, kind: 'operator-cr', text: cr.operatorYaml},
      {path: resolve(opts.operatorValues ?? DEFAULT_OPERATOR_VALUES), kind: 'operator-values', text: operatorValues},
    ]
    if (cr.configMapYaml !== undefined) {
      outputs.push({path: resolve(opts.chartsConfigMap ?? join(dirname(operatorYamlPath), CHARTS_CONFIGMAP_FILE)), kind: 'charts-configmap', text: cr.configMapYaml})
    }
    const rewritten = await rewriteFiles(opts.files ?? [], opts.outDir, opts.pinDigests ?? false, map, outputs)
    const hostsTree = nodeConfigs(opts, receipt, map, plainHttp, outputs, warn)
    refuseDuplicateOutputs(outputs)

    checkCr(cr.operatorYaml, operatorYamlPath)
    const nodeMirror = checkImages(outputs, map, opts.allowExternal ?? [], hostsTree !== undefined || opts.registriesConf !== undefined || opts.idms !== undefined, warn)
    checkRenamedNodeImages(nodeMirror, map, {containerd: hostsTree !== undefined, byRepository: opts.registriesConf !== undefined || opts.idms !== undefined}, warn)
    const controller = controllerImage(map)
    if (parseReference(controller.source).tag === 'latest') warn(`operator-values.yaml installs the controller ${controller.source}, pinned by its digest ${controller.digest}: "latest" does not say which operator version that is`)
    const operator = checkOperatorRoute(chartSource, map, await bundledChart(bundle, OPERATOR_CHART, 'the operator version check', BUNDLE_HINT))
    if (operator.warning !== undefined) warn(operator.warning)
    const proof = await proveRelease(opts, bundle, map, cr.operatorYaml, operatorYamlPath)
    proof.warnings.forEach(warn)

    const files: WrittenFile[] = []
    for (const o of outputs) {
      await writeOutput(o)
      files.push({path: o.path, kind: o.kind})
    }
    if (hostsTree !== undefined) {
      for (const path of await writeFileTree(opts.containerdHosts!, hostsTree)) files.push({path, kind: 'containerd-hosts'})
    }
    const plan = planImageOverrides(map, {pinDigests: opts.pinDigests ?? false})
    const redirected = new Set(map.images.filter((i) => i.origins.some((o) => o.source === 'values' && o.valuesPath !== undefined && plan.paths.includes(o.valuesPath))).map((i) => i.source))
    const crChart = map.charts.find((c) => c.name === PLATFORM_CHART)!
    return {
      operator: 'v1',
      receipt: resolve(opts.receipt),
      registry: map.registry,
      plainHttp: {mirror: plainHttp, from: reached.from.plainHttp},
      files,
      channelValues: channel.from === 'none' ? {from: 'none'} : {from: channel.from, file: channel.file},
      chart: {name: crChart.name, version: crChart.version, source: chartSource, location: chartLocation(crChart, chartSource)},
      images: {redirected: redirected.size, valuesPaths: plan.paths.length, controller: controllerMirror(map)},
      rewritten,
      nodeMirror,
      proof: {chart: proof.chart, objects: proof.objects, containers: proof.rows.length, rows: opts.explain ? proof.rows : undefined},
      operatorRequirement: operator,
      warnings,
    }
  } finally {
    await bundle.close()
  }
}

const BUNDLE_HINT = 'pass the pushed bundle with --bundle: rewrite renders the chart it carries to prove the result'

/** Render the bundle's operator-wandb with the CR's values and prove the objects (rewrite-proof.ts). */
async function proveRelease(opts: RewriteReleaseOptions, bundle: LazyBundle, map: MirrorMap, operatorYaml: string, operatorYamlPath: string): Promise<ProofReport> {
  const chart = await bundledChart(bundle, PLATFORM_CHART, 'the proof of the rendered release', BUNDLE_HINT)
  if (chart === undefined) throw new NotFoundError(`bundle ${bundle.path} holds no ${PLATFORM_CHART} chart, so the rendered release cannot be proven`, {hint: BUNDLE_HINT})
  const operatorNamespace = opts.operatorNamespace ?? opts.namespace ?? 'default'
  const objects = await renderForOperator({operatorYaml, operatorYamlPath, chart, operatorNamespace})
  return proveOperatorCr(
    {
      operatorYaml,
      operatorYamlPath,
      chart,
      map,
      pinDigests: opts.pinDigests ?? false,
      nodeMirrors: {containerd: opts.containerdHosts !== undefined, crio: opts.registriesConf !== undefined, openshift: opts.idms !== undefined},
      allowExternal: opts.allowExternal ?? [],
      mirrorPullSecrets: opts.pullSecrets ?? [],
      operatorNamespace,
    },
    objects,
  )
}

/**
 * The node-level mirror configs asked for (registries.conf, OpenShift mirror sets: added to
 * `outputs`; containerd's hosts.toml tree: returned, written under --containerd-hosts).
 */
function nodeConfigs(opts: RewriteReleaseOptions, receipt: PushReceipt, map: MirrorMap, plainHttp: boolean, outputs: Output[], warn: (m: string) => void): Record<string, string> | undefined {
  if (opts.registriesConf !== undefined) outputs.push({path: resolve(opts.registriesConf), kind: 'registries-conf', text: registriesConf(map, {plainHttp})})
  if (opts.idms !== undefined) {
    if (plainHttp) warn(`OpenShift pulls from the plain-HTTP mirror ${mirrorLocation(map).host} only if the cluster's image config lists it (image.config.openshift.io/cluster: spec.registrySources.insecureRegistries); the mirror sets written do not set that`)
    const sets = buildMirrorSets(map, {sourcePolicy: opts.idmsSourcePolicy})
    outputs.push({path: resolve(opts.idms), kind: 'openshift-mirror-sets', text: `# Generated by airgap rewrite: pull every mirrored repository from ${map.registry}.\n${stringifyYaml(sets.digest)}---\n${stringifyYaml(sets.tag)}`})
  }
  if (opts.containerdHosts === undefined) return undefined
  if (opts.caFileOnNodes === undefined && !plainHttp && receipt.connection?.caFiles.length) {
    warn(`the push trusted ${mirrorLocation(map).host} through the CA file(s) ${receipt.connection.caFiles.join(', ')} (per ${opts.receipt}); nodes need that CA too: install it in their trust store, or copy it to the nodes and pass --ca-file-on-nodes PATH (hosts.toml ca)`)
  }
  return containerdHostsTree(map, {plainHttp, caFile: opts.caFileOnNodes})
}

/** The node configs asked for that set a plain-HTTP mirror up, as a phrase (undefined: none). */
function nodeConfigsNamed(opts: RewriteReleaseOptions): string | undefined {
  const hosts = opts.containerdHosts !== undefined ? `the hosts.toml folders under ${opts.containerdHosts}` : undefined
  if (hosts !== undefined && opts.registriesConf !== undefined) return `${hosts} (containerd) or ${opts.registriesConf} (CRI-O)`
  return hosts ?? opts.registriesConf
}

/** The v2 outputs (rewrite-v2.ts) and the node configs asked for, checked, then written; --channel/--chart-source are v1 only. */
async function rewriteForV2(opts: RewriteReleaseOptions, receipt: PushReceipt & {serverManifest: ReceiptServerManifest}, warnings: string[], warn: (m: string) => void): Promise<RewriteV2Result> {
  refuseV1Options(opts, receipt.serverManifest.version)
  if (!receipt.complete) warn(`receipt ${opts.receipt} is incomplete: only what was pushed is used (${notPushed(receipt)}); run the same push again to finish`)
  // As for v1: plain HTTP from the flags, else as the receipt records the push reached the mirror.
  const reached = reachMirror(receipt, opts.receipt, {plainHttp: opts.plainHttp}, warn)
  const plan = await planRewriteV2(
    {
      receipt: opts.receipt,
      bundle: opts.bundle,
      hostname: opts.hostname,
      values: opts.values,
      operatorYaml: opts.operatorYaml ?? DEFAULT_OPERATOR_YAML,
      operatorValues: opts.operatorValues ?? DEFAULT_OPERATOR_VALUES,
      manifestRoute: opts.manifestRoute,
      manifestConfigMap: opts.manifestConfigMap,
      plainHttp: reached.plainHttp,
      nodeConfigs: nodeConfigsNamed(opts),
      pullSecrets: opts.pullSecrets ?? [],
      customCa: opts.customCa ?? [],
      caConfigMap: opts.caConfigMap,
      pinDigests: opts.pinDigests ?? false,
      allowExternal: opts.allowExternal ?? [],
      name: opts.name ?? 'wandb',
      namespace: opts.namespace ?? 'default',
      operatorNamespace: opts.operatorNamespace,
    },
    receipt,
    warn,
  )
  const outputs: Output[] = [...plan.outputs]
  const map = receiptToMirrorMap(receipt)
  const rewritten = await rewriteFiles(opts.files ?? [], opts.outDir, opts.pinDigests ?? false, map, outputs)
  const hostsTree = nodeConfigs(opts, receipt, map, reached.plainHttp.includes(mirrorLocation(map).host), outputs, warn)
  refuseDuplicateOutputs(outputs)
  const files: WrittenFile[] = []
  for (const o of outputs) {
    await writeOutput(o)
    files.push({path: o.path, kind: o.kind})
  }
  if (hostsTree !== undefined) {
    for (const path of await writeFileTree(opts.containerdHosts!, hostsTree)) files.push({path, kind: 'containerd-hosts'})
  }
  return {
    operator: 'v2',
    receipt: resolve(opts.receipt),
    registry: plan.imageRegistry,
    files,
    serverManifest: plan.serverManifest,
    operatorImage: plan.operatorImage,
    rendering: opts.explain ? plan.rendering : {...plan.rendering, rows: undefined},
    rewritten,
    warnings,
  }
}

function notPushed(receipt: PushReceipt): string {
  const items = [...receipt.images.filter((i) => i.status !== 'pushed').map((i) => i.source), ...receipt.charts.filter((c) => c.status !== 'pushed' && c.status !== 'skipped').map((c) => `chart ${c.name}@${c.version}`)]
  return items.length ? `not pushed: ${items.join(', ')}` : 'some items were not pushed'
}

/** repo when the chart was published to a Helm repository, else oci, else configmap (from the bundle). */
export function defaultChartSource(map: MirrorMap): ChartSource {
  const chart = map.charts.find((c) => c.name === PLATFORM_CHART)
  if (chart?.repoUrl !== undefined) return 'repo'
  if (chart?.ociRef !== undefined) return 'oci'
  return 'configmap'
}

function chartLocation(chart: MirroredChart, source: ChartSource): string {
  if (source === 'repo') return chart.repoUrl ?? ''
  if (source === 'oci') return chart.ociRef ?? ''
  return `ConfigMap ${CHARTS_CONFIGMAP_FILE.replace(/\.yaml$/, '')} (/charts/${chart.name})`
}

function controllerMirror(map: MirrorMap): string {
  const image = map.images.find((i) => {
    try {
      const r = parseReference(i.source)
      return r.registry === 'docker.io' && r.repository === 'wandb/controller'
    } catch {
      return false
    }
  })
  return image?.mirror ?? ''
}

/** The files rewrite reads (and --channel: rewrite-bundle.ts; FILE arguments: rewrite-outputs.ts), each with readInputText (src/files/input-file.ts). */
const SITE_VALUES_FILE: InputFileKind = {what: 'site values file', maxBytes: 16 * 1024 * 1024, refusal: 'input', hint: 'check the --values path'}
const CUSTOM_CA_FILE: InputFileKind = {what: 'custom CA file', maxBytes: 4 * 1024 * 1024, refusal: 'usage', hint: 'check the --custom-ca path (a PEM certificate file)'}
