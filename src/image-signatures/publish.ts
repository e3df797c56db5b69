/**
 * Push carried signatures into the mirror (issue 10): each artifact goes to the mirror repository
 * of its image, byte for byte. Cosign tag-schema artifacts keep their tag (`sha256-<hex>.sig`…),
 * so `cosign verify` against the mirror finds them. Referrers are pushed by digest (their
 * `subject` links them); when the mirror does not serve the referrers API (distribution 2.8), the
 * `sha256-<hex>` fallback tag index is read (404 = empty), extended and pushed back.
 */
import {Readable} from 'node:stream'
import type {ReadOnlyTarget} from '../content/types.js'
import {fetchAll} from '../content/verify.js'
import {copy, type CopyHooks, type CopyStats, type CopyTracker} from '../copy/index.js'
import {digestOf} from '../oci/digest.js'
import {parseManifest} from '../oci/manifest.js'
import {MediaType, type Descriptor, type ImageIndex} from '../oci/types.js'
import {parseReference} from '../oci/reference.js'
import type {RegistryRepository} from '../registry/index.js'
import {digestTag, listReferrers, readFallbackIndex, type SignatureKind} from './discover.js'

export interface CarriedSignature {
  subject: string
  ref: string
  digest: string
  mediaType: string
  size: number
  kind: SignatureKind
}

export interface SignaturePushResult {
  ref: string
  kind: SignatureKind
  /** Mirror reference it was pushed as. */
  mirror: string
  status: 'pushed' | 'failed'
  error?: string
}

export interface PushSignaturesOptions {
  /** Where the signatures are read from (the bundle). */
  source: ReadOnlyTarget
  signatures: readonly CarriedSignature[]
  /** The mirror repository for a source repository name (`registry/repository`). */
  repositoryFor(sourceRepository: string): RegistryRepository
  tracker: CopyTracker
  hooks?: CopyHooks
  signal?: AbortSignal
  /** Called with the stats of every copy. */
  onStats?(stats: CopyStats): void
}

/** Push every signature; failures are returned per item (and never stop the others). */
export async function pushSignatures(opts: PushSignaturesOptions): Promise<SignaturePushResult[]> {
  const results: SignaturePushResult[] = []
  const referrers = new Map<string, {repo: RegistryRepository; subjectDigest: string; entries: Descriptor[]}>()
  for (const sig of opts.signatures) {
    const source = parseReference(sig.ref)
    const repo = opts.repositoryFor(`${source.registry}/${source.repository}`)
    const tag = sig.kind === 'referrer' ? '' : (source.tag ?? '')
    const mirror = `${repo.registryHost}/${repo.repository}${tag ? `:${tag}` : `@${sig.digest}`}`
    try {
      const {stats} = await copy(opts.source, sig.digest, repo, tag, {
        tracker: opts.tracker,
        hooks: opts.hooks,
        image: sig.ref,
        signal: opts.signal,
      })
      opts.onStats?.(stats)
      if (sig.kind === 'referrer') {
        const subjectDigest = sig.subject.slice(sig.subject.indexOf('@') + 1)
        const key = `${repo.registryHost}/${repo.repository}@${subjectDigest}`
        const group = referrers.get(key) ?? {repo, subjectDigest, entries: []}
        group.entries.push(await referrerDescriptor(opts.source, sig, opts.signal))
        referrers.set(key, group)
      }
      results.push({ref: sig.ref, kind: sig.kind, mirror, status: 'pushed'})
    } catch (err) {
      if (opts.signal?.aborted) throw err
      results.push({ref: sig.ref, kind: sig.kind, mirror, status: 'failed', error: (err as Error).message.split('\n')[0]!})
    }
  }
  for (const {repo, subjectDigest, entries} of referrers.values()) {
    try {
      await updateFallbackIndex(repo, subjectDigest, entries, opts.signal)
    } catch (err) {
      if (opts.signal?.aborted) throw err
      const message = (err as Error).message.split('\n')[0]!
      for (const r of results) {
        if (r.kind === 'referrer' && entries.some((e) => r.mirror.endsWith(`@${e.digest}`))) Object.assign(r, {status: 'failed', error: `referrers tag ${digestTag(subjectDigest)}: ${message}`})
      }
    }
  }
  return results
}

/** The descriptor a referrers list holds for an artifact: media type, digest, size, artifactType, annotations. */
async function referrerDescriptor(source: ReadOnlyTarget, sig: CarriedSignature, signal?: AbortSignal): Promise<Descriptor> {
  const desc: Descriptor = {mediaType: sig.mediaType, digest: sig.digest, size: sig.size}
  const bytes = await fetchAll(source, desc, sig.ref, undefined, signal)
  const parsed = parseManifest(bytes, sig.mediaType, sig.ref)
  const body = parsed.kind === 'index' ? parsed.index : parsed.manifest
  const artifactType = body.artifactType ?? (parsed.kind === 'manifest' ? parsed.manifest.config.mediaType : undefined)
  return {...desc, ...(artifactType ? {artifactType} : {}), ...(body.annotations ? {annotations: body.annotations} : {})}
}

/**
 * Referrers tag schema: unless the mirror serves the referrers API, add `entries` to the index
 * tagged `sha256-<hex>` (created when absent). Racy by design of the schema; re-read just before.
 */
export async function updateFallbackIndex(repo: RegistryRepository, subjectDigest: string, entries: readonly Descriptor[], signal?: AbortSignal): Promise<boolean> {
  if ((await listReferrers(repo, subjectDigest, signal)) !== undefined) return false
  const existing = await readFallbackIndex(repo, subjectDigest, signal)
  const index: ImageIndex = existing?.index ?? {schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: []}
  const known = new Set(index.manifests.map((m) => m.digest))
  const added = entries.filter((e) => !known.has(e.digest))
  if (added.length === 0) return false
  const next: ImageIndex = {...index, mediaType: MediaType.OciIndex, manifests: [...index.manifests, ...added]}
  const bytes = Buffer.from(JSON.stringify(next))
  const desc: Descriptor = {mediaType: MediaType.OciIndex, digest: digestOf(bytes), size: bytes.length}
  await repo.pushReference(desc, Readable.from([bytes]), digestTag(subjectDigest), signal)
  return true
}
