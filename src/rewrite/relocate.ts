/**
 * Relocation rules: how a source image maps to its place in the mirror, and lookups from any
 * written reference (`redis`, `wandb/local:0.62.2`, `quay.io/x@sha256:…`) to its MirroredImage.
 *
 * Layout (push's, src/mirror/mapping.ts): by default the source host is dropped
 * (`docker.io/wandb/local` -> `MIRROR/PREFIX/wandb/local`); with keepSourceHost it is kept
 * (`MIRROR/PREFIX/docker.io/wandb/local`). Docker Hub official images stay under `library/`.
 */
import {UsageError} from '../errors.js'
import {parseReference, repositoryName} from '../oci/reference.js'
import {mirrorRepository, type MirrorRegistry} from '../mirror/mapping.js'
import type {Reference} from '../oci/reference.js'
import type {MirroredImage, MirrorMap} from '../mirror/types.js'

/** The mirror registry split into host[:port] and an optional path prefix (no slashes at the ends); push's MirrorRegistry. */
export type MirrorLocation = MirrorRegistry

/** Split `MirrorMap.registry` (`HOST[:PORT][/PREFIX]`); throws UsageError when empty or malformed. */
export function mirrorLocation(map: Pick<MirrorMap, 'registry'>): MirrorLocation {
  const raw = map.registry.replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '')
  const slash = raw.indexOf('/')
  const host = slash === -1 ? raw : raw.slice(0, slash)
  const prefix = slash === -1 ? '' : raw.slice(slash + 1)
  if (host === '' || /\s/.test(raw) || prefix.split('/').some((c) => prefix !== '' && c === '')) {
    throw new UsageError(`invalid mirror registry "${map.registry}" in the mirror map`, {
      hint: 'write it as HOST[:PORT][/PREFIX], e.g. registry.corp:5000/mirror',
    })
  }
  return {host, prefix}
}

/** `HOST[:PORT][/PREFIX]` without scheme or trailing slash. */
export function mirrorBase(map: Pick<MirrorMap, 'registry'>): string {
  const {host, prefix} = mirrorLocation(map)
  return prefix === '' ? host : `${host}/${prefix}`
}

/**
 * The mirror repository (`MIRROR/PREFIX[/SOURCEHOST]/path`) for a source repository: push's rule
 * (src/mirror/mapping.ts mirrorRepository), the one implementation of the layout.
 */
export function mirrorRepositoryFor(source: Pick<Reference, 'registry' | 'repository'>, map: Pick<MirrorMap, 'registry' | 'keepSourceHost'>): string {
  const location = mirrorLocation(map)
  return `${location.host}/${mirrorRepository(source, location, map.keepSourceHost)}`
}

/**
 * The path inside the mirror host under which a source registry's repositories appear
 * (`PREFIX[/SOURCEHOST]`, '' when images sit at the root): push's rule, via mirrorRepository.
 */
export function mirrorPathFor(sourceRegistry: string, map: Pick<MirrorMap, 'registry' | 'keepSourceHost'>): string {
  return mirrorRepository({registry: sourceRegistry, repository: ''}, mirrorLocation(map), map.keepSourceHost)
}

/** Parse a reference; undefined when it does not parse. */
export function tryParse(ref: string): Reference | undefined {
  try {
    return parseReference(ref)
  } catch {
    return undefined
  }
}

/** True when `ref` (parsed) already points into the mirror registry. */
export function isInMirror(ref: Reference, map: Pick<MirrorMap, 'registry'>): boolean {
  return `${repositoryName(ref)}/`.startsWith(`${mirrorBase(map)}/`)
}

/** A mirrored image split into the pieces the value shapes need. */
export interface MirrorTarget {
  image: MirroredImage
  /** Full mirror repository, no tag: `registry.corp:5000/mirror/wandb/local`. */
  repository: string
  tag: string | undefined
  digest: string
  /** Bitnami split: `registry` + `/` + `path` = repository; path is the source path when the layout keeps it. */
  bitnami: {registry: string; repository: string}
}

/** The mirror ref to write: `repo:tag`, or `repo:tag@digest` when pinning. */
export function targetRef(t: MirrorTarget, pinDigest: boolean): string {
  const tag = t.tag !== undefined ? `:${t.tag}` : ''
  return pinDigest || t.tag === undefined ? `${t.repository}${tag}@${t.digest}` : `${t.repository}${tag}`
}

/** Split a MirroredImage; throws UsageError when its mirror or source ref does not parse. */
export function mirrorTarget(image: MirroredImage): MirrorTarget {
  const source = parseOrThrow(image.source, 'source')
  const mirror = parseOrThrow(image.mirror, 'mirror')
  const repository = repositoryName(mirror)
  const suffix = `/${source.repository}`
  const bitnami = repository.endsWith(suffix)
    ? {registry: repository.slice(0, -suffix.length), repository: source.repository}
    : {registry: mirror.registry, repository: mirror.repository}
  return {image, repository, tag: mirror.tag ?? source.tag, digest: image.digest, bitnami}
}

function parseOrThrow(ref: string, what: string): Reference {
  try {
    return parseReference(ref)
  } catch (err) {
    throw new UsageError(`mirror map: ${what} reference "${ref}" is invalid`, {
      cause: err,
      hint: 'the mirror map comes from the push receipt; re-run push or fix the receipt',
    })
  }
}

/** Outcome of looking a written reference up in the mirror map. */
export type Lookup =
  | {kind: 'mirrored'; target: MirrorTarget}
  | {kind: 'in-mirror'}
  | {kind: 'unresolved'; reason: string}

/** Index of a MirrorMap by normalised source repository. */
export class MirrorIndex {
  private readonly byRepo = new Map<string, MirrorTarget[]>()

  constructor(readonly map: MirrorMap) {
    for (const image of map.images) {
      const target = mirrorTarget(image)
      const key = repositoryName(parseReference(image.source))
      const list = this.byRepo.get(key) ?? []
      list.push(target)
      this.byRepo.set(key, list)
    }
  }

  /**
   * Find the mirror of `ref`. `tagKnown` false means the tag was not written (a values map without
   * `tag`, where the chart picks its default): the repository alone must then identify one image.
   */
  lookup(ref: Reference, tagKnown = true): Lookup {
    if (isInMirror(ref, this.map)) return {kind: 'in-mirror'}
    const candidates = this.byRepo.get(repositoryName(ref)) ?? []
    if (candidates.length === 0) return {kind: 'unresolved', reason: 'repository not in the mirror map'}
    if (ref.digest !== undefined) {
      const hit = candidates.find((c) => c.digest === ref.digest)
      return hit ? {kind: 'mirrored', target: hit} : {kind: 'unresolved', reason: `digest ${ref.digest} not mirrored`}
    }
    if (tagKnown && ref.tag !== undefined) {
      const hit = candidates.find((c) => tagOf(c.image.source) === ref.tag)
      if (hit) return {kind: 'mirrored', target: hit}
      return {kind: 'unresolved', reason: `tag ${ref.tag} not mirrored (mirrored: ${candidates.map((c) => tagOf(c.image.source) ?? c.digest).join(', ')})`}
    }
    if (candidates.length === 1) return {kind: 'mirrored', target: candidates[0]!}
    return {kind: 'unresolved', reason: `no tag written and ${candidates.length} versions are mirrored; set the tag`}
  }
}

function tagOf(source: string): string | undefined {
  return tryParse(source)?.tag
}
