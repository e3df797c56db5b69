/**
 * A W&B release for the v2 operator (issue 17), from `airgap.yaml`'s `spec.wandb` block or from
 * `--wandb-version` / `--manifest-repository` / `--operator-chart` / `--with-cert-manager`: the
 * checks both share. Pure.
 */
import {isAbsolute, resolve} from 'node:path'
import {isValidTag, parseRepository} from '../oci/reference.js'
import {DEFAULT_WANDB_MANIFEST_REPOSITORY, DEFAULT_WANDB_OPERATOR_CHART, type WandbRelease} from './types.js'

/** The block as written (or as given on the command line). */
export interface WandbReleaseInput {
  version: string
  manifestRepository?: string
  operatorChart?: string
  withCertManager?: boolean
}

export type WandbField = 'version' | 'manifestRepository' | 'operatorChart'

export interface WandbProblem {
  field: WandbField
  message: string
}

/** Check and normalise; relative chart paths are resolved against `base`. Returns the release or the problems. */
export function checkWandbRelease(input: WandbReleaseInput, base: string): {release?: WandbRelease; problems: WandbProblem[]} {
  const problems: WandbProblem[] = []
  const version = input.version.trim()
  if (!isValidTag(version)) problems.push({field: 'version', message: `"${input.version}" is not a server version that can be a tag (e.g. 0.99.0)`})
  else if (version === 'latest') problems.push({field: 'version', message: 'pin a published server version (e.g. 0.99.0); "latest" is not one'})
  const manifestRepository = ociRepository(input.manifestRepository ?? DEFAULT_WANDB_MANIFEST_REPOSITORY, 'manifestRepository', false, problems)
  const operatorChart = operatorChartOf(input.operatorChart ?? DEFAULT_WANDB_OPERATOR_CHART, base, problems)
  if (problems.length > 0 || manifestRepository === undefined || operatorChart === undefined) return {problems}
  return {release: {version, manifestRepository, operatorChart, withCertManager: input.withCertManager === true}, problems}
}

/** `oci://HOST/PATH` (a `:VERSION` tag only where `tagged`), normalised without trailing slashes. */
function ociRepository(value: string, field: WandbField, tagged: boolean, problems: WandbProblem[]): string | undefined {
  const m = /^oci:\/\/(.+)$/i.exec(value.trim())
  if (!m) {
    problems.push({field, message: `expected oci://HOST/PATH, got "${value}"`})
    return undefined
  }
  const rest = m[1]!.replace(/\/+$/, '')
  const colon = rest.lastIndexOf(':')
  const hasTag = colon > rest.lastIndexOf('/')
  const repository = hasTag ? rest.slice(0, colon) : rest
  if (rest.includes('@') || (hasTag && !tagged)) {
    problems.push({field, message: `"${value}" must name a repository without ${rest.includes('@') ? 'digest' : 'tag'} (the server version is the tag)`})
    return undefined
  }
  if (hasTag && !isValidTag(rest.slice(colon + 1))) {
    problems.push({field, message: `invalid version "${rest.slice(colon + 1)}" in "${value}"`})
    return undefined
  }
  try {
    if (!repository.includes('/')) throw new Error('no repository path after the host')
    parseRepository(repository)
  } catch (err) {
    problems.push({field, message: `"${value}" is not an oci://HOST/PATH reference: ${(err as Error).message}`})
    return undefined
  }
  return `oci://${rest}`
}

function operatorChartOf(value: string, base: string, problems: WandbProblem[]): string | undefined {
  if (/^oci:\/\//i.test(value.trim())) return ociRepository(value, 'operatorChart', true, problems)
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(value)) {
    problems.push({field: 'operatorChart', message: `expected oci://HOST/PATH/operator[:VERSION] or a chart .tgz file, got "${value}"`})
    return undefined
  }
  if (!/\.tgz$/.test(value)) {
    problems.push({field: 'operatorChart', message: `"${value}" is neither an oci:// reference nor a chart .tgz file`})
    return undefined
  }
  return isAbsolute(value) ? value : resolve(base, value)
}

/** `oci://HOST/PATH/operator:VERSION` split into the repository URL and the version (undefined: choose). */
export function splitOperatorChart(chart: string): {oci: string; version?: string} {
  const rest = chart.slice('oci://'.length)
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) return {oci: `oci://${rest.slice(0, colon)}`, version: rest.slice(colon + 1).replace(/_/g, '+')}
  return {oci: chart}
}
