/**
 * `airgap images`: every chart and image a release spec leads to, with where each was found,
 * without pulling any image (only the charts are fetched). The `wsm list` / `zarf dev find-images`
 * job. `why` explains one image: every origin, and which render found it.
 */
import type {Finding, ImageGroup, RenderedOrigin} from '../discover/index.js'
import {NotFoundError, UsageError} from '../errors.js'
import {parseReference, type Reference} from '../oci/reference.js'
import type {ReleaseSpec} from '../release/index.js'
import {fetchCharts} from './pull-charts.js'
import {describeOrigin, discoverRelease, type ChartRenders} from './pull-images.js'
import {loadReleaseSpec, parseRegistryMirrors, type SpecInput} from './pull-input.js'
import {checkWandbOperator, loadWandbInputs} from './pull-wandb.js'
import {ociPlainHosts} from './pull.js'
import {Session, type ConnectionOptions} from './session.js'

export interface ListImagesOptions extends ConnectionOptions, SpecInput {
  /** Only images of enabled components (default: the spec's includeDisabled). */
  onlyEnabled?: boolean
  /** Leave out images that only `helm test` hooks run. */
  skipTestImages?: boolean
  /** Explain this image (a reference; without a tag, every tag of the repository). */
  why?: string
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
  /** What the values alone read when the rendered templates run another tag (`2.10.0` for `v2.10.0`). */
  valuesWalkReference?: string
  /** For a rendered image: object, container, test hook, the renders that found it. */
  rendered?: RenderedOrigin
  /** One phrase: `operator-wandb values app.image`. */
  where: string
}

export interface ListedImage {
  reference: string
  enabled: boolean
  /** Only `helm test` hooks run it. */
  testOnly: boolean
  origins: ImageOrigin[]
}

export interface ImageExplanation extends ListedImage {
  /** What the pull does with it. */
  verdict: 'carried' | 'excluded by the spec' | 'left out: helm test only'
}

export interface ListImagesResult {
  spec: {origin: string; name: string; version?: string}
  charts: Array<{name: string; version: string; source: string; bundleName: string; tgzDigest: string; fetchedDependencies: string[]}>
  images: ListedImage[]
  excluded: string[]
  /** Left out because only `helm test` hooks run them (skipTestImages). */
  testOnlySkipped: string[]
  /** Each chart's renders: variants (values as given, disabled components on, fallbacks), objects, failed files. */
  renders: ChartRenders[]
  /** With `why`: every image that matches it. */
  why?: ImageExplanation[]
  warnings: string[]
  /** The W&B v2 server manifest read (--wandb-version or the spec's wandb block). */
  serverManifest?: {source: string; digest: string; images: number; requiredOperatorVersion?: string; operatorCheck?: string}
}

/** Load the spec, fetch its charts and list every image with its origins (no image is resolved). */
export async function listImages(opts: ListImagesOptions): Promise<ListImagesResult> {
  const wanted = opts.why === undefined ? undefined : whyMatcher(opts.why)
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
    const charts = await fetchCharts([...spec.spec.charts, ...(wandb?.charts ?? [])], {session, caFiles: opts.caFiles, signal: opts.signal})
    const operatorCheck = wandb === undefined ? undefined : checkWandbOperator(wandb, charts)
    const discovered = discoverRelease(charts, {
      includeDisabled: spec.spec.includeDisabled && opts.onlyEnabled !== true,
      images: spec.spec.images,
      exclude: spec.spec.exclude,
      skipTestImages: opts.skipTestImages === true,
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
    const result: ListImagesResult = {
      spec: {origin: spec.origin, name: spec.metadata.name, ...(spec.metadata.version ? {version: spec.metadata.version} : {})},
      charts: charts.map((c) => ({name: c.name, version: c.version, source: c.source, bundleName: c.bundleName, tgzDigest: c.tgzDigest, fetchedDependencies: c.fetchedDependencies})),
      images: discovered.groups.map(listed),
      excluded: discovered.excluded,
      testOnlySkipped: discovered.testOnlySkipped,
      renders: discovered.renders,
      warnings,
      serverManifest,
    }
    if (wanted) {
      const matches = discovered.all.filter((g) => wanted.matches(g.reference))
      if (matches.length === 0) {
        throw new NotFoundError(`${wanted.text} is not an image of ${spec.metadata.name} (${spec.origin}): no values path, template or rendered object of its charts names it`, {
          hint: `run ${opts.spec ? `airgap images ${opts.spec}` : 'airgap images'} to list them; without a tag, --why matches every tag, without a registry every registry`,
        })
      }
      result.why = matches.map((g) => ({
        ...listed(g),
        verdict: discovered.excluded.includes(g.reference) ? 'excluded by the spec' : discovered.testOnlySkipped.includes(g.reference) ? 'left out: helm test only' : 'carried',
      }))
    }
    return result
  } finally {
    await session.close()
  }
}

function listed(g: ImageGroup): ListedImage {
  return {reference: g.reference, enabled: g.enabled, testOnly: g.testOnly, origins: g.origins.map(originOf)}
}

function originOf(o: Finding): ImageOrigin {
  const origin: ImageOrigin = {chart: o.chart, source: o.source, enabled: o.enabled, where: describeOrigin(o)}
  if (o.valuesPath !== undefined) origin.valuesPath = o.valuesPath
  if (o.template !== undefined) origin.template = o.template
  if (o.rendered !== undefined) origin.rendered = o.rendered
  if (o.valuesWalkReference !== undefined) origin.valuesWalkReference = o.valuesWalkReference
  return origin
}

/**
 * `wandb/local:0.74.1` matches that image; `wandb/local` every tag and digest of the repository.
 * Without a registry (`kube-state-metrics/kube-state-metrics`), any registry matches: Docker Hub
 * is only what the name means when pulled, not necessarily what the user is asking about; one
 * name alone (`redis-exporter`) matches the last segment of any repository.
 */
export function whyMatcher(text: string): {text: string; matches: (reference: string) => boolean} {
  const trimmed = text.trim()
  let ref
  try {
    ref = parseReference(trimmed)
  } catch (err) {
    throw new UsageError(`--why ${text}: not an image reference (${(err as Error).message})`, {hint: 'give a reference such as wandb/local:0.74.1 or docker.io/library/busybox'})
  }
  const lastSegment = trimmed.slice(trimmed.lastIndexOf('/') + 1)
  const anyTag = !lastSegment.includes(':') && !lastSegment.includes('@')
  const first = trimmed.split('/')[0]!
  const anyRegistry = !trimmed.includes('/') || !(first.includes('.') || first.includes(':') || first === 'localhost')
  // One name (`redis-exporter`) matches the last segment of any repository; more, the whole path.
  const path = (r: Reference): string => (trimmed.includes('/') ? r.repository.replace(/^library\//, '') : r.repository.slice(r.repository.lastIndexOf('/') + 1))
  return {
    text,
    matches: (reference) => {
      const candidate = parseReference(reference)
      if (anyRegistry ? path(candidate) !== path(ref) : candidate.registry !== ref.registry || candidate.repository !== ref.repository) return false
      return anyTag || (candidate.tag === ref.tag && candidate.digest === ref.digest)
    },
  }
}
