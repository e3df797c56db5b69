/**
 * Push of a bundle that carries a W&B v2 server manifest (issue 17): the v2 operator PREPENDS
 * `spec.global.imageRegistry` to each manifest image's `registry/repository`, so every image the
 * manifest names goes to MIRROR/<its literal registry/repository> (src/mirror/operator-v2.ts), the
 * manifest itself to MIRROR/wandb/server-manifest:<version> at its own digest; every other image
 * (the operator chart's) keeps the usual layout. The manifest is read again from the bundle (the
 * verified reader), and the whole layout is planned, collisions refused, before anything is written.
 *
 * The result feeds the ordinary push: `images` (the lock's images, a manifest image once per place
 * it must be, then the manifest artifact) and `placements` aligned with it. A part of a split set
 * places every image of the set the same way (`split.images`, aligned with `placements`); the
 * manifest artifact, carried whole by every part, is one more image of the set there.
 */
import type {BundleReader} from '../../bundle/index.js'
import type {LockImage, LockServerManifest, LockSplit, LockSplitImage} from '../../bundle/lock.js'
import {CopyTracker, isManifestDescriptor} from '../../copy/index.js'
import {UsageError} from '../../errors.js'
import {formatMirrorRegistry, planMirror, type MirrorPlacement} from '../../mirror/mapping.js'
import {planV2Mirror, type V2ImageInput, type V2MirrorPlan} from '../../mirror/operator-v2.js'
import type {ReceiptServerManifest} from '../../mirror/receipt.js'
import {formatReference} from '../../oci/reference.js'
import {loadServerManifest} from '../../server-manifest/index.js'
import type {PushContents, PushRequest} from './plan.js'
import {readGraphs} from './survey.js'

export interface V2Placements {
  /**
   * The images to push, a manifest image once per mirror place, the manifest artifact last. For a
   * part of a split set: the images this part carries and the artifact (which every part carries);
   * the set's images, placed, are in `split`.
   */
  images: LockImage[]
  /** A part of a split set: the lock's split section with the set's images placed as `placements`. */
  split?: LockSplit
  /** Aligned with `images`, or with `split.images` for a part of a split set. */
  placements: MirrorPlacement[]
  plan: V2MirrorPlan
  /** What the receipt records of the v2 layout (without status). */
  receipt: ReceiptServerManifest
  /** Manifest images the bundle does not carry (pulled with --skip-missing or excluded). */
  notCarried: string[]
}

/** Place every image of a v2 bundle; see the module comment. */
export async function placeV2(reader: BundleReader, contents: PushContents & {serverManifest: LockServerManifest}, request: PushRequest, signal?: AbortSignal): Promise<V2Placements> {
  const locked = contents.serverManifest
  if (request.pathRules.maxNestedPaths !== undefined || request.pathRules.flatten) {
    throw new UsageError(`${reader.location} carries a W&B v2 server manifest, whose images cannot be renamed: the v2 operator pulls spec.global.imageRegistry + each image's own registry/repository, so --max-nested-paths and --flatten would put them where it never looks`, {
      hint: 'push without --max-nested-paths / --flatten, to a registry (or a prefix) that allows the manifest paths; `airgap push --dry-run` shows the mirror names',
    })
  }
  const manifest = await loadServerManifest(reader, locked.source, `${locked.source} (in ${reader.location})`, {signal})
  // A part of a split set places every image of the set (each part's receipt covers the set).
  const setImages: readonly LockImage[] = contents.split ? contents.split.images : contents.images
  const bySource = new Map(setImages.map((i) => [i.source, i]))
  const inputs = new Map<string, V2ImageInput & {keys: string[]}>()
  const notCarried: string[] = []
  const manifestSources = new Set<string>()
  for (const image of manifest.images) {
    const source = formatReference(image.source)
    const lockImage = bySource.get(source)
    if (lockImage === undefined) {
      notCarried.push(`${image.key} (${source})`)
      continue
    }
    manifestSources.add(source)
    const id = `${source}|${image.operatorPath}`
    const input = inputs.get(id)
    if (input !== undefined) input.keys.push(image.key)
    else inputs.set(id, {source, digest: lockImage.digest, operatorPath: image.operatorPath, tag: image.ref.tag, pinnedDigest: image.ref.digest, keys: [image.key]})
  }
  const others = setImages.filter((i) => !manifestSources.has(i.source))
  const otherPlacements = planMirror(others, request.registry, request.keepSourceHost)
  const plan = planV2Mirror({
    registry: request.registry,
    version: locked.version,
    manifest: {source: locked.source, digest: locked.digest},
    images: [...inputs.values()],
    others: otherPlacements,
  })
  const images: LockImage[] = [...others]
  const placements: MirrorPlacement[] = [...otherPlacements]
  for (const placement of plan.images) {
    images.push(bySource.get(placement.source)!)
    placements.push(placement)
  }
  const artifact: LockImage = {source: locked.source, digest: locked.digest, mediaType: locked.mediaType, size: locked.size, platforms: [], bytes: 0}
  images.push(artifact)
  placements.push(plan.manifest)
  const receipt: ReceiptServerManifest = {
    source: locked.source,
    version: locked.version,
    digest: locked.digest,
    mirror: plan.manifest.mirror,
    layout: 'operator-v2',
    imageRegistry: formatMirrorRegistry(request.registry),
    manifestRepository: plan.manifestRepository,
    images: plan.images.map((p) => ({keys: [...p.keys].sort(), source: p.source, mirror: p.mirror})),
  }
  if (contents.split === undefined) return {images, placements, plan, receipt, notCarried}
  // Every part carries the server manifest whole (like a chart): as an image of the set, it is
  // complete in the mirror after any one part, and this part's own images keep their entries.
  const split = contents.split
  const [nodes = []] = (await readGraphs(reader, [{digest: locked.digest, name: locked.source}], new CopyTracker({concurrency: 4}), signal)).values()
  const whole: LockSplitImage = {...artifact, blobs: nodes.filter((n) => !isManifestDescriptor(n)).map((n) => n.digest).sort(), parts: Array.from({length: split.parts}, (_, i) => i + 1)}
  const setPlaced = images.map((image) => (image === artifact ? whole : (image as LockSplitImage)))
  return {images: [...contents.images, artifact], split: {...split, images: setPlaced}, placements, plan, receipt, notCarried}
}
