/**
 * `airgap images`: every chart and image a release spec leads to, with where each was found,
 * without pulling any image (only the charts are fetched). The `wsm list` / `zarf dev find-images` job.
 */
import type {Finding} from '../discover/index.js'
import type {ReleaseSpec} from '../release/index.js'
import {fetchCharts} from './pull-charts.js'
import {describeOrigin, discoverRelease} from './pull-images.js'
import {loadReleaseSpec, parseRegistryMirrors, type SpecInput} from './pull-input.js'
import {checkWandbOperator, loadWandbInputs} from './pull-wandb.js'
import {ociPlainHosts} from './pull.js'
import {Session, type ConnectionOptions} from './session.js'

export interface ListImagesOptions extends ConnectionOptions, SpecInput {
  /** Only images of enabled components (default: the spec's includeDisabled). */
  onlyEnabled?: boolean
  /** `SOURCE=MIRROR` pull-through mirrors (used to read the W&B v2 server manifest). */
  registryMirrors?: readonly string[]
  onWarning?: (message: string) => void
}

export interface ImageOrigin {
  chart: string
  valuesPath?: string
  template?: string
  source: Finding['source']
  enabled: boolean
  /** One phrase: `operator-wandb values app.image`. */
  where: string
}

export interface ListedImage {
  reference: string
  enabled: boolean
  origins: ImageOrigin[]
}

export interface ListImagesResult {
  spec: {origin: string; name: string; version?: string}
  charts: Array<{name: string; version: string; source: string; bundleName: string; tgzDigest: string; fetchedDependencies: string[]}>
  images: ListedImage[]
  excluded: string[]
  warnings: string[]
  /** The W&B v2 server manifest read (--wandb-version or the spec's wandb block). */
  serverManifest?: {source: string; digest: string; images: number; requiredOperatorVersion?: string; operatorCheck?: string}
}

/** Load the spec, fetch its charts and list every image with its origins (no image is resolved). */
export async function listImages(opts: ListImagesOptions): Promise<ListImagesResult> {
  const spec: ReleaseSpec = await loadReleaseSpec(opts)
  const warnings: string[] = []
  const warn = (m: string): void => {
    warnings.push(m)
    opts.onWarning?.(m)
  }
  const session = new Session({...opts, plainHttp: [...(opts.plainHttp ?? []), ...ociPlainHosts(spec)]})
  try {
    const mirrors = parseRegistryMirrors(opts.registryMirrors ?? [])
    const wandb = spec.spec.wandb === undefined ? undefined : await loadWandbInputs(spec.spec.wandb, {session, mirrors, signal: opts.signal, warn})
    const charts = await fetchCharts([...spec.spec.charts, ...(wandb?.charts ?? [])], {session, ...(opts.caFiles ? {caFiles: opts.caFiles} : {}), signal: opts.signal})
    const operatorCheck = wandb === undefined ? undefined : checkWandbOperator(wandb, charts)
    const {groups, excluded} = discoverRelease(charts, {
      includeDisabled: spec.spec.includeDisabled && opts.onlyEnabled !== true,
      images: spec.spec.images,
      exclude: spec.spec.exclude,
      findings: wandb?.findings,
      onWarning: warn,
    })
    const serverManifest =
      wandb === undefined
        ? undefined
        : {
            source: wandb.source,
            digest: wandb.manifest.artifact.root.digest,
            images: wandb.manifest.images.length,
            requiredOperatorVersion: wandb.manifest.requiredOperatorVersion,
            operatorCheck: operatorCheck?.note,
          }
    return {
      spec: {origin: spec.origin, name: spec.metadata.name, ...(spec.metadata.version ? {version: spec.metadata.version} : {})},
      charts: charts.map((c) => ({name: c.name, version: c.version, source: c.source, bundleName: c.bundleName, tgzDigest: c.tgzDigest, fetchedDependencies: c.fetchedDependencies})),
      images: groups.map((g) => ({
        reference: g.reference,
        enabled: g.enabled,
        origins: g.origins.map((o) => ({
          chart: o.chart,
          ...(o.valuesPath ? {valuesPath: o.valuesPath} : {}),
          ...(o.template ? {template: o.template} : {}),
          source: o.source,
          enabled: o.enabled,
          where: describeOrigin(o),
        })),
      })),
      excluded,
      warnings,
      serverManifest,
    }
  } finally {
    await session.close()
  }
}
