/**
 * loadHaveList(): what the mirror holds, from whatever the user carried out of the enclave:
 *
 *  - a push receipt: the images (and OCI charts) it records as pushed. Their blobs come from the
 *    bundle the receipt names when that file is still here with the same lock digest, else from
 *    `expand` (pull walks the image again in its source registry, by digest);
 *  - a bundle tarball: everything its index.json reaches (including a delta's expected blobs);
 *  - a bundle lock (airgap/lock.json): its images and charts, expanded like a receipt's, plus its
 *    expected-in-mirror blobs;
 *  - a mirror inventory (`airgap inventory`): its manifests and blobs.
 *
 * An image that cannot be expanded contributes only its root digest: its blobs are carried again
 * (a larger delta, never a wrong one), and `onWarning` says so.
 */
import {open, stat} from 'node:fs/promises'
import type {ReadOnlyTarget} from '../content/types.js'
import {planCopy} from '../copy/plan.js'
import {CopyTracker} from '../copy/tracker.js'
import {NotFoundError, SpecError} from '../errors.js'
import {readInputText, type InputFileKind} from '../files/input-file.js'
import {parseJsonFile} from '../validation/json-file.js'
import {digestOf} from '../oci/digest.js'
import {parseReference} from '../oci/reference.js'
import {Annotation} from '../oci/types.js'
import {parseLock, type BundleLock} from '../bundle/lock.js'
import {parseReceipt, type PushReceipt} from '../mirror/receipt.js'
import {BundleReader, LOCK_JSON} from '../bundle/index.js'
import {HaveList} from './have.js'
import {isInventoryJson, parseInventory} from './inventory.js'

export interface HaveListOptions {
  /**
   * Every node digest of image `source` at `digest`, read from its source (used when the bundle
   * is not at hand). Throw when it cannot be read.
   */
  expand?: (source: string, digest: string) => Promise<string[]>
  onWarning?: (message: string) => void
  signal?: AbortSignal
}

/** A --since file that is not a bundle: a receipt, a lock or an inventory (JSON). */
const SINCE_FILE: InputFileKind = {
  what: '--since file',
  maxBytes: 256 * 1024 * 1024,
  refusal: 'input',
  missingIsNotFound: true,
  hint: 'pass the push receipt, bundle lock, inventory or bundle of what the mirror holds',
}

/** Load the have-list from a receipt, lock, inventory or bundle file (detected by content). */
export async function loadHaveList(file: string, opts: HaveListOptions = {}): Promise<HaveList> {
  const head = await firstByte(file)
  if (head !== '{') return fromBundleFile(file, opts)
  const text = await readInputText(file, SINCE_FILE)
  const raw = parseJsonFile(text, file, 'pass a push receipt, a bundle lock, an inventory or a bundle with --since')
  const kind = (raw as {kind?: unknown} | null)?.kind
  if (kind === 'PushReceipt') return fromReceipt(parseReceipt(text, file), file, opts)
  if (kind === 'BundleLock') return fromLock(parseLock(Buffer.from(text), file), file, opts)
  if (isInventoryJson(raw)) {
    const inv = parseInventory(text, file)
    const have = new HaveList(file)
    for (const d of [...inv.manifests, ...inv.blobs]) have.add(d)
    // Tagged roots: their repository is a mount candidate for the root itself.
    for (const [name, repo] of Object.entries(inv.repositories)) for (const d of Object.values(repo.tags)) have.add(d, name)
    return have
  }
  throw new SpecError(`${file}: kind ${JSON.stringify(kind ?? null)} is not a push receipt, bundle lock or mirror inventory`, file, '$.kind', {
    hint: 'pass the receipt `airgap push` wrote, a bundle (or its airgap/lock.json), or a file written by `airgap inventory`',
  })
}

async function firstByte(file: string): Promise<string> {
  const info = await stat(file).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') throw new NotFoundError(`--since file ${file} does not exist`, {hint: 'pass the push receipt, bundle lock, inventory or bundle of what the mirror holds'})
    throw err
  })
  if (!info.isFile()) throw new SpecError(`--since ${file} is not a file`, file)
  const handle = await open(file, 'r')
  try {
    const buf = Buffer.alloc(64)
    const {bytesRead} = await handle.read(buf, 0, 64, 0)
    return buf.subarray(0, bytesRead).toString('utf8').trimStart().charAt(0)
  } finally {
    await handle.close()
  }
}

async function fromBundleFile(file: string, opts: HaveListOptions): Promise<HaveList> {
  const have = new HaveList(file)
  const reader = await BundleReader.open(file)
  try {
    await addBundle(have, reader, () => true, opts)
    return have
  } finally {
    await reader.close()
  }
}

/**
 * Add every node reachable from the bundle's index.json entries that `keep` accepts (by ref.name),
 * with `repositoryOf(name)` as the repository, plus the lock's expected-in-mirror blobs.
 */
async function addBundle(have: HaveList, reader: BundleReader, keep: (name: string) => boolean, opts: HaveListOptions, repositoryOf?: (name: string) => string | undefined): Promise<void> {
  const tracker = new CopyTracker({concurrency: 4})
  for (const m of reader.index.manifests) {
    const name = m.annotations?.[Annotation.RefName] ?? m.digest
    if (!keep(name)) continue
    const repo = repositoryOf?.(name)
    const {nodes} = await planCopy(reader, m.digest, {tracker, image: name, signal: opts.signal})
    for (const n of nodes) have.add(n.digest, repo)
  }
  if (reader.has(LOCK_JSON)) {
    const lock = parseLock(await reader.readFile(LOCK_JSON), `${reader.location} ${LOCK_JSON}`)
    for (const e of lock.expectedInMirror ?? []) {
      have.add(e.digest)
      for (const r of e.repositories ?? []) have.add(e.digest, r)
    }
  }
}

async function fromReceipt(receipt: PushReceipt, file: string, opts: HaveListOptions): Promise<HaveList> {
  const have = new HaveList(file)
  const pushed = receipt.images.filter((i) => i.status === 'pushed')
  const mirrorRepo = new Map(pushed.map((i) => [i.source, mirrorPath(i.mirror)]))
  const reader = await sameBundle(receipt)
  if (reader) {
    try {
      const ociCharts = new Set(receipt.charts.filter((c) => c.status === 'pushed' && c.ociRef).map((c) => c.digest))
      const lock = parseLock(await reader.readFile(LOCK_JSON), `${reader.location} ${LOCK_JSON}`)
      const chartNames = new Set(
        reader.index.manifests.filter((m) => ociCharts.has(m.digest) && lock.charts.some((c) => c.digest === m.digest)).map((m) => m.annotations?.[Annotation.RefName] ?? ''),
      )
      // Signatures travel with their image: pushed when the image was.
      const subjectOf = new Map((lock.signatures ?? []).map((s) => [s.ref, s.subject]))
      const imageOfSignature = (ref: string): string | undefined => {
        const subject = subjectOf.get(ref)
        if (!subject) return undefined
        const repo = subject.slice(0, subject.indexOf('@'))
        return pushed.find((i) => i.source.startsWith(`${repo}:`) || i.source.startsWith(`${repo}@`))?.source
      }
      await addBundle(
        have,
        reader,
        (name) => mirrorRepo.has(name) || chartNames.has(name) || imageOfSignature(name) !== undefined,
        opts,
        (name) => mirrorRepo.get(name) ?? mirrorRepo.get(imageOfSignature(name) ?? ''),
      )
      return have
    } finally {
      await reader.close()
    }
  }
  await expandImages(have, pushed.map((i) => ({source: i.source, digest: i.digest, repository: mirrorRepo.get(i.source)})), opts)
  return have
}

/** The bundle a receipt names, when it is still at that path with the same lock. */
async function sameBundle(receipt: PushReceipt): Promise<BundleReader | undefined> {
  const reader = await BundleReader.open(receipt.bundle.path).catch(() => undefined)
  if (!reader) return undefined
  try {
    if (reader.has(LOCK_JSON) && digestOf(await reader.readFile(LOCK_JSON)) === receipt.bundle.lockDigest) return reader
  } catch {
    // a damaged or different bundle at that path: expand from the sources instead
  }
  await reader.close()
  return undefined
}

async function fromLock(lock: BundleLock, file: string, opts: HaveListOptions): Promise<HaveList> {
  const have = new HaveList(file)
  for (const e of lock.expectedInMirror ?? []) {
    have.add(e.digest)
    for (const r of e.repositories ?? []) have.add(e.digest, r)
  }
  await expandImages(have, [...lock.images, ...(lock.signatures ?? []).map((s) => ({source: s.ref, digest: s.digest}))], opts)
  for (const c of lock.charts) have.add(c.digest)
  return have
}

async function expandImages(have: HaveList, images: ReadonlyArray<{source: string; digest: string; repository?: string | undefined}>, opts: HaveListOptions): Promise<void> {
  const failed: string[] = []
  await Promise.all(
    images.map(async (image) => {
      have.add(image.digest, image.repository)
      if (!opts.expand) return void failed.push(image.source)
      try {
        for (const d of await opts.expand(image.source, image.digest)) have.add(d, image.repository)
      } catch (err) {
        if (opts.signal?.aborted) throw err
        failed.push(`${image.source} (${(err as Error).message.split('\n')[0]})`)
      }
    }),
  )
  if (failed.length > 0) {
    opts.onWarning?.(`${have.origin}: the blobs of ${failed.length} image(s) are not known and will be carried again: ${failed.sort().join('; ')}`)
  }
}

/** `HOST/path/repo:tag` -> `path/repo` (the repository path inside the mirror host). */
function mirrorPath(mirror: string): string | undefined {
  try {
    return parseReference(mirror).repository
  } catch {
    return undefined
  }
}

/**
 * An `expand` for loadHaveList that walks an image again in its source: `open` gives the
 * repository to read `registry/repository` from (a pull-through mirror when one is configured).
 */
export function expandFrom(open: (repository: string) => ReadOnlyTarget, signal?: AbortSignal): (source: string, digest: string) => Promise<string[]> {
  const tracker = new CopyTracker({concurrency: 4})
  return async (source, digest) => {
    const ref = parseReference(source)
    const {nodes} = await planCopy(open(`${ref.registry}/${ref.repository}`), digest, {tracker, image: source, signal})
    return nodes.map((n) => n.digest)
  }
}
