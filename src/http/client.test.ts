import {createServer, type IncomingHttpHeaders, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {IntegrityError, TimeoutError, UsageError} from '../errors.js'
import {HttpClient, hostMatches} from './client.js'
import {deadlineMs, timeoutsFromEnv} from './deadline.js'

describe('hostMatches / scheme choice', () => {
  it('matches host:port exactly, and a bare host for any port', () => {
    expect(hostMatches(['127.0.0.1:5000'], '127.0.0.1:5000')).toBe(true)
    expect(hostMatches(['127.0.0.1:5000'], '127.0.0.1:5001')).toBe(false)
    expect(hostMatches(['localhost'], 'localhost:5000')).toBe(true)
    expect(hostMatches(['localhost'], 'localhost')).toBe(true)
    expect(hostMatches(['Registry.Local:80'], 'registry.local:80')).toBe(true)
    expect(hostMatches(['http://reg.local:5000/'], 'reg.local:5000')).toBe(true)
    expect(hostMatches(['[::1]'], '[::1]:5000')).toBe(true)
    expect(hostMatches([], 'x')).toBe(false)
  })

  it('uses https unless the host is listed in plainHttp', async () => {
    const c = new HttpClient({plainHttp: ['127.0.0.1:5000'], proxy: false})
    expect(c.baseUrl('127.0.0.1:5000')).toBe('http://127.0.0.1:5000')
    expect(c.baseUrl('127.0.0.1:5001')).toBe('https://127.0.0.1:5001')
    expect(c.baseUrl('registry-1.docker.io')).toBe('https://registry-1.docker.io')
    await c.close()
  })

  it('refuses an unreadable CA file with a UsageError naming it', () => {
    expect(() => new HttpClient({caFiles: ['/nonexistent/ca.crt']})).toThrow(UsageError)
    expect(() => new HttpClient({caFiles: ['/nonexistent/ca.crt']})).toThrow(/\/nonexistent\/ca\.crt/)
  })
})

/** Start a local node:http server (a stand-in for a registry / blob storage, which cannot redirect on demand). */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<{server: Server; origin: string}> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`}
}

describe('HttpClient against local node:http stand-ins (redirects, retries)', () => {
  const seen: {server: string; url: string; headers: IncomingHttpHeaders}[] = []
  let storage: {server: Server; origin: string}
  let registry: {server: Server; origin: string}
  let flaky = 0
  let client: HttpClient

  beforeAll(async () => {
    storage = await serve((req, res) => {
      seen.push({server: 'storage', url: req.url ?? '', headers: req.headers})
      res.end('blob-bytes')
    })
    registry = await serve((req, res) => {
      seen.push({server: 'registry', url: req.url ?? '', headers: req.headers})
      if (req.url === '/same') return void res.writeHead(307, {location: '/final'}).end()
      if (req.url === '/cross') return void res.writeHead(307, {location: `${storage.origin}/blob?sig=1`}).end()
      if (req.url === '/flaky') {
        flaky++
        if (flaky < 3) return void res.writeHead(503, {'retry-after': '0'}).end('busy')
      }
      res.end('ok')
    })
    const hosts = [new URL(registry.origin).host, new URL(storage.origin).host]
    client = new HttpClient({plainHttp: hosts, proxy: false, userAgent: 'airgap-test/1', retry: {retries: 3, baseDelayMs: 1}})
  })
  afterAll(async () => {
    await client.close()
    registry.server.close()
    storage.server.close()
  })

  it('keeps Authorization on a same-origin redirect', async () => {
    seen.length = 0
    const res = await client.request({method: 'GET', url: `${registry.origin}/same`, headers: {Authorization: 'Bearer t'}})
    expect(await res.text()).toBe('ok')
    expect(seen.map((s) => [s.url, s.headers.authorization])).toEqual([
      ['/same', 'Bearer t'],
      ['/final', 'Bearer t'],
    ])
    expect(seen[0]?.headers['user-agent']).toBe('airgap-test/1')
  })

  it('drops Authorization when a redirect goes to another origin (blob storage)', async () => {
    seen.length = 0
    const res = await client.request({method: 'GET', url: `${registry.origin}/cross`, headers: {authorization: 'Bearer secret'}})
    expect(await res.text()).toBe('blob-bytes')
    expect(res.url.origin).toBe(storage.origin)
    expect(seen.map((s) => s.server)).toEqual(['registry', 'storage'])
    expect(seen[1]?.headers.authorization).toBeUndefined()
  })

  it('retries 503 answers and returns the eventual success', async () => {
    seen.length = 0
    const res = await client.request({method: 'GET', url: `${registry.origin}/flaky`})
    expect(res.status).toBe(200)
    expect(seen.filter((s) => s.url === '/flaky')).toHaveLength(3)
  })

  it('does not retry when retry is false', async () => {
    flaky = 0
    const res = await client.request({method: 'GET', url: `${registry.origin}/flaky`, retry: false})
    expect(res.status).toBe(503)
    await res.dump()
  })

  it('cuts a long body for error details, and refuses it whole when the caller parses it', async () => {
    const cut = await client.request({method: 'GET', url: `${storage.origin}/blob`})
    expect(await cut.text(4)).toBe('blob')
    const whole = await client.request({method: 'GET', url: `${storage.origin}/blob`})
    const err = await whole.text(4, 'whole').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as Error).message).toBe(`the response to GET ${storage.origin}/blob is larger than 4 bytes`)
    const fits = await client.request({method: 'GET', url: `${storage.origin}/blob`})
    expect(await fits.text(10, 'whole')).toBe('blob-bytes')
  })
})

describe('HttpClient trust boundaries and bounds (local node:http stand-ins)', () => {
  const seen: {server: string; url: string; authorization: string | undefined}[] = []
  let a: {server: Server; origin: string}
  let b: {server: Server; origin: string}
  let client: HttpClient

  beforeAll(async () => {
    const record = (server: string) => (req: import('node:http').IncomingMessage) =>
      seen.push({server, url: req.url ?? '', authorization: req.headers.authorization})
    b = await serve((req, res) => {
      record('b')(req)
      if (req.url === '/back') return void res.writeHead(307, {location: `${a.origin}/home`}).end()
      res.end('b')
    })
    a = await serve((req, res) => {
      record('a')(req)
      if (req.url === '/to-b') return void res.writeHead(307, {location: `${b.origin}/back`}).end()
      if (req.url === '/to-file') return void res.writeHead(302, {location: 'file:///etc/passwd'}).end()
      if (req.url === '/trickle') {
        res.writeHead(200, {'content-length': 100})
        const t = setInterval(() => res.write('x'), 100)
        res.on('close', () => clearInterval(t))
        return
      }
      if (req.url === '/steady') {
        res.writeHead(200, {'content-length': 40 * 1024})
        let n = 0
        const t = setInterval(() => {
          res.write(Buffer.alloc(4096, 0x61))
          if (++n === 10) {
            clearInterval(t)
            res.end()
          }
        }, 80)
        res.on('close', () => clearInterval(t))
        return
      }
      res.end('a')
    })
    client = new HttpClient({proxy: false, retry: {retries: 0}, timeouts: {deadlineMs: 600, minBytesPerSecond: 64 * 1024}})
  })
  afterAll(async () => {
    await client.close()
    a.server.close()
    b.server.close()
  })

  it('sends bound credentials only to their origin: not to a URL elsewhere, not along a redirect there, again on the way back', async () => {
    seen.length = 0
    const credentials = {authorization: 'Basic c2VjcmV0', origin: a.origin}
    await (await client.request({method: 'GET', url: `${b.origin}/page2`, credentials})).dump()
    await (await client.request({method: 'GET', url: `${a.origin}/to-b`, credentials})).dump()
    expect(seen.filter((s) => s.server === 'b').map((s) => s.authorization)).toEqual([undefined, undefined])
    expect(seen.filter((s) => s.server === 'a').map((s) => [s.url, s.authorization])).toEqual([
      ['/to-b', 'Basic c2VjcmV0'],
      ['/home', 'Basic c2VjcmV0'],
    ])
  })

  it('refuses non-http URLs (UsageError naming the URL) and redirects to them', async () => {
    await expect(client.request({method: 'GET', url: 'file:///etc/passwd'})).rejects.toThrow(UsageError)
    await expect(client.request({method: 'GET', url: 'file:///etc/passwd'})).rejects.toThrow(/file:\/\/\/etc\/passwd/)
    await expect(client.request({method: 'GET', url: `${a.origin}/to-file`})).rejects.toThrow(/redirected to a file: URL/)
  })

  it('ends a trickled body at the deadline with a TimeoutError (exit 9) naming the request', async () => {
    const res = await client.request({method: 'GET', url: `${a.origin}/trickle`})
    const started = Date.now()
    const err = await res.text(1024, 'whole').then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(TimeoutError)
    expect((err as TimeoutError).exitCode).toBe(9)
    expect((err as Error).message).toMatch(new RegExp(`GET ${a.origin}/trickle did not finish within 0\\.6 s`))
    expect(Date.now() - started).toBeLessThan(2000)
  })

  it('gives a request the time its expected bytes need at the minimum throughput', async () => {
    // 40 KiB in ~800 ms: longer than the 600 ms base, within the 1.2 s that 40 KiB at 64 KiB/s adds up to.
    const res = await client.request({method: 'GET', url: `${a.origin}/steady`, expectedBytes: 40 * 1024})
    expect((await res.text(64 * 1024, 'whole')).length).toBe(40 * 1024)
    expect(deadlineMs({baseMs: 60_000, minBytesPerSecond: 64 * 1024}, 4 * 1024 ** 3)).toBe(60_000 + 65_536_000)
  })

  it('reads AIRGAP_HTTP_TIMEOUTS', () => {
    expect(timeoutsFromEnv('deadline=1500, rate=1048576,idle=2000')).toEqual({deadlineMs: 1500, minBytesPerSecond: 1048576, bodyIdleMs: 2000})
    expect(timeoutsFromEnv(undefined)).toEqual({})
    expect(() => timeoutsFromEnv('deadline=soon')).toThrow(/AIRGAP_HTTP_TIMEOUTS/)
  })
})
