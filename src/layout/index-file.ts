/**
 * Reading an OCI image layout's `index.json` and `oci-layout` files, and the lock around updating
 * index.json (the update itself is written with src/files/atomic-write.ts).
 */
import {randomUUID} from 'node:crypto'
import {open, readFile, rename, rm, stat} from 'node:fs/promises'
import {IntegrityError, UnsupportedError, UsageError} from '../errors.js'
import {validateDescriptor} from '../oci/manifest.js'
import {MediaType, type Descriptor} from '../oci/types.js'

export const LAYOUT_FILE = 'oci-layout'
export const INDEX_FILE = 'index.json'
export const LAYOUT_VERSION = '1.0.0'

/** The parsed index.json: its manifests plus every other top-level field, kept as it was. */
export interface IndexDocument {
  readonly raw: Record<string, unknown>
  readonly manifests: Descriptor[]
}

const DAMAGED_HINT = 'the directory is not a valid OCI image layout (damaged or written by a broken tool); re-create it'

/** An empty index, as written into a new layout. */
export function emptyIndex(): Record<string, unknown> {
  return {schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: []}
}

/**
 * Read index.json tolerantly (unknown media types and fields are fine) but refuse a malformed
 * one with an IntegrityError naming the file and, for a bad entry, its JSON path.
 */
export async function readIndexFile(path: string): Promise<IndexDocument> {
  const raw = parseJsonObject(await readFile(path, 'utf8'), path)
  const manifests = raw.manifests ?? []
  if (!Array.isArray(manifests)) throw new IntegrityError(`${path}: "manifests" must be an array`, {hint: DAMAGED_HINT})
  return {raw, manifests: manifests.map((m, i) => validateDescriptor(m, path, `manifests[${i}]`))}
}

/** Check `oci-layout`: a JSON object with imageLayoutVersion 1.x. */
export async function checkLayoutFile(path: string): Promise<void> {
  const raw = parseJsonObject(await readFile(path, 'utf8'), path)
  const version = raw.imageLayoutVersion
  if (typeof version !== 'string') throw new IntegrityError(`${path}: imageLayoutVersion is missing`, {hint: DAMAGED_HINT})
  if (!version.startsWith('1.')) {
    throw new UnsupportedError(`${path}: OCI image layout version ${version} is not supported (1.x is)`, {
      hint: 'write the layout with a tool that produces OCI image layout 1.0.0',
    })
  }
}

function parseJsonObject(text: string, path: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new IntegrityError(`${path}: malformed JSON: ${(err as Error).message}`, {hint: DAMAGED_HINT, cause: err})
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new IntegrityError(`${path}: must hold a JSON object`, {hint: DAMAGED_HINT})
  }
  return value as Record<string, unknown>
}

/** Serialises async work per key (one index.json writer at a time within this process). */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<unknown>>()

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve()
    const result = previous.then(fn, fn)
    const tail = result.catch(() => undefined)
    this.tails.set(key, tail)
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key)
    })
    return result
  }
}

export interface FileLockOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number
  /** A lock file naming no process (its writer died before writing its pid) is taken over after this long (default 60 s). */
  staleMs?: number
}

/**
 * Run `fn` while holding `lockPath`, a file created exclusively (O_EXCL) holding the holder's pid:
 * one writer at a time across processes (two `airgap copy` into one layout), where KeyedMutex
 * covers one process. A lock whose holder process is gone (or that names no process and is older
 * than `staleMs`) is taken over; otherwise the caller waits, then fails naming the file and its
 * holder. A live holder's lock is never removed by anyone else: a lock seen to disappear is simply
 * tried again, and a takeover is done by one process at a time (`<lock>.takeover`), after checking
 * again that the lock file is still the same one (inode) it judged.
 * Hand-written: the critical section is a read-modify-rename of one small file, and the usual
 * npm lock package (proper-lockfile) has not been released since 2021.
 */
export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, opts: FileLockOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000)
  const staleMs = opts.staleMs ?? 60_000
  for (let wait = 5; ; wait = Math.min(wait * 2, 100)) {
    if (await createLockFile(lockPath)) break
    const holder = await lockHolder(lockPath)
    if (holder === undefined) continue // released in the meantime: try again at once
    if (abandoned(holder, staleMs) && (await takeOver(lockPath, holder, staleMs))) continue
    if (Date.now() > deadline) {
      throw new UsageError(`${lockPath} is held by another process${holder.pid ? ` (pid ${holder.pid})` : ''}`, {
        hint: 'another airgap is writing this OCI layout; wait for it, or remove the lock file if no airgap process is running',
      })
    }
    await new Promise((resolve) => setTimeout(resolve, wait))
  }
  try {
    return await fn()
  } finally {
    await rm(lockPath, {force: true})
  }
}

/** Create `path` exclusively with this process's pid in it; false when it exists. */
async function createLockFile(path: string): Promise<boolean> {
  let handle
  try {
    handle = await open(path, 'wx')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  }
  try {
    await handle.writeFile(`${process.pid}\n`)
  } finally {
    await handle.close()
  }
  return true
}

interface LockHolder {
  ino: number
  pid?: number
  gone: boolean
  ageMs: number
}

/** The lock file's identity, holder and age, read through one descriptor (one file); undefined when there is none. */
async function lockHolder(lockPath: string): Promise<LockHolder | undefined> {
  let handle
  try {
    handle = await open(lockPath, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
  try {
    const info = await handle.stat()
    const pid = Number.parseInt(await handle.readFile('utf8'), 10)
    const ageMs = Date.now() - info.mtimeMs
    // A lock file still being written (empty) or naming no pid is only judged by its age.
    if (!Number.isSafeInteger(pid) || pid <= 0) return {ino: info.ino, gone: false, ageMs}
    return {ino: info.ino, pid, gone: !processAlive(pid), ageMs}
  } finally {
    await handle.close()
  }
}

function abandoned(holder: LockHolder, staleMs: number): boolean {
  return holder.gone || (holder.pid === undefined && holder.ageMs > staleMs)
}

/** A takeover guard older than this was left by a process that died while taking over (the work inside takes microseconds). */
const TAKEOVER_STALE_MS = 10_000

/**
 * Remove an abandoned lock file, one process at a time: under `<lock>.takeover`, only when the
 * lock file is still the one judged abandoned (same inode, still abandoned). Nobody can replace it
 * in between: creating it needs it gone, and its holder is dead. True when the caller should try
 * to take the lock again at once; false when it should wait (another process is taking it over,
 * or the lock changed hands).
 */
async function takeOver(lockPath: string, judged: LockHolder, staleMs: number): Promise<boolean> {
  const guard = `${lockPath}.takeover`
  if (!(await createLockFile(guard))) {
    const info = await stat(guard).catch(() => undefined)
    if (!info || Date.now() - info.mtimeMs <= TAKEOVER_STALE_MS) return false // another process is at it
    await rm(guard, {force: true})
    return true
  }
  try {
    const now = await lockHolder(lockPath)
    if (now === undefined) return true
    if (now.ino !== judged.ino || !abandoned(now, staleMs)) return false
    const moved = `${lockPath}.abandoned-${randomUUID()}`
    await rename(lockPath, moved)
    await rm(moved, {force: true})
    return true
  } finally {
    await rm(guard, {force: true})
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
