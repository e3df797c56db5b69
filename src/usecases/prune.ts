/**
 * `airgap prune`, in two phases (src/mirror/prune.ts has the rules):
 *  - planPruneFromMirror(): read the kept receipts, walk the mirror under the prefix (the same walk
 *    as `airgap inventory`), and write the plan file: nothing is deleted;
 *  - applyPrunePlan(): for each manifest of the plan, check that every tag the plan names still
 *    points at it (a tag moved since the plan keeps its manifest), then DELETE it by digest.
 * Deleting manifests frees no disk by itself: the registry's garbage collection does (for
 * distribution: `registry garbage-collect --delete-untagged CONFIG`), see README.
 */
import pLimit from 'p-limit'
import {writeFileAtomic} from '../files/atomic-write.js'
import {readInputText, type InputFileKind} from '../files/input-file.js'
import {NotFoundError, PartialError, RegistryError, SpecError} from '../errors.js'
import {parseMirrorRegistry, type MirrorRegistry} from '../mirror/mapping.js'
import {planPrune, PRUNE_PLAN_KIND, type PruneDeletion, type PrunePlan} from '../mirror/prune.js'
import {readReceipt} from '../mirror/receipt.js'
import {parseJsonFile} from '../validation/json-file.js'
import {walkMirror} from './inventory.js'

export type {PrunePlan} from '../mirror/prune.js'
import {Session, type ConnectionOptions} from './session.js'

export interface PrunePlanOptions extends ConnectionOptions {
  /** Only repositories under the prefix are looked at. */
  registry: MirrorRegistry
  /** Receipts of every release the mirror must still serve. */
  keepReceipts: readonly string[]
  /** Where to write the plan. */
  planFile: string
  concurrency?: number
  signal?: AbortSignal
}

/** Phase 1: the plan, written to `planFile`; nothing is deleted. */
export async function planPruneFromMirror(opts: PrunePlanOptions): Promise<PrunePlan> {
  const registry = opts.registry
  const receipts = await Promise.all(opts.keepReceipts.map(async (file) => ({file, receipt: await readReceipt(file)})))
  const inventory = await walkMirror(opts)
  const mirror = Object.fromEntries(Object.entries(inventory.repositories).map(([name, repo]) => [name, repo.tags]))
  const plan = planPrune({registry: {host: registry.host, prefix: registry.prefix}, receipts, mirror})
  await writePlan(opts.planFile, plan)
  return plan
}

export interface PruneApplyOptions extends ConnectionOptions {
  planFile: string
  concurrency?: number
  signal?: AbortSignal
}

export type PruneOutcome = PruneDeletion & {status: 'deleted' | 'absent' | 'moved' | 'failed'; detail?: string}

export interface PruneApplyResult {
  registry: string
  outcomes: PruneOutcome[]
  deleted: number
}

/** Phase 2: delete exactly what the plan lists, re-checking each tag first. */
export async function applyPrunePlan(opts: PruneApplyOptions): Promise<PruneApplyResult> {
  const plan = await readPlan(opts.planFile)
  const {host} = parseMirrorRegistry(plan.registry)
  const session = new Session(opts)
  const limit = pLimit(opts.concurrency ?? 4)
  try {
    const outcomes = await Promise.all(plan.deletions.map((d) => limit(() => deleteOne(session, host, d, opts.signal))))
    const failed = outcomes.filter((o) => o.status === 'failed')
    const result = {registry: plan.registry, outcomes, deleted: outcomes.filter((o) => o.status === 'deleted').length}
    if (failed.length > 0) {
      const refused = failed.some((o) => /UNSUPPORTED|HTTP 405/.test(o.detail ?? ''))
      throw new PartialError(`deleted ${result.deleted} of ${plan.deletions.length} manifest(s) in ${plan.registry}; not deleted: ${failed.map((o) => `${o.repository}@${o.digest}: ${o.detail}`).join('; ')}`, {
        hint: refused
          ? 'the registry refuses deletes: enable them (distribution: storage.delete.enabled: true; Harbor/Artifactory: a user with delete permission) and run the same apply again'
          : 'fix the cause and run the same apply again: what is already deleted is skipped',
      })
    }
    return result
  } finally {
    await session.close()
  }
}

async function deleteOne(session: Session, host: string, d: PruneDeletion, signal?: AbortSignal): Promise<PruneOutcome> {
  const repo = session.repository(`${host}/${d.repository}`, 'destination').repository
  try {
    for (const tag of d.tags) {
      const now = await repo.resolve(tag, signal).catch((err: unknown) => {
        if (err instanceof NotFoundError) return undefined
        throw err
      })
      if (now && now.digest !== d.digest) return {...d, status: 'moved', detail: `tag ${tag} now points at ${now.digest}`}
    }
    return {...d, status: (await repo.deleteManifest(d.digest, signal)) ? 'deleted' : 'absent'}
  } catch (err) {
    if (signal?.aborted) throw err
    return {...d, status: 'failed', detail: err instanceof RegistryError || err instanceof Error ? err.message : String(err)}
  }
}

async function writePlan(file: string, plan: PrunePlan): Promise<void> {
  await writeFileAtomic(file, `${JSON.stringify(plan, null, 2)}\n`, {mode: 0o644})
}

const PRUNE_PLAN_FILE: InputFileKind = {what: 'prune plan', maxBytes: 64 * 1024 * 1024, refusal: 'input', missingIsNotFound: true, hint: 'write one first with `airgap prune --keep-receipts … --registry … --plan FILE`'}

async function readPlan(file: string): Promise<PrunePlan> {
  const text = await readInputText(file, PRUNE_PLAN_FILE)
  const hint = 'pass the plan `airgap prune --plan` wrote, unedited'
  const raw = parseJsonFile(text, file, hint) as Partial<PrunePlan> | null
  const ok =
    raw?.kind === PRUNE_PLAN_KIND &&
    typeof raw.registry === 'string' &&
    Array.isArray(raw.deletions) &&
    raw.deletions.every((d) => typeof d?.repository === 'string' && typeof d.digest === 'string' && /^sha256:[0-9a-f]{64}$/.test(d.digest) && Array.isArray(d.tags) && d.tags.every((t) => typeof t === 'string'))
  if (!ok) throw new SpecError(`${file}: not a prune plan (kind ${PRUNE_PLAN_KIND} with registry and deletions of {repository, digest, tags})`, file, '$', {hint})
  return raw as PrunePlan
}
