/**
 * ServeStore: what `airgap serve` needs from a bundle or an OCI layout folder, on top of the
 * content contract: every descriptor of the content graph by digest (so blobs and child manifests
 * can be served by digest alone), byte ranges of blobs, the ref names in index.json, and (for a
 * writable layout) a place to commit verified uploads.
 *
 * Digest lookups are answered from a map built by walking the graph from index.json once at start
 * (manifests only are read, each verified) and extended by every push. A layout may also hold blobs
 * outside that graph (uploads not yet tagged, content of an earlier session): those are found by
 * their file, so a client's HEAD-before-upload sees them.
 */
import {createReadStream} from 'node:fs'
import {mkdir, readFile, rename, rm, stat} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {Transform, type Readable} from 'node:stream'
import type {ReadOnlyTarget, TagLister} from '../content/types.js'
import {fetchAll} from '../content/verify.js'
import {isDigest} from '../oci/digest.js'
import {isGraphMediaType, manifestMediaTypeOf, parseManifest, successors} from '../oci/manifest.js'
import {Annotation, MAX_MANIFEST_BYTES, type Descriptor} from '../oci/types.js'
import {BundleReader} from '../bundle/index.js'
import {AirgapError} from '../errors.js'
import {INGEST_DIR, OciLayout, readIndexFile} from '../layout/index.js'

/** Media type reported for a blob whose type the store does not record. */
export const OCTET_STREAM = 'application/octet-stream'

export interface ServeStore {
  /** e.g. "bundle ./b.tar", "layout ./dir". */
  readonly location: string
  readonly target: ReadOnlyTarget & TagLister
  /** Set when uploads are accepted (a layout opened for writing). */
  readonly layout?: OciLayout
  /** The top-level entries of index.json (with their ref.name annotations). */
  entries(): Promise<Descriptor[]>
  /** The ref names in index.json. */
  refNames(): Promise<string[]>
  /** The descriptor of `digest` if the store holds it (media type octet-stream when unknown). */
  describe(digest: string): Promise<Descriptor | undefined>
  /** The whole blob, verified against `desc` while it streams (a bundle's through the reader's one descriptor). */
  fetch(desc: Descriptor): Promise<Readable>
  /** Bytes `start..end` (inclusive) of a blob; not digest-verified (a slice cannot be); a bundle's through the reader's one descriptor. */
  range(desc: Descriptor, start: number, end: number): Promise<Readable>
  /** Record a descriptor pushed into the layout (so later digest lookups know its media type). */
  remember(desc: Descriptor): void
  /** Move a verified temporary file into the layout as blob `desc` (writable stores only). */
  commitFile(desc: Descriptor, tmpPath: string): Promise<void>
  /** Folder for temporary upload files (writable stores only). */
  ingestDir(): string
}

export interface ServeStoreOptions {
  writable?: boolean
  /** A manifest of index.json's graph that cannot be read at start (it is then served as a plain blob, or 404). */
  onWarning?: (message: string) => void
}

/** Open the serve view of a bundle, a layout, or any read-only target that lists its tags. */
export async function serveStore(target: ReadOnlyTarget & TagLister, opts: ServeStoreOptions = {}): Promise<ServeStore> {
  const store = new GraphStore(target, opts.writable === true && target instanceof OciLayout ? target : undefined)
  await store.walk(opts.onWarning)
  return store
}

class GraphStore implements ServeStore {
  readonly location: string
  private readonly known = new Map<string, Descriptor>()

  constructor(
    readonly target: ReadOnlyTarget & TagLister,
    readonly layout: OciLayout | undefined,
  ) {
    this.location = (target as {location?: string}).location ?? 'store'
  }

  /**
   * Walk index.json's graph, recording every descriptor (manifests are read and verified). A
   * manifest that cannot be read or parsed is reported and not followed: one bad node must not
   * keep the server from starting.
   */
  async walk(onWarning?: (message: string) => void): Promise<void> {
    const queue = [...(await this.entries())].map(bare)
    while (queue.length > 0) {
      const desc = queue.shift()!
      if (this.known.has(desc.digest)) continue
      if (!(await this.target.exists(desc))) continue // tolerated here; a GET answers 404
      this.known.set(desc.digest, desc)
      if (!isGraphMediaType(desc.mediaType)) continue
      try {
        const bytes = await fetchAll(this.target, desc, `${desc.digest} in ${this.location}`)
        for (const child of successors(bytes, desc)) queue.push(bare(child))
      } catch (err) {
        if (!(err instanceof AirgapError)) throw err
        this.known.set(desc.digest, {...desc, mediaType: OCTET_STREAM})
        onWarning?.(`${desc.digest} in ${this.location} is listed as ${desc.mediaType} but cannot be read as one (${err.message}): its graph is not served`)
      }
    }
  }

  async entries(): Promise<Descriptor[]> {
    const t = this.target
    if (t instanceof BundleReader) return t.index.manifests
    if (t instanceof OciLayout) return (await readIndexFile(t.indexPath)).manifests
    const out: Descriptor[] = []
    for await (const name of t.tags()) out.push({...(await t.resolve(name)), annotations: {[Annotation.RefName]: name}})
    return out
  }

  async refNames(): Promise<string[]> {
    const names: string[] = []
    for await (const n of this.target.tags()) names.push(n)
    return names
  }

  remember(desc: Descriptor): void {
    const prev = this.known.get(desc.digest)
    if (!prev || (prev.mediaType === OCTET_STREAM && desc.mediaType !== OCTET_STREAM)) this.known.set(desc.digest, bare(desc))
  }

  async describe(digest: string): Promise<Descriptor | undefined> {
    if (!isDigest(digest)) return undefined
    const hit = this.known.get(digest)
    if (hit) return hit
    const layout = this.target instanceof OciLayout ? this.target : undefined
    if (!layout) return undefined
    const size = await fileSize(layout.blobPath(digest))
    if (size === undefined) return undefined
    const desc: Descriptor = {mediaType: await sniffMediaType(layout.blobPath(digest), size), digest, size}
    this.known.set(digest, desc)
    return desc
  }

  async fetch(desc: Descriptor): Promise<Readable> {
    // A bundle is read through the descriptor its reader opened (and verified through), never by
    // path: a file renamed over the path is not what gets served.
    return this.target.fetch(desc)
  }

  async range(desc: Descriptor, start: number, end: number): Promise<Readable> {
    const t = this.target
    if (t instanceof OciLayout) return createReadStream(t.blobPath(desc.digest), {start, end})
    if (t instanceof BundleReader && (await t.exists(desc))) return t.blobRange(desc, start, end)
    return (await t.fetch(desc)).pipe(slice(start, end))
  }

  async commitFile(desc: Descriptor, tmpPath: string): Promise<void> {
    const layout = this.requireLayout()
    const final = layout.blobPath(desc.digest)
    if ((await fileSize(final)) === desc.size) {
      await rm(tmpPath, {force: true})
    } else {
      await mkdir(dirname(final), {recursive: true})
      await rename(tmpPath, final)
    }
    this.remember(desc)
  }

  ingestDir(): string {
    return join(this.requireLayout().dir, INGEST_DIR)
  }

  private requireLayout(): OciLayout {
    if (!this.layout) throw new Error(`${this.location} is served read-only`)
    return this.layout
  }
}

/** The descriptor without index.json naming annotations. */
function bare(d: Descriptor): Descriptor {
  return {mediaType: d.mediaType, digest: d.digest, size: d.size}
}

async function fileSize(path: string): Promise<number | undefined> {
  try {
    const st = await stat(path)
    return st.isFile() ? st.size : undefined
  } catch {
    return undefined
  }
}

/** A small file that parses as a manifest or index gets that media type; anything else is opaque. */
async function sniffMediaType(path: string, size: number): Promise<string> {
  if (size > MAX_MANIFEST_BYTES) return OCTET_STREAM
  const bytes = await readFile(path)
  const mt = manifestMediaTypeOf(bytes)
  if (mt === undefined || !isGraphMediaType(mt)) return OCTET_STREAM
  try {
    parseManifest(bytes, mt, path)
    return mt
  } catch {
    return OCTET_STREAM
  }
}

/** Pass through only bytes start..end (inclusive) of a stream. */
function slice(start: number, end: number): Transform {
  let pos = 0
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      const from = Math.max(start - pos, 0)
      const to = Math.min(end + 1 - pos, chunk.length)
      if (to > from) this.push(chunk.subarray(from, to))
      pos += chunk.length
      cb()
    },
  })
}
