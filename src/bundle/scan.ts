/**
 * Reads of an open bundle tarball for BundleReader: the header scan (one 512-byte positional read
 * per entry, data skipped by offset) that refuses hostile or damaged archives, the small
 * synchronous reads of headers and metadata entries, and positional range streams. Everything
 * reads through the one descriptor the reader opened, never by path.
 */
import {readSync} from 'node:fs'
import type {FileHandle} from 'node:fs/promises'
import {Readable} from 'node:stream'
import {IntegrityError, UnsupportedError, UsageError} from '../errors.js'
import {classifyEntryName} from './layout.js'
import type {EntryKind} from './layout.js'
import {BLOCK, decodeHeader, isZeroBlock, paddedSize} from './tar.js'

/** Chunk size of range streams. */
const CHUNK = 1024 * 1024

/** Zero padding tolerated after the end-of-archive marker (GNU tar pads to 10 KiB records). */
const MAX_TRAILING_ZEROS = 64 * 1024

/** One file in the bundle. */
export interface BundleEntry {
  name: string
  kind: EntryKind
  /** Offset of the entry's data (its header is 512 bytes before). */
  offset: number
  size: number
}

export async function readEntry(file: FileHandle, entry: BundleEntry): Promise<Buffer> {
  const buf = Buffer.alloc(entry.size)
  await readExactly(file, buf, entry.offset)
  return buf
}

/**
 * Tar headers and metadata entries are small reads, done one after another: synchronous reads take
 * microseconds each where a trip through the thread pool takes a hundred or more (opening a bundle
 * reads every header, so a repeat push or a list is mostly this). Kept async for the callers.
 */
export async function readExactly(file: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0
  while (done < buf.length) {
    const bytesRead = readSync(file.fd, buf, done, buf.length - done, position + done)
    if (bytesRead === 0) throw new IntegrityError(`file ended at byte ${position + done} while reading ${buf.length} bytes at ${position}`)
    done += bytesRead
  }
}

/**
 * Walk the headers: every entry must be a regular file with an allowed, unique name whose data
 * lies inside the file; the archive must end with two zero blocks followed by nothing but zeros.
 * Returns the entries by name and the size of the file (as the descriptor sees it).
 */
export async function scan(file: FileHandle, path: string, maxMetadata: number): Promise<{entries: Map<string, BundleEntry>; size: number}> {
  const info = await file.stat()
  const where = `bundle ${path}`
  if (!info.isFile()) throw new UsageError(`${where} is not a regular file`, {hint: 'pass the path of a bundle .tar file'})
  const size = info.size
  const entries = new Map<string, BundleEntry>()
  const block = Buffer.alloc(BLOCK)
  let offset = 0
  for (;;) {
    if (offset + BLOCK > size) {
      throw new IntegrityError(`${where}: truncated at byte ${offset}: the end-of-archive marker is missing`, {hint: 'the bundle was cut short; copy it again'})
    }
    await readExactly(file, block, offset)
    if (isZeroBlock(block)) {
      await checkEnd(file, where, offset, size)
      return {entries, size}
    }
    const at = `${where} at byte ${offset}`
    const header = decodeHeader(block, at)
    const name = header.name
    const refuse = (reason: string): never => {
      throw new IntegrityError(`${at}: refusing entry "${name}": ${reason}`, {hint: 'this is not a bundle written by airgap, or it was tampered with; do not use it'})
    }
    const type = describeType(header.typeflag)
    if (type !== undefined) refuse(type)
    const kind = classifyEntryName(name)
    if (typeof kind !== 'string') refuse(kind.reason)
    if (entries.has(name)) refuse('duplicate name')
    const dataStart = offset + BLOCK
    if (dataStart + header.size > size) refuse(`its ${header.size} bytes of data run past the end of the file (truncated)`)
    if (kind === 'metadata' && header.size > maxMetadata) refuse(`${header.size} bytes is over the ${maxMetadata}-byte metadata limit`)
    entries.set(name, {name, kind: kind as EntryKind, offset: dataStart, size: header.size})
    offset = dataStart + paddedSize(header.size)
  }
}

/**
 * The second end block must be zero too, and only zero padding (at most MAX_TRAILING_ZEROS bytes)
 * may follow. Data found after the marker is refused, naming the entry when it is a tar header.
 */
async function checkEnd(file: FileHandle, where: string, offset: number, size: number): Promise<void> {
  const rest = size - offset - BLOCK
  if (rest < BLOCK) throw new IntegrityError(`${where}: truncated at byte ${offset + BLOCK}: the end-of-archive marker is incomplete`, {hint: 'the bundle was cut short; copy it again'})
  const tail = Buffer.alloc(Math.min(rest, BLOCK + MAX_TRAILING_ZEROS + BLOCK))
  await readExactly(file, tail, offset + BLOCK)
  const hint = 'something was appended to the bundle; do not use it'
  if (!isZeroBlock(tail.subarray(0, BLOCK))) {
    throw new IntegrityError(`${where}: a single zero block at byte ${offset} is followed by more data${appendedEntry(tail, 0)} (the end-of-archive marker needs two)`, {hint})
  }
  const firstNonZero = tail.findIndex((b) => b !== 0)
  if (firstNonZero !== -1 || rest > BLOCK + MAX_TRAILING_ZEROS) {
    const at = firstNonZero === -1 ? BLOCK + MAX_TRAILING_ZEROS : firstNonZero
    const blockStart = at - (at % BLOCK)
    throw new IntegrityError(`${where}: trailing data after the end-of-archive marker at byte ${offset}${appendedEntry(tail, blockStart)}`, {hint})
  }
}

/** `: entry "NAME" was appended` when the block at `at` decodes as a tar header, else ''. */
function appendedEntry(tail: Buffer, at: number): string {
  if (at + BLOCK > tail.length) return ''
  try {
    return `: entry "${decodeHeader(tail.subarray(at, at + BLOCK), '').name}" was appended`
  } catch {
    return ''
  }
}

/** Undefined for a regular file; otherwise why the entry type is refused. */
function describeType(flag: string): string | undefined {
  switch (flag) {
    case '0':
    case '\u0000':
      return undefined
    case '1':
      return 'hard link entries are not allowed'
    case '2':
      return 'symbolic link entries are not allowed'
    case '3':
      return 'character device entries are not allowed'
    case '4':
      return 'block device entries are not allowed'
    case '5':
      return 'directory entries are not allowed'
    case '6':
      return 'FIFO entries are not allowed'
    case '7':
      return 'contiguous-file entries are not allowed'
    case 'x':
    case 'g':
      return 'pax extended headers are not allowed'
    case 'L':
    case 'K':
      return 'GNU long name/link headers are not allowed'
    default:
      return `entry type ${JSON.stringify(flag)} is not allowed`
  }
}

export function checkLayoutVersion(bytes: Buffer, where: string): void {
  let version: unknown
  try {
    version = (JSON.parse(bytes.toString('utf8')) as {imageLayoutVersion?: unknown}).imageLayoutVersion
  } catch (err) {
    throw new IntegrityError(`${where}: not valid JSON`, {cause: err})
  }
  if (version !== '1.0.0') throw new UnsupportedError(`${where}: image layout version ${JSON.stringify(version)} is not supported (want "1.0.0")`)
}

/**
 * A stream of `length` bytes of `file` at `offset`, read with positional reads. Unlike
 * FileHandle.createReadStream it adds no listener to the shared handle, so any number of blobs
 * can stream from one open bundle at once.
 */
export function rangeStream(file: FileHandle, offset: number, length: number, where: string): Readable {
  let done = 0
  return new Readable({
    highWaterMark: CHUNK,
    read() {
      const want = Math.min(CHUNK, length - done)
      if (want <= 0) {
        this.push(null)
        return
      }
      file.read(Buffer.allocUnsafe(want), 0, want, offset + done).then(
        ({bytesRead, buffer}) => {
          if (bytesRead === 0) {
            this.destroy(new IntegrityError(`${where} ends early (the file shrank while reading)`))
            return
          }
          done += bytesRead
          this.push(buffer.subarray(0, bytesRead))
        },
        (err: unknown) => this.destroy(err as Error),
      )
    },
  })
}
