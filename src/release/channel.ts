/**
 * The W&B deploy server's release channel response (`GET /api/v1/operator/channel`):
 * `{metadata: {string: string}, chart: {…}, values: {…}}`, turned into a ReleaseSpec.
 *
 * `chart` is polymorphic; like the v1 operator (`pkg/wandb/spec/charts/charts.go`) the first type
 * that validates wins: LocalRelease `{path}` → OCIRelease `{url: oci://…, version}` (tag may be in
 * the URL) → RepoRelease `{url: http(s)://…, name, version?, username?, password?}`.
 * The channel `values` become the chart's inline values. The operator's own chart is added unless
 * the caller opts out (the enclave needs it to run the release); its controller image is found in
 * that chart's values like every other image, and added here only when a controller tag is asked.
 */
import {Checker} from './check.js'
import {chartName, chartVersion, imageReference, ociUrl, repoUrl} from './fields.js'
import {CHANNEL_RESPONSE_SCHEMA, type ChannelChart, type ChannelResponse} from './spec-schema.js'
import type {ChartAuth, ChartSource, ReleaseSpec} from './types.js'
import {Secret, SPEC_API_VERSION, SPEC_KIND} from './types.js'
import {parseSource} from './yaml.js'

export const OPERATOR_CHART = 'operator'
export const CONTROLLER_IMAGE = 'docker.io/wandb/controller'

export interface ChannelOptions {
  /** Add the operator chart and the controller image (default true). */
  includeOperator?: boolean
  /** Version of the `operator` chart; default: latest in the repository. */
  operatorVersion?: string
  /** Tag of `wandb/controller` to carry besides the one the operator chart's values name. */
  controllerTag?: string
  /** Release name for metadata.name (default "wandb"). */
  name?: string
}

/**
 * Turn a channel response (JSON text or an already parsed value) into a ReleaseSpec.
 * Throws SpecError (message starting with `origin[:line:column]:`) when it does not validate.
 */
export function parseChannelResponse(json: string | unknown, origin: string, options: ChannelOptions = {}): ReleaseSpec {
  const src = typeof json === 'string' ? parseSource(json, origin, {what: 'channel response'}) : undefined
  const c = new Checker(origin, src)
  const value = src ? src.value : json
  c.schema(CHANNEL_RESPONSE_SCHEMA, value)
  c.throwIfAny('channel response')

  const body = value as ChannelResponse
  const metadata = Object.fromEntries(Object.entries(body.metadata ?? {}).map(([k, v]) => [k, String(v)]))
  const values = body.values ?? {}
  const chart = parseChannelChart(c, body.chart)
  c.throwIfAny('channel response')
  if (!chart) throw new Error('unreachable: chart validated without a result')
  chart.set = values

  const charts: ChartSource[] = [chart]
  const images: string[] = []
  if (options.includeOperator !== false) {
    const operator = operatorChartBeside(chart, options.operatorVersion)
    if (operator) charts.push(operator)
    // The controller image comes from the operator chart's values (discovery finds `image` there);
    // only a tag asked for explicitly adds one, so a pull never carries a `latest` the chart does not name.
    if (options.controllerTag !== undefined) {
      const image = imageReference(c, `${CONTROLLER_IMAGE}:${options.controllerTag}`, ['controllerTag'])
      c.throwIfAny('channel options')
      images.push(image!)
    }
  }

  const meta: ReleaseSpec['metadata'] = {name: options.name ?? 'wandb'}
  if (metadata.version !== undefined) meta.version = metadata.version
  if (Object.keys(metadata).length > 0) meta.annotations = metadata
  return {
    apiVersion: SPEC_API_VERSION,
    kind: SPEC_KIND,
    metadata: meta,
    spec: {platforms: [], includeDisabled: true, charts, images, exclude: []},
    origin,
  }
}

/** The first chart type that validates, in the operator's order: local, OCI, repo. */
function parseChannelChart(c: Checker, o: ChannelChart): ChartSource | undefined {
  const auth = channelAuth(o)
  if (typeof o.path === 'string' && o.path !== '') {
    return {type: 'path', path: o.path, values: [], set: {}}
  }
  if (typeof o.url === 'string' && /^oci:\/\//i.test(o.url)) {
    const ref = ociUrl(c, o.url, ['chart', 'url'])
    const version = o.version === undefined || o.version === '' ? ref?.tag : chartVersion(c, o.version, ['chart', 'version'], true)
    if (ref && version === undefined) c.fail(['chart', 'version'], 'an OCI chart needs a version (or a tag in the URL)')
    if (!ref || version === undefined) return undefined
    const out: ChartSource = {type: 'oci', oci: ref.url, version, values: [], set: {}}
    if (o.plainHTTP === true) out.plainHttp = true
    if (auth) out.auth = auth
    return out
  }
  if (o.url === undefined && o.name === undefined) {
    return c.fail(['chart'], 'expected a local chart {path}, an OCI chart {url: oci://…, version} or a repository chart {url, name, version}')
  }
  const url = repoUrl(c, o.url, ['chart', 'url'])
  const name = chartName(c, o.name, ['chart', 'name'])
  const version = o.version === undefined || o.version === '' ? undefined : chartVersion(c, o.version, ['chart', 'version'])
  if (url === undefined || name === undefined) return undefined
  const out: ChartSource = {type: 'repo', repo: url, name, values: [], set: {}}
  if (version !== undefined) out.version = version
  if (auth) out.auth = auth
  return out
}

/** Credentials from the response: kept in memory (Secret), never in the serialised spec. */
function channelAuth(o: ChannelChart): ChartAuth | undefined {
  const auth: ChartAuth = {}
  if (o.username) auth.username = o.username
  if (o.password) auth.password = new Secret(o.password)
  return auth.username !== undefined || auth.password !== undefined ? auth : undefined
}

/** The `operator` chart from the same repository / OCI namespace as the platform chart. */
function operatorChartBeside(chart: ChartSource, version: string | undefined): ChartSource | undefined {
  const common = {values: [], set: {}, ...(chart.auth ? {auth: chart.auth} : {})}
  if (chart.type === 'repo') {
    return {type: 'repo', repo: chart.repo, name: OPERATOR_CHART, ...(version !== undefined ? {version} : {}), ...common}
  }
  if (chart.type === 'oci') {
    const base = chart.oci.slice(0, chart.oci.lastIndexOf('/'))
    return {type: 'oci', oci: `${base}/${OPERATOR_CHART}`, ...(version !== undefined ? {version} : {}), ...common}
  }
  return undefined
}
