/**
 * The mirror's record of releases (push writes one per bundle; pure model and rollback rule here,
 * the registry I/O in src/usecases/push/releases.ts). Each record says which bundle (lock digest),
 * pulled when (the lock's `created`), put which digest at which mirror tag. A push that would move
 * a tag from the digest a NEWER release put there to its own older digest is a rollback: push warns,
 * and refuses with --no-rollback.
 */
import {isDigest} from '../oci/digest.js'

export const RELEASE_RECORD_MEDIA_TYPE = 'application/vnd.airgap.release.v1+json'
/** The repository under the mirror prefix that holds the records (prune keeps it). */
export const RELEASES_REPOSITORY = 'airgap-releases'

export interface ReleaseRecord {
  /** Digest of the bundle's lock.json. */
  lockDigest: string
  /** When the release was pulled: the lock's `created` (ISO 8601). */
  created: string
  /** Mirror reference `HOST/PATH:TAG` -> the digest this release put there. */
  tags: Record<string, string>
}

/** A tag this push would move back to an older release's digest. */
export interface Rollback {
  tag: string
  /** The digest there now, and the newest release that put it there. */
  current: string
  currentRelease: {lockDigest: string; created: string}
  /** This bundle's digest for the tag, and when this bundle was pulled. */
  pushing: string
  pushingCreated: string
}

/** `airgap-releases` under the prefix: `PREFIX/airgap-releases`, or `airgap-releases` without one. */
export function releasesRepository(prefix: string): string {
  return prefix ? `${prefix}/${RELEASES_REPOSITORY}` : RELEASES_REPOSITORY
}

/** The record's tag: `r-` and the lock digest's hex (one record per bundle; a repeat push rewrites it). */
export function releaseRecordTag(lockDigest: string): string {
  return `r-${lockDigest.replace(/^sha256:/, '')}`
}

/** A record read back from the mirror, or undefined when it is not one (never trusted further). */
export function parseReleaseRecord(bytes: Uint8Array): ReleaseRecord | undefined {
  let raw: unknown
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch {
    return undefined
  }
  const r = raw as Partial<ReleaseRecord> | null
  if (!r || typeof r.lockDigest !== 'string' || !isDigest(r.lockDigest) || typeof r.created !== 'string' || Number.isNaN(Date.parse(r.created))) return undefined
  if (typeof r.tags !== 'object' || r.tags === null || Array.isArray(r.tags)) return undefined
  const tags: Record<string, string> = {}
  for (const [ref, digest] of Object.entries(r.tags)) if (typeof digest === 'string' && isDigest(digest)) tags[ref] = digest
  return {lockDigest: r.lockDigest, created: r.created, tags}
}

/**
 * The moves of this push that are rollbacks: the tag holds another digest now, and the newest
 * release that put that digest at that tag was pulled after this bundle.
 */
export function findRollbacks(input: {
  created: string
  lockDigest: string
  moves: ReadonlyArray<{tag: string; current: string | undefined; pushing: string}>
  records: readonly ReleaseRecord[]
}): Rollback[] {
  const ours = Date.parse(input.created)
  const out: Rollback[] = []
  for (const move of input.moves) {
    if (move.current === undefined || move.current === move.pushing) continue
    const setters = input.records.filter((r) => r.lockDigest !== input.lockDigest && r.tags[move.tag] === move.current)
    const newest = setters.sort((a, b) => Date.parse(b.created) - Date.parse(a.created))[0]
    if (newest && Date.parse(newest.created) > ours) {
      out.push({tag: move.tag, current: move.current, currentRelease: {lockDigest: newest.lockDigest, created: newest.created}, pushing: move.pushing, pushingCreated: input.created})
    }
  }
  return out
}
