/** Registry target: open a repository from an image reference. */
import {parseReference, type Reference} from '../oci/reference.js'
import {RegistryClient, type RegistryClientOptions} from './client.js'
import type {RegistryRepository, RepositoryOptions} from './repository.js'

export {RegistryClient} from './client.js'
export {nextLink, warningTexts, DEFAULT_CHUNK_SIZE, DEFAULT_CHUNK_THRESHOLD} from './util.js'
export type {RegistryClientOptions, RegistryRequest} from './client.js'
export {RegistryRepository} from './repository.js'
export {StreamSlicer} from './slicer.js'
export {MAX_RESUMES, MANIFEST_ATTEMPTS} from './reads.js'
export {DEFAULT_MAX_PAGES, type PageLimits} from './pages.js'
export type {RepositoryOptions} from './repository.js'
export {parseDistributionErrors, responseError} from './errors.js'

export interface OpenRegistryOptions extends RegistryClientOptions, RepositoryOptions {
  /** Reuse clients (and their token caches) across calls, keyed by registry. */
  clients?: Map<string, RegistryClient>
}

/**
 * Parse `refString` (Docker normalisation: `redis` -> docker.io/library/redis:latest) and open its
 * repository. The API host is derived with registryApiHost (docker.io -> registry-1.docker.io).
 */
export function openRegistryTarget(
  refString: string,
  options: OpenRegistryOptions = {},
): {repository: RegistryRepository; reference: Reference; client: RegistryClient} {
  const reference = parseReference(refString)
  let client = options.clients?.get(reference.registry)
  if (!client) {
    client = new RegistryClient(reference.registry, options)
    options.clients?.set(reference.registry, client)
  }
  const repository = client.repository(reference.repository, options.side ? {side: options.side} : {})
  return {repository, reference, client}
}
