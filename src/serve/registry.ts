/**
 * The OCI distribution API of `airgap serve` over a ServeStore: pull (manifests, blobs with
 * ranges, tags, catalog) always; push (uploads, mounts, manifests) when the store is a writable
 * layout. Manifests are served as stored, never converted.
 *
 * Digests are served from every repository name (the store is content-addressed; checking that a
 * blob belongs to the requested repository's graph would cost a graph walk per request and
 * protects nothing in a single-tenant mirror). Tags are per repository (see names.ts).
 */
import type {IncomingMessage, ServerResponse} from 'node:http'
import {isDigest} from '../oci/digest.js'
import {bareMediaType, isGraphMediaType} from '../oci/manifest.js'
import type {Descriptor} from '../oci/types.js'
import {fetchAll} from '../content/verify.js'
import {NotFoundError} from '../errors.js'
import {DistributionError, decodedPath, fail, sendEmpty, sendError, sendJson, sendStream} from './http.js'
import {Catalog, type TagMap} from './names.js'
import type {ServeStore} from './store.js'
import {Uploads, type UploadLimits} from './upload.js'

const API_VERSION = {'Docker-Distribution-API-Version': 'registry/2.0'}
/** The distribution spec's repository name grammar (so no `:`, upper case, or empty component). */
const NAME = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/
/** The spec's tag grammar; a reference with a `:` must be a digest instead. */
const TAG = /^[\w][\w.-]{0,127}$/

/** Handles `/v2/…` requests for one store. */
export class RegistryHandler {
  private readonly uploads: Uploads | undefined
  private catalogCache: {key: string; catalog: Catalog} | undefined

  constructor(
    private readonly store: ServeStore,
    limits: UploadLimits,
  ) {
    this.uploads = store.layout ? new Uploads(store, limits) : undefined
  }

  /** Remove what interrupted uploads of an earlier run left in the ingest folder, and start expiring idle ones. */
  async start(): Promise<void> {
    await this.uploads?.prepare()
  }

  /** Handle the request when it is a registry API path; false when it is not one. */
  async handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    const path = url.pathname
    if (!path.startsWith('/v2/') && path !== '/v2') return false
    res.setHeader('Docker-Distribution-API-Version', API_VERSION['Docker-Distribution-API-Version'])
    try {
      await this.route(req, res, url)
    } catch (err) {
      if (res.headersSent) {
        res.destroy()
        throw err
      }
      if (err instanceof DistributionError) sendError(req, res, err)
      else throw err
    }
    return true
  }

  /** Remove temporary upload files (on server close). */
  async close(): Promise<void> {
    await this.uploads?.clear()
  }

  private async route(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const method = req.method ?? 'GET'
    const path = decodedPath(url)
    if (path === '/v2/' || path === '/v2') return this.only(method, ['GET', 'HEAD'], () => sendJson(res, 200, {}))
    if (path === '/v2/_catalog') return this.only(method, ['GET'], () => this.catalogList(req, res, url))
    let m: RegExpMatchArray | null
    if ((m = path.match(/^\/v2\/(.+)\/tags\/list$/))) return this.only(method, ['GET'], () => this.tagsList(res, url, this.name(m![1]!)))
    if ((m = path.match(/^\/v2\/(.+)\/manifests\/([^/]+)$/))) {
      const name = this.name(m[1]!)
      const ref = this.reference(m[2]!)
      if (method === 'PUT') return this.putManifest(req, res, url, name, ref)
      return this.only(method, ['GET', 'HEAD'], () => this.getManifest(req, res, url, name, ref))
    }
    if ((m = path.match(/^\/v2\/(.+)\/blobs\/uploads\/?$/))) return this.only(method, ['POST'], () => this.writable().start(req, res, url, this.name(m![1]!)))
    if ((m = path.match(/^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/))) return this.writable().session(req, res, url, this.name(m[1]!), m[2]!)
    if ((m = path.match(/^\/v2\/(.+)\/blobs\/([^/]+)$/))) {
      const name = this.name(m[1]!)
      return this.only(method, ['GET', 'HEAD'], () => this.getBlob(req, res, name, m![2]!))
    }
    throw fail.notFound()
  }

  private async only(method: string, allowed: string[], fn: () => unknown): Promise<void> {
    if (!allowed.includes(method)) {
      throw new DistributionError(405, 'UNSUPPORTED', `method ${method} is not allowed here`, undefined, {Allow: allowed.join(', ')})
    }
    await fn()
  }

  private writable(): Uploads {
    if (!this.uploads) throw fail.readOnly()
    return this.uploads
  }

  private name(raw: string): string {
    if (raw.length > 255 || !NAME.test(raw)) throw fail.nameInvalid(raw.length > 255 ? `${raw.slice(0, 64)}…` : raw)
    return raw
  }

  private reference(raw: string): string {
    if (raw.includes(':')) {
      if (!isDigest(raw)) throw fail.digestInvalid(`invalid digest "${raw.slice(0, 200)}"`, {digest: raw.slice(0, 200)})
    } else if (!TAG.test(raw)) {
      throw fail.tagInvalid(raw.slice(0, 200))
    }
    return raw
  }

  // --- names -------------------------------------------------------------------------------

  private async catalog(): Promise<Catalog> {
    const names = await this.store.refNames()
    const key = names.join('\n')
    if (this.catalogCache?.key !== key) this.catalogCache = {key, catalog: new Catalog(names)}
    return this.catalogCache.catalog
  }

  private async repository(name: string, url: URL): Promise<TagMap> {
    const found = (await this.catalog()).lookup(name, ns(url))
    if (found.kind === 'found') return found.tags
    throw fail.nameUnknown(name)
  }

  /**
   * A manifest PUT names the repository `name` stands for now (see names.ts), so that what a
   * client pushes through a name is what it reads back through it, and a push never makes an
   * existing name stand for something else. A name that stands for nothing yet is created as is.
   */
  private async putManifest(req: IncomingMessage, res: ServerResponse, url: URL, name: string, ref: string): Promise<void> {
    const found = (await this.catalog()).lookup(name, ns(url))
    const repository = found.kind === 'found' ? found.repository : name
    await this.writable().putManifest(req, res, name, repository, ref)
    this.catalogCache = undefined
  }

  // --- tags and catalog ----------------------------------------------------------------------

  private async tagsList(res: ServerResponse, url: URL, name: string): Promise<void> {
    const tags = [...(await this.repository(name, url)).keys()].sort()
    const page = paginate(tags, url)
    sendJson(res, 200, {name, tags: page.items}, page.next ? {Link: `</v2/${name}/tags/list?${page.next}>; rel="next"`} : {})
  }

  private async catalogList(_req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const page = paginate((await this.catalog()).names(), url)
    sendJson(res, 200, {repositories: page.items}, page.next ? {Link: `</v2/_catalog?${page.next}>; rel="next"`} : {})
  }

  // --- manifests -----------------------------------------------------------------------------

  private async manifestDescriptor(name: string, ref: string, url: URL): Promise<Descriptor> {
    if (isDigest(ref)) {
      const desc = await this.store.describe(ref)
      if (!desc || !isGraphMediaType(desc.mediaType)) throw fail.manifestUnknown(name, ref)
      return desc
    }
    const refName = (await this.repository(name, url)).get(ref)
    if (refName === undefined) {
      const others = (await this.catalog()).elsewhere(name, ref, ns(url))
      const hint = others.length > 0 ? ` (${others.map((o) => `${o}:${ref}`).join(', ')} exists: ask for it by that name, or add ?ns=<host>)` : ''
      throw fail.manifestUnknown(name, ref, `manifest unknown: ${name} has no tag ${ref}${hint}`)
    }
    try {
      return await this.store.target.resolve(refName)
    } catch (err) {
      if (err instanceof NotFoundError) throw fail.manifestUnknown(name, ref)
      throw err
    }
  }

  private async getManifest(req: IncomingMessage, res: ServerResponse, url: URL, name: string, ref: string): Promise<void> {
    const desc = await this.manifestDescriptor(name, ref, url)
    const mediaType = bareMediaType(desc.mediaType)
    if (!accepts(req.headers.accept, mediaType)) {
      throw fail.manifestUnknown(name, ref, `manifest ${ref} is stored as ${mediaType}, which the Accept header of the request does not list`)
    }
    const headers = {'Content-Type': mediaType, 'Docker-Content-Digest': desc.digest, 'Content-Length': desc.size, ETag: `"${desc.digest}"`}
    if (req.method === 'HEAD') {
      if (!(await this.store.target.exists(desc))) throw fail.manifestUnknown(name, ref)
      return sendEmpty(res, 200, headers)
    }
    let bytes: Buffer
    try {
      bytes = await fetchAll(this.store, desc, `${desc.digest} in ${this.store.location}`)
    } catch (err) {
      if (err instanceof NotFoundError) throw fail.manifestUnknown(name, ref)
      throw err
    }
    for (const [k, v] of Object.entries(headers)) res.setHeader(k, v)
    res.statusCode = 200
    res.end(bytes)
  }

  // --- blobs ---------------------------------------------------------------------------------

  private async getBlob(req: IncomingMessage, res: ServerResponse, name: string, digest: string): Promise<void> {
    if (!isDigest(digest)) throw fail.digestInvalid(`invalid digest "${digest}"`, {digest})
    const desc = await this.store.describe(digest)
    if (!desc || !(await this.store.target.exists(desc))) throw fail.blobUnknown(name, digest)
    const base = {'Docker-Content-Digest': desc.digest, 'Accept-Ranges': 'bytes', ETag: `"${desc.digest}"`, 'Content-Type': 'application/octet-stream'}
    const range = parseRange(req.headers.range, desc.size)
    if (range === 'unsatisfiable') {
      throw new DistributionError(416, 'BLOB_UNKNOWN', `range ${req.headers.range} is outside the blob's ${desc.size} bytes`, {digest}, {'Content-Range': `bytes */${desc.size}`})
    }
    if (req.method === 'HEAD') return sendEmpty(res, 200, {...base, 'Content-Length': desc.size})
    if (range) {
      const [start, end] = range
      const body = await this.store.range(desc, start, end)
      res.writeHead(206, {...base, 'Content-Length': end - start + 1, 'Content-Range': `bytes ${start}-${end}/${desc.size}`})
      return sendStream(res, body)
    }
    const body = await this.store.fetch(desc)
    res.writeHead(200, {...base, 'Content-Length': desc.size})
    await sendStream(res, body)
  }
}

/** containerd's `?ns=<source host>`. */
function ns(url: URL): string | undefined {
  return url.searchParams.get('ns') ?? undefined
}

/**
 * Parse a single `Range: bytes=a-b` (also `a-` and `-n`). Undefined when absent or not a single
 * byte range (the whole blob is sent then); 'unsatisfiable' when it lies outside the blob.
 */
export function parseRange(header: string | undefined, size: number): [number, number] | 'unsatisfiable' | undefined {
  if (!header) return undefined
  const m = header.trim().match(/^bytes=(\d*)-(\d*)$/)
  if (!m || (m[1] === '' && m[2] === '')) return undefined
  let start: number
  let end: number
  if (m[1] === '') {
    const suffix = Number(m[2])
    if (suffix === 0) return 'unsatisfiable'
    start = Math.max(size - suffix, 0)
    end = size - 1
  } else {
    start = Number(m[1])
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1)
    if (m[2] !== '' && Number(m[2]) < start) return undefined
  }
  if (start >= size || size === 0) return 'unsatisfiable'
  return [start, end]
}

/** Whether an Accept header allows `mediaType`: absent, a wildcard, the type, or no manifest type named. */
export function accepts(header: string | string[] | undefined, mediaType: string): boolean {
  if (header === undefined) return true
  const types = (Array.isArray(header) ? header.join(',') : header).split(',').map((t) => bareMediaType(t)).filter((t) => t !== '')
  if (types.length === 0) return true
  if (types.some((t) => t === '*/*' || t === 'application/*' || t === mediaType)) return true
  return !types.some(isGraphMediaType)
}

/** `n` / `last` pagination over a sorted list; `next` is the query of the following page. */
export function paginate(items: string[], url: URL): {items: string[]; next?: string} {
  const last = url.searchParams.get('last')
  const nRaw = url.searchParams.get('n')
  const after = last ? items.filter((t) => t > last) : items
  if (nRaw === null || !/^\d+$/.test(nRaw)) return {items: after}
  const n = Number(nRaw)
  const page = after.slice(0, n)
  if (after.length <= n || page.length === 0) return {items: page}
  return {items: page, next: `last=${encodeURIComponent(page[page.length - 1]!)}&n=${n}`}
}
