/**
 * Where each bundled image goes in the private registry. Pure: no IO.
 *
 * Default layout drops the source host and keeps the path (`docker.io/wandb/local:0.62.2` ->
 * `HOST/PREFIX/wandb/local:0.62.2`; Docker Hub official images stay under `library/`);
 * `keepSourceHost` inserts it (`HOST/PREFIX/docker.io/wandb/local:0.62.2`). Two different source
 * repositories that would land in the same mirror repository are refused before anything is pushed.
 */
import {UsageError} from '../errors.js'
import {formatReference, parseReference, repositoryName, type Reference} from '../oci/reference.js'

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

/** The mirror repository path (inside the mirror host) of a source repository. */
export function mirrorRepository(source: Pick<Reference, 'registry' | 'repository'>, registry: MirrorRegistry, keepSourceHost: boolean): string {
  return [registry.prefix, keepSourceHost ? source.registry : '', source.repository].filter((p) => p !== '').join('/')
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
 * repositories map to one mirror repository, or a mirror reference would be invalid.
 */
export function planMirror(
  images: readonly {source: string; digest: string}[],
  registry: MirrorRegistry,
  keepSourceHost: boolean,
): MirrorPlacement[] {
  const owners = new Map<string, string>()
  const clashes: string[] = []
  const placements = images.map((image) => {
    const src = parseReference(image.source)
    const repo = mirrorRepository(src, registry, keepSourceHost)
    const mirrorRef: Reference = {registry: registry.host, repository: repo, ...(src.tag ? {tag: src.tag} : {digest: image.digest})}
    const mirror = formatReference(mirrorRef)
    try {
      parseReference(mirror)
    } catch (err) {
      throw new UsageError(`${image.source} cannot be mirrored as ${mirror}: ${(err as Error).message}`, {
        hint: 'choose another --registry prefix',
        cause: err,
      })
    }
    const sourceRepo = repositoryName(src)
    const owner = owners.get(repo)
    if (owner === undefined) owners.set(repo, sourceRepo)
    else if (owner !== sourceRepo) clashes.push(`${owner} and ${sourceRepo} both map to ${registry.host}/${repo}`)
    const placement: MirrorPlacement = {source: image.source, mirror, repository: `${registry.host}/${repo}`, digest: image.digest}
    if (src.tag) placement.tag = src.tag
    return placement
  })
  if (clashes.length > 0) {
    throw new UsageError(`mirror names collide: ${clashes.join('; ')}`, {
      hint: keepSourceHost
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
