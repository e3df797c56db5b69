/**
 * A fault-injecting HTTP proxy for the reliability suite. It sits in front of a REAL registry
 * (distribution 2.8) and forwards every request unchanged, except those matching a rule: for the
 * first `times` matches of `method` + `path` it injects one fault.
 *
 * Faults hit the body that carries the data: the request body when the client uploads (PUT/PATCH/
 * POST with a body), else the response body.
 *
 * | kind          | upload (request body)                          | download (response body)                          |
 * |---------------|------------------------------------------------|---------------------------------------------------|
 * | reset         | TCP RST after `afterBytes` received            | headers + `afterBytes` bytes, then TCP RST          |
 * | status        | answers `status` (500/502/503) with a JSON error, nothing forwarded          ||
 * | retry-after   | answers 429 TOOMANYREQUESTS with `Retry-After: seconds`, nothing forwarded   ||
 * | truncate      | closes (FIN) after `afterBytes` received       | full Content-Length, `afterBytes` bytes, then FIN   |
 * | trickle       | delays the response by `delayMs`               | body in `chunk`-byte pieces every `intervalMs`      |
 * | corrupt       | flips one byte at `afterBytes` before forwarding | flips one byte at `afterBytes`                    |
 * | length-more   | forwards with Content-Length + `delta`         | Content-Length + `delta`, real body, then FIN       |
 * | length-less   | forwards with Content-Length - `delta`         | Content-Length - `delta`, full body, then FIN       |
 */
import {createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo, Socket} from 'node:net'

export type FaultKind = 'reset' | 'status' | 'retry-after' | 'truncate' | 'trickle' | 'corrupt' | 'length-more' | 'length-less'

export const FAULT_KINDS: readonly FaultKind[] = ['reset', 'status', 'retry-after', 'truncate', 'trickle', 'corrupt', 'length-more', 'length-less']

export interface Fault {
  kind: FaultKind
  /** Bytes passed before a reset/truncate, offset of the corrupted byte (default 1000, clamped to the body). */
  afterBytes?: number
  /** HTTP status for `status` (default 503). */
  status?: number
  /** Retry-After seconds for `retry-after` (default 1). */
  retryAfter?: number
  /** Content-Length error for `length-*` (default 10). */
  delta?: number
  /** trickle: bytes per piece (default 4096), pause between pieces (default 50 ms), upload delay (default 1500 ms). */
  chunk?: number
  intervalMs?: number
  delayMs?: number
}

export interface FaultRule {
  /** Request method to match (any when absent). */
  method?: string
  /** Matched against the request path with query. */
  path: RegExp
  /** How many matching requests get the fault (default 1). */
  times?: number
  fault: Fault
}

/** A rule as installed: `hits` counts the requests that got the fault. */
export interface InstalledRule extends FaultRule {
  times: number
  hits: number
}

export interface ProxyLogEntry {
  method: string
  path: string
  fault?: FaultKind
  status?: number
}

/** Forwarding proxy with programmable faults; see the module comment. */
export class FaultProxy {
  readonly log: ProxyLogEntry[] = []
  private rules: InstalledRule[] = []
  private server?: Server
  private readonly sockets = new Set<Socket>()
  private upstreamHost = ''
  private upstreamPort = 0
  port = 0

  /** Start on a free loopback port in front of `upstream` (`host:port`, plain HTTP). */
  static async start(upstream: string): Promise<FaultProxy> {
    const p = new FaultProxy()
    const u = new URL(`http://${upstream}`)
    p.upstreamHost = u.hostname
    p.upstreamPort = Number(u.port || 80)
    p.server = createServer((req, res) => void p.handle(req, res))
    p.server.on('connection', (s) => {
      p.sockets.add(s)
      s.on('close', () => p.sockets.delete(s))
    })
    await new Promise<void>((resolve) => p.server!.listen(0, '127.0.0.1', resolve))
    p.port = (p.server.address() as AddressInfo).port
    return p
  }

  /** `127.0.0.1:<port>` of the proxy. */
  get host(): string {
    return `127.0.0.1:${this.port}`
  }

  /** Install a rule; returns it so the test can read `hits`. */
  add(rule: FaultRule): InstalledRule {
    const installed: InstalledRule = {...rule, times: rule.times ?? 1, hits: 0}
    this.rules.push(installed)
    return installed
  }

  /** Remove every rule and forget the log. */
  clear(): void {
    this.rules = []
    this.log.length = 0
  }

  /** Faults injected so far. */
  get injected(): number {
    return this.rules.reduce((n, r) => n + r.hits, 0)
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()))
  }

  private match(req: IncomingMessage): InstalledRule | undefined {
    const rule = this.rules.find((r) => r.hits < r.times && (!r.method || r.method === req.method) && r.path.test(req.url ?? ''))
    if (rule) rule.hits += 1
    return rule
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rule = this.match(req)
    const entry: ProxyLogEntry = {method: req.method ?? '', path: req.url ?? '', ...(rule ? {fault: rule.fault.kind} : {})}
    this.log.push(entry)
    req.on('error', () => {})
    res.on('error', () => {})
    try {
      if (!rule) return await this.forward(req, res, entry)
      const f = rule.fault
      if (f.kind === 'status' || f.kind === 'retry-after') return await this.answerError(req, res, f, entry)
      if (hasBody(req)) return await this.uploadFault(req, res, f, entry)
      return await this.downloadFault(req, res, f, entry)
    } catch {
      req.socket.destroy()
    }
  }

  /** Plain forwarding, streamed both ways. */
  private forward(req: IncomingMessage, res: ServerResponse, entry: ProxyLogEntry, body?: Buffer, headers = req.headers): Promise<void> {
    return new Promise((resolve) => {
      const up = httpRequest(
        {host: this.upstreamHost, port: this.upstreamPort, method: req.method, path: req.url, headers},
        (upRes) => {
          entry.status = upRes.statusCode
          res.writeHead(upRes.statusCode ?? 502, upRes.headers)
          upRes.pipe(res)
          upRes.on('end', () => resolve())
          upRes.on('error', () => {
            req.socket.destroy()
            resolve()
          })
        },
      )
      up.on('error', () => {
        req.socket.destroy()
        resolve()
      })
      if (body) up.end(body)
      else req.pipe(up)
    })
  }

  /** The whole upstream response, buffered (test content is small). */
  private fetchUpstream(req: IncomingMessage, body?: Buffer): Promise<{status: number; headers: IncomingMessage['headers']; body: Buffer}> {
    return new Promise((resolve, reject) => {
      const up = httpRequest({host: this.upstreamHost, port: this.upstreamPort, method: req.method, path: req.url, headers: req.headers}, (upRes) => {
        const chunks: Buffer[] = []
        upRes.on('data', (c: Buffer) => chunks.push(c))
        upRes.on('end', () => resolve({status: upRes.statusCode ?? 502, headers: upRes.headers, body: Buffer.concat(chunks)}))
        upRes.on('error', reject)
      })
      up.on('error', reject)
      up.end(body)
    })
  }

  private async answerError(req: IncomingMessage, res: ServerResponse, f: Fault, entry: ProxyLogEntry): Promise<void> {
    await drain(req)
    const status = f.kind === 'retry-after' ? 429 : (f.status ?? 503)
    const code = status === 429 ? 'TOOMANYREQUESTS' : 'UNAVAILABLE'
    const body = JSON.stringify({errors: [{code, message: `injected fault: HTTP ${status}`}]})
    entry.status = status
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      ...(status === 429 ? {'retry-after': String(f.retryAfter ?? 1)} : {}),
    })
    res.end(body)
  }

  private async uploadFault(req: IncomingMessage, res: ServerResponse, f: Fault, entry: ProxyLogEntry): Promise<void> {
    const after = f.afterBytes ?? 1000
    if (f.kind === 'reset' || f.kind === 'truncate') {
      let seen = 0
      await new Promise<void>((resolve) => {
        req.on('data', (c: Buffer) => {
          seen += c.length
          if (seen >= after) {
            if (f.kind === 'reset') req.socket.resetAndDestroy()
            else req.socket.end()
            resolve()
          }
        })
        req.on('end', () => {
          if (f.kind === 'reset') req.socket.resetAndDestroy()
          else req.socket.end()
          resolve()
        })
        req.on('close', () => resolve())
      })
      return
    }
    const body = await drain(req)
    if (f.kind === 'corrupt') {
      if (body.length > 0) body[Math.min(after, body.length - 1)]! ^= 0xff
      return this.forward(req, res, entry, body)
    }
    if (f.kind === 'length-more' || f.kind === 'length-less') {
      const delta = f.delta ?? 10
      const length = Math.max(0, body.length + (f.kind === 'length-more' ? delta : -delta))
      const headers = {...req.headers, 'content-length': String(length)}
      delete headers['transfer-encoding']
      return this.forwardRaw(req, res, entry, body, headers)
    }
    // trickle: hold the answer back
    await sleep(f.delayMs ?? 1500)
    return this.forward(req, res, entry, body)
  }

  /**
   * Forward with a Content-Length that does not match the body: written on a raw socket (node's
   * client would refuse), answer relayed as is, or the client's connection closed when the upstream
   * never answers.
   */
  private forwardRaw(req: IncomingMessage, res: ServerResponse, entry: ProxyLogEntry, body: Buffer, headers: IncomingMessage['headers']): Promise<void> {
    return new Promise((resolve) => {
      const up = httpRequest({host: this.upstreamHost, port: this.upstreamPort, method: req.method, path: req.url, headers, timeout: 3000}, (upRes) => {
        entry.status = upRes.statusCode
        res.writeHead(upRes.statusCode ?? 502, {...upRes.headers, connection: 'close'})
        upRes.pipe(res)
        upRes.on('end', () => resolve())
      })
      const fail = (): void => {
        req.socket.destroy()
        resolve()
      }
      up.on('timeout', () => up.destroy())
      up.on('error', fail)
      up.end(body)
    })
  }

  private async downloadFault(req: IncomingMessage, _res: ServerResponse, f: Fault, entry: ProxyLogEntry): Promise<void> {
    await drain(req)
    const up = await this.fetchUpstream(req)
    entry.status = up.status
    const body = up.body
    const socket = req.socket
    const after = Math.min(f.afterBytes ?? 1000, Math.max(0, body.length - 1))
    let length = body.length
    if (f.kind === 'length-more') length += f.delta ?? 10
    if (f.kind === 'length-less') length = Math.max(0, length - (f.delta ?? 10))
    if (req.method === 'HEAD') length = Number(up.headers['content-length'] ?? length)
    socket.write(rawHead(up.status, up.headers, length))
    if (req.method === 'HEAD') return void socket.end()
    switch (f.kind) {
      case 'reset':
        socket.write(body.subarray(0, after))
        await sleep(20)
        socket.resetAndDestroy()
        return
      case 'truncate':
        socket.end(body.subarray(0, after))
        return
      case 'corrupt': {
        const copy = Buffer.from(body)
        if (copy.length > 0) copy[after]! ^= 0xff
        socket.end(copy)
        return
      }
      case 'length-more':
      case 'length-less':
        socket.end(body)
        return
      case 'trickle': {
        const chunk = f.chunk ?? 4096
        for (let i = 0; i < body.length && !socket.destroyed; i += chunk) {
          socket.write(body.subarray(i, i + chunk))
          await sleep(f.intervalMs ?? 50)
        }
        socket.end()
        return
      }
      default:
        socket.end(body)
    }
  }
}

function hasBody(req: IncomingMessage): boolean {
  const len = Number(req.headers['content-length'] ?? 0)
  return len > 0 || req.headers['transfer-encoding'] !== undefined
}

function drain(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve) => {
    if (req.readableEnded) return resolve(Buffer.alloc(0))
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', () => resolve(Buffer.concat(chunks)))
  })
}

const REASONS: Record<number, string> = {200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 206: 'Partial Content', 307: 'Temporary Redirect', 404: 'Not Found'}

/** Status line and headers with our Content-Length and `Connection: close`. */
function rawHead(status: number, headers: IncomingMessage['headers'], length: number): string {
  const lines = [`HTTP/1.1 ${status} ${REASONS[status] ?? 'Status'}`]
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || ['content-length', 'connection', 'transfer-encoding', 'keep-alive'].includes(k)) continue
    for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${one}`)
  }
  lines.push(`content-length: ${length}`, 'connection: close', '', '')
  return lines.join('\r\n')
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
