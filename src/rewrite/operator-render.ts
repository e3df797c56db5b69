/**
 * What the v1 operator hands Helm for a CR, and which operator a CR needs. Pure.
 *
 * Values (reference §3, v1.22.0 `Spec.Merge` + `utils.MergeMapString`): CR `spec.values` over
 * the user-input spec over the channel over the operator defaults; maps merge recursively, the
 * higher level keeps its scalars, lists are concatenated. An air-gapped operator reads neither the
 * channel nor its cached copy (§4.2), and rewrite writes no user-input Secret, so what Helm gets is
 * the CR's `spec.values` with the operator defaults under it: `global.operator.apiVersion` and
 * `global.operator.namespace`. The chart's own defaults are Helm's business (the renderer coalesces
 * them as Helm does). The Helm release is the CR's name, in the CR's namespace.
 *
 * Chart route: `spec.chart.url: oci://…` is read only by operators from 1.22.0 (`OCIRelease`,
 * PR #147); older ones find no valid chart type and put the CR into `InvalidConfig`.
 */
import semver from 'semver'
import {isPlainObject} from './overrides.js'
import type {ChartSource} from './operator-cr.js'

/** The defaults the v1 operator adds (v1.22.0 `pkg/wandb/spec/operator/operator.go`). */
export function operatorDefaults(operatorNamespace: string): Record<string, unknown> {
  return {global: {operator: {apiVersion: 'apps.wandb.com/v1', namespace: operatorNamespace}}}
}

/** `utils.MergeMapString(high, low)`: maps merged, high's scalars kept, lists concatenated (high first). */
export function operatorMerge(high: Record<string, unknown>, low: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {...high}
  for (const [key, lower] of Object.entries(low)) {
    const upper = out[key]
    if (upper === undefined || upper === null) out[key] = lower
    else if (isPlainObject(upper) && isPlainObject(lower)) out[key] = operatorMerge(upper, lower)
    else if (Array.isArray(upper) && Array.isArray(lower)) out[key] = [...upper, ...lower]
  }
  return out
}

/** The values Helm renders the chart with for this CR (spec.values over the operator defaults). */
export function operatorRenderValues(specValues: Record<string, unknown>, operatorNamespace: string): Record<string, unknown> {
  return operatorMerge(specValues, operatorDefaults(operatorNamespace))
}

/** The first operator version that reads `spec.chart.url: oci://…`. */
export const OCI_CHART_MIN_OPERATOR = '1.22.0'

export interface OperatorRequirement {
  /** What the CR needs: `>= 1.22.0` for the OCI route, else any v1 operator. */
  needs: string
  /** The operator version the bundle carries, when it is known. */
  bundled?: string
  /** Where that version was read. */
  from?: string
  /** Set when the bundled operator cannot read the CR (install-breaking). */
  problem?: string
  /** Set when the version cannot be checked. */
  warning?: string
}

export interface BundledOperator {
  /** The controller image the operator values install (`docker.io/wandb/controller:1.22.0`). */
  controller?: string
  /** Tag of that image. */
  controllerTag?: string
  /** The operator chart's version and appVersion from the bundle. */
  chartVersion?: string
  appVersion?: string
}

/**
 * The operator the CR needs for its chart route, checked against the operator in the bundle: the
 * controller tag when it is a version, else the operator chart's appVersion (which, for a
 * controller tag like `latest`, says what the chart was made for, not what the tag runs).
 */
export function operatorRequirement(route: ChartSource, bundled: BundledOperator): OperatorRequirement {
  if (route !== 'oci') return {needs: 'any v1 operator (1.x)', ...known(bundled)}
  const needs = `>= ${OCI_CHART_MIN_OPERATOR}`
  const tagVersion = versionTag(bundled.controllerTag)
  if (tagVersion !== undefined) {
    const from = `controller image ${bundled.controller ?? bundled.controllerTag}`
    if (semver.gte(tagVersion, OCI_CHART_MIN_OPERATOR)) return {needs, bundled: tagVersion, from}
    return {needs, bundled: tagVersion, from, problem: ociProblem(`the bundle's operator is ${tagVersion} (${from})`)}
  }
  const app = bundled.appVersion !== undefined ? semver.coerce(bundled.appVersion)?.version : undefined
  if (app === undefined) {
    return {needs, warning: `spec.chart.url is oci://, which needs operator ${needs}; the bundle's operator version is unknown (${bundled.controller ?? 'no controller image'}${bundled.chartVersion ? `, operator chart ${bundled.chartVersion}` : ', no operator chart'}): install operator ${OCI_CHART_MIN_OPERATOR} or later`}
  }
  const from = `operator chart ${bundled.chartVersion ?? '?'} appVersion`
  if (semver.gte(app, OCI_CHART_MIN_OPERATOR)) return {needs, bundled: app, from}
  if (bundled.controllerTag !== undefined && bundled.controllerTag !== '') {
    // a moving tag (latest) runs whatever it points at: the chart's appVersion does not say
    return {needs, bundled: app, from, warning: `spec.chart.url is oci://, which needs operator ${needs}; the bundle's operator chart ${bundled.chartVersion ?? ''} says appVersion ${app}, and its controller ${bundled.controller ?? ''} is a moving tag: make sure the controller it runs is ${OCI_CHART_MIN_OPERATOR} or later, or use --chart-source repo or configmap`}
  }
  return {needs, bundled: app, from, problem: ociProblem(`the bundle's operator is ${app} (${from})`)}
}

/** `1.22.0` for a tag `v1.22.0` or `1.22.0`; undefined for `latest` and other names. */
function versionTag(tag: string | undefined): string | undefined {
  return tag !== undefined && /^v?\d+\.\d+/.test(tag) ? (semver.coerce(tag)?.version ?? undefined) : undefined
}

function known(b: BundledOperator): Partial<OperatorRequirement> {
  const tagVersion = versionTag(b.controllerTag)
  if (tagVersion !== undefined) return {bundled: tagVersion, from: `controller image ${b.controller ?? b.controllerTag}`}
  if (b.appVersion !== undefined) return {bundled: b.appVersion, from: `operator chart ${b.chartVersion ?? '?'} appVersion`}
  return {}
}

function ociProblem(what: string): string {
  return `spec.chart.url is oci://, which the v1 operator reads only from ${OCI_CHART_MIN_OPERATOR}, but ${what}: it would put the CR into InvalidConfig`
}
