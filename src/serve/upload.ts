/**
 * The push half of `airgap serve --writable`: blob upload sessions (monolithic, chunked,
 * single-POST, cross-repository mount) and manifest PUT into an OCI layout.
 *
 * Upload bytes go to a temporary file in the layout's ingest folder, hashed as they arrive; only a
 * final PUT whose digest matches moves the file into `blobs/` (rename), so nothing unverified is
 * ever visible. Manifests are checked before they are stored: the body parses as the media type
 * sent in Content-Type, and every config, layer and child manifest they reference is present.
 *
 * Limits: an upload larger than `maxUploadSize` is refused (413 SIZE_INVALID) and dropped; one
 * that receives nothing for `idleMs` is dropped with its file; at most `maxSessions` are open at
 * once (429 beyond). A request body that breaks off drops its upload (the bytes counted and the
 * bytes written could differ): the client starts that blob again. At start, files that an earlier
 * run left in the ingest folder are removed.
 */
import {createHash, randomUUID, type Hash} from 'node:crypto'
import {createReadStream, createWriteStream} from 'node:fs'
import {mkdir, readdir, rm, stat} from 'node:fs/promises'
import type {IncomingMessage, ServerResponse} from 'node:http'
import {join} from 'node:path'
import {Readable, Transform} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {AirgapError} from '../errors.js'
import {digestOf, isDigest, parseDigest} from '../oci/digest.js'
import {bareMediaType, childrenOf, isGraphMediaType, manifestMediaTypeOf, parseManifest} from '../oci/manifest.js'
import {MAX_MANIFEST_BYTES, type Descriptor} from '../oci/types.js'
import {DistributionError, drain, fail, readBody, sendEmpty} from './http.js'
import type {ServeStore} from './store.js'

/** Largest upload accepted by default: 32 GiB (the largest W&B layers are a few GiB). */
export const DEFAULT_MAX_UPLOAD_SIZE = 32 * 1024 ** 3
/** Unfinished uploads idle this long are dropped by default: one hour. */
export const DEFAULT_UPLOAD_IDLE_MS = 60 * 60 * 1000
const DEFAULT_MAX_SESSIONS = 256
const UPLOAD_PREFIX = 'upload-'

export interface UploadLimits {
  /** Largest blob one upload may hold, in bytes. */
  maxUploadSize?: number
  /** An upload that receives nothing for this long is dropped, ms. */
  idleMs?: number
  /** Most uploads open at once. */
  maxSessions?: number
}

interface Session {
  id: string
  name: string
  path: string
  size: number
  hash: Hash
  /** Set while a request writes to the session (requests on one session are serialised). */
  busy: boolean
  /** Date.now() of the last request or bytes received. */
  lastActive: number
}

/** Upload sessions of one writable store. */
export class Uploads {
  private readonly sessions = new Map<string, Session>()
  private readonly maxSize: number
  private readonly idleMs: number
  private readonly maxSessions: number
  private sweeper: NodeJS.Timeout | undefined

  constructor(
    private readonly store: ServeStore,
    limits: UploadLimits = {},
  ) {
    this.maxSize = limits.maxUploadSize ?? DEFAULT_MAX_UPLOAD_SIZE
    this.idleMs = limits.idleMs ?? DEFAULT_UPLOAD_IDLE_MS
    this.maxSessions = limits.maxSessions ?? DEFAULT_MAX_SESSIONS
  }

  /**
   * Remove what an earlier run left in the ingest folder (every upload file: sessions do not
   * survive a restart; other temporary files once idle for `idleMs`), then expire idle uploads.
   */
  async prepare(): Promise<void> {
    const dir = this.store.ingestDir()
    const cutoff = Date.now() - this.idleMs
    const names = await readdir(dir).catch(() => [] as string[])
    await Promise.all(
      names.map(async (n) => {
        const path = join(dir, n)
        const info = await stat(path).catch(() => undefined)
        if (info?.isFile() && (n.startsWith(UPLOAD_PREFIX) || info.mtimeMs < cutoff)) await rm(path, {force: true})
      }),
    )
    this.sweeper ??= setInterval(() => void this.expire(), Math.max(10, Math.min(this.idleMs / 4, 60_000)))
    this.sweeper.unref()
  }

  /** `POST /v2/<name>/blobs/uploads/` (+ `?mount=&from=`, or `?digest=` with the whole body). */
  async start(req: IncomingMessage, res: ServerResponse, url: URL, name: string): Promise<void> {
    const mount = url.searchParams.get('mount')
    if (mount !== null && isDigest(mount) && (await this.store.describe(mount))) {
      await drain(req)
      return sendEmpty(res, 201, {Location: `/v2/${name}/blobs/${mount}`, 'Docker-Content-Digest': mount})
    }
    const session = await this.open(name)
    const digest = url.searchParams.get('digest')
    if (digest !== null && mount === null) {
      await this.append(session, req)
      return this.finish(res, session, digest)
    }
    await drain(req)
    sendEmpty(res, 202, {Location: this.location(session), 'Docker-Upload-UUID': session.id, Range: rangeOf(session)})
  }

  /** `PATCH | PUT | GET | DELETE /v2/<name>/blobs/uploads/<id>`. */
  async session(req: IncomingMessage, res: ServerResponse, url: URL, name: string, id: string): Promise<void> {
    const session = this.sessions.get(id)
    if (!session || session.name !== name) {
      await drain(req)
      throw fail.uploadUnknown(id.slice(0, 64))
    }
    session.lastActive = Date.now()
    switch (req.method) {
      case 'GET':
        return sendEmpty(res, 204, {Location: this.location(session), 'Docker-Upload-UUID': id, Range: rangeOf(session)})
      case 'DELETE':
        await this.discard(session)
        return sendEmpty(res, 204)
      case 'PATCH':
        this.checkContentRange(req, session)
        await this.append(session, req)
        return sendEmpty(res, 202, {Location: this.location(session), 'Docker-Upload-UUID': id, Range: rangeOf(session)})
      case 'PUT': {
        const digest = url.searchParams.get('digest')
        if (digest === null) {
          await drain(req)
          throw fail.digestInvalid('the final PUT of an upload needs ?digest=')
        }
        if (req.headers['content-range']) this.checkContentRange(req, session)
        await this.append(session, req)
        return this.finish(res, session, digest)
      }
      default:
        throw fail.unsupported(`method ${req.method} on an upload`)
    }
  }

  /** `PUT /v2/<name>/manifests/<tag|digest>`; a tag names it `<repository>:<tag>` in index.json. */
  async putManifest(req: IncomingMessage, res: ServerResponse, name: string, repository: string, ref: string): Promise<void> {
    const bytes = await readBody(req, MAX_MANIFEST_BYTES, 'manifest')
    const sent = bareMediaType(req.headers['content-type'])
    const mediaType = isGraphMediaType(sent) ? sent : (manifestMediaTypeOf(bytes) ?? sent)
    if (!isGraphMediaType(mediaType)) throw fail.manifestInvalid(`unsupported manifest media type "${sent || '(none)'}"`)
    const digest = isDigest(ref) ? ref.slice(0, ref.indexOf(':')) : 'sha256'
    const desc: Descriptor = {mediaType, digest: digestOf(bytes, digest === 'sha512' ? 'sha512' : 'sha256'), size: bytes.length}
    if (isDigest(ref) && ref !== desc.digest) throw fail.digestInvalid(`manifest content hashes to ${desc.digest}, not ${ref}`, {digest: ref})
    await this.checkManifest(bytes, desc, `${name}:${ref}`)
    await this.store.layout!.push(desc, Readable.from([bytes]))
    this.store.remember(desc)
    if (!isDigest(ref)) await this.store.layout!.tag(desc, `${repository}:${ref}`)
    sendEmpty(res, 201, {Location: `/v2/${name}/manifests/${desc.digest}`, 'Docker-Content-Digest': desc.digest})
  }

  /** Stop expiring and remove every open session's temporary file. */
  async clear(): Promise<void> {
    clearInterval(this.sweeper)
    await Promise.all([...this.sessions.values()].map((s) => this.discard(s)))
  }

  /** Drop uploads idle for longer than `idleMs` (not one that is receiving bytes). */
  private async expire(): Promise<void> {
    const cutoff = Date.now() - this.idleMs
    const idle = [...this.sessions.values()].filter((s) => !s.busy && s.lastActive < cutoff)
    await Promise.all(idle.map((s) => this.discard(s).catch(() => undefined)))
  }

  private async checkManifest(bytes: Buffer, desc: Descriptor, where: string): Promise<void> {
    let children: Descriptor[]
    try {
      const parsed = parseManifest(bytes, desc.mediaType, where)
      const subject = parsed.kind === 'index' ? parsed.index.subject : parsed.manifest.subject
      children = childrenOf(parsed).filter((c) => c !== subject) // a subject may be pushed later
    } catch (err) {
      if (err instanceof AirgapError) throw fail.manifestInvalid(err.message)
      throw err
    }
    for (const child of children) {
      const have = await this.store.describe(child.digest)
      if (!have || have.size !== child.size) throw fail.manifestBlobUnknown(child.digest)
      // (a blob claimed to be a manifest is known as one only if it can be: size within the limit)
      if (isGraphMediaType(child.mediaType) && child.size <= MAX_MANIFEST_BYTES) this.store.remember(child)
    }
  }

  private async open(name: string): Promise<Session> {
    if (this.sessions.size >= this.maxSessions) await this.expire()
    if (this.sessions.size >= this.maxSessions) {
      throw fail.tooManyRequests(`${this.sessions.size} uploads are open, the most this server takes at once: finish or cancel some first`)
    }
    const dir = this.store.ingestDir()
    await mkdir(dir, {recursive: true})
    const id = randomUUID()
    const session: Session = {id, name, path: join(dir, `${UPLOAD_PREFIX}${id}`), size: 0, hash: createHash('sha256'), busy: false, lastActive: Date.now()}
    this.sessions.set(id, session)
    return session
  }

  private location(s: Session): string {
    return `/v2/${s.name}/blobs/uploads/${s.id}`
  }

  /** A PATCH's Content-Range (`start-end`, optional) must continue where the upload stands. */
  private checkContentRange(req: IncomingMessage, s: Session): void {
    const header = req.headers['content-range']
    if (!header) return
    const m = header.replace(/^bytes[ =]/, '').match(/^(\d+)-(\d+)/)
    if (!m || Number(m[1]) !== s.size) {
      throw new DistributionError(416, 'BLOB_UPLOAD_INVALID', `Content-Range ${header} does not continue upload ${s.id} at byte ${s.size}`, undefined, {
        Range: rangeOf(s),
        Location: this.location(s),
        'Docker-Upload-UUID': s.id,
      })
    }
  }

  /**
   * Append the request body to the session's file, hashing it on the way. Past `maxSize` (declared
   * or counted) the upload is dropped with 413; a body that breaks off drops it too.
   */
  private async append(s: Session, req: IncomingMessage): Promise<void> {
    if (s.busy) throw fail.uploadInvalid(`upload ${s.id} is already receiving data`)
    const max = this.maxSize
    const tooLarge = (): DistributionError => fail.tooLarge(`upload ${s.id}`, max, {Connection: 'close'})
    const declared = Number(req.headers['content-length'] ?? 0)
    if (s.size + declared > max) {
      await this.discard(s)
      throw tooLarge()
    }
    s.busy = true
    try {
      const tap = new Transform({
        transform(chunk: Buffer, _enc, cb) {
          if (s.size + chunk.length > max) return cb(tooLarge())
          s.hash.update(chunk)
          s.size += chunk.length
          s.lastActive = Date.now()
          cb(null, chunk)
        },
      })
      await pipeline(req, tap, createWriteStream(s.path, {flags: 'a'}))
    } catch (err) {
      await this.discard(s)
      throw err
    } finally {
      s.busy = false
    }
  }

  /** Verify the uploaded bytes against `digest`; commit them into the layout or refuse. */
  private async finish(res: ServerResponse, s: Session, digest: string): Promise<void> {
    if (!isDigest(digest)) {
      await this.discard(s)
      throw fail.digestInvalid(`invalid digest "${digest}"`, {digest})
    }
    const actual = await this.digestOfSession(s, parseDigest(digest).algorithm)
    if (actual !== digest) {
      await this.discard(s)
      throw fail.digestInvalid(`uploaded content hashes to ${actual}, not ${digest}`, {digest})
    }
    this.sessions.delete(s.id)
    await this.store.commitFile({mediaType: 'application/octet-stream', digest, size: s.size}, s.path)
    sendEmpty(res, 201, {Location: `/v2/${s.name}/blobs/${digest}`, 'Docker-Content-Digest': digest})
  }

  private async digestOfSession(s: Session, algorithm: string): Promise<string> {
    if (algorithm === 'sha256') return `sha256:${s.hash.digest('hex')}`
    const hash = createHash(algorithm)
    for await (const chunk of createReadStream(s.path)) hash.update(chunk as Buffer)
    return `${algorithm}:${hash.digest('hex')}`
  }

  private async discard(s: Session): Promise<void> {
    this.sessions.delete(s.id)
    await rm(s.path, {force: true})
  }
}

function rangeOf(s: Session): string {
  return `0-${Math.max(s.size - 1, 0)}`
}
