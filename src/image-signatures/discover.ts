/**
 * Upstream signatures, attestations and SBOMs attached to an image (issue 10, `--with-signatures`):
 *
 *  - cosign's tag schema: tags `sha256-<hex>.sig`, `.att`, `.sbom` in the image's repository;
 *  - OCI 1.1 referrers: `GET /v2/<name>/referrers/<digest>`; a 404 means the registry does not
 *    serve the API (distribution 2.8), and the referrers tag schema applies: tag `sha256-<hex>`
 *    holds an index of the referrers.
 *
 * Every artifact found is carried byte for byte (copied by digest like an image).
 */
import {repositoryScope} from '../auth/scope.js'
import {NotFoundError} from '../errors.js'
import {parseDigest} from '../oci/digest.js'
import {parseManifest} from '../oci/manifest.js'
import {MediaType, type Descriptor, type ImageIndex} from '../oci/types.js'
import type {RegistryRepository} from '../registry/index.js'

export type SignatureKind = 'sig' | 'att' | 'sbom' | 'referrer'

/** Cosign tag-schema suffixes, in the order they are looked up. */
export const COSIGN_SUFFIXES = ['sig', 'att', 'sbom'] as const

export interface FoundSignature {
  /** `registry/repository@digest` of the image it is attached to (source names). */
  subject: string
  kind: SignatureKind
  /** The ref.name to store it under: `registry/repository:sha256-<hex>.sig`, or `registry/repository@<digest>` for a referrer. */
  name: string
  /** What to resolve in the repository (a tag or a digest). */
  ref: string
  descriptor: Descriptor
}

/** `sha256-<hex>`: the tag prefix cosign and the referrers tag schema derive from a digest. */
export function digestTag(digest: string): string {
  const {algorithm, hex} = parseDigest(digest)
  return `${algorithm}-${hex}`
}

/**
 * Every signature artifact attached to `digest` in `repo`. `sourceRepository` is the image's
 * source name (`registry/repository`), used for the names in the bundle even when `repo` is a
 * pull-through mirror.
 */
export async function findSignatures(repo: RegistryRepository, sourceRepository: string, digest: string, signal?: AbortSignal): Promise<FoundSignature[]> {
  const subject = `${sourceRepository}@${digest}`
  const tagged = await Promise.all(
    COSIGN_SUFFIXES.map(async (kind): Promise<FoundSignature | undefined> => {
      const tag = `${digestTag(digest)}.${kind}`
      const descriptor = await resolveOptional(repo, tag, signal)
      return descriptor ? {subject, kind, name: `${sourceRepository}:${tag}`, ref: tag, descriptor} : undefined
    }),
  )
  const referrers = (await listReferrers(repo, digest, signal)) ?? (await fallbackReferrers(repo, digest, signal))
  const found = tagged.filter((s): s is FoundSignature => s !== undefined)
  const seen = new Set(found.map((s) => s.descriptor.digest))
  for (const r of referrers) {
    if (seen.has(r.digest)) continue
    seen.add(r.digest)
    found.push({subject, kind: 'referrer', name: `${sourceRepository}@${r.digest}`, ref: r.digest, descriptor: {mediaType: r.mediaType, digest: r.digest, size: r.size}})
  }
  return found
}

/**
 * The referrers of `digest` from the OCI 1.1 referrers API, or undefined when the registry does
 * not serve it (404; distribution 2.8 answers a plain-text 404).
 */
export async function listReferrers(repo: RegistryRepository, digest: string, signal?: AbortSignal): Promise<Descriptor[] | undefined> {
  const ctx = repo.ctx(digest)
  const res = await repo.client.send({
    method: 'GET',
    url: `/v2/${repo.repository}/referrers/${digest}`,
    headers: {accept: MediaType.OciIndex},
    scopes: [repositoryScope(repo.repository, 'pull')],
    ctx,
    signal,
  })
  if (res.status === 404) {
    await res.dump()
    return undefined
  }
  if (res.status !== 200) throw await repo.client.fail(res, ctx, 'list referrers of', `manifest ${digest}`)
  const contentType = (res.header('content-type') ?? '').split(';')[0]!.trim()
  const text = await res.text(4 * 1024 * 1024, 'whole')
  if (contentType !== MediaType.OciIndex) return undefined
  const parsed = parseManifest(Buffer.from(text, 'utf8'), MediaType.OciIndex, `${repo.location} referrers of ${digest}`)
  return parsed.kind === 'index' ? parsed.index.manifests : []
}

/** The referrers listed in the `sha256-<hex>` fallback tag (none when the tag does not exist). */
async function fallbackReferrers(repo: RegistryRepository, digest: string, signal?: AbortSignal): Promise<Descriptor[]> {
  const index = await readFallbackIndex(repo, digest, signal)
  return index?.index.manifests ?? []
}

/** The referrers fallback index of `digest` (tag `sha256-<hex>`) with its descriptor, or undefined. */
export async function readFallbackIndex(repo: RegistryRepository, digest: string, signal?: AbortSignal): Promise<{desc: Descriptor; index: ImageIndex} | undefined> {
  const desc = await resolveOptional(repo, digestTag(digest), signal)
  if (!desc) return undefined
  const bytes = await repo.fetchManifest(desc, signal)
  const parsed = parseManifest(bytes, desc.mediaType, `${repo.location}:${digestTag(digest)}`)
  return parsed.kind === 'index' ? {desc, index: parsed.index} : undefined
}

async function resolveOptional(repo: RegistryRepository, ref: string, signal?: AbortSignal): Promise<Descriptor | undefined> {
  try {
    return await repo.resolve(ref, signal)
  } catch (err) {
    if (err instanceof NotFoundError) return undefined
    throw err
  }
}
