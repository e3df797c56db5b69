/**
 * The one way airgap writes a whole file: readers see the old content or the new one, never a part,
 * and nothing planted in the folder can redirect the write.
 *
 * The bytes go to a temporary file beside the target whose name is random (`.NAME.<hex>.tmp`) and
 * which is created exclusively (O_CREAT|O_EXCL|O_NOFOLLOW: an existing file or symlink at that
 * name is never opened, another random name is tried), then fsync, then rename over the target (a
 * symlink at the target's name is replaced, not followed). A failure removes the temporary file and
 * leaves the target as it was. A predictable temporary name opened with a plain write (the old
 * `PATH.tmp-PID`) let anyone who can write to the folder plant a symlink there and have the
 * content written wherever it points.
 */
import {randomBytes} from 'node:crypto'
import {constants} from 'node:fs'
import {link, lstat, open, rename, rm, unlink} from 'node:fs/promises'
import type {FileHandle} from 'node:fs/promises'
import {basename, dirname, join} from 'node:path'

/** Flags of a file created for writing that must not exist yet, not even as a symlink. */
export const EXCLUSIVE_CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW

/** Random names tried before giving up (a collision with 48 random bits means something is wrong). */
const NAME_ATTEMPTS = 8
/** Longest part of the target's name kept in the temporary name (file names are limited to 255 bytes). */
const MAX_NAME_PART = 100

export interface AtomicWriteOptions {
  /** Permission bits of a new file, less the umask (default 0o666, as `writeFile`). */
  mode?: number
  /** When the target exists as a regular file, give the new file its permission bits (exactly). */
  keepExistingMode?: boolean
  /**
   * Replace an existing target (default true). When false the file is linked into place, which
   * fails with the EEXIST error of `link` when the target exists (checked and done in one step).
   */
  overwrite?: boolean
  /** fsync the folder after the rename, so that the new name survives a power cut (default false). */
  syncFolder?: boolean
}

/** Write `data` to `path` atomically; see the module comment. */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: AtomicWriteOptions = {}): Promise<void> {
  const mode = options.keepExistingMode ? await existingMode(path) : undefined
  const {path: tmp, handle} = await createTemporaryBeside(path, options.mode ?? 0o666)
  try {
    try {
      if (mode !== undefined) await handle.chmod(mode)
      await handle.writeFile(data)
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (options.overwrite === false) await linkIntoPlace(tmp, path)
    else await rename(tmp, path)
  } catch (err) {
    await rm(tmp, {force: true})
    throw err
  }
  if (options.syncFolder) await syncFolder(dirname(path))
}

/**
 * Create a new, empty file with a random name in `path`'s folder (exclusive create; see the module
 * comment). The caller writes it, and renames it over `path` or removes it.
 */
export async function createTemporaryBeside(path: string, mode = 0o666): Promise<{path: string; handle: FileHandle}> {
  const folder = dirname(path)
  const name = basename(path).slice(0, MAX_NAME_PART)
  for (let attempt = 1; ; attempt++) {
    const tmp = join(folder, `.${name}.${temporaryNames.next()}.tmp`)
    try {
      return {path: tmp, handle: await open(tmp, EXCLUSIVE_CREATE, mode)}
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= NAME_ATTEMPTS) throw err
    }
  }
}

/** The random part of temporary names; replaceable by tests (to plant files at the exact names). */
export const temporaryNames = {
  next: (): string => randomBytes(6).toString('hex'),
}

/** Filesystems without hard links (FAT, some network mounts) answer link() with one of these. */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS'])

/** Give `tmp` the name `path` unless `path` exists (EEXIST), then drop the name `tmp`. */
async function linkIntoPlace(tmp: string, path: string): Promise<void> {
  try {
    await link(tmp, path)
  } catch (err) {
    if (!NO_HARD_LINKS.has((err as NodeJS.ErrnoException).code ?? '')) throw err
    // No hard links here: check, then rename (a file created in between would be replaced).
    if (await lstat(path).then(() => true, () => false)) throw Object.assign(new Error(`EEXIST: file already exists, link '${tmp}' -> '${path}'`), {code: 'EEXIST', path})
    await rename(tmp, path)
    return
  }
  await unlink(tmp)
}

/** Permission bits of `path` when it is a regular file (a symlink is not followed), else undefined. */
async function existingMode(path: string): Promise<number | undefined> {
  const info = await lstat(path).catch(() => undefined)
  return info?.isFile() ? info.mode & 0o7777 : undefined
}

/** fsync a folder; filesystems that refuse it (the rename is still atomic) are ignored. */
export async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, constants.O_RDONLY | constants.O_DIRECTORY).catch(() => undefined)
  if (!handle) return
  try {
    await handle.sync()
  } catch {
    // EINVAL/EBADF on some filesystems: nothing more can be done
  } finally {
    await handle.close()
  }
}
