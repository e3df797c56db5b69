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
 *  5. writes the files.
 *
 * Secrets: a literal license in the site values stays in operator.yaml (the user chose it) and is
 * never part of the result, the warnings or any message.
 */
import {createHash} from 'node:crypto'
import {mkdir} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'
import {parse as parseYaml, stringify} from 'yaml'
import {parseLock, type LockChart} from '../bundle/lock.js'
import {AirgapError, ExitCode, IntegrityError, NotFoundError, SpecError, UsageError} from '../errors.js'
import {writeFileAtomic} from '../files/atomic-write.js'
import {readInputText, type InputFileKind} from '../files/input-file.js'
import {parseReference} from '../oci/reference.js'
import {receiptToMirrorMap, readReceipt, type PushReceipt} from '../mirror/receipt.js'
import {buildOperatorCr, buildOperatorValues, containerdHostsTree, findExternalImages, planImageOverrides, registriesConf, rewriteYamlDocuments, validateCr, writeFileTree, type Change, type ChartSource, type ExternalImage, type NodeMirrorImage} from '../rewrite/index.js'
import {type MirroredChart, type MirrorMap} from '../mirror/types.js'
import {mirrorLocation} from '../rewrite/relocate.js'
import {MAX_SPEC_BYTES, parseChannelResponse} from '../release/index.js'
import {BundleReader, LOCK_JSON, SPEC_YAML} from '../bundle/index.js'
import {chartPackage} from './push.js'

/** The chart the CR installs. */
export const PLATFORM_CHART = 'operator-wandb'
/** Default file names (relative to the working folder). */
export const DEFAULT_OPERATOR_YAML = 'operator.yaml'
export const DEFAULT_OPERATOR_VALUES = 'operator-values.yaml'
export const CHARTS_CONFIGMAP_FILE = 'wandb-charts.yaml'

/** Some image reference of the outputs still points outside the mirror (exit 3: the inputs name unmirrored images). */
export class ExternalImagesError extends AirgapError {
  override readonly code = 'EXTERNAL_IMAGES'
  override readonly exitCode = ExitCode.SPEC
  constructor(
    message: string,
    readonly external: ExternalImage[],
    readonly templateOnly: NodeMirrorImage[],
    options: {hint: string},
  ) {
    super(message, options)
  }
}

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
  /** Write rewritten FILEs here (same base name) instead of in place. */
  outDir?: string
  hooks?: RewriteHooks
}

export interface WrittenFile {
  path: string
  kind: 'operator-cr' | 'charts-configmap' | 'operator-values' | 'containerd-hosts' | 'registries-conf' | 'rewritten'
}

export interface RewriteReleaseResult {
  receipt: string
  registry: string
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
  warnings: string[]
}

interface Output {
  path: string
  kind: WrittenFile['kind']
  text: string
}

/** Build every output, check it, then write it; see the module comment. */
export async function rewriteRelease(opts: RewriteReleaseOptions): Promise<RewriteReleaseResult> {
  const warnings: string[] = []
  const warn = (m: string): void => {
    warnings.push(m)
    opts.hooks?.onWarning?.(m)
  }
  const receipt = await readReceipt(opts.receipt)
  const map = receiptToMirrorMap(receipt)
  if (!receipt.complete) warn(`receipt ${opts.receipt} is incomplete: only what was pushed is used (${notPushed(receipt)}); run the same push again to finish`)
  const bundle = new LazyBundle(opts.bundle ?? receipt.bundle.path, receipt)
  try {
    const channel = await channelValues(opts, bundle, warn)
    const chartSource = opts.chartSource ?? defaultChartSource(map)
    if (chartSource === 'configmap') await attachChartPackage(map, bundle)
    const mirrorHost = mirrorLocation(map).host
    const plainHosts = new Set(opts.plainHttp ?? [])
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
    const rewritten = await rewriteFiles(opts, map, outputs)
    if (opts.registriesConf !== undefined) outputs.push({path: resolve(opts.registriesConf), kind: 'registries-conf', text: registriesConf(map, {plainHttp})})
    const hostsTree = opts.containerdHosts !== undefined ? containerdHostsTree(map, {plainHttp, ...(opts.caFileOnNodes ? {caFile: opts.caFileOnNodes} : {})}) : undefined
    refuseDuplicateOutputs(outputs)

    checkCr(cr.operatorYaml, operatorYamlPath)
    const nodeMirror = checkImages(outputs, map, opts, hostsTree !== undefined || opts.registriesConf !== undefined, warn)

    const files: WrittenFile[] = []
    for (const o of outputs) {
      await writeAtomic(o.path, o.text)
      files.push({path: o.path, kind: o.kind})
    }
    if (hostsTree !== undefined) {
      for (const path of await writeFileTree(opts.containerdHosts!, hostsTree)) files.push({path, kind: 'containerd-hosts'})
    }
    const plan = planImageOverrides(map, {pinDigests: opts.pinDigests ?? false})
    const redirected = new Set(map.images.filter((i) => i.origins.some((o) => o.source === 'values' && o.valuesPath !== undefined && plan.paths.includes(o.valuesPath))).map((i) => i.source))
    const crChart = map.charts.find((c) => c.name === PLATFORM_CHART)!
    return {
      receipt: resolve(opts.receipt),
      registry: map.registry,
      files,
      channelValues: channel.from === 'none' ? {from: 'none'} : {from: channel.from, file: channel.file},
      chart: {name: crChart.name, version: crChart.version, source: chartSource, location: chartLocation(crChart, chartSource)},
      images: {redirected: redirected.size, valuesPaths: plan.paths.length, controller: controllerMirror(map)},
      rewritten,
      nodeMirror,
      warnings,
    }
  } finally {
    await bundle.close()
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

// ---- the bundle ---------------------------------------------------------------------------------

/** The bundle the receipt names, opened on first use and checked against the receipt's lock digest. */
class LazyBundle {
  private reader: BundleReader | undefined
  private failure: Error | undefined

  constructor(
    readonly path: string,
    private readonly receipt: PushReceipt,
  ) {}

  /** The open reader, or the reason it cannot be read. */
  async open(): Promise<BundleReader | Error> {
    if (this.reader) return this.reader
    if (this.failure) return this.failure
    try {
      const reader = await BundleReader.open(this.path)
      const lock = await reader.readFile(LOCK_JSON)
      const digest = `sha256:${createHash('sha256').update(lock).digest('hex')}`
      if (digest !== this.receipt.bundle.lockDigest) {
        await reader.close()
        throw new IntegrityError(`bundle ${this.path} is not the bundle of the receipt (its ${LOCK_JSON} is ${digest}, the receipt names ${this.receipt.bundle.lockDigest})`, {
          hint: 'pass the bundle that was pushed with --bundle',
        })
      }
      this.reader = reader
      return reader
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err))
      return this.failure
    }
  }

  async close(): Promise<void> {
    await this.reader?.close()
  }
}

interface ChannelValues {
  from: 'channel' | 'bundle' | 'none'
  file?: string
  values?: Record<string, unknown>
}

/** The channel values: --channel, else the operator-wandb chart's inline values in the bundle's spec. */
async function channelValues(opts: RewriteReleaseOptions, bundle: LazyBundle, warn: (m: string) => void): Promise<ChannelValues> {
  if (opts.channel !== undefined) {
    const text = await readInputText(opts.channel, CHANNEL_FILE)
    const spec = parseChannelResponse(text, opts.channel, {includeOperator: false})
    return {from: 'channel', file: resolve(opts.channel), values: spec.spec.charts[0]?.set ?? {}}
  }
  const reader = await bundle.open()
  const noValues = 'spec.values carries only the site values and the mirror overrides; pass --channel CHANNEL.json to add the channel values'
  if (reader instanceof Error) {
    if (reader instanceof IntegrityError) throw reader
    warn(`cannot read the channel values from bundle ${bundle.path} (${reader.message.split('\n')[0]}); ${noValues}`)
    return {from: 'none'}
  }
  if (!reader.has(SPEC_YAML)) {
    warn(`bundle ${bundle.path} stores no spec; ${noValues}`)
    return {from: 'none'}
  }
  const where = `${bundle.path}:${SPEC_YAML}`
  const chart = platformChart((await reader.readFile(SPEC_YAML)).toString('utf8'), where)
  if (chart === undefined) {
    warn(`the spec in bundle ${bundle.path} has no ${PLATFORM_CHART} chart; ${noValues}`)
    return {from: 'none'}
  }
  if (chart.values.length > 0) {
    warn(`the spec in bundle ${bundle.path} names values files of the pulling machine (${chart.values.join(', ')}); they are not in the bundle: pass the site settings with --values`)
  }
  return {from: 'bundle', file: where, values: chart.set}
}

/**
 * The operator-wandb entry of the stored spec (`spec.charts[]` in airgap.yaml form: `{name, repo}`,
 * `{oci}` or `{path}`, with `set` = the channel values). Read as plain YAML, not re-validated: the
 * stored spec was validated when it was pulled, and only the inline values matter here.
 */
function platformChart(text: string, where: string): {set: Record<string, unknown>; values: string[]} | undefined {
  let doc: unknown
  try {
    doc = parseYaml(text, {maxAliasCount: 100})
  } catch (err) {
    throw new SpecError(`${where}: not valid YAML (${(err as Error).message.split('\n')[0]})`, where, undefined, {hint: 'the bundle is damaged; pull it again', cause: err})
  }
  const charts = (doc as {spec?: {charts?: unknown}} | null)?.spec?.charts
  if (!Array.isArray(charts)) return undefined
  const entry = charts.find((c): c is Record<string, unknown> => {
    if (!isPlainObject(c)) return false
    if (typeof c['name'] === 'string') return c['name'] === PLATFORM_CHART
    if (typeof c['oci'] === 'string') return c['oci'].replace(/\/+$/, '').endsWith(`/${PLATFORM_CHART}`)
    if (typeof c['path'] === 'string') return basename(c['path']).replace(/(-\d[\w.+-]*)?\.tgz$/, '') === PLATFORM_CHART
    return false
  })
  if (entry === undefined) return undefined
  const set = entry['set']
  const values = entry['values']
  return {set: isPlainObject(set) ? set : {}, values: Array.isArray(values) ? values.filter((v): v is string => typeof v === 'string') : []}
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Configmap route: the chart's .tgz from the bundle (verified against its digests). */
async function attachChartPackage(map: MirrorMap, bundle: LazyBundle): Promise<void> {
  const reader = await bundle.open()
  if (reader instanceof Error) {
    if (reader instanceof AirgapError) throw reader
    throw new NotFoundError(`the configmap chart source needs the ${PLATFORM_CHART} chart package from bundle ${bundle.path}, which cannot be read (${reader.message.split('\n')[0]})`, {
      hint: 'pass the pushed bundle with --bundle, or choose --chart-source repo or oci',
    })
  }
  const lock = parseLock(await reader.readFile(LOCK_JSON), `${bundle.path} ${LOCK_JSON}`)
  const entry: LockChart | undefined = lock.charts.find((c) => c.name === PLATFORM_CHART)
  if (entry === undefined) {
    throw new NotFoundError(`bundle ${bundle.path} holds no ${PLATFORM_CHART} chart (charts: ${lock.charts.map((c) => c.name).join(', ') || 'none'})`, {
      hint: `pull a spec with the ${PLATFORM_CHART} chart`,
    })
  }
  const pkg = await chartPackage(reader, entry)
  const known = map.charts.find((c) => c.name === entry.name && c.version === entry.version)
  if (known) known.tgz = pkg.tgz
  else map.charts.push({name: entry.name, version: entry.version, tgz: pkg.tgz})
}

// ---- extra files --------------------------------------------------------------------------------

async function rewriteFiles(opts: RewriteReleaseOptions, map: MirrorMap, outputs: Output[]): Promise<RewriteReleaseResult['rewritten']> {
  const out: RewriteReleaseResult['rewritten'] = []
  for (const file of opts.files ?? []) {
    const text = await readInputText(file, YAML_FILE)
    const result = rewriteYamlDocuments(text, map, {pinDigests: opts.pinDigests ?? false, file})
    const target = resolve(opts.outDir !== undefined ? join(opts.outDir, basename(file)) : file)
    outputs.push({path: target, kind: 'rewritten', text: result.text})
    out.push({file: resolve(file), output: target, changes: result.changes})
  }
  return out
}

function refuseDuplicateOutputs(outputs: Output[]): void {
  const seen = new Map<string, Output>()
  for (const o of outputs) {
    const before = seen.get(o.path)
    if (before) {
      throw new UsageError(`two outputs would be written to ${o.path} (${before.kind} and ${o.kind})`, {
        hint: 'give different output paths (-o, --operator-values, --out-dir, FILE names)',
      })
    }
    seen.set(o.path, o)
  }
}

// ---- checks -------------------------------------------------------------------------------------

function checkCr(operatorYaml: string, path: string): void {
  const problems = validateCr(operatorYaml)
  if (problems.length === 0) return
  throw new SpecError(`${path} would not pass the WeightsAndBiases CRD schema: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, path, problems[0]!.path, {
    hint: 'fix the site values (--values) at the paths shown; nothing was written',
  })
}

/**
 * Every image reference of every text output must be in the mirror or allowed. Template-literal
 * images (not redirectable through values) pass only with node-level mirror config or allowExternal.
 */
function checkImages(outputs: Output[], map: MirrorMap, opts: RewriteReleaseOptions, nodeConfig: boolean, warn: (m: string) => void): NodeMirrorImage[] {
  const yamlOutputs = outputs.filter((o) => o.kind !== 'registries-conf' && o.kind !== 'charts-configmap')
  const allow = opts.allowExternal ?? []
  const report = findExternalImages(
    yamlOutputs.map((o) => ({file: o.path, text: o.text})),
    map,
    allow,
  )
  const templateOnly = report.needsNodeMirror.filter((t) => !allowed(t.ref, map, allow))
  const external = report.external
  const blocking = nodeConfig ? [] : templateOnly
  if (external.length === 0 && blocking.length === 0) {
    if (templateOnly.length > 0) warn(`${templateOnly.length} image(s) are hard-coded in chart templates and cannot be redirected through values; the node-level mirror config covers them: ${templateOnly.map(describeTemplate).join('; ')}`)
    return templateOnly
  }
  const parts = [
    ...external.map((e) => `${e.ref} at ${e.file}:${e.line} (${e.path})`),
    ...blocking.map((t) => `${t.ref} hard-coded in ${describeTemplate(t)}`),
  ]
  throw new ExternalImagesError(`${parts.length} image reference(s) would still pull from outside the mirror ${map.registry}: ${parts.join('; ')}`, external, blocking, {
    hint: blocking.length > 0
      ? 'pass --containerd-hosts DIR or --registries-conf FILE so nodes pull hard-coded images from the mirror, or --allow-external REF for each reference that may stay outside; nothing was written'
      : 'pull and push these images (add them to the spec), fix the values, or pass --allow-external REF for each reference that may stay outside; nothing was written',
  })
}

function describeTemplate(t: NodeMirrorImage): string {
  return `${t.ref} (chart ${t.chart}, ${t.template || 'template'})`
}

/** Whether `ref` is named by allowExternal, with exactly the matching rules of findExternalImages. */
function allowed(ref: string, map: MirrorMap, allow: readonly string[]): boolean {
  if (allow.length === 0) return false
  const probe = stringify({containers: [{name: 'probe', image: ref}]})
  return findExternalImages([probe], {...map, registry: 'airgap.invalid'}, allow).external.length === 0
}

// ---- files --------------------------------------------------------------------------------------

/** The files rewrite reads; each is read with readInputText (src/files/input-file.ts). */
const SITE_VALUES_FILE: InputFileKind = {what: 'site values file', maxBytes: 16 * 1024 * 1024, refusal: 'input', hint: 'check the --values path'}
const CHANNEL_FILE: InputFileKind = {what: 'channel response file', maxBytes: MAX_SPEC_BYTES, refusal: 'input', hint: 'check the --channel path (a saved W&B channel response)'}
const CUSTOM_CA_FILE: InputFileKind = {what: 'custom CA file', maxBytes: 4 * 1024 * 1024, refusal: 'usage', hint: 'check the --custom-ca path (a PEM certificate file)'}
const YAML_FILE: InputFileKind = {what: 'YAML file', maxBytes: 16 * 1024 * 1024, refusal: 'usage', hint: 'check the FILE arguments (Helm values or Kubernetes manifests to rewrite)'}

/** Write atomically (src/files/atomic-write.ts); an existing file keeps its mode. */
async function writeAtomic(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), {recursive: true})
  await writeFileAtomic(path, text, {keepExistingMode: true})
}
