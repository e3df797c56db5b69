/**
 * Chart archives (`<name>-<version>.tgz`) read and written entirely in memory. Reading refuses
 * anything that could escape a chart folder or exhaust memory (absolute paths, `..`, links,
 * devices, too many or too large files); nothing is ever written to disk.
 */
import {Readable} from 'node:stream'
import {gunzipSync, gzipSync} from 'node:zlib'
import * as tar from 'tar-stream'
import {SpecError} from '../errors.js'

/** Limits for reading a chart archive (defaults fit any real chart with a wide margin). */
export interface ArchiveLimits {
  /** Total uncompressed size of the tar stream (default 64 MiB). */
  maxUncompressedBytes?: number
  /** Number of entries (default 10,000). */
  maxEntries?: number
}

export const DEFAULT_ARCHIVE_LIMITS: Required<ArchiveLimits> = {
  maxUncompressedBytes: 64 * 1024 * 1024,
  maxEntries: 10_000,
}

/** The files of one chart archive: the top folder name and paths relative to it. */
export interface ArchiveFiles {
  /** The single top-level folder, by Helm convention the chart name. */
  top: string
  /** "Chart.yaml", "templates/x.yaml", "charts/sub-1.0.0.tgz" -> bytes. */
  files: Map<string, Buffer>
}

/** Fixed modification time of entries written by buildChartArchive (reproducible output). */
export const ARCHIVE_MTIME = new Date('2000-01-01T00:00:00Z')

/**
 * Why a path inside a chart (archive entry or file map key) is unsafe, or undefined when it is
 * fine. Accepts a leading "./"; refuses absolute paths, drive letters, backslashes, `..`, NUL.
 */
export function unsafePathReason(path: string): string | undefined {
  if (path === '') return 'empty path'
  if (path.includes('\0')) return 'NUL byte in path'
  if (path.startsWith('/')) return 'absolute path'
  if (/^[A-Za-z]:/.test(path)) return 'drive-letter path'
  if (path.includes('\\')) return 'backslash in path'
  if (path.split('/').includes('..')) return '".." in path'
  return undefined
}

/** "./a//b/" -> "a/b" (after the safety check). */
function normalisePath(path: string): string {
  return path
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/')
}

function gunzip(bytes: Uint8Array, origin: string, limit: number): Buffer {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) {
    throw new SpecError(`chart archive ${origin} is not gzip-compressed (expected a .tgz file)`, origin, undefined, {
      hint: 'a chart archive is made with `helm package`; check that the file or URL is the chart .tgz',
    })
  }
  try {
    return gunzipSync(bytes, {maxOutputLength: limit})
  } catch (err) {
    const tooLarge = (err as {code?: string}).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError
    throw new SpecError(
      tooLarge
        ? `chart archive ${origin} expands to more than ${limit} bytes`
        : `chart archive ${origin} is not a valid gzip stream: ${(err as Error).message}`,
      origin,
      undefined,
      {hint: tooLarge ? 'this is not a normal chart; refusing it protects memory' : 'download the chart again', cause: err},
    )
  }
}

const FILE_TYPES = new Set(['file', 'contiguous-file'])

/**
 * Read the entries of a gzipped chart tar into memory. All entries must live under one top-level
 * folder; directories are skipped; pax headers are applied by tar-stream. Throws SpecError naming
 * the archive and the entry for anything unsafe.
 */
export async function readChartArchive(bytes: Uint8Array, origin: string, limits: ArchiveLimits = {}): Promise<ArchiveFiles> {
  const lim = {...DEFAULT_ARCHIVE_LIMITS, ...limits}
  const tarBytes = gunzip(bytes, origin, lim.maxUncompressedBytes)
  const extract = tar.extract()
  const files = new Map<string, Buffer>()
  let top: string | undefined
  let count = 0
  const refuse = (entry: string, why: string): SpecError =>
    new SpecError(`chart archive ${origin}: entry "${entry}" refused: ${why}`, origin, entry, {
      hint: 'the archive is damaged or hostile; get the chart from a trusted source',
    })

  const source = Readable.from([tarBytes])
  source.pipe(extract)
  try {
    for await (const entry of extract) {
      const h = entry.header
      count += 1
      if (count > lim.maxEntries) throw refuse(h.name, `more than ${lim.maxEntries} entries`)
      const reason = unsafePathReason(h.name)
      if (reason) throw refuse(h.name, reason)
      const type: string = h.type ?? 'file'
      if (type === 'directory' || type === 'pax-global-header') {
        entry.resume()
        continue
      }
      if (!FILE_TYPES.has(type)) throw refuse(h.name, `${type} entries are not allowed in a chart`)
      const path = normalisePath(h.name)
      const slash = path.indexOf('/')
      // A top-level file (no folder) is invalid in a chart archive.
      if (slash <= 0) throw refuse(h.name, 'file outside the chart folder')
      const first = path.slice(0, slash)
      if (top === undefined) top = first
      else if (first !== top) throw refuse(h.name, `second top-level folder "${first}" (the chart folder is "${top}")`)
      const rel = path.slice(slash + 1)
      if (files.has(rel)) throw refuse(h.name, 'duplicate entry')
      const chunks: Buffer[] = []
      for await (const chunk of entry) chunks.push(chunk as Buffer)
      files.set(rel, Buffer.concat(chunks))
    }
  } catch (err) {
    source.unpipe(extract)
    extract.destroy()
    if (err instanceof SpecError) throw err
    throw new SpecError(`chart archive ${origin} is not a valid tar archive: ${(err as Error).message}`, origin, undefined, {
      hint: 'download the chart again, or rebuild it with `helm package`',
      cause: err,
    })
  }
  if (top === undefined) {
    throw new SpecError(`chart archive ${origin} is empty`, origin, undefined, {hint: 'rebuild the chart with `helm package`'})
  }
  return {top, files}
}

/**
 * Build a chart archive the way `helm package` lays it out (`<name>/<path>` entries, no directory
 * entries), deterministically: entries sorted by path, fixed mtime, uid/gid 0, mode 0644, gzip
 * without a timestamp. `files` maps chart-relative paths ("Chart.yaml", "templates/a.yaml",
 * "charts/dep-1.0.0.tgz") to their content.
 */
export async function buildChartArchive(files: Record<string, string | Uint8Array>, name: string): Promise<Buffer> {
  const nameReason = unsafePathReason(name) ?? (name.includes('/') ? 'slash in chart name' : undefined)
  if (nameReason) throw new SpecError(`invalid chart folder name "${name}": ${nameReason}`, undefined, undefined, {hint: 'use the chart name'})
  const entries = Object.entries(files).map(([path, content]) => {
    const reason = unsafePathReason(path)
    if (reason) throw new SpecError(`invalid chart file path "${path}": ${reason}`, undefined, path, {hint: 'use paths relative to the chart folder'})
    return [normalisePath(path), typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content)] as const
  })
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const pack = tar.pack()
  const collected = (async () => {
    const chunks: Buffer[] = []
    for await (const chunk of pack) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks)
  })()
  for (const [path, content] of entries) {
    await new Promise<void>((resolve, reject) => {
      pack.entry(
        {name: `${name}/${path}`, size: content.length, mode: 0o644, mtime: ARCHIVE_MTIME, uid: 0, gid: 0, uname: '', gname: '', type: 'file'},
        content,
        (err) => (err ? reject(err) : resolve()),
      )
    })
  }
  pack.finalize()
  return gzipSync(await collected, {level: 9})
}
