/**
 * Node-level mirror configuration, for images no values key can redirect (template literals,
 * Bitnami side images): containerd `hosts.toml` files and a CRI-O/podman `registries.conf`.
 * Both map each SOURCE registry to the mirror with the same layout push used (one rule:
 * src/mirror/mapping.ts mirrorRepository, through relocate.ts mirrorPathFor): the
 * source host is dropped (`docker.io/wandb/local` -> `MIRROR/PREFIX/wandb/local`) unless
 * keepSourceHost kept it (`MIRROR/PREFIX/docker.io/wandb/local`). No credentials are ever written.
 *
 * A registry's images may sit under more than one path: the W&B v2 operator's layout keeps the
 * registry the server manifest names (`MIRROR/PREFIX/docker.io/acme/objstore`) and adds none where
 * it names none (`MIRROR/PREFIX/acme/cloud-cli`). Both files then list one mirror per path, the
 * path with the most images first (mirrorPathsFor); containerd and CRI-O try them in order and go
 * on to the next one when a mirror answers 404.
 *
 * Images the push's path rules renamed (`--max-nested-paths`, `--flatten`: `wandb/local` ->
 * `MIRROR/PREFIX/wandb-local`) do not keep their repository path under any of them. registries.conf
 * maps them one repository each (CRI-O takes the longest matching prefix). containerd's hosts.toml
 * can only redirect a whole registry, never rename a repository: those images are reached by their
 * mirror names (the rewritten values), and the hosts.toml of the mirror host itself tells
 * containerd how to reach it (plain HTTP, CA file). renamedImages() lists them for the callers'
 * checks.
 *
 * TOML is written by hand: the shape is tiny and fixed, and every string goes through tomlString
 * (TOML basic string escaping); no TOML library is installed.
 */
import {parseReference, registryApiHost, repositoryName} from '../oci/reference.js'
import {mirrorLocation, mirrorPathFor} from './relocate.js'
import type {MirroredImage, MirrorMap} from '../mirror/types.js'

export interface HostsOptions {
  /** CA certificate file on the node for the mirror's TLS certificate. */
  caFile?: string
  /** The mirror speaks plain HTTP. */
  plainHttp?: boolean
}

/** The source registries of the map's images, sorted (`docker.io`, `quay.io`, …). */
export function sourceRegistries(map: MirrorMap): string[] {
  return [...new Set(map.images.map((i) => parseReference(i.source).registry))].sort()
}

/** A mirrored image whose mirror repository is not its source repository under the per-registry layout. */
export interface RenamedImage {
  image: MirroredImage
  /** `registry/repository` of the source. */
  sourceRepository: string
  /** `HOST/PATH` in the mirror. */
  mirrorRepository: string
}

/** The images the push's path rules renamed (see the module comment), in map order. */
export function renamedImages(map: MirrorMap): RenamedImage[] {
  return map.images.flatMap((image) => {
    const source = parseReference(image.source)
    if (keptPath(image, map) !== undefined) return []
    return [{image, sourceRepository: `${source.registry}/${source.repository}`, mirrorRepository: repositoryName(parseReference(image.mirror))}]
  })
}

/**
 * The path under the mirror host (inside the map's prefix) below which `image` keeps its source
 * repository path (`''`: at the top), or undefined when it does not (renamed, or on another host).
 */
function keptPath(image: MirroredImage, map: MirrorMap): string | undefined {
  const {host, prefix} = mirrorLocation(map)
  const source = parseReference(image.source)
  const mirror = parseReference(image.mirror)
  if (mirror.registry !== host) return undefined
  if (mirror.repository === source.repository) return prefix === '' ? '' : undefined
  if (!mirror.repository.endsWith(`/${source.repository}`)) return undefined
  const path = mirror.repository.slice(0, -source.repository.length - 1)
  return prefix === '' || path === prefix || path.startsWith(`${prefix}/`) ? path : undefined
}

/**
 * Every path under the mirror host where images of `sourceRegistry` keep their repository path,
 * the one holding most of them first (ties by name), and the push layout's own path
 * (mirrorPathFor) always among them, last when no image uses it.
 */
export function mirrorPathsFor(sourceRegistry: string, map: MirrorMap): string[] {
  const counts = new Map<string, number>()
  for (const image of map.images) {
    if (parseReference(image.source).registry !== sourceRegistry) continue
    const path = keptPath(image, map)
    if (path !== undefined) counts.set(path, (counts.get(path) ?? 0) + 1)
  }
  const ranked = [...counts].sort(([a, x], [b, y]) => y - x || (a < b ? -1 : a > b ? 1 : 0)).map(([path]) => path)
  const own = mirrorPathFor(sourceRegistry, map)
  return ranked.includes(own) ? ranked : [...ranked, own]
}

/**
 * containerd `config_path` tree: `{"docker.io/hosts.toml": "…", …}`, one folder per source registry,
 * to be placed under e.g. /etc/containerd/certs.d; with plainHttp or a CA file also one for the
 * mirror host itself, so that references written with the mirror's name pull too.
 */
export function containerdHostsTree(map: MirrorMap, options: HostsOptions = {}): Record<string, string> {
  const tree: Record<string, string> = {}
  const registries = sourceRegistries(map)
  for (const registry of registries) tree[`${registry}/hosts.toml`] = hostsToml(map, registry, options)
  const {host} = mirrorLocation(map)
  if ((options.plainHttp || options.caFile !== undefined) && !registries.includes(host)) tree[`${host}/hosts.toml`] = mirrorHostToml(host, options)
  return tree
}

/** The hosts.toml of the mirror host itself: how to reach it (scheme, CA file). */
export function mirrorHostToml(host: string, options: HostsOptions): string {
  const url = `${options.plainHttp ? 'http' : 'https'}://${host}`
  const lines = [`# Generated by airgap: reach the mirror ${host} itself (images written with its name).`, `server = ${tomlString(url)}`, '', `[host.${tomlString(url)}]`, '  capabilities = ["pull", "resolve"]']
  if (options.caFile !== undefined && !options.plainHttp) lines.push(`  ca = ${tomlString(options.caFile)}`)
  return `${lines.join('\n')}\n`
}

/** One containerd hosts.toml for images from `sourceRegistry`: one [host] per mirror path, tried in order. */
export function hostsToml(map: MirrorMap, sourceRegistry: string, options: HostsOptions = {}): string {
  const {host} = mirrorLocation(map)
  const paths = mirrorPathsFor(sourceRegistry, map)
  const scheme = options.plainHttp ? 'http' : 'https'
  const where = paths.map((path) => `${host}${path ? `/${path}` : ''}`)
  const lines = [
    `# Generated by airgap: pull ${sourceRegistry} images from the mirror ${where.join(paths.length > 1 ? ', else ' : '')}${paths.length > 1 ? ' (containerd tries each in turn)' : ''}.`,
    `server = ${tomlString(`https://${registryApiHost(sourceRegistry)}`)}`,
  ]
  for (const path of paths) {
    // With a path, override_path makes containerd use the URL as the API root (`…/v2/PREFIX/<repo>/manifests/…`).
    const url = path === '' ? `${scheme}://${host}` : `${scheme}://${host}/v2/${path}`
    lines.push('', `[host.${tomlString(url)}]`, '  capabilities = ["pull", "resolve"]')
    if (path !== '') lines.push('  override_path = true')
    if (options.caFile !== undefined && !options.plainHttp) lines.push(`  ca = ${tomlString(options.caFile)}`)
  }
  return `${lines.join('\n')}\n`
}

export interface RegistriesConfOptions {
  /** The mirror speaks plain HTTP (or has a certificate nodes do not trust): `insecure = true`. */
  plainHttp?: boolean
}

/**
 * containers-registries.conf(5) v2 text (CRI-O, podman): one [[registry]] per source registry with
 * a mirror per path its images keep (tried in order), and one per repository the path rules
 * renamed (the longest prefix wins).
 */
export function registriesConf(map: MirrorMap, options: RegistriesConfOptions = {}): string {
  mirrorLocation(map) // validates the mirror registry even when the map has no images
  const out = ['# Generated by airgap: pull images through the private mirror (containers-registries.conf v2).']
  const entry = (prefix: string, locations: readonly string[]): void => {
    out.push('', '[[registry]]', `prefix = ${tomlString(prefix)}`, `location = ${tomlString(prefix)}`)
    for (const location of locations) {
      out.push('', '[[registry.mirror]]', `location = ${tomlString(location)}`)
      if (options.plainHttp) out.push('insecure = true')
    }
  }
  const {host} = mirrorLocation(map)
  for (const registry of sourceRegistries(map)) entry(registry, mirrorPathsFor(registry, map).map((path) => (path === '' ? host : `${host}/${path}`)))
  const renamed = new Map(renamedImages(map).map((r) => [r.sourceRepository, r.mirrorRepository]))
  for (const [source, mirror] of [...renamed].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) entry(source, [mirror])
  return `${out.join('\n')}\n`
}

/** A TOML basic string: `"…"` with `\\`, `\"` and control characters escaped. */
export function tomlString(s: string): string {
  let out = '"'
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    if (ch === '"') out += '\\"'
    else if (ch === '\\') out += '\\\\'
    else if (ch === '\n') out += '\\n'
    else if (ch === '\t') out += '\\t'
    else if (ch === '\r') out += '\\r'
    else if (c < 0x20 || c === 0x7f) out += `\\u${c.toString(16).toUpperCase().padStart(4, '0')}`
    else out += ch
  }
  return `${out}"`
}
