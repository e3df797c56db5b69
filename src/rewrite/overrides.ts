/**
 * Image overrides for the operator-wandb chart: a values tree that points every values-set image
 * at its mirror, per shape:
 *
 * - repository-tag: `{repository: MIRROR/PREFIX/path, tag}` (+ `digest` when pinning; wandb-base,
 *   prometheus-community and Bitnami render `repo@digest` when a digest is set).
 * - bitnami: `{registry: MIRROR/PREFIX, repository: <source path>, tag}` (+ `digest`). Only the
 *   registry changes, so Bitnami's "substituted image" check sees a relocation, not a replacement.
 * - name-tag: `{name: MIRROR/PREFIX/path, tag}` (+ `digest`); charts such as stakater reloader read
 *   `image.name`, so setting `repository` there would be ignored.
 * - string: the full mirror ref.
 *
 * Global keys, decided here:
 * - `global.repositoryPrefix` is set to "": each repository above is already complete, and wandb-base
 *   would otherwise prefix it a second time (reference §6). Prefixing alone is never relied on.
 * - `global.imageRegistry` is set to the mirror registry only when every Bitnami-shaped image agrees
 *   on it (always true for one push layout). It then also redirects Bitnami side images that have no
 *   values path (os-shell, kubectl, sentinel, exporters), consistent with how push lays them out.
 *   When they disagree it is set to "" so each image's own `registry` wins, and a warning says so.
 */
import type {ImageValueShape, MirrorMap} from '../mirror/types.js'
import {MirrorIndex, mirrorTarget} from './relocate.js'
import type {MirrorTarget} from './relocate.js'

export interface OverrideOptions {
  /** Also set `digest` (or `@digest` in string refs), so nodes pull exactly the mirrored content. */
  pinDigests?: boolean
  /** Name of the top chart whose values the valuesPaths are relative to (default operator-wandb). */
  topChart?: string
}

export interface OverridePlan {
  values: Record<string, unknown>
  warnings: string[]
  /** The valuesPaths that were set, in map order. */
  paths: string[]
}

/** A values tree setting every values-sourced image of the top chart to its mirror. */
export function imageOverrides(map: MirrorMap, options: OverrideOptions = {}): Record<string, unknown> {
  return planImageOverrides(map, options).values
}

/** imageOverrides with the warnings and the list of paths set. */
export function planImageOverrides(map: MirrorMap, options: OverrideOptions = {}): OverridePlan {
  new MirrorIndex(map) // validates every ref of the map up front
  const topChart = options.topChart ?? 'operator-wandb'
  const pin = options.pinDigests ?? false
  const values: Record<string, unknown> = {}
  const warnings: string[] = []
  const paths: string[] = []
  const setBy = new Map<string, string>()
  const bitnamiRegistries = new Set<string>()
  const nameTag: Array<{keys: string[]; target: MirrorTarget}> = []
  let anyRepository = false

  for (const image of map.images) {
    const target = mirrorTarget(image)
    for (const origin of image.origins) {
      if (origin.source !== 'values' || origin.valuesPath === undefined) continue
      if (origin.chart !== topChart && !origin.chart.startsWith(`${topChart}/`)) continue
      const keys = splitValuesPath(origin.valuesPath)
      if (keys === undefined) {
        warnings.push(`${origin.valuesPath}: a values path through a list cannot be overridden safely (the operator concatenates lists); ${image.source} needs a node-level mirror`)
        continue
      }
      const previous = setBy.get(origin.valuesPath)
      if (previous !== undefined) {
        if (previous !== image.source) warnings.push(`${origin.valuesPath}: set by both ${previous} and ${image.source}; kept ${previous}`)
        continue
      }
      setBy.set(origin.valuesPath, image.source)
      const shape = origin.shape ?? 'repository-tag'
      if (shape === 'bitnami') bitnamiRegistries.add(target.bitnami.registry)
      else if (shape === 'repository-tag') anyRepository = true
      else if (shape === 'name-tag') nameTag.push({keys, target})
      setPath(values, keys, shapeValue(shape, target, pin))
      paths.push(origin.valuesPath)
    }
  }

  const global: Record<string, unknown> = {}
  if (anyRepository) global['repositoryPrefix'] = ''
  if (bitnamiRegistries.size === 1) global['imageRegistry'] = [...bitnamiRegistries][0]
  else if (bitnamiRegistries.size > 1) {
    global['imageRegistry'] = ''
    warnings.push(`Bitnami images live under ${bitnamiRegistries.size} mirror registries (${[...bitnamiRegistries].join(', ')}); global.imageRegistry is cleared, so Bitnami side images without a values path (os-shell, kubectl) need a node-level mirror`)
  }
  if (Object.keys(global).length > 0) mergeInto(values, {global})
  if (typeof global['imageRegistry'] === 'string' && global['imageRegistry'] !== '') {
    for (const {keys, target} of nameTag) setPath(values, keys, registryBaseValue(global['imageRegistry'], target, pin))
  }
  return {values, warnings, paths}
}

/** The value to set at an image's values path, for its shape. */
export function shapeValue(shape: ImageValueShape, t: MirrorTarget, pin: boolean): unknown {
  const digest = pin || t.tag === undefined ? {digest: t.digest} : {}
  const tag = t.tag !== undefined ? {tag: t.tag} : {}
  switch (shape) {
    case 'string':
      return pin || t.tag === undefined ? `${t.repository}${t.tag !== undefined ? `:${t.tag}` : ''}@${t.digest}` : `${t.repository}:${t.tag}`
    case 'bitnami':
      return {registry: t.bitnami.registry, repository: t.bitnami.repository, ...tag, ...digest}
    case 'repository-tag':
      return {repository: t.repository, ...tag, ...digest}
    case 'name-tag':
      return {name: t.repository, ...tag, ...digest}
  }
}

/**
 * stakater reloader renders `global.imageRegistry/image.base:image.tag` whenever
 * `global.imageRegistry` is set (its `name` and `digest` are then ignored): `base` is the mirror
 * repository below that registry, and a pinned digest rides in the tag (`v1.3.0@sha256:…`, a
 * valid reference; reloader reads its tag nowhere else). Nothing when the mirror repository is not
 * below the registry: the proof then names the image.
 */
function registryBaseValue(imageRegistry: string, t: MirrorTarget, pin: boolean): Record<string, unknown> {
  if (!t.repository.startsWith(`${imageRegistry}/`)) return {}
  const value: Record<string, unknown> = {base: t.repository.slice(imageRegistry.length + 1)}
  if (t.tag !== undefined) value['tag'] = pin ? `${t.tag}@${t.digest}` : t.tag
  return value
}

/** `a.b-c.image` -> ['a', 'b-c', 'image']; undefined when the path goes through a list index. */
export function splitValuesPath(path: string): string[] | undefined {
  if (/\[\d+\]/.test(path)) return undefined
  return path.split('.').filter((k) => k !== '')
}

function setPath(tree: Record<string, unknown>, keys: string[], value: unknown): void {
  let node = tree
  for (const key of keys.slice(0, -1)) {
    const next = node[key]
    if (!isPlainObject(next)) node[key] = {}
    node = node[key] as Record<string, unknown>
  }
  const last = keys[keys.length - 1]!
  const existing = node[last]
  if (isPlainObject(existing) && isPlainObject(value)) mergeInto(existing, value)
  else node[last] = value
}

/** Deep-merge `src` into `dst`; `src` wins for scalars. */
export function mergeInto(dst: Record<string, unknown>, src: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(src)) {
    const d = dst[k]
    if (isPlainObject(d) && isPlainObject(v)) mergeInto(d, v)
    else dst[k] = isPlainObject(v) ? mergeInto({}, v) : v
  }
  return dst
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
}
