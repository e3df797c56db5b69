/**
 * Pruning a mirror in two phases (`airgap prune`): the plan is pure and names exactly which
 * manifests (with the tags pointing at them) under the mirror prefix no kept receipt references;
 * the apply phase (src/usecases/prune.ts) deletes exactly those after checking each again.
 *
 * Rules of the plan:
 *  - only repositories under the mirror prefix are looked at (the scan walks only those);
 *  - a manifest is kept when a kept receipt names it in that repository (an image pushed, or an
 *    OCI chart published), and so is every tag pointing at it: a registry deletes a manifest with
 *    all its tags, so a tag no receipt names that shares a kept manifest stays (listed as shared);
 *  - cosign tags of a kept image (`sha256-<hex>.sig`, `.att`, `.sbom`) are kept with it;
 *  - untagged manifests are not listed (the registry's garbage collection removes them).
 */
import {UsageError} from '../errors.js'
import {parseReference} from '../oci/reference.js'
import type {PushReceipt} from './receipt.js'
import {releasesRepository} from './releases.js'

export const PRUNE_PLAN_API_VERSION = 'airgap.dev/v1alpha1'
export const PRUNE_PLAN_KIND = 'PrunePlan'

/** One manifest to delete, with every tag that points at it now. */
export interface PruneDeletion {
  repository: string
  digest: string
  tags: string[]
}

/** A tag no kept receipt names that stays because its manifest is kept. */
export interface PruneShared {
  repository: string
  tag: string
  digest: string
}

export interface PrunePlan {
  apiVersion: typeof PRUNE_PLAN_API_VERSION
  kind: typeof PRUNE_PLAN_KIND
  /** `HOST[:PORT][/PREFIX]` that was scanned. */
  registry: string
  /** The receipts whose content is kept, with the bundle lock each records. */
  keep: Array<{receipt: string; lockDigest: string}>
  deletions: PruneDeletion[]
  shared: PruneShared[]
  /** Tags kept (named by a receipt, or pointing at a kept manifest). */
  keptTags: number
}

/** What the mirror holds under the prefix: repository (path inside the host) -> tag -> digest. */
export type MirrorTags = Readonly<Record<string, Readonly<Record<string, string>>>>

const COSIGN_TAG = /^sha256-([0-9a-f]{64})\.(sig|att|sbom)$/

/** `repository` and digest of every item a receipt says is in the mirror host `host`. */
function keptByReceipt(receipt: PushReceipt, host: string): Array<{repository: string; digest: string}> {
  const out: Array<{repository: string; digest: string}> = []
  for (const image of receipt.images) {
    if (image.status !== 'pushed') continue
    const ref = parseReference(image.mirror)
    if (ref.registry === host) out.push({repository: ref.repository, digest: image.digest})
  }
  for (const chart of receipt.charts) {
    if (chart.status !== 'pushed' || !chart.ociRef) continue
    const ref = parseReference(chart.ociRef.replace(/^oci:\/\//, ''))
    if (ref.registry === host) out.push({repository: ref.repository, digest: chart.digest})
  }
  return out
}

/** The plan; `receipts` are the kept receipts with the file each was read from. */
export function planPrune(input: {registry: {host: string; prefix: string}; receipts: ReadonlyArray<{file: string; receipt: PushReceipt}>; mirror: MirrorTags}): PrunePlan {
  const {host, prefix} = input.registry
  if (input.receipts.length === 0) throw new UsageError('prune needs at least one receipt to keep', {hint: 'pass the receipts of every release the mirror must still serve with --keep-receipts'})
  const kept = new Map<string, Set<string>>()
  for (const {receipt} of input.receipts) {
    for (const k of keptByReceipt(receipt, host)) {
      if (!kept.has(k.repository)) kept.set(k.repository, new Set())
      kept.get(k.repository)!.add(k.digest)
    }
  }
  const under = (repository: string): boolean => prefix === '' || repository === prefix || repository.startsWith(`${prefix}/`)
  const deletions: PruneDeletion[] = []
  const shared: PruneShared[] = []
  let keptTags = 0
  // The release records (releases.ts) stay: later pushes check rollbacks against them.
  const records = releasesRepository(prefix)
  for (const repository of Object.keys(input.mirror).filter((r) => under(r) && r !== records).sort()) {
    const keep = kept.get(repository) ?? new Set<string>()
    const byDigest = new Map<string, string[]>()
    for (const [tag, digest] of Object.entries(input.mirror[repository]!)) {
      const cosign = COSIGN_TAG.exec(tag)
      if (keep.has(digest) || (cosign && keep.has(`sha256:${cosign[1]}`))) {
        keptTags++
        continue
      }
      byDigest.set(digest, [...(byDigest.get(digest) ?? []), tag])
    }
    for (const [digest, tags] of byDigest) deletions.push({repository, digest, tags: tags.sort()})
    // Tags that point at a kept manifest but that no receipt names (another name for it) stay.
    for (const [tag, digest] of Object.entries(input.mirror[repository]!)) {
      if (keep.has(digest) && !isNamedByReceipts(input.receipts, host, repository, tag, digest)) shared.push({repository, tag, digest})
    }
  }
  deletions.sort((a, b) => (a.repository === b.repository ? (a.digest < b.digest ? -1 : 1) : a.repository < b.repository ? -1 : 1))
  return {
    apiVersion: PRUNE_PLAN_API_VERSION,
    kind: PRUNE_PLAN_KIND,
    registry: prefix ? `${host}/${prefix}` : host,
    keep: input.receipts.map(({file, receipt}) => ({receipt: file, lockDigest: receipt.bundle.lockDigest})),
    deletions,
    shared,
    keptTags,
  }
}

/**
 * True when some kept receipt names `repository:tag` itself, not only its digest (a chart is named
 * by its repository and digest: its tag is derived from its version).
 */
function isNamedByReceipts(receipts: ReadonlyArray<{receipt: PushReceipt}>, host: string, repository: string, tag: string, digest: string): boolean {
  if (COSIGN_TAG.test(tag)) return true
  return receipts.some(({receipt}) =>
    receipt.images.some((i) => {
      const ref = parseReference(i.mirror)
      return ref.registry === host && ref.repository === repository && ref.tag === tag
    }) || receipt.charts.some((c) => c.ociRef !== undefined && c.ociRef.replace(/^oci:\/\//, '') === `${host}/${repository}` && c.digest === digest),
  )
}
