/**
 * The survey: what the verified bundle and the mirror hold, as plain data for the planner
 * (plan.ts). Nothing is written.
 *  - The bundle: every graph, its manifests read once through the open reader into the copy
 *    tracker's cache (the copies reuse them), and the blobs the file holds (a split part: some).
 *  - The mirror: one question per image, its tag (a repeat push is settled by it) or else its
 *    manifest; for a delta bundle, each blob it leaves out that an item still to push needs: in
 *    place, in another repository of the mirror (to mount), or nowhere.
 */
import pLimit from 'p-limit'
import {digestOfEntryName, type BundleReader} from '../../bundle/index.js'
import type {ReadOnlyTarget} from '../../content/types.js'
import type {CopyTracker} from '../../copy/index.js'
import {planCopy} from '../../copy/plan.js'
import {isServerFailure, NotFoundError, unlessServerFails} from '../../errors.js'
import type {Descriptor} from '../../oci/types.js'
import type {RegistryRepository} from '../../registry/index.js'
import {expectedNeeds, graphRoots, taggedDigest, type LocatedBlob, type MirrorSurvey, type PushContents, type RootState, type SurveyQuestions, type TagNow} from './plan.js'

/** What the bundle holds: every graph it lists, and the digests of the blobs in the file. */
export async function surveyBundle(
  reader: BundleReader,
  contents: PushContents,
  tracker: CopyTracker,
  signal: AbortSignal | undefined,
): Promise<{graphs: Map<string, Descriptor[]>; held: Set<string>}> {
  const graphs = await readGraphs(reader, graphRoots(contents), tracker, signal)
  const held = new Set(reader.entries().flatMap((e) => (e.kind === 'blob' ? [digestOfEntryName(e.name)] : [])))
  return {graphs, held}
}

/** Every node of each graph (root first), by root digest; `name` names the item in errors. */
export async function readGraphs(
  bundle: ReadOnlyTarget,
  roots: Iterable<{digest: string; name: string}>,
  tracker: CopyTracker,
  signal: AbortSignal | undefined,
): Promise<Map<string, Descriptor[]>> {
  const unique = new Map<string, string>()
  for (const r of roots) if (!unique.has(r.digest)) unique.set(r.digest, r.name)
  const graphs = await Promise.all([...unique].map(async ([digest, image]) => [digest, (await planCopy(bundle, digest, {tracker, image, signal})).nodes] as const))
  return new Map(graphs)
}

export interface SurveyOptions {
  /** The mirror host (`host[:port]`). */
  host: string
  /** The mirror repository of a reference (one object per repository). */
  repositoryAt(ref: string): RegistryRepository
  signal?: AbortSignal
  /** Image `index` will be sent (the mirror lacks it): called as soon as that is known. */
  onImageToSend?(index: number): void
}

/** Ask the mirror; the answers are plain data. */
export async function surveyMirror(questions: SurveyQuestions, opts: SurveyOptions): Promise<MirrorSurvey> {
  const {signal} = opts
  const known = new Existence(signal)
  const answers = questions.images
    ? await Promise.all(
        questions.images.map(async (q, i) => {
          const dst = opts.repositoryAt(q.mirror)
          const answer = await rootState(dst, q.tag, q.root, signal)
          known.record(dst, q.root.digest, answer.state !== 'absent')
          if (answer.state === 'absent') opts.onImageToSend?.(i)
          return answer
        }),
      )
    : undefined
  const expected = questions.delta ? await locateExpected(questions.delta, known, (path) => opts.repositoryAt(`${opts.host}/${path}`)) : []
  return answers ? {images: answers.map((a) => a.state), tags: answers.map((a) => a.tag), expected} : {expected}
}

/**
 * The tag first: when it already names this digest (a repeat push), the image is complete and
 * tagged, and one HEAD settles it (a registry only accepts a manifest whose children it has).
 * A mirror that answers 5xx for either question gets the image sent again (unlessServerFails).
 */
async function rootState(dst: RegistryRepository, tag: string | undefined, root: Descriptor, signal: AbortSignal | undefined): Promise<{state: RootState; tag: TagNow | undefined}> {
  const now = tag === undefined ? undefined : await tagNow(dst, tag, signal)
  if (taggedDigest(now) === root.digest) return {state: 'tagged', tag: now}
  return {state: (await unlessServerFails(dst.exists(root, signal), false)) ? 'present' : 'absent', tag: now}
}

/** What `tag` in `dst` names now (`unknown`: the mirror answered with a server error, see unlessServerFails). */
export async function tagNow(dst: RegistryRepository, tag: string, signal: AbortSignal | undefined): Promise<TagNow> {
  try {
    return {digest: (await dst.resolve(tag, signal)).digest}
  } catch (err) {
    if (err instanceof NotFoundError) return 'none'
    if (isServerFailure(err)) return 'unknown'
    throw err
  }
}

/**
 * Delta bundles: for each item whose root the mirror lacks, each expected blob of its graph is
 * looked up (HEAD) in the item's repository, else in the candidate repositories in order.
 */
async function locateExpected(delta: NonNullable<SurveyQuestions['delta']>, known: Existence, repositoryAt: (path: string) => RegistryRepository): Promise<LocatedBlob[]> {
  const rootThere = await Promise.all(delta.items.map((item) => known.ask(repositoryAt(item.repository), item.root)))
  const needs = expectedNeeds(delta.items, rootThere.map((there) => !there), delta.graphs, delta.expected)
  return Promise.all(
    needs.map(async (need): Promise<LocatedBlob> => {
      if (await known.ask(repositoryAt(need.repository), need.blob)) return {...need, present: true}
      for (const path of need.candidates) if (await known.ask(repositoryAt(path), need.blob)) return {...need, present: false, mountFrom: path}
      return {...need, present: false}
    }),
  )
}

/** Existence answers by repository and digest: each asked once (8 at a time), or known from an earlier answer. */
class Existence {
  private readonly answers = new Map<string, Promise<boolean>>()
  private readonly limit = pLimit(8)

  constructor(private readonly signal: AbortSignal | undefined) {}

  record(repo: RegistryRepository, digest: string, exists: boolean): void {
    this.answers.set(key(repo, digest), Promise.resolve(exists))
  }

  ask(repo: RegistryRepository, desc: Descriptor): Promise<boolean> {
    const k = key(repo, desc.digest)
    let answer = this.answers.get(k)
    if (!answer) this.answers.set(k, (answer = this.limit(() => unlessServerFails(repo.exists(desc, this.signal), false))))
    return answer
  }
}

function key(repo: RegistryRepository, digest: string): string {
  return `${repo.registryHost}/${repo.repository}@${digest}`
}
