/**
 * TEST DOUBLE for hostile registries (a real one cannot be made to misbehave like this): a small
 * node:http (or, with `tls`, node:https) server that answers the distribution API like a registry,
 * except that each repository name selects one hostile behaviour (see BEHAVIOURS), and the catalog
 * answers as CATALOGS[options.catalog] says. A second server on another origin (`localhost`
 * instead of `127.0.0.1`, plain HTTP) plays the host a redirect, Link, Location or token realm
 * points to and records the Authorization headers it receives.
 */
import {createHash} from 'node:crypto'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createTlsServer} from 'node:https'
import type {AddressInfo} from 'node:net'

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip'
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'

function sha(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`
}

/** A small valid image the honest paths serve. */
export function honestImage(): {manifest: Buffer; config: Buffer; layer: Buffer} {
  const config = Buffer.from(JSON.stringify({architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: []}}))
  const layer = Buffer.from('not really gzip, opaque layer bytes for the test double')
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {mediaType: OCI_CONFIG, digest: sha(config), size: config.length},
      layers: [{mediaType: OCI_LAYER, digest: sha(layer), size: layer.length}],
    }),
  )
  return {manifest, config, layer}
}

export interface Seen {
  method: string
  url: string
  authorization?: string
}

type Handler = (req: IncomingMessage, res: ServerResponse, ctx: HostileRegistry) => void

/** Manifests served by digest or by tag `v1`: `root` is what the tag points at. */
interface Graph {
  root: Buffer
  byDigest: Map<string, Buffer>
}

function serveGraph(req: IncomingMessage, res: ServerResponse, g: Graph, mediaType: string): void {
  const m = /\/manifests\/(.+)$/.exec(req.url ?? '')
  if (!m) return honest(req, res)
  const body = m[1] === 'v1' ? g.root : g.byDigest.get(m[1] ?? '')
  if (!body) return send(res, 404, '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}', {'content-type': 'application/json'})
  const type = (JSON.parse(body.toString()) as {mediaType?: string}).mediaType ?? mediaType
  send(res, 200, body, {'content-type': type, 'docker-content-digest': sha(body)})
}

/** DEPTH indexes, each holding the next, the last one holding the honest image. */
function deepIndex(depth: number): Graph {
  const byDigest = new Map<string, Buffer>()
  let child = honestImage().manifest
  let childType = OCI_MANIFEST
  byDigest.set(sha(child), child)
  for (let i = 0; i < depth; i++) {
    const index = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: OCI_INDEX, manifests: [{mediaType: childType, digest: sha(child), size: child.length}]}))
    byDigest.set(sha(index), index)
    child = index
    childType = OCI_INDEX
  }
  return {root: child, byDigest}
}

/** An image whose layer declares 2^49 bytes (512 TiB). */
function hugeLayerImage(): Graph {
  const img = honestImage()
  const manifest = JSON.parse(img.manifest.toString()) as {layers: {size: number}[]}
  manifest.layers[0]!.size = 2 ** 49
  const root = Buffer.from(JSON.stringify(manifest))
  return {root, byDigest: new Map([[sha(root), root]])}
}

let deep: Graph | undefined
let huge: Graph | undefined

/** Headers and half the body of the honest manifest, then the connection is cut. */
function cutManifest(req: IncomingMessage, res: ServerResponse): void {
  const m = honestImage().manifest
  if (req.method !== 'GET' || !/\/manifests\//.test(req.url ?? '')) return honest(req, res)
  res.writeHead(200, {'content-length': m.length, 'content-type': OCI_MANIFEST, 'docker-content-digest': sha(m)})
  res.write(m.subarray(0, m.length >> 1), () => setTimeout(() => req.socket.destroy(), 20))
}

function challengeBasic(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.headers.authorization) return false
  res.writeHead(401, {'www-authenticate': 'Basic realm="hostile"', 'content-length': 0})
  res.end()
  return true
}

/** `/v2/_catalog` behaviours, chosen per HostileRegistry instance (HostileRegistry.start({catalog})). */
export const CATALOGS: Record<string, Handler> = {
  /** Every page links to itself. */
  'self-link': (req, res) => send(res, 200, '{"repositories":["honest/app"]}', {'content-type': 'application/json', link: `<${req.url ?? ''}>; rel="next"`}),
  /** Needs credentials; page 1 links to page 2 on the other origin. */
  'other-origin': (req, res, ctx) => {
    if (challengeBasic(req, res)) return
    send(res, 200, '{"repositories":[]}', {'content-type': 'application/json', link: `<http://localhost:${ctx.otherPort}/v2/_catalog?last=zz&n=1000>; rel="next"`})
  },
  /** One repository, whose tag list links to itself. */
  'tags-loop': (_req, res) => send(res, 200, '{"repositories":["tags-link-loop/app"]}', {'content-type': 'application/json'}),
}

function send(res: ServerResponse, status: number, body: Buffer | string, headers: Record<string, string | number> = {}): void {
  const b = typeof body === 'string' ? Buffer.from(body) : body
  res.writeHead(status, {'content-length': b.length, ...headers})
  res.end(b)
}

function honest(req: IncomingMessage, res: ServerResponse, blobTamper?: (b: Buffer) => Buffer): void {
  const img = honestImage()
  const url = req.url ?? ''
  if (/\/manifests\//.test(url)) return send(res, 200, img.manifest, {'content-type': OCI_MANIFEST, 'docker-content-digest': sha(img.manifest)})
  const m = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec(url)
  if (m) {
    const blob = [img.config, img.layer].find((b) => sha(b) === m[1])
    if (!blob) return send(res, 404, '{"errors":[{"code":"BLOB_UNKNOWN"}]}', {'content-type': 'application/json'})
    const out = blob === img.layer && blobTamper ? blobTamper(blob) : blob
    return send(res, 200, out, {'content-type': 'application/octet-stream'})
  }
  send(res, 404, '{"errors":[{"code":"NAME_UNKNOWN"}]}', {'content-type': 'application/json'})
}

/** Repository name (first path component after /v2/) → behaviour. */
export const BEHAVIOURS: Record<string, Handler> = {
  'oversized-manifest': (_req, res) => {
    const body = Buffer.alloc(5 * 1024 * 1024, 0x20)
    send(res, 200, body, {'content-type': OCI_MANIFEST})
  },
  'oversized-chunked': (_req, res) => {
    res.writeHead(200, {'content-type': OCI_MANIFEST})
    const chunk = Buffer.alloc(256 * 1024, 0x20)
    let n = 0
    const more = (): void => {
      while (n < 40) {
        n += 1
        if (!res.write(chunk)) return void res.once('drain', more)
      }
      res.end()
    }
    res.on('error', () => {})
    more()
  },
  'malformed-manifest': (_req, res) => send(res, 200, '{"schemaVersion": 2, "config": {"digest": ', {'content-type': OCI_MANIFEST}),
  'schema1': (_req, res) => {
    const body = JSON.stringify({schemaVersion: 1, name: 'schema1', tag: 'v1', architecture: 'amd64', fsLayers: [], history: [], signatures: []})
    send(res, 200, body, {'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws'})
  },
  'unknown-media-type': (_req, res) => send(res, 200, '{"hello":"world"}', {'content-type': 'application/x-evil+json'}),
  'html-portal': (_req, res) => send(res, 200, '<html><body>Please log in to the hotel Wi-Fi</body></html>', {'content-type': 'text/html'}),
  'contradicting-media-type': (_req, res) => {
    const img = JSON.parse(honestImage().manifest.toString()) as Record<string, unknown>
    img.mediaType = 'application/vnd.oci.image.index.v1+json'
    send(res, 200, JSON.stringify(img), {'content-type': OCI_MANIFEST})
  },
  'digest-header-mismatch': (_req, res) => {
    const m = honestImage().manifest
    send(res, 200, m, {'content-type': OCI_MANIFEST, 'docker-content-digest': `sha256:${'0'.repeat(64)}`})
  },
  'redirect-loop': (req, res) => {
    res.writeHead(307, {location: req.url ?? '/', 'content-length': 0})
    res.end()
  },
  'redirect-other-host': (req, res, ctx) => {
    if (!req.headers.authorization) {
      res.writeHead(401, {'www-authenticate': 'Basic realm="hostile"', 'content-length': 0})
      return void res.end()
    }
    res.writeHead(307, {location: `http://localhost:${ctx.otherPort}${req.url ?? '/'}`, 'content-length': 0})
    res.end()
  },
  'blob-redirect-other-host': (req, res, ctx) => {
    if (!req.headers.authorization) {
      res.writeHead(401, {'www-authenticate': 'Basic realm="hostile"', 'content-length': 0})
      return void res.end()
    }
    if (/\/blobs\//.test(req.url ?? '')) {
      res.writeHead(307, {location: `http://localhost:${ctx.otherPort}${req.url ?? '/'}`, 'content-length': 0})
      return void res.end()
    }
    honest(req, res)
  },
  'file-realm': (_req, res) => {
    res.writeHead(401, {'www-authenticate': 'Bearer realm="file:///etc/passwd",service="evil",scope="repository:file-realm/app:pull"', 'content-length': 0})
    res.end()
  },
  'tags-link-loop': (req, res) => {
    if (!/\/tags\/list/.test(req.url ?? '')) return honest(req, res)
    send(res, 200, '{"name":"tags-link-loop/app","tags":["v1"]}', {'content-type': 'application/json', link: `<${req.url ?? ''}>; rel="next"`})
  },
  'location-other-host': (req, res, ctx) => {
    if (challengeBasic(req, res)) return
    const url = req.url ?? ''
    if (req.method === 'HEAD') return send(res, 404, '')
    if (req.method === 'POST' && /\/blobs\/uploads\/$/.test(url)) {
      res.writeHead(202, {location: `http://localhost:${ctx.otherPort}/upload/${ctx.seen.length}`, 'content-length': 0})
      return void res.end()
    }
    if (req.method === 'PUT' && /\/manifests\//.test(url)) {
      req.resume()
      return void req.on('end', () => send(res, 201, ''))
    }
    honest(req, res)
  },
  'http-realm': (req, res, ctx) => {
    if (req.headers.authorization?.startsWith('Bearer ')) return honest(req, res)
    res.writeHead(401, {'www-authenticate': `Bearer realm="http://localhost:${ctx.otherPort}/token",service="hostile"`, 'content-length': 0})
    res.end()
  },
  'huge-token': (_req, res, ctx) => {
    res.writeHead(401, {'www-authenticate': `Bearer realm="http://${ctx.host}/token/huge",service="hostile"`, 'content-length': 0})
    res.end()
  },
  'trickle-manifest': (req, res) => {
    const m = honestImage().manifest
    if (req.method !== 'GET' || !/\/manifests\//.test(req.url ?? '')) return honest(req, res)
    res.writeHead(200, {'content-length': m.length, 'content-type': OCI_MANIFEST, 'docker-content-digest': sha(m)})
    let i = 0
    const t = setInterval(() => res.write(m.subarray(i, ++i)), 20_000)
    res.write(m.subarray(0, ++i))
    res.on('close', () => clearInterval(t))
  },
  'cut-manifest': (req, res) => cutManifest(req, res),
  'cut-manifest-once': (req, res, ctx) => {
    const key = `${req.method} ${req.url}`
    const n = (ctx.counts.get(key) ?? 0) + 1
    ctx.counts.set(key, n)
    if (n === 1) return cutManifest(req, res)
    honest(req, res)
  },
  'deep-index': (req, res) => serveGraph(req, res, (deep ??= deepIndex(1500)), OCI_INDEX),
  'huge-layer': (req, res) => serveGraph(req, res, (huge ??= hugeLayerImage()), OCI_MANIFEST),
  'corrupt-blob': (req, res) => honest(req, res, (b) => Buffer.concat([b.subarray(0, 5), Buffer.from('X'), b.subarray(6)])),
  'short-blob': (req, res) => honest(req, res, (b) => b.subarray(0, b.length - 3)),
  'huge-error-body': (_req, res) => send(res, 500, Buffer.alloc(8 * 1024 * 1024, 0x41), {'content-type': 'text/plain'}),
  'bad-json-error-body': (_req, res) => send(res, 403, '{"errors": [{"code": ', {'content-type': 'application/json'}),
}

export interface HostileOptions {
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: {cert: string; key: string}
  /** Key of CATALOGS: how `/v2/_catalog` answers (default: one honest repository). */
  catalog?: string
}

/** A Helm repository index whose only chart downloads from a file:// URL. */
const FILE_URL_INDEX = [
  'apiVersion: v1',
  'entries:',
  '  evil:',
  '  - name: evil',
  '    version: 1.0.0',
  '    apiVersion: v2',
  '    urls:',
  '    - file:///etc/passwd',
  '',
].join('\n')

/** The other origin: records every request; answers catalog pages, uploads and tokens. */
function otherHost(req: IncomingMessage, res: ServerResponse): void {
  const url = req.url ?? ''
  if (url.startsWith('/v2/_catalog')) return send(res, 200, '{"repositories":[]}', {'content-type': 'application/json'})
  if (url.startsWith('/token')) return send(res, 200, '{"token":"issued-by-the-other-host"}', {'content-type': 'application/json'})
  if (url.startsWith('/upload/')) {
    req.resume()
    return void req.on('end', () => send(res, 201, ''))
  }
  honest(req, res)
}

/** The hostile registry and the "other host" it redirects to. */
export class HostileRegistry {
  readonly seen: Seen[] = []
  /** Requests the other host received (it must never see Authorization). */
  readonly otherSeen: Seen[] = []
  /** Requests per `METHOD url`, for behaviours that change after the first one. */
  readonly counts = new Map<string, number>()
  port = 0
  otherPort = 0
  catalog: Handler | undefined
  private server?: Server
  private other?: Server

  static async start(options: HostileOptions = {}): Promise<HostileRegistry> {
    const h = new HostileRegistry()
    h.catalog = options.catalog === undefined ? undefined : CATALOGS[options.catalog]
    const handler = (req: IncomingMessage, res: ServerResponse) => h.handle(req, res)
    h.server = options.tls ? createTlsServer({cert: options.tls.cert, key: options.tls.key}, handler) : createServer(handler)
    h.other = createServer((req, res) => {
      h.otherSeen.push({method: req.method ?? '', url: req.url ?? '', ...(req.headers.authorization ? {authorization: req.headers.authorization} : {})})
      otherHost(req, res)
    })
    await new Promise<void>((r) => h.server!.listen(0, '127.0.0.1', r))
    await new Promise<void>((r) => h.other!.listen(0, 'localhost', r))
    h.port = (h.server.address() as AddressInfo).port
    h.otherPort = (h.other.address() as AddressInfo).port
    return h
  }

  get host(): string {
    return `127.0.0.1:${this.port}`
  }

  get otherHost(): string {
    return `localhost:${this.otherPort}`
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.seen.push({method: req.method ?? '', url: req.url ?? '', ...(req.headers.authorization ? {authorization: req.headers.authorization} : {})})
    res.on('error', () => {})
    if (req.url === '/v2/' || req.url === '/v2') return send(res, 200, '{}', {'content-type': 'application/json'})
    if (req.url?.startsWith('/v2/_catalog')) {
      if (this.catalog) return this.catalog(req, res, this)
      return send(res, 200, '{"repositories":["honest/app"]}', {'content-type': 'application/json'})
    }
    if (req.url?.startsWith('/token/huge')) return send(res, 200, Buffer.alloc(3 * 1024 * 1024, 0x61), {'content-type': 'application/json'})
    if (req.url === '/charts/index.yaml') return send(res, 200, FILE_URL_INDEX, {'content-type': 'application/x-yaml'})
    const name = /^\/v2\/([^/]+)\//.exec(req.url ?? '')?.[1] ?? ''
    const behaviour = BEHAVIOURS[name]
    if (behaviour) return behaviour(req, res, this)
    honest(req, res)
  }

  async close(): Promise<void> {
    await Promise.all([this.server, this.other].map((s) => new Promise<void>((r) => (s ? s.close(() => r()) : r()))))
  }
}
