/**
 * planCopy(): what copy() would transfer, without transferring anything. Resolves the reference,
 * narrows an index to the wanted platforms exactly as copy() does (same bytes, same digest), and
 * walks the manifests (fetched once, through the tracker's cache and limiter) to list every node
 * of the graph with its size. A writer that must know all content up front (the bundle) plans
 * first, then runs copy() with the same tracker: manifests are not fetched twice.
 */
import type {ReadOnlyTarget} from '../content/types.js'
import {isIndexMediaType, parseManifest, successors} from '../oci/manifest.js'
import {formatPlatform} from '../oci/platform.js'
import type {Descriptor, Platform} from '../oci/types.js'
import {narrowIndex} from './copy.js'
import {CopyError} from './errors.js'
import {isManifestDescriptor, loadManifest, locationOf} from './graph.js'
import {checkChildren} from './limits.js'
import {CopyTracker} from './tracker.js'

export interface PlanOptions {
  /** Keep only these platforms of an index, as copy() does. Empty or absent: all. */
  platforms?: readonly Platform[]
  /** Share with the copy() calls that follow (manifest cache, limiter). */
  tracker?: CopyTracker
  signal?: AbortSignal
  /** Name of the image, for error messages. */
  image?: string
}

export interface CopyPlan {
  /** What `ref` resolved to in the source (pass its digest to copy() to copy exactly this). */
  resolved: Descriptor
  /** The root copy() will store: `resolved`, or the narrowed index. */
  root: Descriptor
  /** Every node of the graph (root included), each digest once, manifests before their children. */
  nodes: Descriptor[]
  /** Platforms of the index children kept (`os/arch[/variant]`), in index order; empty for a non-index. */
  platforms: string[]
}

/** Plan the copy of `ref` from `src`: resolve, narrow to platforms, list every node. */
export async function planCopy(src: ReadOnlyTarget, ref: string, opts: PlanOptions = {}): Promise<CopyPlan> {
  const tracker = opts.tracker ?? new CopyTracker()
  const image = opts.image ?? ref
  const signal = opts.signal
  let resolvedRaw: Descriptor
  try {
    resolvedRaw = await src.resolve(ref, signal)
  } catch (err) {
    if (signal?.aborted) throw signal.reason
    throw new CopyError({op: 'resolve', side: 'source', image, location: locationOf(src)}, err)
  }
  const resolved: Descriptor = {
    mediaType: resolvedRaw.mediaType,
    digest: resolvedRaw.digest,
    size: resolvedRaw.size,
    ...(resolvedRaw.artifactType === undefined ? {} : {artifactType: resolvedRaw.artifactType}),
  }
  let root = resolved
  let rootBytes: Buffer | undefined
  if (isManifestDescriptor(resolved)) {
    rootBytes = await loadManifest(src, resolved, tracker, {signal, image})
    if (opts.platforms?.length && isIndexMediaType(resolved.mediaType)) {
      const narrowed = narrowIndex(rootBytes, resolved, opts.platforms, `${image} at ${locationOf(src)}`)
      if (narrowed) {
        root = narrowed.descriptor
        rootBytes = narrowed.bytes
        tracker.cache.set(root.digest, rootBytes)
      }
    }
  }
  const nodes = await walk(src, root, rootBytes, tracker, signal, image)
  return {resolved, root, nodes, platforms: rootBytes ? indexPlatforms(rootBytes, root, image) : []}
}

/** Breadth-first over the graph; each level's manifests are fetched in parallel (bounded by the tracker). */
async function walk(
  src: ReadOnlyTarget,
  root: Descriptor,
  rootBytes: Buffer | undefined,
  tracker: CopyTracker,
  signal: AbortSignal | undefined,
  image: string,
): Promise<Descriptor[]> {
  const seen = new Map<string, Descriptor>([[root.digest, root]])
  let level: Array<{desc: Descriptor; bytes?: Buffer}> = [rootBytes ? {desc: root, bytes: rootBytes} : {desc: root}]
  for (let depth = 1; level.length > 0; depth++) {
    const children = await Promise.all(
      level.map(async ({desc, bytes}) => {
        if (!isManifestDescriptor(desc)) return []
        const body = bytes ?? (await loadManifest(src, desc, tracker, {signal, image}))
        try {
          const found = successors(body, desc)
          checkChildren(found, desc, depth)
          return found
        } catch (err) {
          throw new CopyError({op: 'parse', side: 'source', digest: desc.digest, mediaType: desc.mediaType, image, location: locationOf(src)}, err)
        }
      }),
    )
    level = []
    for (const child of children.flat()) {
      if (seen.has(child.digest)) continue
      seen.set(child.digest, child)
      level.push({desc: child})
    }
  }
  return [...seen.values()]
}

function indexPlatforms(bytes: Buffer, desc: Descriptor, image: string): string[] {
  if (!isIndexMediaType(desc.mediaType)) return []
  const parsed = parseManifest(bytes, desc.mediaType, image)
  if (parsed.kind !== 'index') return []
  return parsed.index.manifests.flatMap((m) => (m.platform && m.platform.os !== 'unknown' ? [formatPlatform(m.platform)] : []))
}
