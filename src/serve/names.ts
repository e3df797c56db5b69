/**
 * Repository naming for `airgap serve`. index.json names content with full references
 * (`docker.io/wandb/local:0.62.2`); the server offers each one under two repository names:
 *
 * - the long name with the source host kept: `docker.io/wandb/local`;
 * - the short name with the host dropped, as `airgap push` lays content out by default:
 *   `wandb/local`. containerd, pulling through a mirror, asks for the short name and says which
 *   host it means with `?ns=docker.io`.
 *
 * When two source hosts give the same short name (`docker.io/acme/app` and `quay.io/acme/app`),
 * the short name is ambiguous: `?ns=` chooses, and without it the request is refused naming both.
 * Names without a host (`ns/app:1`, as pushed into a writable layout) have only the one name.
 * Ref names that are not references (a bare `latest`, as `skopeo copy oci:dir:latest` writes) are
 * not served under any repository.
 */

/** A ref.name split into host (when the first component is one), path and tag. */
export interface SplitName {
  host?: string
  path: string
  tag: string
}

/** Split `host/path:tag`; undefined when the name has no repository or no tag (or only a digest). */
export function splitRefName(name: string): SplitName | undefined {
  if (name.includes('@')) return undefined
  const slash = name.lastIndexOf('/')
  const colon = name.lastIndexOf(':')
  if (colon <= slash || colon === name.length - 1) return undefined
  const repo = name.slice(0, colon)
  const tag = name.slice(colon + 1)
  const first = repo.split('/', 1)[0]!
  const isHost = repo.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')
  if (!isHost) return {path: repo, tag}
  return {host: first, path: repo.slice(first.length + 1), tag}
}

/** Tags of one (source) repository: tag -> the ref.name in index.json. */
export type TagMap = ReadonlyMap<string, string>

export type RepoLookup =
  | {kind: 'found'; tags: TagMap}
  | {kind: 'unknown'}
  | {kind: 'ambiguous'; hosts: string[]}

/** The repositories a store offers, built from its ref names. */
export class Catalog {
  /** Long names (`docker.io/wandb/local`) and host-less names (`ns/app`). */
  private readonly exact = new Map<string, Map<string, string>>()
  /** Short names by source host. */
  private readonly short = new Map<string, Map<string, Map<string, string>>>()

  constructor(refNames: Iterable<string>) {
    for (const name of refNames) {
      const split = splitRefName(name)
      if (!split) continue
      if (split.host === undefined) {
        add(this.exact, split.path, split.tag, name)
        continue
      }
      add(this.exact, `${split.host}/${split.path}`, split.tag, name)
      const byHost = this.short.get(split.path) ?? new Map<string, Map<string, string>>()
      this.short.set(split.path, byHost)
      add(byHost, split.host, split.tag, name)
    }
  }

  /** Every repository name served, sorted. */
  names(): string[] {
    return [...new Set([...this.exact.keys(), ...this.short.keys()])].sort()
  }

  /**
   * Find repository `name`. A long or host-less name is exact. A short name matches the source
   * repositories of that path; `ns` (containerd's source host) narrows them to that host.
   */
  lookup(name: string, ns?: string): RepoLookup {
    const byHost = this.short.get(name)
    const exact = this.exact.get(name)
    if (!byHost) return exact ? {kind: 'found', tags: exact} : {kind: 'unknown'}
    const hosts = [...byHost.keys()].sort()
    if (ns !== undefined && ns !== '') {
      const chosen = byHost.get(ns)
      if (chosen) return {kind: 'found', tags: chosen}
      return exact ? {kind: 'found', tags: exact} : {kind: 'unknown'}
    }
    if (hosts.length === 1 && !exact) return {kind: 'found', tags: byHost.get(hosts[0]!)!}
    return {kind: 'ambiguous', hosts: exact ? [...hosts, '(no host)'] : hosts}
  }
}

function add(map: Map<string, Map<string, string>>, key: string, tag: string, name: string): void {
  const tags = map.get(key) ?? new Map<string, string>()
  map.set(key, tags)
  if (!tags.has(tag)) tags.set(tag, name)
}
