/**
 * Differential-test support: a template snippet becomes a one-file chart that both the
 * TypeScript renderer and the Go oracle render; outputs (or the fact of failing) must agree.
 */
import {loadChartFiles} from '../../src/helm/load.js'
import {renderChart} from '../../src/render/index.js'
import type {OracleRequest, OracleResponse} from '../support/render-oracle.js'

export interface Snippet {
  name: string
  template: string
  /** values.yaml text of the chart (defaults). */
  chartValues?: string
  /** User values (JSON: numbers are float64, as Helm's). */
  values?: Record<string, unknown>
  /** Extra chart files: "templates/_helpers.tpl", "files/a.txt", "charts/sub/Chart.yaml" … */
  files?: Record<string, string>
  /** Extra Chart.yaml lines (dependencies …). */
  chartYaml?: string
}

export interface Outcome {
  manifests?: Record<string, string>
  error?: string
}

export const RELEASE = {name: 'rel', namespace: 'ns', revision: 1, isInstall: true, isUpgrade: false}
export const KUBE = 'v1.29.3'
export const API_VERSIONS = ['v1', 'apps/v1', 'batch/v1', 'networking.k8s.io/v1', 'policy/v1', 'monitoring.coreos.com/v1']

export function snippetFiles(s: Snippet): Record<string, string> {
  const files: Record<string, string> = {
    'Chart.yaml': `apiVersion: v2\nname: snip\nversion: 1.2.3\nappVersion: "4.5"\ndescription: a snippet\n${s.chartYaml ?? ''}`,
    'templates/t.yaml': s.template,
    ...s.files,
  }
  if (s.chartValues !== undefined) files['values.yaml'] = s.chartValues
  return files
}

export function oracleRequest(s: Snippet, seed = 7): OracleRequest {
  return {files: snippetFiles(s), values: s.values ?? {}, release: RELEASE, kubeVersion: KUBE, apiVersions: API_VERSIONS, helmVersion: 'v3.19.0', seed}
}

/** Render a snippet with the TypeScript renderer, as an outcome comparable with the oracle's. */
export async function renderSnippet(s: Snippet, seed = 7): Promise<Outcome> {
  try {
    const files = new Map(Object.entries(snippetFiles(s)).map(([k, v]) => [k, Buffer.from(v, 'utf8')]))
    const chart = await loadChartFiles(files, 'snippet')
    const out = renderChart(chart, {values: s.values ?? {}, release: RELEASE, capabilities: {kubeVersion: KUBE, apiVersions: API_VERSIONS, helmVersion: 'v3.19.0'}, seed})
    return {manifests: Object.fromEntries(out)}
  } catch (err) {
    return {error: (err as Error).message}
  }
}

/** Whether two outcomes agree: same files and texts, or both failed. */
export function agree(ts: Outcome, go: OracleResponse): boolean {
  if (go.error !== undefined || ts.error !== undefined) return go.error !== undefined && ts.error !== undefined
  const a = ts.manifests ?? {}
  const b = go.manifests ?? {}
  const keys = new Set([...Object.keys(a), ...Object.keys(b).filter((k) => !k.endsWith('NOTES.txt'))])
  for (const k of keys) if (a[k] !== b[k]) return false
  return true
}

/** A one-line description of a disagreement, for failure messages. */
export function describeDifference(name: string, ts: Outcome, go: OracleResponse): string {
  const show = (o: Outcome) => (o.error !== undefined ? `error: ${o.error}` : JSON.stringify(o.manifests))
  return `${name}\n  go: ${show(go)}\n  ts: ${show(ts)}`
}
