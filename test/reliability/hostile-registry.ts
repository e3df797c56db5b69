/**
 * TEST DOUBLE for hostile registries (a real one cannot be made to misbehave like this): a small
 * node:http server that answers the distribution API like a registry, except that each
 * repository name selects one hostile behaviour (see BEHAVIOURS). A second server on another
 * origin (`localhost` instead of `127.0.0.1`) plays the host a redirect points to and records the
 * Authorization headers it receives.
 */
import {createHash} from 'node:crypto'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json'
const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar+gzip'

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
  'corrupt-blob': (req, res) => honest(req, res, (b) => Buffer.concat([b.subarray(0, 5), Buffer.from('X'), b.subarray(6)])),
  'short-blob': (req, res) => honest(req, res, (b) => b.subarray(0, b.length - 3)),
  'huge-error-body': (_req, res) => send(res, 500, Buffer.alloc(8 * 1024 * 1024, 0x41), {'content-type': 'text/plain'}),
  'bad-json-error-body': (_req, res) => send(res, 403, '{"errors": [{"code": ', {'content-type': 'application/json'}),
}

/** The hostile registry and the "other host" it redirects to. */
export class HostileRegistry {
  readonly seen: Seen[] = []
  /** Requests the other host received (it must never see Authorization). */
  readonly otherSeen: Seen[] = []
  port = 0
  otherPort = 0
  private server?: Server
  private other?: Server

  static async start(): Promise<HostileRegistry> {
    const h = new HostileRegistry()
    h.server = createServer((req, res) => h.handle(req, res))
    h.other = createServer((req, res) => {
      h.otherSeen.push({method: req.method ?? '', url: req.url ?? '', ...(req.headers.authorization ? {authorization: req.headers.authorization} : {})})
      honest(req, res)
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
    const name = /^\/v2\/([^/]+)\//.exec(req.url ?? '')?.[1] ?? ''
    const behaviour = BEHAVIOURS[name]
    if (behaviour) return behaviour(req, res, this)
    honest(req, res)
  }

  async close(): Promise<void> {
    await Promise.all([this.server, this.other].map((s) => new Promise<void>((r) => (s ? s.close(() => r()) : r()))))
  }
}
