/**
 * Image references, parsed and normalised exactly like Docker and containerd
 * (distribution/reference `ParseNormalizedNamed`):
 *
 *   [HOST[:PORT]/]PATH[:TAG][@DIGEST]
 *
 * - The first path component is a registry host when it contains `.` or `:`, is `localhost`, or
 *   has upper-case letters; otherwise the registry is Docker Hub (`docker.io`).
 * - `index.docker.io` becomes `docker.io`; a one-component Docker Hub name gets `library/`.
 * - The tag defaults to `latest` only when neither tag nor digest is given; tag and digest together
 *   are both kept.
 */
import {InvalidReferenceError} from '../errors.js'
import {digestProblem} from './digest.js'

export interface Reference {
  /** Registry host[:port] as written (Docker Hub normalised to `docker.io`). */
  registry: string
  /** Repository path, e.g. `library/redis`. */
  repository: string
  tag?: string
  digest?: string
}

export const DOCKER_HUB = 'docker.io'
const LEGACY_DOCKER_HUB = 'index.docker.io'
const DOCKER_HUB_API = 'registry-1.docker.io'
export const DEFAULT_TAG = 'latest'
/** Longest `registry/repository` accepted (distribution's NameTotalLengthMax). */
export const NAME_TOTAL_LENGTH_MAX = 255

const TAG = /^[\w][\w.-]{0,127}$/
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*$/
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])'
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`)
const HEX64 = /^[a-f0-9]{64}$/

/** True when `t` is a valid tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`. */
/** What isValidTag accepts, as a JSON Schema `pattern`. */
export const TAG_PATTERN = TAG.source

export function isValidTag(t: string): boolean {
  return typeof t === 'string' && TAG.test(t)
}

/** Parse and normalise an image reference; throws InvalidReferenceError saying the specific reason. */
export function parseReference(input: string): Reference {
  const fail = (reason: string): never => {
    throw new InvalidReferenceError(String(input), reason)
  }
  if (typeof input !== 'string' || input === '') return fail('reference is empty')
  if (/\s/.test(input)) return fail('reference must not contain white space')

  let rest = input
  let digest: string | undefined
  const at = rest.indexOf('@')
  if (at !== -1) {
    digest = rest.slice(at + 1)
    rest = rest.slice(0, at)
    if (digest === '') return fail("'@' must be followed by a digest such as sha256:<64 hex>")
    if (digest.includes('@')) return fail("only one '@' is allowed")
    const problem = digestProblem(digest)
    if (problem !== undefined) return fail(`invalid digest "${digest}": ${problem}`)
    if (rest === '') return fail("repository name is missing before '@'")
  }

  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (tag === '') return fail("tag after ':' is empty")
    if (tag.length > 128) return fail(`tag is longer than 128 characters (${tag.length})`)
    if (!TAG.test(tag)) return fail(`tag "${tag}" must match [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`)
  }

  const {registry, repository} = splitName(rest, fail)
  const ref: Reference = {registry, repository}
  if (tag !== undefined) ref.tag = tag
  if (digest !== undefined) ref.digest = digest
  if (tag === undefined && digest === undefined) ref.tag = DEFAULT_TAG
  return ref
}

/**
 * Parse a repository name without tag or digest (`redis`, `host:5000/ns/app`) into its normalised
 * registry and repository. Throws InvalidReferenceError.
 */
export function parseRepository(name: string): {registry: string; repository: string} {
  const fail = (reason: string): never => {
    throw new InvalidReferenceError(String(name), reason)
  }
  if (typeof name !== 'string' || name === '') return fail('repository name is empty')
  if (/\s/.test(name)) return fail('repository name must not contain white space')
  if (name.includes('@')) return fail('a repository name takes no digest')
  if (name.lastIndexOf(':') > name.lastIndexOf('/')) return fail('a repository name takes no tag')
  return splitName(name, fail)
}

function splitName(name: string, fail: (reason: string) => never): {registry: string; repository: string} {
  if (name === '') return fail('repository name is empty')
  if (HEX64.test(name)) return fail('repository name must not be a 64-character hexadecimal string (did you mean a digest?)')
  const slash = name.indexOf('/')
  let registry = DOCKER_HUB
  let repository = name
  if (slash !== -1) {
    const first = name.slice(0, slash)
    if (/[.:]/.test(first) || first === 'localhost' || first !== first.toLowerCase()) {
      registry = first
      repository = name.slice(slash + 1)
    }
  }
  if (registry === '') return fail('registry host is empty')
  if (!DOMAIN.test(registry)) return fail(`registry host "${registry}" is invalid`)
  if (registry === LEGACY_DOCKER_HUB) registry = DOCKER_HUB
  if (repository === '') return fail('repository name is missing after the registry host')
  if (repository !== repository.toLowerCase()) return fail(`repository name "${repository}" must be lowercase`)
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`
  for (const component of repository.split('/')) {
    if (component === '') return fail(`repository "${repository}" has an empty path component`)
    if (!PATH_COMPONENT.test(component)) {
      return fail(
        `repository path component "${component}" is invalid (use a-z, 0-9, separated by '.', '_', '__' or '-')`,
      )
    }
  }
  const full = `${registry}/${repository}`
  if (full.length > NAME_TOTAL_LENGTH_MAX) {
    return fail(`repository name is longer than ${NAME_TOTAL_LENGTH_MAX} characters (${full.length})`)
  }
  return {registry, repository}
}

/** `registry/repository[:tag][@digest]`. */
export function formatReference(r: Reference): string {
  return `${repositoryName(r)}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`
}

/** `registry/repository`. */
export function repositoryName(r: Pick<Reference, 'registry' | 'repository'>): string {
  return `${r.registry}/${r.repository}`
}

/**
 * The short form Docker prints: `docker.io/library/redis:latest` -> `redis:latest`,
 * `docker.io/wandb/local` -> `wandb/local`; other registries unchanged.
 */
export function familiarName(r: Reference): string {
  let name = repositoryName(r)
  if (r.registry === DOCKER_HUB) {
    name = r.repository.startsWith('library/') && r.repository.split('/').length === 2 ? r.repository.slice(8) : r.repository
  }
  return `${name}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`
}

/** The host that serves the registry API: `docker.io` -> `registry-1.docker.io`; others unchanged. */
export function registryApiHost(registry: string): string {
  return registry === DOCKER_HUB || registry === LEGACY_DOCKER_HUB ? DOCKER_HUB_API : registry
}

/** A copy of `r` pointing at `digest` (the tag is kept, as Docker does for `name:tag@digest`). */
export function withDigest(r: Reference, digest: string): Reference {
  return {...r, digest}
}
