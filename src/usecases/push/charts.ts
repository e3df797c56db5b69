/**
 * Publish the bundle's charts where --helm-repo says: into an oci:// registry with the copy engine
 * (the artifact as it is), or as a .tgz into a classic repository (http(s) PUT with index.yaml
 * merged, ChartMuseum, file://) through src/helm/publish.ts, which (with the YAML, tar and semver
 * code it needs) is imported only when charts are published. Without --helm-repo charts are
 * skipped, with a warning.
 */
import type {BundleReader} from '../../bundle/index.js'
import type {LockChart} from '../../bundle/lock.js'
import {fetchAll} from '../../content/verify.js'
import {addStats, copy} from '../../copy/index.js'
import {UsageError} from '../../errors.js'
import {chartLayers, MAX_CHART_BYTES, ociArtifactToChart} from '../../helm/oci.js'
import type {ChartPackage, HelmAuth} from '../../helm/publish.js'
import type {ChartMetadata} from '../../helm/types.js'
import {parseOciRepoUrl} from '../../mirror/mapping.js'
import type {ReceiptChart} from '../../mirror/receipt.js'
import {safeUrl} from '../../http/safe-url.js'
import type {Descriptor} from '../../oci/types.js'
import {itemFailed, repositoryFor, type PushContext} from './context.js'
import {receiptChart} from './outcome.js'
import type {ChartDestination, ChartPlan} from './plan.js'

/** Parse --helm-repo. */
export async function chartDestination(url: string): Promise<ChartDestination> {
  const {helmRepoKind} = await import('../../helm/publish.js')
  const kind = helmRepoKind(url)
  return {url, display: safeUrl(url), kind, oci: kind === 'oci' ? parseOciRepoUrl(url) : undefined}
}

export interface PublishOptions {
  auth?: HelmAuth
  /** Clock for index.yaml `created` / `generated`. */
  now: () => Date
}

/** Publish every chart, one after another; one receipt entry each. */
export async function publishCharts(ctx: PushContext, charts: readonly ChartPlan[], destination: ChartDestination | undefined, opts: PublishOptions): Promise<ReceiptChart[]> {
  if (!destination) {
    if (charts.length > 0) ctx.hooks.onWarning?.(`the bundle holds ${charts.length} chart(s) but no --helm-repo was given; they were not published`)
    return charts.map(({chart}) => receiptChart(chart, 'skipped', {}, 'no --helm-repo given'))
  }
  const publisher = destination.oci ? undefined : (await import('../../helm/publish.js')).openChartPublisher(destination.url, {http: ctx.session.http, auth: opts.auth, now: opts.now})
  const out: ReceiptChart[] = []
  for (const {chart, oci} of charts) {
    const name = `${chart.name}@${chart.version}`
    try {
      if (oci) {
        const dst = repositoryFor(ctx, `${oci.repository}:${oci.tag}`)
        const {stats} = await copy(ctx.reader, chart.digest, dst, oci.tag, {tracker: ctx.tracker, hooks: ctx.hooks, image: `chart ${name}`, signal: ctx.signal})
        addStats(ctx.stats, stats)
        out.push(receiptChart(chart, 'pushed', {ociRef: `oci://${oci.repository}`}))
      } else {
        const {repoUrl} = await publisher!.publish(await chartPackage(ctx.reader, chart, ctx.signal), ctx.signal)
        out.push(receiptChart(chart, 'pushed', {repoUrl}))
      }
      ctx.hooks.onItem?.({kind: 'chart', name, status: 'pushed'})
    } catch (err) {
      out.push(receiptChart(chart, 'failed', {}, itemFailed(ctx, 'chart', name, err)))
    }
  }
  return out
}

/** The chart's .tgz and Chart.yaml metadata from its OCI artifact in the bundle (verified). */
export async function chartPackage(reader: BundleReader, chart: LockChart, signal?: AbortSignal): Promise<ChartPackage> {
  const where = `chart ${chart.name}@${chart.version} in ${reader.location}`
  const desc = await reader.resolve(chart.digest)
  const manifest = await fetchAll(reader, desc, where, undefined, signal)
  const fetchBlob = (d: Descriptor) => fetchAll(reader, d, `${where} layer ${d.digest}`, MAX_CHART_BYTES, signal)
  const tgz = await ociArtifactToChart(manifest, fetchBlob, where)
  const config = await fetchAll(reader, chartLayers(manifest, where).config, `${where} config`, 1024 * 1024, signal)
  const metadata = JSON.parse(config.toString('utf8')) as ChartMetadata
  if (metadata.name !== chart.name || metadata.version !== chart.version) {
    throw new UsageError(`${where}: its Chart.yaml says ${metadata.name}@${metadata.version}`, {hint: 'the bundle lists the chart under another name; pull it again'})
  }
  return {name: chart.name, version: chart.version, tgz, metadata}
}
