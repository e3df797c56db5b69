/**
 * Where each bundled image goes in the private registry. Pure: no IO.
 *
 * Default layout drops the source host and keeps the path (`docker.io/wandb/local:0.62.2` ->
 * `HOST/PREFIX/wandb/local:0.62.2`; Docker Hub official images stay under `library/`);
 * `keepSourceHost` inserts it (`HOST/PREFIX/docker.io/wandb/local:0.62.2`). Two different source
 * repositories that would land in the same mirror repository are refused before anything is pushed.
 *
 * Path rules of registries that limit nesting (PathRules: `push --max-nested-paths N`, `--flatten`)
 * shorten that path. N counts the path components of the whole repository name after the mirror
 * host, the prefix (and a kept source host) included, as oc-mirror counts them: in
 * `HOST/pre/wandb/local` there are 3. A longer path keeps its first N-1 components and joins the rest
 * with `-` into the last one (`pre/a/b/c` with N 2 -> `pre/a-b-c`); `--flatten` joins everything
 * below the prefix (`pre/wandb/local` -> `pre/wandb-local`). The prefix is never shortened, so N must
 * be larger than the prefix's own component count.
 */
import {UsageError} from '../errors.js'
import {formatReference, parseReference, repositoryName, type Reference} from '../oci/reference.js'
import {releasesRepository} from './releases.js'

/** The mirror registry split into `host[:port]` and an optional path prefix (no slashes at the ends). */
export interface MirrorRegistry {
  host: string
  prefix: string
}

const HOST = /^(\[[0-9a-fA-F:.]+\]|[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?)(:[0-9]{1,5})?$/
const PATH_COMPONENT = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/

/**
 * Parse `--registry HOST[:PORT][/PREFIX]` (a scheme such as `https://` is tolerated and dropped);
 * `what` names the value in errors.
 */
export function parseMirrorRegistry(input: string, what = '--registry'): MirrorRegistry {
  const raw = input.trim().replace(/^(https?|docker|oci):\/\//i, '').replace(/\/+$/, '')
  const slash = raw.indexOf('/')
  const host = slash === -1 ? raw : raw.slice(0, slash)
  const prefix = slash === -1 ? '' : raw.slice(slash + 1)
  const bad = (why: string): never => {
    throw new UsageError(`invalid ${what} "${input}": ${why}`, {hint: 'write it as HOST[:PORT][/PREFIX], e.g. registry.corp:5000/mirror'})
  }
  if (!HOST.test(host)) bad(`"${host}" is not a host[:port]`)
  if (prefix !== '') {
    for (const c of prefix.split('/')) if (!PATH_COMPONENT.test(c)) bad(`path component "${c}" must be lower-case letters, digits and separators (. _ __ -)`)
  }
  return {host, prefix}
}

/** `HOST[:PORT][/PREFIX]`. */
export function formatMirrorRegistry(r: MirrorRegistry): string {
  return r.prefix ? `${r.host}/${r.prefix}` : r.host
}

/** Path rules of the mirror registry (`push --max-nested-paths N`, `--flatten`); none: paths as long as the layout makes them. */
export interface PathRules {
  /** At most this many path components after the mirror host, the prefix included. */
  maxNestedPaths?: number
  /** Every repository one component below the prefix. */
  flatten?: boolean
}

/** What joins the components a path rule folds into one. */
export const FOLD_SEPARATOR = '-'

/**
 * The mirror repository path (inside the mirror host) of a source repository, shortened by
 * `rules` (call checkPathRules first: a limit the prefix alone reaches throws here).
 */
export function mirrorRepository(source: Pick<Reference, 'registry' | 'repository'>, registry: MirrorRegistry, keepSourceHost: boolean, rules: PathRules = {}): string {
  const path = [registry.prefix, keepSourceHost ? source.registry : '', source.repository].filter((p) => p !== '').join('/')
  return shortenPath(path, registry, rules)
}

/** `path` (prefix first) folded to fit `rules`; the prefix's components are kept as they are. */
export function shortenPath(path: string, registry: MirrorRegistry, rules: PathRules): string {
  const components = path.split('/')
  const prefixCount = prefixComponents(registry)
  let keep = components.length
  if (rules.flatten) keep = Math.min(keep, prefixCount + 1)
  if (rules.maxNestedPaths !== undefined) {
    checkPathRules(registry, rules)
    keep = Math.min(keep, rules.maxNestedPaths)
  }
  if (keep >= components.length) return path
  return [...components.slice(0, keep - 1), components.slice(keep - 1).join(FOLD_SEPARATOR)].join('/')
}

/** Path components of the prefix (`mirror/x` -> 2; no prefix -> 0). */
export function prefixComponents(registry: MirrorRegistry): number {
  return registry.prefix === '' ? 0 : registry.prefix.split('/').length
}

/** Refuse path rules that leave no room below the prefix (UsageError, exit 2). */
export function checkPathRules(registry: MirrorRegistry, rules: PathRules): void {
  const n = rules.maxNestedPaths
  if (n === undefined) return
  const prefixCount = prefixComponents(registry)
  if (!Number.isInteger(n) || n < 1 || n <= prefixCount) {
    throw new UsageError(`--max-nested-paths ${n} leaves no room for images under ${formatMirrorRegistry(registry)}: the count includes the ${prefixCount} component(s) of the prefix "${registry.prefix}"`, {
      hint: `use --max-nested-paths ${prefixCount + 1} or more (each image then gets at least one path component below the prefix), or a shorter --registry prefix`,
    })
  }
}

/** The rules as a phrase for messages (`--max-nested-paths 2 --flatten`), '' without rules. */
export function describePathRules(rules: PathRules): string {
  return [rules.maxNestedPaths !== undefined ? `--max-nested-paths ${rules.maxNestedPaths}` : '', rules.flatten ? '--flatten' : ''].filter((s) => s !== '').join(' ')
}

/** One image's place in the mirror. */
export interface MirrorPlacement {
  /** The full normalised source reference (the lock's `source`). */
  source: string
  /** Full mirror reference: `HOST/PREFIX/path:tag`, or `HOST/PREFIX/path@digest` when the source has no tag. */
  mirror: string
  /** `HOST/PREFIX/path` (no tag). */
  repository: string
  /** Tag to push, or undefined to push by digest only. */
  tag?: string
  digest: string
}

/**
 * Place every image; throws UsageError (before anything is pushed) when two different source
 * repositories map to one mirror repository (naming both), a path rule folds one onto the
 * repository of the release records, or a mirror reference would be invalid.
 */
export function planMirror(
  images: readonly {source: string; digest: string}[],
  registry: MirrorRegistry,
  keepSourceHost: boolean,
  rules: PathRules = {},
): MirrorPlacement[] {
  checkPathRules(registry, rules)
  const owners = new Map<string, string>()
  const clashes: string[] = []
  const reserved = releasesRepository(registry.prefix)
  let registriesDiffer = false
  const placements = images.map((image) => {
    const src = parseReference(image.source)
    const repo = mirrorRepository(src, registry, keepSourceHost, rules)
    if (repo === reserved) clashes.push(`${repositoryName(src)} maps to ${registry.host}/${repo}, where push keeps its release records`)
    const mirrorRef: Reference = {registry: registry.host, repository: repo, ...(src.tag ? {tag: src.tag} : {digest: image.digest})}
    const mirror = formatReference(mirrorRef)
    try {
      parseReference(mirror)
    } catch (err) {
      throw new UsageError(`${image.source} cannot be mirrored as ${mirror}: ${(err as Error).message}`, {
        hint: describePathRules(rules) ? `choose another --registry prefix, or a larger --max-nested-paths` : 'choose another --registry prefix',
        cause: err,
      })
    }
    const sourceRepo = repositoryName(src)
    const owner = owners.get(repo)
    if (owner === undefined) owners.set(repo, sourceRepo)
    else if (owner !== sourceRepo) {
      clashes.push(`${owner} and ${sourceRepo} both map to ${registry.host}/${repo}`)
      if (owner.split('/')[0] !== src.registry) registriesDiffer = true
    }
    const placement: MirrorPlacement = {source: image.source, mirror, repository: `${registry.host}/${repo}`, digest: image.digest}
    if (src.tag) placement.tag = src.tag
    return placement
  })
  if (clashes.length > 0) {
    const rulesText = describePathRules(rules)
    throw new UsageError(`mirror names collide${rulesText ? ` under ${rulesText}` : ''}: ${clashes.join('; ')}; nothing was pushed`, {
      hint: rulesText
        ? `the path rules fold these names into one; raise --max-nested-paths or drop --flatten${keepSourceHost || !registriesDiffer ? '' : ', or add --keep-source-host'}`
        : keepSourceHost
          ? 'the bundle holds the same repository twice; remove one of them from the spec'
          : 'push with --keep-source-host so that every source registry gets its own folder in the mirror',
    })
  }
  return placements
}

/** `oci://HOST/PATH` split into registry host and path (for chart pushes). */
export function parseOciRepoUrl(url: string): MirrorRegistry {
  if (!url.startsWith('oci://')) throw new UsageError(`"${url}" is not an oci:// URL`, {hint: 'write it as oci://HOST[:PORT]/PATH'})
  return parseMirrorRegistry(url.slice('oci://'.length))
}
