/**
 * `airgap pull --with-signatures`: for every resolved image, the cosign signatures, attestations
 * and SBOMs (tag schema) and the OCI 1.1 referrers of its digest, read from the same repository
 * the image is read from, as extra bundle inputs (stored under their own ref.name and listed in
 * the lock's `signatures`).
 */
import pLimit from 'p-limit'
import {repositoryName} from '../oci/reference.js'
import {findSignatures} from '../image-signatures/discover.js'
import {RegistryRepository} from '../registry/index.js'
import type {BundleSignatureInput} from './write-bundle.js'
import type {ResolvedImage} from './pull-images.js'

/** Signature artifacts of every resolved image, each once (images sharing a digest share them). */
export async function pullSignatures(resolved: readonly ResolvedImage[], signal?: AbortSignal, concurrency = 8): Promise<BundleSignatureInput[]> {
  const limit = pLimit(concurrency)
  const seen = new Set<string>()
  const subjects = resolved.filter((r) => {
    const key = `${repositoryName(r.reference)}@${r.descriptor.digest}`
    if (seen.has(key) || !(r.source instanceof RegistryRepository)) return false
    seen.add(key)
    return true
  })
  const found = await Promise.all(
    subjects.map((r) => limit(() => findSignatures(r.source as RegistryRepository, repositoryName(r.reference), r.descriptor.digest, signal).then((list) => ({r, list})))),
  )
  const names = new Set<string>()
  const out: BundleSignatureInput[] = []
  for (const {r, list} of found) {
    for (const s of list) {
      if (names.has(s.name)) continue
      names.add(s.name)
      out.push({source: r.source, ref: s.descriptor.digest, name: s.name, signature: {subject: s.subject, kind: s.kind}})
    }
  }
  return out
}
