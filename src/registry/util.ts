/** Small helpers of the registry client: pagination links, Warning headers, upload defaults. */

/**
 * Blobs up to this size go up in one streamed PUT (no buffering either way). Chunks pay only for
 * very large blobs, where a proxy body-size limit or a per-request timeout is likelier to bite.
 */
export const DEFAULT_CHUNK_THRESHOLD = 1024 * 1024 * 1024
/** Chunk size above the threshold; each chunk is streamed, never held in memory. */
export const DEFAULT_CHUNK_SIZE = 64 * 1024 * 1024

/** Parse a `Link: <url>; rel="next"` header into an absolute URL. */
export function nextLink(link: string | undefined, base: URL): URL | undefined {
  if (!link) return undefined
  for (const part of link.split(',')) {
    const m = /<([^>]*)>\s*;(.*)/.exec(part.trim())
    if (m && /rel="?next"?/i.test(m[2] ?? '')) return new URL(m[1] ?? '', base)
  }
  return undefined
}

/** Extract the texts of `Warning: 299 - "text"` headers. */
export function warningTexts(value: string | string[] | undefined): string[] {
  if (value === undefined) return []
  const values = Array.isArray(value) ? value : [value]
  const out: string[] = []
  for (const v of values) {
    const re = /\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"/g
    let m: RegExpExecArray | null
    let found = false
    while ((m = re.exec(v))) {
      out.push((m[1] ?? '').replace(/\\(.)/g, '$1'))
      found = true
    }
    if (!found && v.trim()) out.push(v.trim())
  }
  return out
}
