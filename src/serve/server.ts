/**
 * startServer(): the HTTP(S) server of `airgap serve` — an OCI distribution registry (`/v2/`) and a
 * classic Helm repository (`/charts/`) over a bundle or an OCI layout folder. Optional basic auth
 * from an htpasswd file guards every route. A writable server that listens beyond loopback needs
 * the htpasswd file (or `allowAnonymousWrites`). Keep-alive connections; close() stops accepting,
 * lets running requests finish (up to a grace period) and removes temporary upload files. The core
 * never prints: requests, warnings and unexpected errors are reported through callbacks. Whatever
 * a client sends, it gets an answer (4xx for what it got wrong) and the server keeps running.
 */
import {lookup} from 'node:dns/promises'
import {createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import {createServer as createHttpsServer} from 'node:https'
import {isIP, type AddressInfo} from 'node:net'
import type {ReadOnlyTarget, TagLister} from '../content/types.js'
import {UsageError} from '../errors.js'
import {readInputFile, type InputFileKind} from '../files/input-file.js'
import {HelmHandler, HELM_PREFIX} from './helm.js'
import {DistributionError, requestUrl, sendError} from './http.js'
import {Htpasswd} from './htpasswd.js'
import {RegistryHandler} from './registry.js'
import {serveStore, type ServeStore} from './store.js'
import {OciLayout} from '../layout/index.js'
import {isGraphMediaType} from '../oci/manifest.js'
import {Annotation} from '../oci/types.js'

export interface RequestLog {
  method: string
  /** Path without the query string. */
  path: string
  status: number
  /** Milliseconds from request to the end of the response. */
  ms: number
  /** The authenticated user, when htpasswd is on. */
  user?: string
}

export interface ServeOptions {
  /** A BundleReader, an OciLayout, or any read-only target that lists its tags. */
  store: ReadOnlyTarget & TagLister
  /** Accept pushes (the store must be an OciLayout). */
  writable?: boolean
  /** `host:port` to listen on (port 0 picks a free port); default 127.0.0.1:5000. */
  addr?: string
  /** PEM files of the server certificate (chain) and key: serve HTTPS. */
  tls?: {cert: string; key: string}
  /** htpasswd file (bcrypt): require basic auth on every route. */
  htpasswd?: string
  /** Accept pushes without htpasswd on an address reachable beyond loopback (refused otherwise). */
  allowAnonymousWrites?: boolean
  /** Largest blob one upload may hold, bytes (default 32 GiB): more gets 413 SIZE_INVALID. */
  maxUploadSize?: number
  /** Unfinished uploads idle this long are dropped, ms (default one hour). */
  uploadIdleMs?: number
  /** `created`/`generated` time for the Helm index when charts carry none. */
  fixedTime?: Date
  onRequest?: (log: RequestLog) => void
  /** Something the operator should know: content left out of the Helm index or the graph, anonymous writes. */
  onWarning?: (message: string) => void
  /** Unexpected errors while answering (the client got a 500 or a cut connection). */
  onError?: (err: unknown, req: {method: string; path: string}) => void
  /** Grace period for running requests on close(), ms (default 5000). */
  closeGraceMs?: number
}

export interface RunningServer {
  /** Base URL, e.g. `http://127.0.0.1:5000`. */
  url: string
  /** `host:port` actually bound. */
  address: string
  /** URL of the Helm repository (`<url>/charts`). */
  helmUrl: string
  /** What is served: named images and charts in index.json. */
  counts(): Promise<{images: number; charts: number}>
  close(): Promise<void>
}

/** The --tls-cert (certificate chain) and --tls-key PEM files. */
const TLS_CERT_FILE: InputFileKind = {what: 'TLS certificate file', maxBytes: 1024 * 1024, refusal: 'usage', hint: 'pass --tls-cert with the PEM certificate (chain) of the server'}
const TLS_KEY_FILE: InputFileKind = {what: 'TLS key file', maxBytes: 64 * 1024, refusal: 'usage', hint: 'pass --tls-key with the PEM private key of the server certificate'}

/** Start serving `store`; resolves once the server listens. */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  if (opts.writable && !(opts.store instanceof OciLayout)) {
    throw new UsageError('only an OCI layout folder can be served writable', {hint: 'serve a folder (airgap serve DIR --writable), not a bundle file'})
  }
  const {host, port} = parseAddr(opts.addr ?? '127.0.0.1:5000')
  if (opts.writable && !opts.htpasswd && !(await isLoopbackOnly(host))) {
    if (!opts.allowAnonymousWrites) {
      throw new UsageError(`refusing to accept pushes from anyone on ${opts.addr}: the address is reachable beyond this machine and no --htpasswd is given`, {
        hint: 'add --htpasswd FILE (create it with htpasswd -cB FILE USER) so that pushes need a password, listen on 127.0.0.1, or pass --allow-anonymous-writes',
      })
    }
    opts.onWarning?.(`anyone who can reach ${opts.addr} can push and overwrite tags (--allow-anonymous-writes)`)
  }
  const auth = opts.htpasswd ? await Htpasswd.load(opts.htpasswd) : undefined
  const store = await serveStore(opts.store, {writable: opts.writable === true, onWarning: opts.onWarning})
  const registry = new RegistryHandler(store, {maxUploadSize: opts.maxUploadSize, idleMs: opts.uploadIdleMs})
  await registry.start()
  const helm = new HelmHandler(store, {fixedTime: opts.fixedTime, onWarning: opts.onWarning})
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    void handle(req, res, {registry, helm, auth, opts})
  }
  const server: Server = opts.tls
    ? createHttpsServer({cert: await readInputFile(opts.tls.cert, TLS_CERT_FILE), key: await readInputFile(opts.tls.key, TLS_KEY_FILE), keepAlive: true}, handler)
    : createHttpServer({keepAlive: true}, handler)
  await listen(server, host, port)
  const bound = server.address() as AddressInfo
  const shownHost = bound.address === '0.0.0.0' || bound.address === '::' ? '127.0.0.1' : bound.address
  const hostPart = shownHost.includes(':') ? `[${shownHost}]` : shownHost
  const url = `${opts.tls ? 'https' : 'http'}://${hostPart}:${bound.port}`
  let closing: Promise<void> | undefined
  return {
    url,
    address: `${hostPart}:${bound.port}`,
    helmUrl: `${url}${HELM_PREFIX}`,
    counts: () => counts(store, helm),
    close: () => (closing ??= shutdown(server, registry, opts.closeGraceMs ?? 5000)),
  }
}

interface Handlers {
  registry: RegistryHandler
  helm: HelmHandler
  auth: Htpasswd | undefined
  opts: ServeOptions
}

async function handle(req: IncomingMessage, res: ServerResponse, h: Handlers): Promise<void> {
  const started = performance.now()
  const method = req.method ?? 'GET'
  let path = (req.url ?? '/').split('?', 1)[0]!.slice(0, 1000)
  let user: string | undefined
  res.on('finish', () => {
    h.opts.onRequest?.({method, path, status: res.statusCode, ms: performance.now() - started, ...(user ? {user} : {})})
  })
  try {
    const url = requestUrl(req.url)
    path = url.pathname
    if (h.auth) {
      user = await h.auth.check(req.headers.authorization)
      if (!user) return unauthorized(req, res, url)
    }
    if (await h.registry.handle(req, res, url)) return
    if (await h.helm.handle(req, res, url)) return
    sendError(req, res, new DistributionError(404, 'NOT_FOUND', `nothing is served at ${url.pathname}: the registry is at /v2/, the Helm repository at ${HELM_PREFIX}/index.yaml`))
  } catch (err) {
    if (err instanceof DistributionError && !res.headersSent) {
      req.resume()
      return sendError(req, res, err)
    }
    h.opts.onError?.(err, {method, path})
    if (res.headersSent) res.destroy()
    else sendError(req, res, new DistributionError(500, 'UNKNOWN', `internal error: ${err instanceof Error ? err.message : String(err)}`))
  }
}

function unauthorized(req: IncomingMessage, res: ServerResponse, url: URL): void {
  req.resume()
  const err = new DistributionError(401, 'UNAUTHORIZED', 'authentication required', undefined, {'WWW-Authenticate': 'Basic realm="airgap"'})
  if (url.pathname.startsWith('/v2')) res.setHeader('Docker-Distribution-API-Version', 'registry/2.0')
  sendError(req, res, err)
}

async function counts(store: ServeStore, helm: HelmHandler): Promise<{images: number; charts: number}> {
  const charts = await helm.charts()
  const chartSources = new Set(charts.map((c) => c.source))
  const named = (await store.entries()).filter((e) => isGraphMediaType(e.mediaType))
  return {images: named.filter((e) => !chartSources.has(e.annotations?.[Annotation.RefName] ?? e.digest)).length, charts: charts.length}
}

/** `host:port`, `[v6]:port` or `:port` (all interfaces). */
export function parseAddr(addr: string): {host: string; port: number} {
  const m = addr.match(/^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/)
  const port = m ? Number(m[3]) : NaN
  if (!m || port > 65535) throw new UsageError(`invalid listen address "${addr}"`, {hint: 'write it as HOST:PORT, e.g. 127.0.0.1:5000 (port 0 picks a free one)'})
  return {host: m[1] ?? (m[2] || '0.0.0.0'), port}
}

/** Whether `host` (an address or a name) is only ever a loopback address. */
async function isLoopbackOnly(host: string): Promise<boolean> {
  if (host === '' || host === '0.0.0.0' || host === '::') return false
  // A name that does not resolve is left to listen() to report.
  const addresses = isIP(host) ? [host] : await lookup(host, {all: true}).then((all) => all.map((a) => a.address), () => ['127.0.0.1'])
  return addresses.every((a) => /^127\./.test(a) || a === '::1' || /^::ffff:127\./i.test(a))
}

function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      const hint = err.code === 'EADDRINUSE' ? 'another program uses that port: pick another with --addr' : 'check the --addr value'
      reject(new UsageError(`cannot listen on ${host}:${port}: ${err.code ?? err.message}`, {hint, cause: err}))
    }
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
}

async function shutdown(server: Server, registry: RegistryHandler, graceMs: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  const timer = setTimeout(() => server.closeAllConnections(), graceMs)
  timer.unref()
  await closed
  clearTimeout(timer)
  await registry.close()
}
