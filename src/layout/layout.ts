/**
 * OciLayout: a Target over an OCI image layout directory (`oci-layout`, `index.json`,
 * `blobs/<alg>/<hex>`), readable and writable by skopeo, containerd, oras and crane.
 */
import {randomUUID} from 'node:crypto'
import {createReadStream, createWriteStream} from 'node:fs'
import {mkdir, readFile, rename, rm, stat} from 'node:fs/promises'
import {join, resolve as resolvePath} from 'node:path'
import {pipeline as pipelineCb, type Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {NotFoundError, UsageError} from '../errors.js'
import type {Located, TagLister, Target} from '../content/types.js'
import {verifier} from '../content/verify.js'
import {isDigest, parseDigest} from '../oci/digest.js'
import {manifestMediaTypeOf, parseManifest} from '../oci/manifest.js'
import {formatReference, isValidTag, parseReference} from '../oci/reference.js'
import {Annotation, MAX_MANIFEST_BYTES, type Descriptor} from '../oci/types.js'
import {
  INDEX_FILE,
  KeyedMutex,
  LAYOUT_FILE,
  LAYOUT_VERSION,
  checkLayoutFile,
  emptyIndex,
  readIndexFile,
  withFileLock,
} from './index-file.js'
import {writeFileAtomic} from '../files/atomic-write.js'

/** Folder (inside the layout) where pushes are written before they are verified and renamed. */
export const INGEST_DIR = 'ingest'

export interface OpenLayoutOptions {
  /** Create the directory, `oci-layout` and an empty `index.json` when missing. */
  create?: boolean
}

/** One writer of each index.json at a time in this process, however many OciLayouts share it. */
const indexLock = new KeyedMutex()

export class OciLayout implements Target, TagLister, Located {
  readonly location: string

  private constructor(readonly dir: string) {
    this.location = `layout ${dir}`
  }

  /**
   * Open the layout at `dir`. Without `create`, a missing or invalid layout is an error
   * (NotFoundError, IntegrityError). With `create`, missing parts are written.
   */
  static async open(dir: string, opts: OpenLayoutOptions = {}): Promise<OciLayout> {
    const layout = new OciLayout(resolvePath(dir))
    if (opts.create) await layout.initialise()
    else await layout.check()
    return layout
  }

  private async initialise(): Promise<void> {
    await mkdir(this.dir, {recursive: true})
    if (await isFile(join(this.dir, LAYOUT_FILE))) await checkLayoutFile(join(this.dir, LAYOUT_FILE))
    else await writeFileAtomic(join(this.dir, LAYOUT_FILE), JSON.stringify({imageLayoutVersion: LAYOUT_VERSION}))
    await this.updateIndex(async () => {
      if (!(await isFile(this.indexPath))) await writeFileAtomic(this.indexPath, JSON.stringify(emptyIndex()))
    })
  }

  /** Run `fn` as the only writer of index.json: one at a time in this process, and across processes. */
  private updateIndex(fn: () => Promise<void>): Promise<void> {
    return indexLock.run(this.indexPath, () => withFileLock(`${this.indexPath}.lock`, fn))
  }

  private async check(): Promise<void> {
    if (!(await isFile(join(this.dir, LAYOUT_FILE)))) {
      throw new NotFoundError(`${this.dir} is not an OCI image layout: ${LAYOUT_FILE} is missing`, {
        hint: 'check the path, or create the layout first',
      })
    }
    await checkLayoutFile(join(this.dir, LAYOUT_FILE))
    await readIndexFile(this.indexPath)
  }

  get indexPath(): string {
    return join(this.dir, INDEX_FILE)
  }

  /** Path of the blob file for `digest` (throws for an invalid digest). */
  blobPath(digest: string): string {
    const {algorithm, hex} = parseDigest(digest, this.location)
    return join(this.dir, 'blobs', algorithm, hex)
  }

  /** True when the blob file exists with the descriptor's size. */
  async exists(desc: Descriptor, signal?: AbortSignal): Promise<boolean> {
    signal?.throwIfAborted()
    try {
      const st = await stat(this.blobPath(desc.digest))
      return st.isFile() && st.size === desc.size
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
  }

  /** A stream of the blob that fails with an IntegrityError if the file does not match `desc`. */
  async fetch(desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    signal?.throwIfAborted()
    const path = this.blobPath(desc.digest)
    if (!(await isFile(path))) throw this.notFound(desc.digest)
    const file = createReadStream(path, signal ? {signal} : {})
    const check = verifier(desc, `${desc.digest} in ${this.location}`)
    pipelineCb(file, check, () => undefined)
    return check
  }

  /**
   * Store a blob: stream into `ingest/` while verifying, fsync, then rename into `blobs/` (atomic;
   * concurrent pushes of one digest are safe; a failed verification leaves nothing behind).
   * Content that is already present is success.
   */
  async push(desc: Descriptor, body: Readable, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    const final = this.blobPath(desc.digest)
    if (await this.exists(desc, signal)) {
      body.destroy()
      return
    }
    const ingest = join(this.dir, INGEST_DIR)
    await mkdir(ingest, {recursive: true})
    await mkdir(join(final, '..'), {recursive: true})
    const tmp = join(ingest, `${parseDigest(desc.digest).hex.slice(0, 16)}-${randomUUID()}`)
    try {
      await pipeline(
        body,
        verifier(desc, `${desc.digest} pushed to ${this.location}`),
        createWriteStream(tmp, {flags: 'wx', flush: true}),
        signal ? {signal} : {},
      )
      await rename(tmp, final)
    } catch (err) {
      body.destroy()
      await rm(tmp, {force: true})
      throw err
    }
  }

  /**
   * Find a manifest by digest, by `ref@digest`, by the exact `org.opencontainers.image.ref.name`,
   * by a bare tag when one entry (or several with one digest) carries it, or by an equivalent
   * normalised reference (`redis:7` finds `docker.io/library/redis:7`).
   */
  async resolve(ref: string, signal?: AbortSignal): Promise<Descriptor> {
    signal?.throwIfAborted()
    const {manifests} = await readIndexFile(this.indexPath)
    const digest = digestPart(ref)
    if (digest !== undefined) return this.resolveDigest(digest, manifests)
    const found = findByName(manifests, ref)
    if (found.length === 0) throw this.notFound(ref, manifests)
    const digests = new Set(found.map((d) => d.digest))
    if (digests.size > 1) {
      throw new UsageError(`reference "${ref}" is ambiguous in ${this.location}: it matches ${found.map(refName).join(', ')}`, {
        hint: 'name the image with its full reference',
      })
    }
    return plain(found[found.length - 1]!)
  }

  private async resolveDigest(digest: string, manifests: Descriptor[]): Promise<Descriptor> {
    const entry = manifests.find((d) => d.digest === digest)
    if (entry) return plain(entry)
    const path = this.blobPath(digest)
    if (!(await isFile(path))) throw this.notFound(digest)
    const st = await stat(path)
    if (st.size > MAX_MANIFEST_BYTES) throw new UsageError(`${digest} in ${this.location} is a blob, not a manifest`, {hint: 'name a manifest or index'})
    const bytes = await readFile(path)
    const mediaType = manifestMediaTypeOf(bytes)
    if (mediaType === undefined || !parsesAs(bytes, mediaType)) {
      throw new UsageError(`${digest} in ${this.location} is not a manifest or index`, {hint: 'name a manifest or index'})
    }
    return {mediaType, digest, size: bytes.length}
  }

  /**
   * Name the (already pushed) manifest `desc` as `ref` in index.json, replacing any entry of the
   * same name in place (a new name is appended). Sets `org.opencontainers.image.ref.name` and, for full references,
   * `io.containerd.image.name`. The file is rewritten atomically under a lock (in-process, and a lock file across processes).
   */
  async tag(desc: Descriptor, ref: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    if (ref === '') throw new UsageError(`cannot tag ${desc.digest} in ${this.location} with an empty name`, {hint: 'give a tag or a full reference'})
    if (!(await this.exists(desc, signal))) {
      throw new NotFoundError(`cannot tag ${ref} in ${this.location}: ${desc.digest} has not been pushed`, {
        hint: 'push the manifest before tagging it',
      })
    }
    await this.updateIndex(async () => {
      const {raw, manifests} = await readIndexFile(this.indexPath)
      // A re-used name is replaced where it stands (index.json order is the order names first
      // appeared: airgap serve resolves names shared by several repositories by it).
      const at = manifests.findIndex((d) => refName(d) === ref)
      const kept = manifests.filter((d, i) => i === at || refName(d) !== ref)
      if (at < 0) kept.push(namedEntry(desc, ref))
      else kept[at] = namedEntry(desc, ref)
      await writeFileAtomic(this.indexPath, JSON.stringify({...raw, manifests: kept}))
    })
  }

  /** The ref names in index.json, in file order. */
  async *tags(signal?: AbortSignal): AsyncIterable<string> {
    const {manifests} = await readIndexFile(this.indexPath)
    for (const d of manifests) {
      signal?.throwIfAborted()
      const name = refName(d)
      if (name !== undefined) yield name
    }
  }

  /** The descriptors listed in index.json, as written. */
  async entries(): Promise<Descriptor[]> {
    return (await readIndexFile(this.indexPath)).manifests
  }

  private notFound(ref: string, manifests?: Descriptor[]): NotFoundError {
    const names = manifests?.map(refName).filter((n): n is string => n !== undefined) ?? []
    const known = names.length ? `; it has ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', …' : ''}` : ''
    return new NotFoundError(`${ref} not found in ${this.location}${known}`, {
      hint: 'check the reference or digest; the names in index.json are the org.opencontainers.image.ref.name annotations',
    })
  }
}

function refName(d: Descriptor): string | undefined {
  return d.annotations?.[Annotation.RefName]
}

/** The digest of `sha256:…` or `name@sha256:…`, if `ref` names one. */
function digestPart(ref: string): string | undefined {
  if (isDigest(ref)) return ref
  const at = ref.lastIndexOf('@')
  if (at > 0 && isDigest(ref.slice(at + 1))) return ref.slice(at + 1)
  return undefined
}

/** Entries named `ref`: exactly, else by bare tag, else by normalised reference. */
function findByName(manifests: Descriptor[], ref: string): Descriptor[] {
  const exact = manifests.filter((d) => refName(d) === ref)
  if (exact.length) return exact
  if (isValidTag(ref)) {
    const byTag = manifests.filter((d) => tagOf(refName(d)) === ref)
    if (byTag.length) return byTag
  }
  const want = normalise(ref)
  return want === undefined ? [] : manifests.filter((d) => normalise(refName(d)) === want)
}

/** The tag of a full reference name (`reg/repo:tag` -> `tag`), undefined for bare names. */
function tagOf(name: string | undefined): string | undefined {
  if (name === undefined) return undefined
  const colon = name.lastIndexOf(':')
  if (colon < 0 || name.slice(colon).includes('/') || !name.slice(0, colon).includes('/')) return undefined
  return name.slice(colon + 1)
}

function normalise(ref: string | undefined): string | undefined {
  if (ref === undefined || !/[/:]/.test(ref)) return undefined
  try {
    return formatReference(parseReference(ref))
  } catch {
    return undefined
  }
}

/** The descriptor without the naming annotations (they belong to index.json, not to the content). */
function plain(d: Descriptor): Descriptor {
  const {annotations, ...rest} = d
  if (!annotations) return {...rest}
  const {[Annotation.RefName]: _n, [Annotation.ContainerdImageName]: _c, ...other} = annotations
  return Object.keys(other).length ? {...rest, annotations: other} : {...rest}
}

function namedEntry(desc: Descriptor, ref: string): Descriptor {
  const base = plain(desc)
  const annotations: Record<string, string> = {...base.annotations, [Annotation.RefName]: ref}
  if (ref.includes('/')) annotations[Annotation.ContainerdImageName] = ref
  return {...base, annotations}
}

/** Whether `bytes` really are a manifest or index of `mediaType` (an image config is not). */
function parsesAs(bytes: Buffer, mediaType: string): boolean {
  try {
    parseManifest(bytes, mediaType, 'blob')
    return true
  } catch {
    return false
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile()
  } catch (err) {
    if (isNotFound(err)) return false
    throw err
  }
}

function isNotFound(err: unknown): boolean {
  const code = (err as {code?: unknown}).code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

