/**
 * The one way airgap reads a file the user named (spec, values, receipt, inventory, key, CA file…):
 * the whole file, or one error that names the file, says what is wrong with it and what to do.
 *
 * The file is opened with O_NONBLOCK (opening a FIFO then neither blocks nor waits for a writer)
 * and checked through the open descriptor: anything but a regular file (a folder, a FIFO, a device
 * such as /dev/zero, a socket) is refused without reading it, and so is a file over the size limit
 * of its kind; reading stops at the limit even when the file grows meanwhile.
 *
 * Exit codes: every refusal is raised as the kind's error class: SpecError (exit 3) for input
 * documents, UsageError (exit 2) for keys and certificates named by a flag. A missing file is a
 * NotFoundError (exit 7) for kinds that say so (files another airgap command writes, e.g. the push
 * receipt), else the kind's class.
 */
import {closeSync, constants, fstatSync, openSync, readSync} from 'node:fs'
import type {Stats} from 'node:fs'
import {open} from 'node:fs/promises'
import {AirgapError, NotFoundError, SpecError, UsageError} from '../errors.js'

/** What a kind of input file is called, how large it may be, and how a refusal is classified. */
export interface InputFileKind {
  /** What the file is, in messages: `spec file`, `push receipt`, `public key`. */
  readonly what: string
  /** Largest size read, in bytes. */
  readonly maxBytes: number
  /** `input`: an input document (SpecError, exit 3); `usage`: named by a flag, not a document (UsageError, exit 2). */
  readonly refusal: 'input' | 'usage'
  /** A missing file is a NotFoundError (exit 7) rather than a refusal of the kind's class. */
  readonly missingIsNotFound?: boolean
  /** What to do when the file does not exist (which path to pass instead). */
  readonly hint: string
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY
const CHUNK = 64 * 1024

/** The bytes of a user-named file; see the module comment. */
export async function readInputFile(file: string, kind: InputFileKind): Promise<Buffer> {
  let handle
  try {
    handle = await open(file, OPEN_FLAGS)
  } catch (err) {
    throw openFailure(file, kind, err)
  }
  try {
    const info = await handle.stat()
    refuseUnlessReadable(file, kind, info)
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const buf = Buffer.allocUnsafe(nextReadSize(kind, info, total))
      const {bytesRead} = await handle.read(buf, 0, buf.length, null)
      if (bytesRead === 0) break
      chunks.push(buf.subarray(0, bytesRead))
      total += bytesRead
      if (total > kind.maxBytes) throw tooLarge(file, kind, info.size)
    }
    return Buffer.concat(chunks, total)
  } catch (err) {
    throw (err as {code?: unknown}).code !== undefined && !(err instanceof AirgapError) ? readFailure(file, kind, err) : err
  } finally {
    await handle.close()
  }
}

/** readInputFile as UTF-8 text. */
export async function readInputText(file: string, kind: InputFileKind): Promise<string> {
  return (await readInputFile(file, kind)).toString('utf8')
}

/** readInputFile, or undefined when the file does not exist (an optional file such as a credential store). */
export async function readOptionalInputFile(file: string, kind: InputFileKind): Promise<Buffer | undefined> {
  try {
    return await readInputFile(file, kind)
  } catch (err) {
    if (err instanceof AirgapError && isMissing(err.cause)) return undefined
    throw err
  }
}

/** readInputText for synchronous callers (constructors). */
export function readInputTextSync(file: string, kind: InputFileKind): string {
  let fd: number
  try {
    fd = openSync(file, OPEN_FLAGS)
  } catch (err) {
    throw openFailure(file, kind, err)
  }
  try {
    const info = fstatSync(fd)
    refuseUnlessReadable(file, kind, info)
    const chunks: Buffer[] = []
    let total = 0
    for (;;) {
      const buf = Buffer.allocUnsafe(nextReadSize(kind, info, total))
      const bytesRead = readSync(fd, buf, 0, buf.length, null)
      if (bytesRead === 0) break
      chunks.push(buf.subarray(0, bytesRead))
      total += bytesRead
      if (total > kind.maxBytes) throw tooLarge(file, kind, info.size)
    }
    return Buffer.concat(chunks, total).toString('utf8')
  } catch (err) {
    throw (err as {code?: unknown}).code !== undefined && !(err instanceof AirgapError) ? readFailure(file, kind, err) : err
  } finally {
    closeSync(fd)
  }
}

function refuseUnlessReadable(file: string, kind: InputFileKind, info: Stats): void {
  if (!info.isFile()) {
    const what = describeNonFile(info)
    throw refusal(kind, file, `${file}: cannot read ${kind.what}: it is ${what}, not a regular file`, `pass the path of the ${kind.what} itself${info.isDirectory() ? '' : '; airgap reads input files whole, so copy the content into a regular file first'}`)
  }
  if (info.size > kind.maxBytes) throw tooLarge(file, kind, info.size)
}

function describeNonFile(info: Stats): string {
  if (info.isDirectory()) return 'a directory'
  if (info.isFIFO()) return 'a named pipe (FIFO)'
  if (info.isCharacterDevice()) return 'a character device'
  if (info.isBlockDevice()) return 'a block device'
  if (info.isSocket()) return 'a socket'
  return 'a special file'
}

function tooLarge(file: string, kind: InputFileKind, size: number): AirgapError {
  const got = size > kind.maxBytes ? `${size} bytes` : `larger than ${kind.maxBytes} bytes`
  return refusal(kind, file, `${file}: ${kind.what} is ${got}, more than the limit of ${kind.maxBytes} bytes`, `check that the right file was given (a ${kind.what} is at most ${kind.maxBytes} bytes)`)
}

function openFailure(file: string, kind: InputFileKind, err: unknown): AirgapError {
  const code = (err as NodeJS.ErrnoException).code
  if (isMissing(err)) {
    const message = `${file}: cannot read ${kind.what} (${code}): it does not exist`
    if (kind.missingIsNotFound) return new NotFoundError(message, {hint: kind.hint, cause: err})
    return refusal(kind, file, message, kind.hint, err)
  }
  return readFailure(file, kind, err)
}

function readFailure(file: string, kind: InputFileKind, err: unknown): AirgapError {
  const code = (err as NodeJS.ErrnoException).code
  const denied = code === 'EACCES' || code === 'EPERM'
  const detail = denied ? 'permission denied' : (err as Error).message.replace(/^[A-Z]+: /, '').replace(/, (open|read) .*$/, '')
  return refusal(kind, file, `${file}: cannot read ${kind.what} (${code ?? 'error'}): ${detail}`, denied ? 'check the file permissions: it must be readable by this user' : `check the ${kind.what} and the disk it is on`, err)
}

function refusal(kind: InputFileKind, file: string, message: string, hint: string, cause?: unknown): AirgapError {
  const options = cause === undefined ? {hint} : {hint, cause}
  return kind.refusal === 'usage' ? new UsageError(message, options) : new SpecError(message, file, undefined, options)
}

function isMissing(err: unknown): boolean {
  const code = (err as {code?: unknown} | undefined)?.code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

/** Size of the next read: the whole (remaining) file at once when its size is known, never past the limit + 1. */
function nextReadSize(kind: InputFileKind, info: Stats, total: number): number {
  return Math.min(kind.maxBytes + 1 - total, Math.max(info.size + 1 - total, CHUNK))
}
