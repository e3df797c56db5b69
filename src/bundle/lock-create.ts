/**
 * Building lock.json: createLock() sorts every list (entries, platforms, repositories, parts) and
 * dates it from SOURCE_DATE_EPOCH; serializeLock() writes deterministic bytes (keys sorted at every
 * level, two-space indent, trailing newline), so that the same content and epoch give the same
 * bytes. A new lock is read back through parseLock before it is returned: airgap never writes a
 * lock it would refuse to read. Pure: no IO.
 */
import {sortedUpstreamVerification, type LockUpstreamVerification} from './lock-upstream.js'
import {digestOf} from '../oci/digest.js'
import {LOCK_API_VERSION, LOCK_FORMAT_VERSION, LOCK_KIND, LOCK_SPEC_FILE, type BundleLock, type LockChart, type LockExpectedBlob, type LockImage, type LockMissing, type LockServerManifest, type LockSignature, type LockSplit} from './lock-model.js'
import {parseLock} from './lock-parse.js'

export interface LockInput {
  createdBy: string
  /** Seconds since the epoch (SOURCE_DATE_EPOCH). */
  epoch: number
  /** When the release was pulled, seconds (default `epoch`): the lock's `created`, which push compares to refuse rollbacks. */
  createdAt?: number
  indexJson: Uint8Array
  images: readonly LockImage[]
  charts?: readonly LockChart[]
  blobs: {count: number; bytes: number}
  specBytes?: Uint8Array
  missing?: readonly LockMissing[]
  expectedInMirror?: readonly LockExpectedBlob[]
  signatures?: readonly LockSignature[]
  split?: LockSplit
  upstreamVerification?: LockUpstreamVerification | undefined
  serverManifest?: LockServerManifest | undefined
}

/** Build a lock from its parts (sorted; `created` from the epoch; index and spec digests computed). */
export function createLock(input: LockInput): BundleLock {
  const lock: BundleLock = {
    apiVersion: LOCK_API_VERSION,
    kind: LOCK_KIND,
    formatVersion: LOCK_FORMAT_VERSION,
    createdBy: input.createdBy,
    created: new Date((input.createdAt ?? input.epoch) * 1000).toISOString().replace('.000Z', 'Z'),
    index: {digest: digestOf(input.indexJson), size: input.indexJson.length},
    images: [...input.images].map(sortedImage).sort((a, b) => compare(a.source, b.source)),
    charts: [...(input.charts ?? [])].sort((a, b) => compare(a.name, b.name) || compare(a.version, b.version) || compare(a.source, b.source)),
    blobs: {...input.blobs},
  }
  if (input.specBytes) lock.spec = {file: LOCK_SPEC_FILE, digest: digestOf(input.specBytes)}
  if (input.missing?.length) lock.missing = [...input.missing].sort((a, b) => compare(a.source, b.source))
  if (input.expectedInMirror?.length) {
    lock.expectedInMirror = [...input.expectedInMirror]
      .map((e) => (e.repositories ? {...e, repositories: [...new Set(e.repositories)].sort()} : {...e}))
      .sort((a, b) => compare(a.digest, b.digest))
  }
  if (input.signatures?.length) lock.signatures = [...input.signatures].sort((a, b) => compare(a.ref, b.ref))
  if (input.split) lock.split = sortedSplit(input.split)
  if (input.upstreamVerification) lock.upstreamVerification = sortedUpstreamVerification(input.upstreamVerification)
  if (input.serverManifest) lock.serverManifest = {...input.serverManifest}
  // Round-trip through the validator so that we never write a lock we would refuse to read.
  return parseLock(serializeLock(lock), 'the new lock')
}

function sortedSplit(split: LockSplit): LockSplit {
  return {
    ...split,
    blobs: [...split.blobs].sort((a, b) => compare(a.digest, b.digest)),
    images: split.images
      .map((i) => ({...sortedImage(i), blobs: [...new Set(i.blobs)].sort(), parts: [...new Set(i.parts)].sort((a, b) => a - b)}))
      .sort((a, b) => compare(a.source, b.source)),
  }
}

function sortedImage<T extends LockImage>(image: T): T {
  return {...image, platforms: [...new Set(image.platforms)].sort()}
}

/** Deterministic bytes: keys sorted at every level, two-space indent, trailing newline. */
export function serializeLock(lock: BundleLock): Buffer {
  return Buffer.from(JSON.stringify(sortKeys(lock), null, 2) + '\n', 'utf8')
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key]
    if (v !== undefined) out[key] = sortKeys(v)
  }
  return out
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
