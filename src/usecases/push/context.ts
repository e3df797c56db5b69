/**
 * What the steps of one push share while the plan is applied: the one open bundle reader, the
 * mirror's repositories (one object per repository, so the copy tracker de-duplicates within
 * each), the tracker, the counters, where each blob is known to be (mount sources), the failures.
 */
import type {BundleReader} from '../../bundle/index.js'
import {addStats, type CopyGraphOptions, type CopyStats, type CopyTracker} from '../../copy/index.js'
import type {Descriptor} from '../../oci/types.js'
import type {RegistryRepository} from '../../registry/index.js'
import type {Session} from '../session.js'
import type {PushHooks} from './types.js'

export interface PushContext {
  reader: BundleReader
  session: Session
  tracker: CopyTracker
  stats: CopyStats
  hooks: PushHooks
  /** Digest -> mirror repositories (paths in the mirror host) known to hold it in this run. */
  located: Map<string, Set<string>>
  /** One repository object per mirror repository. */
  repositories: Map<string, RegistryRepository>
  signal: AbortSignal | undefined
  /** Every failure of an image or chart, first first (the failure policy rethrows the first). */
  failures: unknown[]
}

/** The mirror repository of a reference (`HOST/path[:tag|@digest]`), one object per repository. */
export function repositoryFor(ctx: PushContext, ref: string): RegistryRepository {
  const {repository} = ctx.session.repository(ref, 'destination')
  const key = `${repository.registryHost}/${repository.repository}`
  const known = ctx.repositories.get(key)
  if (known) return known
  ctx.repositories.set(key, repository)
  return repository
}

/** Options of a copy into `dst` for `image`: the shared tracker and hooks, mounts from where the blob is known to be. */
export function copyOptions(ctx: PushContext, dst: RegistryRepository, image: string): CopyGraphOptions {
  const here = dst.repository
  return {
    tracker: ctx.tracker,
    hooks: ctx.hooks,
    mountFrom: (d: Descriptor) => [...(ctx.located.get(d.digest) ?? [])].filter((r) => r !== here),
    image,
    signal: ctx.signal,
  }
}

/** Count a copy's statistics and remember that `dst` now holds `digests` (a mount source for later copies). */
export function copied(ctx: PushContext, stats: CopyStats, dst: RegistryRepository, digests: Iterable<string>): void {
  addStats(ctx.stats, stats)
  for (const d of digests) {
    let set = ctx.located.get(d)
    if (!set) ctx.located.set(d, (set = new Set()))
    set.add(dst.repository)
  }
}

/**
 * An image or chart failed: recorded for the failure policy and reported; returns the one-line
 * message for the receipt. An abort is not an item failure: it is rethrown.
 */
export function itemFailed(ctx: PushContext, kind: 'image' | 'chart', name: string, err: unknown): string {
  if (ctx.signal?.aborted) throw err
  ctx.failures.push(err)
  const message = oneLine(err)
  ctx.hooks.onItem?.({kind, name, status: 'failed', error: message})
  return message
}

/** One line from any failure, for the receipt and the summary. */
export function oneLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err)
  return msg.split('\n')[0]!.slice(0, 500)
}
