/**
 * Repository naming for `airgap serve`. index.json names content with full references
 * (`docker.io/wandb/local:0.62.2`); the server offers each one under two repository names:
 *
 * - the long name with the source host kept: `docker.io/wandb/local`;
 * - the short name with the host dropped, as `airgap push` lays content out by default:
 *   `wandb/local`. containerd, pulling through a mirror, asks for the short name and says which
 *   host it means with `?ns=docker.io`.
 *
 * Names without a host (`ns/app:1`, as pushed into a writable layout) have only the one name.
 * Ref names that are not references (a bare `latest`, as `skopeo copy oci:dir:latest` writes) are
 * not served under any repository.
 *
 * The rule when several repositories answer to one name (`docker.io/acme/app` and
 * `quay.io/acme/app` both to `acme/app`; or a host-less `acme/app` next to them): the name stands
 * for the one that index.json names FIRST. `?ns=<host>` chooses that host's repository instead
 * (and never another host's). Since a layout keeps each ref name where it first appeared (a new
 * tag is appended, a re-tag replaces in place) and pushes through a name go to the repository the
 * name stands for, a later push can add names but never take one away or change what it stands
 * for: no name that answered before turns "ambiguous" or unknown.
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

/** One repository as index.json names it. */
interface Repository {
  /** `host/path`, or `path` for a host-less name: what ref names of it start with. */
  full: string
  host: string | undefined
  tags: Map<string, string>
}

export type RepoLookup =
  | {
      kind: 'found'
      /** The repository's full name (`docker.io/acme/app`, or `ns/app` when host-less). */
      repository: string
      tags: TagMap
    }
  | {kind: 'unknown'}

/** The repositories a store offers, built from its ref names (in index.json order). */
export class Catalog {
  private readonly byFull = new Map<string, Repository>()
  /** Every name served -> the repositories answering to it, in order of first appearance. */
  private readonly byName = new Map<string, Repository[]>()

  constructor(refNames: Iterable<string>) {
    for (const name of refNames) {
      const split = splitRefName(name)
      if (!split) continue
      const full = split.host === undefined ? split.path : `${split.host}/${split.path}`
      let repo = this.byFull.get(full)
      if (!repo) {
        repo = {full, host: split.host, tags: new Map()}
        this.byFull.set(full, repo)
        this.answer(full, repo)
        if (split.host !== undefined) this.answer(split.path, repo)
      }
      if (!repo.tags.has(split.tag)) repo.tags.set(split.tag, name)
    }
  }

  /** Every repository name served, sorted. */
  names(): string[] {
    return [...this.byName.keys()].sort()
  }

  /**
   * The repository `name` stands for: the first in index.json order among those answering to it.
   * `ns` (containerd's source host) picks that host's repository, else only a repository named
   * exactly `name`; a mirror asking for one host never gets another host's content.
   */
  lookup(name: string, ns?: string): RepoLookup {
    const repos = this.candidates(name, ns)
    const repo = repos[0]
    return repo ? {kind: 'found', repository: repo.full, tags: repo.tags} : {kind: 'unknown'}
  }

  /** Full names of the other repositories answering to `name` that hold `tag` (for a 404's hint). */
  elsewhere(name: string, tag: string, ns?: string): string[] {
    const [chosen] = this.candidates(name, ns)
    return (this.byName.get(name) ?? []).filter((r) => r !== chosen && r.tags.has(tag)).map((r) => r.full)
  }

  private candidates(name: string, ns: string | undefined): Repository[] {
    const repos = this.byName.get(name) ?? []
    if (ns === undefined || ns === '') return repos
    const fromHost = repos.filter((r) => r.host === ns && r.full === `${ns}/${name}`)
    return fromHost.length > 0 ? fromHost : repos.filter((r) => r.full === name)
  }

  private answer(name: string, repo: Repository): void {
    const list = this.byName.get(name)
    if (list) list.push(repo)
    else this.byName.set(name, [repo])
  }
}
