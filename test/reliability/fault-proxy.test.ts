/** The fault proxy itself, in front of the real plain registry: each fault does what it says. */
import {createHash} from 'node:crypto'
import {request} from 'node:http'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {describeWithServices, services} from '../support/services.js'
import {randomBlob} from '../integration/registry-support.js'
import {FaultProxy} from './fault-proxy.js'
import {plainClient} from './support.js'

interface Got {
  status?: number
  headers?: Record<string, string | string[] | undefined>
  body: Buffer
  error?: string
  ms: number
}

function get(host: string, path: string, method = 'GET', body?: Buffer): Promise<Got> {
  const started = Date.now()
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const [hostname, port] = host.split(':')
    const req = request({host: hostname, port: Number(port), path, method, agent: false, headers: body ? {'content-length': body.length, 'content-type': 'application/octet-stream'} : {}}, (res) => {
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), ms: Date.now() - started}))
      res.on('error', (e) => resolve({status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks), error: (e as NodeJS.ErrnoException).code ?? e.message, ms: Date.now() - started}))
    })
    req.on('error', (e) => resolve({body: Buffer.concat(chunks), error: (e as NodeJS.ErrnoException).code ?? e.message, ms: Date.now() - started}))
    req.end(body)
  })
}

describeWithServices('fault proxy (in front of the real plain registry)', () => {
  let proxy: FaultProxy
  const data = randomBlob(64 * 1024)
  const repo = `rel/proxy-unit-${process.pid}`
  const path = `/v2/${repo}/blobs/${data.descriptor.digest}`

  beforeAll(async () => {
    const host = services().registries.plain.host
    const client = plainClient(host)
    const {Readable} = await import('node:stream')
    await client.repository(repo).push(data.descriptor, Readable.from([data.bytes]))
    await client.close()
    proxy = await FaultProxy.start(host)
  })
  afterAll(async () => proxy?.close())

  it('forwards untouched without a rule', async () => {
    const r = await get(proxy.host, path)
    expect(r.status).toBe(200)
    expect(r.body.equals(data.bytes)).toBe(true)
  })

  it('resets mid-body after K bytes, once, then forwards again', async () => {
    const rule = proxy.add({method: 'GET', path: /\/blobs\//, fault: {kind: 'reset', afterBytes: 5000}})
    const r = await get(proxy.host, path)
    expect(r.error).toMatch(/ECONNRESET|aborted/)
    expect(r.body.length).toBeLessThan(data.bytes.length)
    expect(rule.hits).toBe(1)
    const again = await get(proxy.host, path)
    expect(again.body.equals(data.bytes)).toBe(true)
  })

  it('answers 503 and 429 with Retry-After', async () => {
    proxy.add({path: /\/blobs\//, fault: {kind: 'status', status: 503}})
    expect((await get(proxy.host, path)).status).toBe(503)
    proxy.add({path: /\/blobs\//, fault: {kind: 'retry-after', retryAfter: 2}})
    const r = await get(proxy.host, path)
    expect(r.status).toBe(429)
    expect(r.headers?.['retry-after']).toBe('2')
  })

  it('truncates with a Content-Length promising more', async () => {
    proxy.add({path: /\/blobs\//, fault: {kind: 'truncate', afterBytes: 1234}})
    const r = await get(proxy.host, path)
    expect(r.headers?.['content-length']).toBe(String(data.bytes.length))
    expect(r.body.length).toBe(1234)
  })

  it('corrupts exactly one byte', async () => {
    proxy.add({path: /\/blobs\//, fault: {kind: 'corrupt', afterBytes: 100}})
    const r = await get(proxy.host, path)
    expect(r.body.length).toBe(data.bytes.length)
    const diff = [...r.body].filter((b, i) => b !== data.bytes[i]).length
    expect(diff).toBe(1)
    expect(`sha256:${createHash('sha256').update(r.body).digest('hex')}`).not.toBe(data.descriptor.digest)
  })

  it('announces a wrong Content-Length (more and less)', async () => {
    proxy.add({path: /\/blobs\//, fault: {kind: 'length-more', delta: 10}})
    const more = await get(proxy.host, path)
    expect(more.headers?.['content-length']).toBe(String(data.bytes.length + 10))
    proxy.add({path: /\/blobs\//, fault: {kind: 'length-less', delta: 10}})
    const less = await get(proxy.host, path)
    // node's parser sees the 10 extra bytes as a broken next response: either way, never the full blob
    if (less.error === undefined) expect(less.headers?.['content-length']).toBe(String(data.bytes.length - 10))
    expect(less.body.length).toBeLessThan(data.bytes.length)
  })

  it('trickles the body slowly', async () => {
    proxy.add({path: /\/blobs\//, fault: {kind: 'trickle', chunk: 16 * 1024, intervalMs: 100}})
    const r = await get(proxy.host, path)
    expect(r.body.equals(data.bytes)).toBe(true)
    expect(r.ms).toBeGreaterThanOrEqual(250)
  })

  it('corrupts an upload: the real registry refuses it with DIGEST_INVALID', async () => {
    const blob = randomBlob(8 * 1024)
    const start = await get(proxy.host, `/v2/${repo}/blobs/uploads/`, 'POST')
    expect(start.status).toBe(202)
    const location = new URL(String(start.headers?.location))
    proxy.add({method: 'PUT', path: /\/blobs\/uploads\//, fault: {kind: 'corrupt', afterBytes: 10}})
    const put = await get(proxy.host, `${location.pathname}${location.search}&digest=${blob.descriptor.digest}`, 'PUT', blob.bytes)
    expect(put.status).toBe(400)
    expect(put.body.toString()).toMatch(/DIGEST_INVALID/)
    const head = await get(proxy.host, `/v2/${repo}/blobs/${blob.descriptor.digest}`, 'HEAD')
    expect(head.status).toBe(404)
  })
})
