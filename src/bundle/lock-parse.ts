/**
 * Reading lock.json: strict. Another apiVersion/kind/formatVersion is UnsupportedError; anything
 * else wrong (not JSON, unknown fields, bad digests, out-of-range sizes, duplicates, a split section
 * that does not add up) is an IntegrityError naming the file and the JSON path of the first problem.
 * Pure: no IO.
 */
import {IntegrityError, UnsupportedError} from '../errors.js'
import {checkUpstreamVerification} from './lock-upstream.js'
import {LOCK_API_VERSION, LOCK_FORMAT_VERSION, LOCK_KIND, LOCK_SCHEMA, type BundleLock, type LockImage, type LockSplit} from './lock-model.js'

const HINT = 'the lock was damaged or edited; copy the bundle again from its source'

/** Parse and validate lock bytes; `where` names the file in errors. */
export function parseLock(bytes: Uint8Array, where: string): BundleLock {
  let raw: unknown
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch (err) {
    throw new IntegrityError(`${where}: not valid JSON (${(err as Error).message})`, {hint: 'the bundle is damaged; copy it again', cause: err})
  }
  const fail = (path: string, problem: string): never => {
    throw new IntegrityError(`${where}: ${path} ${problem}`, {hint: HINT})
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('$', 'must be a JSON object')
  checkVersion(raw as Record<string, unknown>, where)
  const lock = LOCK_SCHEMA.check(raw, fail)
  if (Number.isNaN(Date.parse(lock.created))) fail('$.created', 'must be an ISO 8601 UTC time')
  unique(lock.images.map((i) => i.source), '$.images', 'source', fail)
  unique(lock.charts.map((c) => `${c.name}@${c.version}`), '$.charts', 'name@version', fail)
  if (lock.missing) {
    unique(lock.missing.map((m) => m.source), '$.missing', 'source', fail)
    const carried = new Set(lock.images.map((i) => i.source))
    for (const [i, m] of lock.missing.entries()) if (carried.has(m.source)) fail(`$.missing[${i}]`, `names ${JSON.stringify(m.source)}, which is also carried in $.images`)
  }
  if (lock.expectedInMirror) unique(lock.expectedInMirror.map((e) => e.digest), '$.expectedInMirror', 'digest', fail)
  if (lock.signatures) unique(lock.signatures.map((s) => s.ref), '$.signatures', 'ref', fail)
  if (lock.split) checkSplit(lock.split, lock.images, fail)
  if (lock.upstreamVerification) checkUpstreamVerification(lock.upstreamVerification, new Set([...lock.images, ...(lock.split?.images ?? [])].map((i) => i.source)), fail)
  return lock
}

function checkVersion(top: Record<string, unknown>, where: string): void {
  const hint = 'use an airgap release that reads this bundle format, or write the bundle with this release'
  if (top.apiVersion !== LOCK_API_VERSION || top.kind !== LOCK_KIND) {
    throw new UnsupportedError(
      `${where}: apiVersion ${JSON.stringify(top.apiVersion ?? null)} kind ${JSON.stringify(top.kind ?? null)} is not an airgap bundle lock (want ${LOCK_API_VERSION} ${LOCK_KIND})`,
      {hint},
    )
  }
  if (top.formatVersion !== LOCK_FORMAT_VERSION) {
    throw new UnsupportedError(`${where}: bundle format version ${JSON.stringify(top.formatVersion ?? null)} is not supported (this airgap reads version ${LOCK_FORMAT_VERSION})`, {hint})
  }
}

type Fail = (path: string, problem: string) => never

/** The split section: part numbers in range, each blob and image once, this part's images listed with the same digest. */
function checkSplit(split: LockSplit, carried: readonly LockImage[], fail: Fail): void {
  const partNo = (n: number, path: string): void => {
    if (n > split.parts) fail(path, `must be a part number from 1 to ${split.parts}`)
  }
  partNo(split.part, '$.split.part')
  for (const [i, b] of split.blobs.entries()) partNo(b.part, `$.split.blobs[${i}].part`)
  for (const [i, image] of split.images.entries()) for (const [j, n] of image.parts.entries()) partNo(n, `$.split.images[${i}].parts[${j}]`)
  unique(split.blobs.map((b) => b.digest), '$.split.blobs', 'digest', fail)
  unique(split.images.map((i) => i.source), '$.split.images', 'source', fail)
  const bySource = new Map(split.images.map((i) => [i.source, i]))
  for (const [i, image] of carried.entries()) {
    const entry = bySource.get(image.source)
    if (!entry || entry.digest !== image.digest) fail(`$.images[${i}]`, `${JSON.stringify(image.source)} is not listed with digest ${image.digest} in $.split.images`)
    if (!entry.parts.includes(split.part)) fail(`$.images[${i}]`, `${JSON.stringify(image.source)} is carried, but $.split.images does not list part ${split.part} for it`)
  }
}

function unique(keys: string[], path: string, what: string, fail: Fail): void {
  const seen = new Set<string>()
  for (const [i, k] of keys.entries()) {
    if (seen.has(k)) fail(`${path}[${i}]`, `duplicate ${what} ${JSON.stringify(k)}`)
    seen.add(k)
  }
}
