/**
 * Rollback protection for push (src/mirror/releases.ts has the rule): before anything is written,
 * every tag this push would move is looked up; only when one would move, the release records in
 * `PREFIX/airgap-releases` are read, and a move back to an older release's digest is a warning
 * (or, with --no-rollback, a refusal). After the push, this bundle's record is written there. A
 * repeat push (every tag already names its digest) reads and writes nothing here.
 */
import {Readable} from 'node:stream'
import {fetchAll} from '../../content/verify.js'
import {NotFoundError, UsageError, unlessServerFails} from '../../errors.js'
import {digestOf} from '../../oci/digest.js'
import {MediaType, type Descriptor} from '../../oci/types.js'
import type {MirrorPlacement, MirrorRegistry} from '../../mirror/mapping.js'
import {findRollbacks, parseReleaseRecord, RELEASE_RECORD_MEDIA_TYPE, releaseRecordTag, releasesRepository, type ReleaseRecord, type Rollback} from '../../mirror/releases.js'
import type {ReceiptImage} from '../../mirror/receipt.js'
import type {RegistryRepository} from '../../registry/index.js'
import {taggedDigest, type RootState, type TagNow} from './plan.js'
import {tagNow} from './survey.js'

const RECORD_TAG = /^r-[0-9a-f]{64}$/
/** Records read at most (the newest matter; a mirror keeps one per pushed bundle). */
const MAX_RECORDS = 1000
const MAX_RECORD_BYTES = 4 * 1024 * 1024
const EMPTY_CONFIG = Buffer.from('{}')

export interface RollbackCheck {
  registry: MirrorRegistry
  /** This bundle's lock digest and `created` (its pull time). */
  lockDigest: string
  created: string
  placements: readonly MirrorPlacement[]
  /** The survey's answer per placement (absent when it did not ask). */
  states?: readonly RootState[]
  /** What the survey found each placement's tag naming (absent when it did not ask): not asked again. */
  tags?: ReadonlyArray<TagNow | undefined>
  repositoryAt(ref: string): RegistryRepository
  noRollback: boolean
  warn(message: string): void
  signal?: AbortSignal
}

/** Warn about (or refuse) every tag this push would move back to an older release's digest. */
export async function checkRollback(c: RollbackCheck): Promise<Rollback[]> {
  const asked = c.placements.flatMap((p, i) => (p.tag !== undefined && c.states?.[i] !== 'tagged' ? [{p, known: c.tags?.[i]}] : []))
  const unanswered: string[] = []
  const moves = await Promise.all(
    asked.map(async ({p, known}) => {
      const now = known ?? (await tagNow(c.repositoryAt(p.mirror), p.tag!, c.signal))
      if (now === 'unknown') unanswered.push(p.mirror)
      return {tag: p.mirror, pushing: p.digest, current: taggedDigest(now)}
    }),
  )
  if (unanswered.length > 0) {
    const list = unanswered.sort().join(', ')
    if (c.noRollback) {
      throw new UsageError(`cannot tell what ${unanswered.length} tag(s) name now (the mirror answered with a server error): ${list}`, {
        hint: 'drop --no-rollback to push anyway (the push writes these tags again and repairs them), or fix the mirror first',
      })
    }
    c.warn(`the mirror could not say what ${unanswered.length} tag(s) name now (server error); pushing them again without the rollback check: ${list}`)
  }
  if (!moves.some((m) => m.current !== undefined && m.current !== m.pushing)) return []
  const records = await readRecords(c.repositoryAt(`${c.registry.host}/${releasesRepository(c.registry.prefix)}`), c.signal)
  const rollbacks = findRollbacks({created: c.created, lockDigest: c.lockDigest, moves, records})
  if (rollbacks.length === 0) return []
  const list = rollbacks.map((r) => `${r.tag} (now ${r.current} from a release pulled ${r.currentRelease.created}; this bundle was pulled ${r.pushingCreated})`).join('; ')
  if (c.noRollback) {
    throw new UsageError(`refusing to move ${rollbacks.length} tag(s) back to an older release: ${list}`, {
      hint: 'push the newer bundle instead, or drop --no-rollback to roll back on purpose',
    })
  }
  c.warn(`ROLLBACK: this push moves ${rollbacks.length} tag(s) back to an older release: ${list}`)
  return rollbacks
}

/** Record this bundle's tags in the mirror (after the push; the tags that were pushed). */
export async function recordRelease(repo: RegistryRepository, record: {lockDigest: string; created: string; images: readonly ReceiptImage[]}, signal?: AbortSignal): Promise<void> {
  const tags: Record<string, string> = {}
  for (const image of record.images) if (image.status === 'pushed' && !image.mirror.includes('@')) tags[image.mirror] = image.digest
  const body: ReleaseRecord = {lockDigest: record.lockDigest, created: record.created, tags}
  const layerBytes = Buffer.from(`${JSON.stringify(body, null, 2)}\n`)
  const config: Descriptor = {mediaType: MediaType.OciEmpty, digest: digestOf(EMPTY_CONFIG), size: EMPTY_CONFIG.length}
  const layer: Descriptor = {mediaType: RELEASE_RECORD_MEDIA_TYPE, digest: digestOf(layerBytes), size: layerBytes.length}
  const manifestBytes = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciManifest, artifactType: RELEASE_RECORD_MEDIA_TYPE, config, layers: [layer]}))
  const manifest: Descriptor = {mediaType: MediaType.OciManifest, digest: digestOf(manifestBytes), size: manifestBytes.length}
  // The same record (same bytes, same digest) already there: nothing to write.
  if (taggedDigest(await tagNow(repo, releaseRecordTag(record.lockDigest), signal)) === manifest.digest) return
  for (const [desc, bytes] of [
    [config, EMPTY_CONFIG],
    [layer, layerBytes],
  ] as const) {
    if (!(await unlessServerFails(repo.exists(desc, signal), false))) await repo.push(desc, Readable.from([bytes]), signal)
  }
  await repo.pushReference(manifest, Readable.from([manifestBytes]), releaseRecordTag(record.lockDigest), signal)
}

/** Every readable record; a repository that does not exist yet holds none. */
async function readRecords(repo: RegistryRepository, signal?: AbortSignal): Promise<ReleaseRecord[]> {
  const tags: string[] = []
  try {
    for await (const tag of repo.tags(signal)) if (RECORD_TAG.test(tag) && tags.length < MAX_RECORDS) tags.push(tag)
  } catch (err) {
    if (err instanceof NotFoundError) return []
    throw err
  }
  const records = await Promise.all(
    tags.map(async (tag) => {
      const where = `release record ${repo.registryHost}/${repo.repository}:${tag}`
      const desc = await repo.resolve(tag, signal)
      const manifest = JSON.parse((await fetchAll(repo, desc, where, MAX_RECORD_BYTES, signal)).toString('utf8')) as {layers?: Descriptor[]}
      const layer = manifest.layers?.find((l) => l.mediaType === RELEASE_RECORD_MEDIA_TYPE)
      return layer ? parseReleaseRecord(await fetchAll(repo, layer, where, MAX_RECORD_BYTES, signal)) : undefined
    }),
  )
  return records.filter((r): r is ReleaseRecord => r !== undefined)
}
