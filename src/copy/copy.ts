/** copy(): resolve a reference, optionally narrow an index to some platforms, copy the graph, tag. */
import {Readable} from 'node:stream'
import {NotFoundError} from '../errors.js'
import {isLocated, isReferencePusher, type ReadOnlyStorage, type ReadOnlyTarget, type Target} from '../content/types.js'
import {digestOf} from '../oci/digest.js'
import {isIndexMediaType, parseManifest} from '../oci/manifest.js'
import {formatPlatform, platformMatches} from '../oci/platform.js'
import type {Descriptor, Platform} from '../oci/types.js'
import {CopyError} from './errors.js'
import {copyGraph, loadManifest, locationOf} from './graph.js'
import {CopyTracker} from './tracker.js'
import type {CopyOptions, CopyStats} from './types.js'

export interface CopyResult {
  /** The root that was copied and tagged (a new index when a platform filter dropped children). */
  descriptor: Descriptor
  stats: CopyStats
}

/**
 * Copy the image (or index, or artifact) `srcRef` of `src` to `dst` and tag it `dstRef` there
 * (an empty `dstRef` copies without tagging). With `opts.platforms`, an index keeps only the
 * matching children: a new index is written when some were dropped, the original bytes and digest
 * are kept when all match. Fails with NotFoundError when no child matches.
 */
export async function copy(
  src: ReadOnlyTarget,
  srcRef: string,
  dst: Target,
  dstRef: string,
  opts: CopyOptions = {},
): Promise<CopyResult> {
  const tracker = opts.tracker ?? new CopyTracker(trackerOptions(opts))
  const image = opts.image ?? srcRef
  const signal = opts.signal
  const resolved = plainDescriptor(await resolveSource(src, srcRef, image, signal))

  let root = resolved
  let source: ReadOnlyStorage = src
  if (opts.platforms?.length && isIndexMediaType(resolved.mediaType)) {
    const bytes = await loadManifest(src, resolved, tracker, {signal, image})
    const narrowed = narrowIndex(bytes, resolved, opts.platforms, `${image} at ${locationOf(src)}`)
    if (narrowed) {
      root = narrowed.descriptor
      tracker.cache.set(root.digest, narrowed.bytes)
      source = withExtraManifest(src, root, narrowed.bytes)
    }
  }

  const stats = await copyGraph(source, dst, root, {...opts, tracker, image})
  if (dstRef !== '') await tagRoot(source, dst, root, dstRef, tracker, image, signal)
  return {descriptor: root, stats}
}

function trackerOptions(opts: CopyOptions): {concurrency?: number; maxMetadataBytes?: number} {
  const o: {concurrency?: number; maxMetadataBytes?: number} = {}
  if (opts.concurrency !== undefined) o.concurrency = opts.concurrency
  if (opts.maxMetadataBytes !== undefined) o.maxMetadataBytes = opts.maxMetadataBytes
  return o
}

async function resolveSource(src: ReadOnlyTarget, ref: string, image: string, signal?: AbortSignal): Promise<Descriptor> {
  try {
    return await src.resolve(ref, signal)
  } catch (err) {
    if (signal?.aborted) throw signal.reason
    throw new CopyError({op: 'resolve', side: 'source', image, location: locationOf(src)}, err)
  }
}

/** Just what identifies the content (annotations such as ref.name belong to the source's index). */
function plainDescriptor(d: Descriptor): Descriptor {
  return {
    mediaType: d.mediaType,
    digest: d.digest,
    size: d.size,
    ...(d.artifactType === undefined ? {} : {artifactType: d.artifactType}),
  }
}

/** Tag the root: one PUT by tag on registries (ReferencePusher), `tag()` elsewhere. */
async function tagRoot(
  src: ReadOnlyStorage,
  dst: Target,
  root: Descriptor,
  ref: string,
  tracker: CopyTracker,
  image: string,
  signal?: AbortSignal,
): Promise<void> {
  if (tracker.knownTagged(dst, ref, root.digest)) return
  const bytes = isReferencePusher(dst) ? await loadManifest(src, root, tracker, {signal, image}) : undefined
  try {
    if (bytes && isReferencePusher(dst)) await dst.pushReference(root, Readable.from(bytes), ref, signal)
    else await dst.tag(root, ref, signal)
  } catch (err) {
    if (signal?.aborted) throw signal.reason
    throw new CopyError(
      {op: 'tag', side: 'destination', digest: root.digest, mediaType: root.mediaType, image: `${image} -> ${ref}`, location: locationOf(dst)},
      err,
    )
  }
}

/** Docker's attestation manifests point at the image they describe; keep them with it. */
const REFERENCE_TYPE = 'vnd.docker.reference.type'
const REFERENCE_DIGEST = 'vnd.docker.reference.digest'

/**
 * Keep only the index children that match one of `platforms` (plus attestation manifests of kept
 * children). Returns undefined when every child is kept (the original index is used unchanged),
 * otherwise the bytes and descriptor of a new index that differs only in its `manifests` list.
 */
export function narrowIndex(
  bytes: Buffer,
  desc: Descriptor,
  platforms: readonly Platform[],
  where: string,
): {descriptor: Descriptor; bytes: Buffer} | undefined {
  const parsed = parseManifest(bytes, desc.mediaType, where)
  if (parsed.kind !== 'index') return undefined
  const children = parsed.index.manifests
  const matches = (d: Descriptor): boolean => platforms.some((p) => platformMatches(p, d.platform))
  const keptDigests = new Set(children.filter(matches).map((d) => d.digest))
  if (keptDigests.size === 0) {
    const available = [...new Set(children.flatMap((d) => (d.platform ? [formatPlatform(d.platform)] : [])))]
    throw new NotFoundError(
      `${where} has no manifest for platform ${platforms.map(formatPlatform).join(', ')}; it has ${available.join(', ') || 'no platform-specific manifests'}`,
      {hint: `choose among the available platforms (${available.join(', ')}) or drop the platform filter`},
    )
  }
  const keep = (d: Descriptor): boolean =>
    keptDigests.has(d.digest) ||
    (d.annotations?.[REFERENCE_TYPE] === 'attestation-manifest' && keptDigests.has(d.annotations[REFERENCE_DIGEST] ?? ''))
  const keepIndexes = children.map(keep)
  if (keepIndexes.every(Boolean)) return undefined

  // Filter the raw JSON so that fields we do not model are kept as they were.
  const raw = JSON.parse(bytes.toString('utf8')) as {manifests: unknown[]}
  raw.manifests = raw.manifests.filter((_, i) => keepIndexes[i])
  const out = Buffer.from(JSON.stringify(raw), 'utf8')
  return {
    bytes: out,
    descriptor: {
      mediaType: desc.mediaType,
      digest: digestOf(out, desc.digest.startsWith('sha512:') ? 'sha512' : 'sha256'),
      size: out.length,
      ...(desc.artifactType === undefined ? {} : {artifactType: desc.artifactType}),
    },
  }
}

/** `src`, plus one manifest that exists only in memory (a narrowed index). */
function withExtraManifest(src: ReadOnlyStorage, desc: Descriptor, bytes: Buffer): ReadOnlyStorage {
  const isExtra = (d: Descriptor): boolean => d.digest === desc.digest
  return {
    ...(isLocated(src) ? {location: src.location} : {}),
    fetch: (d, signal) => (isExtra(d) ? Promise.resolve(Readable.from(bytes)) : src.fetch(d, signal)),
    exists: (d, signal) => (isExtra(d) ? Promise.resolve(true) : src.exists(d, signal)),
  }
}
