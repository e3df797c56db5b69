/**
 * Push of a delta bundle (issue 10): before anything is written, every blob the bundle leaves out
 * must already be in the mirror where it is needed. For each image still to push, each expected
 * blob of its graph is looked up (HEAD) in the image's mirror repository; when absent there, in
 * the candidate repositories (where the have-list saw it, and where the bundle's other images
 * go), and planned as a cross-repository mount. Anything found nowhere refuses the push with the
 * full list (NotFoundError, exit 7) while nothing has been written yet. Mounts are applied later,
 * after the bundle's content is verified, by applyMounts().
 */
import pLimit from 'p-limit'
import type {ReadOnlyTarget} from '../content/types.js'
import {planCopy} from '../copy/plan.js'
import type {CopyTracker} from '../copy/tracker.js'
import {NotFoundError} from '../errors.js'
import type {Descriptor} from '../oci/types.js'
import type {LockExpectedBlob} from '../bundle/lock.js'
import type {RegistryRepository} from '../registry/index.js'

export interface DeltaItem {
  /** Source reference, for messages. */
  name: string
  root: Descriptor
  /** Where it goes in the mirror. */
  repository: RegistryRepository
}

export interface PlannedMount {
  repository: RegistryRepository
  blob: Descriptor
  /** Repository path (inside the mirror host) to mount from. */
  from: string
}

export interface PreflightOptions {
  /** Where the manifests are read from (the bundle). */
  source: ReadOnlyTarget
  items: readonly DeltaItem[]
  expected: readonly LockExpectedBlob[]
  /** A repository of the mirror host by path. */
  repositoryAt(path: string): RegistryRepository
  tracker: CopyTracker
  /** HEAD requests in flight (default 8). */
  concurrency?: number
  signal?: AbortSignal
}

export interface PreflightResult {
  /** Expected blobs found where they are needed. */
  present: number
  /** Expected blobs found in another repository: mount them before pushing. */
  mounts: PlannedMount[]
}

/** Check a delta against the mirror; throws NotFoundError listing every expected blob that is missing. */
export async function preflightDelta(opts: PreflightOptions): Promise<PreflightResult> {
  const expected = new Map(opts.expected.map((e) => [e.digest, e]))
  const limit = pLimit(opts.concurrency ?? 8)
  const signal = opts.signal
  const cache = new Map<string, Promise<boolean>>()
  const existsIn = (repo: RegistryRepository, blob: Descriptor): Promise<boolean> => {
    const key = `${repo.repository}@${blob.digest}`
    let p = cache.get(key)
    if (!p) cache.set(key, (p = limit(() => repo.exists(blob, signal))))
    return p
  }
  const otherPaths = [...new Set(opts.items.map((i) => i.repository.repository))]
  const needs = await Promise.all(
    opts.items.map(async (item) => {
      if (await existsIn(item.repository, item.root)) return [] // already in the mirror: nothing will be sent
      const {nodes} = await planCopy(opts.source, item.root.digest, {tracker: opts.tracker, image: item.name, ...(signal ? {signal} : {})})
      return nodes.filter((n) => expected.has(n.digest)).map((blob) => ({item, blob}))
    }),
  )
  let present = 0
  const mounts: PlannedMount[] = []
  const missing: string[] = []
  const planned = new Set<string>()
  await Promise.all(
    needs.flat().map(async ({item, blob}) => {
      const repo = item.repository
      if (await existsIn(repo, blob)) return void present++
      const hint = expected.get(blob.digest)?.repositories ?? []
      for (const path of [...hint, ...otherPaths]) {
        if (path === repo.repository) continue
        if (await existsIn(opts.repositoryAt(path), blob)) {
          const key = `${repo.repository}@${blob.digest}`
          if (!planned.has(key)) {
            planned.add(key)
            mounts.push({repository: repo, blob, from: path})
          }
          return
        }
      }
      missing.push(`${blob.digest} (${blob.size} bytes, needed by ${item.name} in ${repo.registryHost}/${repo.repository})`)
    }),
  )
  if (missing.length > 0) {
    missing.sort()
    const host = opts.items[0]?.repository.registryHost ?? 'the mirror'
    throw new NotFoundError(`delta bundle: ${missing.length} blob(s) it leaves out are not in the mirror ${host}, so nothing was pushed: ${missing.join('; ')}`, {
      hint: 'push the full bundle (pull without --since), or pull the delta again with --since a receipt or inventory of this mirror',
    })
  }
  return {present, mounts}
}

/** Mount the planned blobs; a mount the registry declines is a NotFoundError naming the blob. */
export async function applyMounts(mounts: readonly PlannedMount[], signal?: AbortSignal): Promise<number> {
  const limit = pLimit(4)
  await Promise.all(
    mounts.map((m) =>
      limit(async () => {
        if (await m.repository.mount(m.blob, m.from, signal)) return
        throw new NotFoundError(`delta bundle: ${m.repository.registryHost} declined to mount ${m.blob.digest} from ${m.from} into ${m.repository.repository}`, {
          hint: 'push the full bundle (pull without --since)',
        })
      }),
    ),
  )
  return mounts.length
}
