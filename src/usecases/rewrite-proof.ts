/**
 * The proof step of `airgap rewrite` (issue 16): render the operator-wandb chart carried in the
 * bundle with exactly the values the v1 operator will hand Helm for the written CR (its
 * `spec.values` over the operator defaults; release = CR name in the CR namespace), then prove the
 * rendered objects with src/rewrite/proof.ts. It also says which operator the CR needs for its
 * chart route and checks it against the operator in the bundle. Throws ProofError (exit 3) on any
 * error finding; rewrite then writes nothing.
 */
import {parse as parseYaml} from 'yaml'
import {AirgapError, ExitCode} from '../errors.js'
import {loadChartArchive} from '../helm/index.js'
import type {ChartPackage} from '../helm/publish.js'
import {parseReference, type Reference} from '../oci/reference.js'
import {parseManifests, RenderError, renderChart} from '../render/index.js'
import {
  allowMatcher,
  controllerImage,
  listSome,
  operatorRenderValues,
  operatorRequirement,
  proveRendered,
  type ChartSource,
  type MirrorMap,
  type NodeMirrorConfig,
  type OperatorRequirement,
  type ProofFinding,
  type ProofRow,
} from '../rewrite/index.js'
import {isPlainObject} from '../rewrite/overrides.js'

/** The rendered release would not run from the mirror (exit 3: output that would not apply). */
export class ProofError extends AirgapError {
  override readonly code = 'PROOF_FAILED'
  override readonly exitCode = ExitCode.SPEC
  constructor(
    message: string,
    readonly findings: ProofFinding[],
    options: {hint: string; cause?: unknown},
  ) {
    super(message, options)
  }
}

export interface ProofInput {
  /** operator.yaml as it will be written, and its path (for messages). */
  operatorYaml: string
  operatorYamlPath: string
  /** The operator-wandb chart package from the bundle. */
  chart: ChartPackage
  map: MirrorMap
  pinDigests: boolean
  nodeMirrors: NodeMirrorConfig
  allowExternal: readonly string[]
  /** `--pull-secret` names: the mirror is authenticated when there are any. */
  mirrorPullSecrets: readonly string[]
  /** Namespace the operator runs in (global.operator.namespace). */
  operatorNamespace: string
}

/** What the proof rendered and found (warnings already in `warnings`). */
export interface ProofReport {
  chart: string
  objects: number
  /** One row per container of every pod-bearing object: `rewrite --explain`. */
  rows: ProofRow[]
  warnings: string[]
}

const MAX_LISTED = 8

/** Render and prove; throws ProofError naming each failing object and its template. */
export function proveOperatorCr(input: ProofInput, chartObjects: ReturnType<typeof parseManifests>): ProofReport {
  const {name, namespace} = crIdentity(input.operatorYaml)
  return proveChartObjects({...input, valuesPath: input.operatorYamlPath, release: {name, namespace}, nodeMirrors: input.nodeMirrors}, chartObjects)
}

/** What proveChartObjects needs: the chart, the mirror, and where the values were written (for messages). */
export interface ChartProofInput {
  chart: ChartPackage
  map: MirrorMap
  pinDigests: boolean
  nodeMirrors?: NodeMirrorConfig
  allowExternal: readonly string[]
  mirrorPullSecrets: readonly string[]
  /** The file whose values were rendered (operator.yaml, operator values). */
  valuesPath: string
  release: {name: string; namespace: string}
}

/** Prove rendered objects of any chart (v1 operator-wandb, the v2 operator chart); ProofError on an error finding. */
export function proveChartObjects(input: ChartProofInput, chartObjects: ReturnType<typeof parseManifests>): ProofReport {
  const {name, namespace} = input.release
  const proof = proveRendered(chartObjects, {
    map: input.map,
    pinDigests: input.pinDigests,
    nodeMirrors: input.nodeMirrors ?? {containerd: false, crio: false, openshift: false},
    allowExternal: allowAny(input.allowExternal),
    mirrorPullSecrets: input.mirrorPullSecrets,
    topChart: input.chart.name,
    namespace,
  })
  const errors = proof.findings.filter((f) => f.severity === 'error')
  const chart = `${input.chart.name} ${input.chart.version}`
  if (errors.length > 0) {
    const listed = errors.slice(0, MAX_LISTED).map((e) => e.message)
    const more = errors.length > MAX_LISTED ? `; and ${errors.length - MAX_LISTED} more` : ''
    throw new ProofError(`the ${chart} chart rendered with the values of ${input.valuesPath} (release ${name} in ${namespace}) would not run from the mirror ${input.map.registry}: ${errors.length} problem(s): ${listed.join('; ')}${more}`, errors, {
      hint: hintFor(errors),
    })
  }
  return {chart, objects: chartObjects.length, rows: proof.rows, warnings: proof.findings.map((f) => f.message)}
}

/** Render the chart with the values the operator will use for the CR; a template failure names the template and line. */
export async function renderForOperator(input: Pick<ProofInput, 'operatorYaml' | 'operatorYamlPath' | 'chart' | 'operatorNamespace'>): Promise<ReturnType<typeof parseManifests>> {
  const cr = parseYaml(input.operatorYaml) as {spec?: {values?: unknown}}
  const specValues = isPlainObject(cr.spec?.values) ? cr.spec.values : {}
  return renderChartForProof(input.chart, operatorRenderValues(specValues, input.operatorNamespace), crIdentity(input.operatorYaml), input.operatorYamlPath)
}

/** Render a chart package like `helm install` (release revision 1); a template failure is a ProofError naming the template and line. */
export async function renderChartForProof(pkg: ChartPackage, values: Record<string, unknown>, release: {name: string; namespace: string}, valuesPath: string): Promise<ReturnType<typeof parseManifests>> {
  const where = `${pkg.name} ${pkg.version}`
  try {
    const chart = await loadChartArchive(pkg.tgz, `${where} from the bundle`)
    return parseManifests(renderChart(chart, {values, release: {...release, revision: 1, isInstall: true, isUpgrade: false}}))
  } catch (err) {
    if (!(err instanceof RenderError)) throw err
    const at = err.template !== undefined ? ` in ${err.template}${err.line !== undefined ? `:${err.line}` : ''}` : ''
    throw new ProofError(`the ${where} chart does not render with the values of ${valuesPath}${at}: ${err.message}`, [], {
      hint: 'the operator would fail the same way (helm install); fix the site values (--values) the template line reads; nothing was written',
      cause: err,
    })
  }
}

/** The operator chart in the bundle and the controller the operator values install: which operator the CR needs, and whether it has it. */
export function checkOperatorRoute(route: ChartSource, map: MirrorMap, operatorChart: ChartPackage | undefined): OperatorRequirement {
  let controller: string | undefined
  let controllerTag: string | undefined
  try {
    const image = controllerImage(map)
    controller = image.source
    controllerTag = parseReference(image.source).tag
  } catch {
    // no controller mirrored: buildOperatorValues already refused
  }
  const appVersion = operatorChart?.metadata.appVersion
  const requirement = operatorRequirement(route, {controller, controllerTag, chartVersion: operatorChart?.version, appVersion: appVersion === undefined ? undefined : String(appVersion)})
  if (requirement.problem !== undefined) {
    throw new ProofError(requirement.problem, [], {hint: `install operator ${requirement.needs} (pull with a newer operator chart and controller), or choose --chart-source repo or configmap; nothing was written`})
  }
  return requirement
}

function crIdentity(operatorYaml: string): {name: string; namespace: string} {
  const cr = parseYaml(operatorYaml) as {metadata?: {name?: unknown; namespace?: unknown}}
  return {name: String(cr.metadata?.name ?? 'wandb'), namespace: String(cr.metadata?.namespace ?? 'default')}
}

function allowAny(patterns: readonly string[]): ((ref: Reference) => boolean) | undefined {
  if (patterns.length === 0) return undefined
  const matchers = patterns.map(allowMatcher)
  return (ref) => matchers.some((m) => m(ref))
}

function hintFor(errors: readonly ProofFinding[]): string {
  const rules = new Set(errors.map((e) => e.rule))
  const hints: string[] = []
  if (rules.has('image-not-mirrored')) hints.push('pull and push the images named (add them to the spec) or fix the site values that build them; --allow-external REF lets one stay outside')
  if (rules.has('needs-node-mirror')) hints.push('pass --containerd-hosts DIR or --registries-conf FILE for images the templates hard-code')
  if (rules.has('pull-secret-shape')) hints.push('write pull secrets as {name: …} in the values that set them')
  if (rules.has('pull-secret-missing')) hints.push('set the pull secret in the values key the named chart reads (or on its ServiceAccount)')
  return `${hints.join('; ')}; \`airgap rewrite --explain\` lists every container; nothing was written (objects: ${listSome([...new Set(errors.map((e) => e.object))])})`
}
