/**
 * The planned archive of a bundle: `oci-layout` first, then every blob sorted by digest at a fixed
 * offset, then the metadata (whose sizes are known only at finish). Pure: no IO.
 *
 * The plan hash covers the format, the epoch and every (digest, size): a resumed write keeps the
 * blobs of an interrupted one only when both planned the same archive.
 */
import {createHash} from 'node:crypto'
import {IntegrityError} from '../errors.js'
import type {Descriptor} from '../oci/types.js'
import {OCI_LAYOUT_BYTES, assertStorable, blobEntryName} from './layout.js'
import {END_OF_ARCHIVE, entrySpan} from './tar.js'

const FORMAT = 'airgap-bundle-v1'

/** One blob's place in the archive. */
export interface PlannedBlob {
  desc: Descriptor
  name: string
  /** Offset of the tar header; data follows at offset + 512. */
  offset: number
}

/** The planned archive: blob offsets and where the metadata starts. */
export interface BundlePlan {
  blobs: ReadonlyMap<string, PlannedBlob>
  /** Offset where the first metadata entry (index.json) goes. */
  metadataOffset: number
  /** sha256 over format, epoch and (digest, size) of every blob. */
  hash: string
}

/** Plan the layout: oci-layout first, then blobs sorted by digest, each at a fixed offset. */
export function planBundle(descriptors: readonly Descriptor[], epoch: number): BundlePlan {
  const byDigest = new Map<string, Descriptor>()
  for (const d of descriptors) {
    assertStorable(d, 'bundle plan')
    const prev = byDigest.get(d.digest)
    if (prev && prev.size !== d.size) {
      throw new IntegrityError(`bundle plan: ${d.digest} is listed with two sizes (${prev.size} and ${d.size})`, {
        hint: 'a manifest in the source declares a wrong size for this blob',
      })
    }
    byDigest.set(d.digest, d)
  }
  const sorted = [...byDigest.values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0))
  const blobs = new Map<string, PlannedBlob>()
  let offset = entrySpan(OCI_LAYOUT_BYTES.length)
  for (const desc of sorted) {
    blobs.set(desc.digest, {desc, name: blobEntryName(desc.digest), offset})
    offset += entrySpan(desc.size)
  }
  const hash = createHash('sha256')
    .update(JSON.stringify({format: FORMAT, epoch, blobs: sorted.map((d) => [d.digest, d.size])}))
    .digest('hex')
  return {blobs, metadataOffset: offset, hash: `sha256:${hash}`}
}

/** Exact size of the finished bundle, for a disk-space preflight. */
export function planBundleSize(descriptors: readonly Descriptor[], metadataSizes: readonly number[]): number {
  const plan = planBundle(descriptors, 0)
  return plan.metadataOffset + metadataSizes.reduce((sum, n) => sum + entrySpan(n), 0) + END_OF_ARCHIVE
}
