/**
 * writePart(): one bundle file, from planned items to a finished signed archive. A whole bundle is
 * one part; a split set (write-parts.ts) is several, each written by this same function.
 *
 *  1. open (or resume) a BundleWriter over the file's blobs (a rerun after a crash keeps what was
 *     journaled);
 *  2. copy every item the file names into the writer with the shared CopyTracker: each unique blob
 *     is fetched once, largest first; blobs already written, and blobs stored elsewhere (other
 *     parts, or the mirror for a delta), are skipped;
 *  3. index.json (ref.name = full source reference), airgap/lock.json, the Sigstore signature over
 *     the lock, airgap/spec.yaml; finish (atomic rename).
 */
import type {LockUpstreamVerification} from '../bundle/lock-upstream.js'
import {addStats, copy, emptyStats, type CopyHooks, type CopyStats, type CopyTracker} from '../copy/index.js'
import type {Target} from '../content/types.js'
import {InternalError, UsageError} from '../errors.js'
import type {Descriptor, Platform} from '../oci/types.js'
import {serializeBundle, signBlob, type SigningKey} from '../signing/index.js'
import {createLock, serializeLock, type BundleLock, type LockExpectedBlob, type LockMissing, type LockSplit} from '../bundle/lock.js'
import {BundleWriter, buildIndexJson} from '../bundle/index.js'
import {itemPlatforms, lockCharts, lockImages, lockServerManifest, lockSignatures, sumSizes, type PlannedItem} from './bundle-contents.js'

/** What every file of one write shares. */
export interface PartSettings {
  /** Seconds since the epoch for every mtime and `created`. */
  epoch: number
  /** The lock's `created` (seconds; default `epoch`): when the release was pulled. */
  createdAt?: number
  /** Keep only these platforms of multi-platform images (default all). */
  platforms?: readonly Platform[]
  /** Sign airgap/lock.json with this key pair. */
  signKey?: SigningKey
  /** Stored as airgap/spec.yaml and pinned in the lock. */
  specBytes?: Buffer
  /** Images found but not carried (the lock's `missing`). */
  missing?: readonly LockMissing[]
  /** A delta's blobs that the mirror holds (the lock's `expectedInMirror`). */
  expected: readonly LockExpectedBlob[]
  createdBy: string
  /** `pull --verify-upstream`: the verdicts, recorded in the lock (and so signed). */
  upstreamVerification?: LockUpstreamVerification
  hooks: CopyHooks
  /** Shared by every file: manifests fetched once, each blob once overall. */
  tracker: CopyTracker
  signal?: AbortSignal
}

/** One file to write. */
export interface PartToWrite {
  out: string
  /** The items its index.json names. */
  items: readonly PlannedItem[]
  /** The blobs it stores. */
  blobs: readonly Descriptor[]
  /** Blobs stored elsewhere (another part, or the mirror for a delta): the copy counts them as present. */
  storedElsewhere: ReadonlySet<string>
  /** Split media: the set, as this part's lock describes it. */
  split?: LockSplit
  /** Called once the file is open (or resumed), before anything is copied, with the blobs still missing. */
  onOpened?(missing: readonly Descriptor[]): void
}

export interface WrittenPart {
  path: string
  /** Size of the file in bytes. */
  size: number
  lock: BundleLock
  /** The bytes of airgap/lock.json (what the signature covers). */
  lockBytes: Buffer
  /** What this run transferred for this file. */
  stats: CopyStats
}

/** Write one bundle file; see the module comment. */
export async function writePart(settings: PartSettings, part: PartToWrite): Promise<WrittenPart> {
  const writer = await BundleWriter.open({out: part.out, epoch: settings.epoch, blobs: part.blobs})
  try {
    part.onOpened?.(writer.missing())
    const stats = await copyItems(settings, part.items, storageAsTarget(writer, part.storedElsewhere))
    const indexJson = buildIndexJson(part.items.map((p) => ({ref: p.input.name, desc: p.plan.root})))
    const lock = createLock({
      createdBy: settings.createdBy,
      epoch: settings.epoch,
      createdAt: settings.createdAt,
      indexJson,
      images: lockImages(part.items),
      charts: lockCharts(part.items),
      blobs: {count: part.blobs.length, bytes: sumSizes(part.blobs)},
      specBytes: settings.specBytes,
      missing: settings.missing,
      expectedInMirror: settings.expected,
      signatures: lockSignatures(part.items),
      split: part.split,
      upstreamVerification: settings.upstreamVerification,
      serverManifest: lockServerManifest(part.items),
    })
    const lockBytes = serializeLock(lock)
    const signKey = settings.signKey
    const {path, size} = await writer.finish({
      indexJson,
      files: {'airgap/lock.json': lockBytes, 'airgap/spec.yaml': settings.specBytes},
      sign: signKey ? async (bytes: Buffer) => Buffer.from(serializeBundle(signBlob(bytes, signKey.privateKey, signKey.publicKey))) : undefined,
    })
    return {path, size, lock, lockBytes, stats}
  } finally {
    await writer.close()
  }
}

/** Copy every item into `dst`; the first failure fails the file once every copy has settled. */
async function copyItems(settings: PartSettings, items: readonly PlannedItem[], dst: Target): Promise<CopyStats> {
  const stats = emptyStats()
  const results = await Promise.allSettled(
    items.map(async (item) => {
      const {input, plan} = item
      const {descriptor, stats: s} = await copy(input.source, plan.resolved.digest, dst, '', {
        platforms: itemPlatforms(item, settings.platforms),
        tracker: settings.tracker,
        hooks: settings.hooks,
        signal: settings.signal,
        image: input.name,
      })
      addStats(stats, s)
      if (descriptor.digest !== plan.root.digest) {
        throw new InternalError(`${input.name}: copied root ${descriptor.digest} differs from the planned ${plan.root.digest}`, {
          hint: 'this is a bug in airgap: please report it',
        })
      }
    }),
  )
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed) throw failed.reason
  return stats
}

/**
 * The writer as a copy destination: copy() never tags when given an empty destination ref. Blobs
 * stored elsewhere count as present, so copy() skips them.
 */
function storageAsTarget(writer: BundleWriter, storedElsewhere: ReadonlySet<string>): Target {
  const refuse = (op: string) => (): Promise<never> =>
    Promise.reject(new UsageError(`${writer.location}: ${op} is not supported while writing a bundle`, {hint: 'this is a bug in airgap: please report it'}))
  return {
    location: writer.location,
    verifiesPushedContent: writer.verifiesPushedContent,
    exists: (d) => (storedElsewhere.has(d.digest) ? Promise.resolve(true) : writer.exists(d)),
    fetch: (d) => writer.fetch(d),
    push: (d, body, s) => writer.push(d, body, s),
    // Large blobs in parallel Range parts (src/copy/ranged.ts) write at positions.
    openBlob: (d: Descriptor) => writer.openBlob(d),
    resolve: refuse('resolve'),
    tag: refuse('tag'),
  } as Target
}
