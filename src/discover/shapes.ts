/**
 * Image-shaped values. Under a key named `image` or `…Image`:
 * - `{repository, tag?, digest?}` (tag may be a number; W&B, prometheus-community, most charts),
 * - Bitnami `{registry, repository, tag, digest}` (`global.imageRegistry` replaces the registry in
 *   charts that follow the Bitnami convention),
 * - `{name, tag?, digest?}` (stakater reloader; `name` is a repository path or a full reference),
 * - a reference string.
 * An empty tag defaults to the chart's appVersion when the templates do that, else `latest`.
 */
import type {LoadedChart} from '../helm/types.js'
import {formatReference, parseReference} from '../oci/reference.js'
import type {ImageShape} from './types.js'
import type {Values} from './values.js'
import {getPath, isMap} from './values.js'

export interface ImageSite {
  /** Keys within the chart's own values. */
  keys: Array<string | number>
  value: unknown
}

export interface ResolvedImage {
  reference: string
  shape: ImageShape
}

/** True for keys that hold an image: `image`, `initImage`, `sidecarImage`… */
export function isImageKey(key: string): boolean {
  return key === 'image' || /[a-z0-9]Image$/.test(key)
}

/** Every `image`-keyed value in a values tree, skipping the given top-level keys. */
export function imageSites(values: Values, skipTop: ReadonlySet<string>): ImageSite[] {
  const out: ImageSite[] = []
  const walk = (node: unknown, keys: Array<string | number>): void => {
    if (Array.isArray(node)) {
      node.forEach((item, i) => walk(item, [...keys, i]))
      return
    }
    if (!isMap(node)) return
    for (const [key, value] of Object.entries(node)) {
      if (keys.length === 0 && skipTop.has(key)) continue
      if (isImageKey(key) && (typeof value === 'string' || isMap(value))) out.push({keys: [...keys, key], value})
      else walk(value, [...keys, key])
    }
  }
  walk(values, [])
  return out
}

export interface ChartConventions {
  /** The chart fills an empty image tag with .Chart.AppVersion. */
  appVersionTag: boolean
  /** The chart follows Bitnami's `global.imageRegistry` convention. */
  globalRegistry: boolean
  appVersion?: string
}

/** What a chart's templates and defaults say about image defaults. */
export function conventionsOf(chart: LoadedChart): ChartConventions {
  const texts = allTemplateTexts(chart)
  const out: ChartConventions = {
    appVersionTag: texts.some(mentionsAppVersionNearImage),
    globalRegistry: (isMap(chart.values.global) && 'imageRegistry' in chart.values.global) || texts.some((t) => /global\.imageRegistry/.test(t)),
  }
  if (chart.metadata.appVersion !== undefined && chart.metadata.appVersion !== null) out.appVersion = String(chart.metadata.appVersion)
  return out
}

/** Template texts of a chart and its library subcharts (e.g. Bitnami `common`). */
function allTemplateTexts(chart: LoadedChart): string[] {
  const texts = [...chart.templates.values()]
  for (const sub of chart.subcharts) if (sub.metadata.type === 'library') texts.push(...allTemplateTexts(sub))
  return texts
}

function mentionsAppVersionNearImage(text: string): boolean {
  const lines = text.split('\n')
  return lines.some((line, i) => {
    if (!line.includes('.Chart.AppVersion')) return false
    const near = lines.slice(Math.max(0, i - 3), i + 4).join('\n')
    return /image|\.tag\b/i.test(near)
  })
}

/** Resolve an image-shaped value to a normalised reference; undefined when it is not one (or templated). */
export function resolveImage(value: unknown, chartValues: Values, conv: ChartConventions): ResolvedImage | {problem: string} | undefined {
  if (typeof value === 'string') {
    const s = value.trim()
    if (s === '' || s.includes('{{')) return undefined
    return normalise(s, 'string')
  }
  if (!isMap(value)) return undefined
  const shape = mapShape(value)
  if (shape === undefined) return undefined
  const repoField = (shape === 'name-tag' ? value.name : value.repository) as string
  if (repoField.includes('{{')) return {problem: `templated repository "${repoField}"`}
  const bitnami = shape === 'bitnami'
  let registry = bitnami && typeof value.registry === 'string' ? value.registry.trim() : ''
  const globalRegistry = getPath(chartValues, ['global', 'imageRegistry'])
  if (bitnami && conv.globalRegistry && typeof globalRegistry === 'string' && globalRegistry.trim() !== '') registry = globalRegistry.trim()
  let repository = repoField.trim()
  if (registry !== '') repository = `${registry.replace(/\/+$/, '')}/${repository}`
  const digest = typeof value.digest === 'string' && value.digest.trim() !== '' ? value.digest.trim() : undefined
  let tag = typeof value.tag === 'number' ? String(value.tag) : typeof value.tag === 'string' ? value.tag.trim() : ''
  if (tag.includes('{{')) return {problem: `templated tag "${tag}"`}
  const hasOwnTag = repository.lastIndexOf(':') > repository.lastIndexOf('/')
  if (tag === '' && digest === undefined && !hasOwnTag) tag = conv.appVersionTag && conv.appVersion ? conv.appVersion : 'latest'
  const text = `${repository}${tag !== '' && !hasOwnTag ? `:${tag}` : ''}${digest !== undefined ? `@${digest}` : ''}`
  return normalise(text, shape)
}

/**
 * The shape of an image map: a non-empty `repository` makes it `repository-tag` (`bitnami` with a
 * `registry` key); without `repository`, a non-empty `name` makes it `name-tag` when the map has a
 * `tag` or `digest` key or the name carries its own tag or digest (`{name: ghcr.io/x/y, tag: v1}`).
 */
export function mapShape(value: Record<string, unknown>): 'repository-tag' | 'bitnami' | 'name-tag' | undefined {
  if (typeof value.repository === 'string') {
    if (value.repository.trim() === '') return undefined
    return 'registry' in value ? 'bitnami' : 'repository-tag'
  }
  if ('repository' in value || typeof value.name !== 'string' || value.name.trim() === '') return undefined
  const name = value.name.trim()
  const ownTagOrDigest = name.includes('@') || name.lastIndexOf(':') > name.lastIndexOf('/')
  return 'tag' in value || 'digest' in value || ownTagOrDigest ? 'name-tag' : undefined
}

function normalise(text: string, shape: ImageShape): ResolvedImage | {problem: string} {
  try {
    return {reference: formatReference(parseReference(text)), shape}
  } catch (err) {
    return {problem: (err as Error).message}
  }
}
