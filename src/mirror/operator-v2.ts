/**
 * Where the W&B v2 operator looks for images in a mirror, and so where `push` must put them. Pure.
 *
 * The operator does not substitute registries, it PREPENDS one (`ImageRef.GetImage`): a manifest
 * image `{registry: R, repository: P}` is pulled as `IMAGE_REGISTRY/R/P`, and one with a blank
 * registry as `IMAGE_REGISTRY/P`; then `@digest` when the entry pins one, else `:tag`. With
 * `spec.global.imageRegistry = HOST/PREFIX` every manifest image must therefore be at
 * `HOST/PREFIX/<the manifest's literal registry/repository>`: `docker.io/acme/objstore` keeps its
 * `docker.io/`, a blank-registry `acme/cloud-cli` gets no host, and an older entry with the host in
 * `repository` keeps that host as a path component. The manifest itself goes to
 * `HOST/PREFIX/wandb/server-manifest:<version>` (where the operator's default
 * `manifestRepository` points) at its own digest, unchanged.
 *
 * Every placement is checked before anything is written: each mirror reference must be valid,
 * and two different sources must not land in one repository, nor one tag on two digests (also
 * against placements `push` makes for other images in the same mirror).
 */
import {UsageError} from '../errors.js'
import {formatReference, isValidTag, NAME_TOTAL_LENGTH_MAX, parseReference, repositoryName} from '../oci/reference.js'
import {formatMirrorRegistry, type MirrorPlacement, type MirrorRegistry} from './mapping.js'

/** Path of the manifest under the image registry (the operator's ManifestRepositorySuffix). */
export const V2_MANIFEST_PATH = 'wandb/server-manifest'

const PATH_COMPONENT = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*$/

/** One manifest image to place. */
export interface V2ImageInput {
  /** Full normalised source reference (the bundle lock's `source`). */
  source: string
  /** Digest the image was pinned to. */
  digest: string
  /** The manifest's literal `registry/repository` (or `repository` when registry is blank). */
  operatorPath: string
  /** The entry's tag ('' when it pins only a digest). */
  tag: string
  /** The entry's digest ('' when it names a tag). */
  pinnedDigest: string
  /** Manifest keys naming it, for messages. */
  keys: readonly string[]
}

export interface V2Placement extends MirrorPlacement {
  /** Manifest keys this placement serves (empty for the manifest itself). */
  keys: string[]
}

export interface V2MirrorPlan {
  /** `HOST[:PORT][/PREFIX]`: `spec.global.imageRegistry`. */
  imageRegistry: string
  /** `oci://HOST[:PORT][/PREFIX]/wandb/server-manifest`: `spec.wandb.manifestRepository`. */
  manifestRepository: string
  manifest: V2Placement
  /** One placement per mirror reference (entries naming the same image share one). */
  images: V2Placement[]
}

export interface V2MirrorInput {
  registry: MirrorRegistry
  /** The W&B server version: the manifest's tag. */
  version: string
  /** The manifest as pulled: full source reference and root digest. */
  manifest: {source: string; digest: string}
  images: readonly V2ImageInput[]
  /** Placements of other images pushed into the same mirror (checked for collisions). */
  others?: readonly MirrorPlacement[]
}

/** Place the manifest and every image it names; throws UsageError naming every conflict. */
export function planV2Mirror(input: V2MirrorInput): V2MirrorPlan {
  const {registry, version} = input
  const imageRegistry = formatMirrorRegistry(registry)
  if (!isValidTag(version)) {
    throw new UsageError(`server version "${version}" cannot be the manifest's tag in the mirror`, {hint: 'give the W&B server version, e.g. 0.99.0'})
  }
  const problems: string[] = []
  const owners = new Map<string, {source: string; what: string}>()
  const tags = new Map<string, {digest: string; what: string}>()
  const claim = (p: MirrorPlacement, what: string): void => {
    const sourceRepo = repositoryName(parseReference(p.source))
    const owner = owners.get(p.repository)
    if (owner === undefined) owners.set(p.repository, {source: sourceRepo, what})
    else if (owner.source !== sourceRepo) problems.push(`${owner.what} (${owner.source}) and ${what} (${sourceRepo}) both need ${p.repository}`)
    if (p.tag === undefined) return
    const at = `${p.repository}:${p.tag}`
    const tagged = tags.get(at)
    if (tagged === undefined) tags.set(at, {digest: p.digest, what})
    else if (tagged.digest !== p.digest) problems.push(`${tagged.what} and ${what} both need ${at}, at ${tagged.digest} and ${p.digest}`)
  }
  for (const other of input.others ?? []) claim(other, other.source)

  const manifest = place(registry, V2_MANIFEST_PATH, version, input.manifest.digest, input.manifest.source, [], problems, 'the server manifest')
  claim(manifest, 'the server manifest')

  const byMirror = new Map<string, V2Placement>()
  for (const image of input.images) {
    const what = `manifest image ${image.keys.join(', ') || image.source}`
    const tag = image.tag !== '' ? image.tag : image.pinnedDigest === '' ? 'latest' : undefined
    const placement = place(registry, image.operatorPath, tag, image.digest, image.source, [...image.keys], problems, what)
    const same = byMirror.get(placement.mirror)
    if (same !== undefined && same.digest === placement.digest) {
      same.keys.push(...image.keys.filter((k) => !same.keys.includes(k)))
      continue
    }
    claim(placement, what)
    byMirror.set(placement.mirror, placement)
  }
  if (problems.length > 0) {
    throw new UsageError(`the v2 mirror layout does not work for this bundle: ${problems.join('; ')}`, {
      hint: 'the operator pulls IMAGE_REGISTRY/<registry>/<repository> as the manifest writes them; choose another --registry prefix, or push the conflicting images to another mirror',
    })
  }
  const images = [...byMirror.values()].sort((a, b) => (a.mirror < b.mirror ? -1 : a.mirror > b.mirror ? 1 : 0))
  return {imageRegistry, manifestRepository: `oci://${imageRegistry}/${V2_MANIFEST_PATH}`, manifest, images}
}

function place(registry: MirrorRegistry, path: string, tag: string | undefined, digest: string, source: string, keys: string[], problems: string[], what: string): V2Placement {
  const repo = [registry.prefix, path].filter((p) => p !== '').join('/')
  const repository = `${registry.host}/${repo}`
  const mirror = tag !== undefined ? `${repository}:${tag}` : `${repository}@${digest}`
  const bad = path.split('/').filter((c) => !PATH_COMPONENT.test(c))
  if (bad.length > 0) problems.push(`${what}: the operator would pull ${mirror}, but ${bad.map((c) => `"${c}"`).join(', ')} cannot be a repository path component`)
  else if (repository.length > NAME_TOTAL_LENGTH_MAX) problems.push(`${what}: ${repository} is longer than ${NAME_TOTAL_LENGTH_MAX} characters`)
  else {
    try {
      const parsed = parseReference(mirror)
      if (parsed.registry !== registry.host || parsed.repository !== repo) problems.push(`${what}: ${mirror} would be read as ${formatReference(parsed)}`)
    } catch (err) {
      problems.push(`${what}: ${(err as Error).message}`)
    }
  }
  const placement: V2Placement = {source, mirror, repository, digest, keys}
  if (tag !== undefined) placement.tag = tag
  return placement
}
