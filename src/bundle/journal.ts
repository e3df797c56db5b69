/**
 * The journal of a bundle being written (`<out>.partial.journal`): JSON lines, each fsync'd. The
 * first line holds the plan hash, every other line one blob that was verified and fsync'd in the
 * partial file. Reopening with the same plan keeps the journaled blobs; a blob not journaled as
 * complete is never trusted.
 */
import {createHash} from 'node:crypto'
import {constants} from 'node:fs'
import {open, readFile, stat, type FileHandle} from 'node:fs/promises'
import {writeFileAtomic} from '../files/atomic-write.js'
import {parseDigest} from '../oci/digest.js'
import type {BundlePlan} from './archive-plan.js'
import {BLOCK} from './tar.js'

/** Appends completed blobs to the journal, one fsync'd line each, in order. */
export class BundleJournal {
  private chain: Promise<void> = Promise.resolve()

  private constructor(private readonly handle: FileHandle) {}

  /**
   * Write the journal afresh for `planHash` with the blobs `done` (atomically: a torn last line of
   * the previous journal must not swallow the next record) and open it for appending.
   */
  static async start(path: string, planHash: string, done: readonly string[]): Promise<BundleJournal> {
    await writeFileAtomic(path, [{plan: planHash}, ...done.map((d) => ({done: d}))].map((r) => JSON.stringify(r) + '\n').join(''))
    // Never through a symlink planted at the journal's name.
    return new BundleJournal(await open(path, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW))
  }

  /** Record a blob as complete; resolves once the line is on disk. */
  recordDone(digest: string): Promise<void> {
    const line = JSON.stringify({done: digest}) + '\n'
    const next = this.chain.then(async () => {
      await this.handle.write(line)
      await this.handle.datasync()
    })
    this.chain = next.catch(() => undefined)
    return next
  }

  /** Wait for the records under way, then close the file. */
  async close(): Promise<void> {
    await this.chain
    await this.handle.close()
  }
}

/**
 * Journaled digests when the partial file and journal belong to `plan`, else undefined (start
 * over). A torn last line is ignored; a journaled blob whose bytes lie past the file end is dropped.
 */
export async function readJournal(partial: string, journalPath: string, plan: BundlePlan): Promise<string[] | undefined> {
  let text: string
  let size: number
  try {
    text = await readFile(journalPath, 'utf8')
    size = (await stat(partial)).size
  } catch {
    return undefined
  }
  const lines = text.split('\n')
  const first = parseLine(lines[0])
  if (first?.plan !== plan.hash) return undefined
  const done: string[] = []
  for (const line of lines.slice(1)) {
    const digest = parseLine(line)?.done
    const planned = typeof digest === 'string' ? plan.blobs.get(digest) : undefined
    if (planned && planned.offset + BLOCK + planned.desc.size <= size) done.push(planned.desc.digest)
  }
  return done
}

/** The journaled blobs whose bytes in the partial file still hash to their digest. */
export async function keepIntact(file: FileHandle, plan: BundlePlan, digests: readonly string[]): Promise<string[]> {
  const kept: string[] = []
  const buf = Buffer.allocUnsafe(1024 * 1024)
  for (const digest of digests) {
    const {offset, desc} = plan.blobs.get(digest)!
    const {algorithm} = parseDigest(digest)
    const hash = createHash(algorithm)
    let done = 0
    while (done < desc.size) {
      const {bytesRead} = await file.read(buf, 0, Math.min(buf.length, desc.size - done), offset + BLOCK + done)
      if (bytesRead === 0) break
      hash.update(buf.subarray(0, bytesRead))
      done += bytesRead
    }
    if (done === desc.size && `${algorithm}:${hash.digest('hex')}` === digest) kept.push(digest)
  }
  return kept
}

function parseLine(line: string | undefined): {plan?: unknown; done?: unknown} | undefined {
  if (!line) return undefined
  try {
    return JSON.parse(line) as {plan?: unknown; done?: unknown}
  } catch {
    return undefined
  }
}
