/**
 * Blob downloads survive a broken connection (resumed with a Range request, verified as a whole)
 * and damaged bytes are caught. A tiny node:http proxy in front of the real plain registry injects
 * the faults (the registry cannot be told to misbehave); the proxy is the only test double here.
 */
import {createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {Readable} from 'node:stream'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {readAll} from '../../src/content/verify.js'
import {IntegrityError, NetworkError} from '../../src/errors.js'
import {describeWithServices, services} from '../support/services.js'
import {clientFor, randomBlob, repoName} from './registry-support.js'
import {MAX_RESUMES, RegistryClient} from '../../src/registry/index.js'

type Fault = 'cut-once' | 'cut-once-ignore-range' | 'cut-always' | 'flip-byte' | '503-once' | 'none'

interface FaultProxy {
  host: string
  /** Blob GETs seen: the Range header of each (undefined = none). */
  blobGets: (string | undefined)[]
  /** Body bytes the proxy passed on for each blob GET. */
  bytesSent: number[]
  fault: Fault
  /** Add a `Warning: 299` header to every response. */
  warn: boolean
  close(): Promise<void>
}

const CUT_AT = 300 * 1024

/** Forward to the registry; break or damage blob GET responses as `fault` says. */
async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const [upHost, upPort] = upstream.split(':') as [string, string]
  const state: FaultProxy = {host: '', blobGets: [], bytesSent: [], fault: 'none', warn: false, close: async () => undefined}
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const isBlobGet = req.method === 'GET' && /\/blobs\/sha256:/.test(req.url ?? '')
    const headers = {...req.headers}
    let fault: Fault = 'none'
    const index = state.blobGets.length
    if (isBlobGet) {
      state.blobGets.push(req.headers.range)
      state.bytesSent.push(0)
      const first = state.blobGets.length === 1
      if (state.fault === '503-once' && first) {
        res.writeHead(503, {'retry-after': '1', 'content-type': 'text/plain'})
        res.end('busy')
        return
      }
      if (state.fault === 'cut-always') fault = 'cut-once'
      else if (state.fault === 'flip-byte') fault = 'flip-byte'
      else if (first && (state.fault === 'cut-once' || state.fault === 'cut-once-ignore-range')) fault = state.fault
      else if (state.fault === 'cut-once-ignore-range') delete headers.range
    }
    const up = httpRequest({host: upHost, port: Number(upPort), method: req.method, path: req.url, headers}, (upRes) => {
      const outHeaders = {...upRes.headers}
      if (state.warn) outHeaders.warning = '299 - "this registry is deprecated"'
      res.writeHead(upRes.statusCode ?? 502, outHeaders)
      let sent = 0
      upRes.on('data', (chunk: Buffer) => {
        if (fault === 'cut-once-ignore-range' || fault === 'cut-once') {
          if (sent + chunk.length >= CUT_AT) {
            res.write(chunk.subarray(0, CUT_AT - sent))
            res.socket?.destroy()
            upRes.destroy()
            return
          }
        }
        if (fault === 'flip-byte' && sent <= 1000 && sent + chunk.length > 1000) {
          chunk = Buffer.from(chunk)
          chunk[1000 - sent] ^= 0xff
        }
        sent += chunk.length
        if (isBlobGet) state.bytesSent[index] = sent
        res.write(chunk)
      })
      upRes.on('end', () => res.end())
    })
    up.on('error', () => res.destroy())
    req.pipe(up)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.host = `127.0.0.1:${(server.address() as AddressInfo).port}`
  state.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  return state
}

describeWithServices('registry blob download faults (proxy in front of the real registry)', () => {
  let proxy: FaultProxy
  let viaProxy: RegistryClient
  let direct: RegistryClient
  const warnings: string[] = []

  beforeAll(async () => {
    const info = services().registries.plain
    proxy = await startFaultProxy(info.host)
    viaProxy = new RegistryClient(proxy.host, {
      httpOptions: {plainHttp: [proxy.host], retry: {retries: 1}},
      onWarning: (w) => warnings.push(w),
    })
    direct = clientFor(info)
  })
  afterAll(async () => {
    await Promise.all([viaProxy?.close(), direct?.close()])
    await proxy?.close()
  })

  /** Two blob GETs: the first without Range, the second from where the cut connection stopped. */
  function expectResumedOnce(size: number): void {
    expect(proxy.blobGets).toHaveLength(2)
    expect(proxy.blobGets[0]).toBeUndefined()
    const m = /^bytes=(\d+)-$/.exec(proxy.blobGets[1] ?? '')
    expect(m).not.toBeNull()
    const from = Number(m![1])
    expect(from).toBeGreaterThan(0)
    expect(from).toBeLessThanOrEqual(CUT_AT)
    expect(from).toBeLessThan(size)
  }

  async function seed(size: number) {
    const name = repoName('resume')
    const b = randomBlob(size)
    await direct.repository(name).push(b.descriptor, Readable.from(b.bytes))
    proxy.blobGets.length = 0
    proxy.bytesSent.length = 0
    proxy.warn = false
    return {name, b}
  }

  it('resumes a download cut mid-blob with Range: bytes=N- and returns the verified whole', async () => {
    const {name, b} = await seed(1024 * 1024)
    proxy.fault = 'cut-once'
    const got = await readAll(await viaProxy.repository(name).fetch(b.descriptor), 2 << 20, 'test')
    expect(got.equals(b.bytes)).toBe(true)
    expectResumedOnce(b.bytes.length)
    // only the missing tail was fetched again
    const from = Number(/^bytes=(\d+)-$/.exec(proxy.blobGets[1]!)![1])
    expect(proxy.bytesSent[1]).toBe(b.bytes.length - from)
  })

  it('resumes even when the server ignores Range (200): the first bytes are skipped, not hashed twice', async () => {
    const {name, b} = await seed(700 * 1024)
    proxy.fault = 'cut-once-ignore-range'
    const got = await readAll(await viaProxy.repository(name).fetch(b.descriptor), 2 << 20, 'test')
    expect(got.equals(b.bytes)).toBe(true)
    expectResumedOnce(b.bytes.length)
    expect(proxy.bytesSent[1]).toBe(b.bytes.length)
  })

  it('a flipped byte fails the stream with IntegrityError and nothing is stored at the destination', async () => {
    const {name, b} = await seed(64 * 1024)
    proxy.fault = 'flip-byte'
    const dst = direct.repository(repoName('flip-dst'))
    const source = await viaProxy.repository(name).fetch(b.descriptor)
    const err = await dst.push(b.descriptor, source).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as Error).message).toContain(b.descriptor.digest)
    expect(await dst.exists(b.descriptor)).toBe(false)
    expect(proxy.blobGets).toHaveLength(1)
  })

  it('gives up after a few resumes when the connection keeps breaking: NetworkError, never short data', async () => {
    const {name, b} = await seed(2 * 1024 * 1024) // needs more than MAX_RESUMES cuts of <= CUT_AT
    proxy.fault = 'cut-always'
    const stream = await viaProxy.repository(name).fetch(b.descriptor)
    const err = await readAll(stream, 4 << 20, 'test').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NetworkError)
    expect((err as NetworkError).exitCode).toBe(9)
    expect(proxy.blobGets).toHaveLength(1 + MAX_RESUMES)
  })

  it('retries a 503 after its Retry-After delay', async () => {
    const {name, b} = await seed(1000)
    proxy.fault = '503-once'
    const started = Date.now()
    const got = await readAll(await viaProxy.repository(name).fetch(b.descriptor), 2 << 20, 'test')
    expect(got.equals(b.bytes)).toBe(true)
    expect(Date.now() - started).toBeGreaterThanOrEqual(950)
    expect(proxy.blobGets).toHaveLength(2)
  })

  it('reports each distinct Warning header once through onWarning', async () => {
    const {name, b} = await seed(100)
    proxy.fault = 'none'
    proxy.warn = true
    const repo = viaProxy.repository(name)
    await repo.exists(b.descriptor)
    await repo.exists(b.descriptor)
    expect(warnings).toEqual(['this registry is deprecated'])
  })
})
