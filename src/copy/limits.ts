/**
 * Bounds on what a manifest may declare, checked before anything is fetched or planned for: how
 * deep manifests nest (an index of indexes of …) and how large one blob may say it is. Both guard
 * against hostile or broken sources (a 1,500-deep chain of indexes, a layer that declares 512 TiB
 * and turns into a "not enough disk space" error).
 */
import {IntegrityError, LimitError} from '../errors.js'
import {isIndexMediaType, isManifestMediaType} from '../oci/manifest.js'
import type {Descriptor} from '../oci/types.js'

/** Manifests on one path from the root (the root is level 1). Real images use 2 or 3. */
export const MAX_GRAPH_DEPTH = 16

/** Largest size one blob may declare (1 TiB; the largest real layers are tens of GiB). */
export const MAX_BLOB_BYTES = 2 ** 40

function isManifest(d: Descriptor): boolean {
  return isIndexMediaType(d.mediaType) || isManifestMediaType(d.mediaType)
}

/** `1 TiB`, `512 TiB`, `1.5 GiB`. */
function inUnits(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i]}`
}

/**
 * Check the successors of the manifest `parent`, which sits at `depth` (root = 1): a child manifest
 * may not sit deeper than MAX_GRAPH_DEPTH, a blob may not declare more than MAX_BLOB_BYTES.
 */
export function checkChildren(children: readonly Descriptor[], parent: Descriptor, depth: number): void {
  for (const child of children) {
    if (isManifest(child)) {
      if (depth + 1 > MAX_GRAPH_DEPTH) {
        throw new LimitError(`manifest ${parent.digest} holds manifests nested more than ${MAX_GRAPH_DEPTH} levels deep (indexes within indexes); airgap stops there`, {
          hint: 'no real image nests this deep: the source is malformed or hostile; ask its publisher',
        })
      }
    } else if (child.size > MAX_BLOB_BYTES) {
      const what = /layer/.test(child.mediaType) ? 'layer' : 'blob'
      throw new IntegrityError(`${what} ${child.digest} declares ${child.size} bytes (${inUnits(child.size)}), more than the ${inUnits(MAX_BLOB_BYTES)} airgap accepts for one blob`, {
        hint: 'the manifest is malformed or hostile (no real layer is this large); ask the image publisher',
      })
    }
  }
}
