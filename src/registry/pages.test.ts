import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {AuthError, LimitError} from '../errors.js'
import {RegistryClient} from './client.js'

/** A stand-in for a registry whose catalog pages never end (a real registry cannot be made to do this). */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<{server: Server; host: string}> {
  const server = createServer(handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {server, host: `127.0.0.1:${(server.address() as AddressInfo).port}`}
}

async function all(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const x of it) out.push(x)
  return out
}

describe('Link pagination bounds and foreign origins', () => {
  let registry: {server: Server; host: string}
  let other: {server: Server; host: string}
  let pages = 0

  beforeAll(async () => {
    other = await serve((_req, res) => res.writeHead(401, {'www-authenticate': 'Basic realm="other"'}).end())
    registry = await serve((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x')
      if (url.pathname === '/v2/_catalog') {
        pages++
        const last = Number(url.searchParams.get('last') ?? '0')
        res.setHeader('link', `</v2/_catalog?last=${last + 1}>; rel="next"`)
        return void res.end(JSON.stringify({repositories: [`r${last}`]}))
      }
      if (url.pathname === '/v2/away/tags/list') {
        res.setHeader('link', `<http://${other.host}/v2/away/tags/list?last=a>; rel="next"`)
        return void res.end('{"tags":["a"]}')
      }
      if (url.pathname === '/v2/odd/tags/list') return void res.end('{"tags":"not a list"}')
      res.writeHead(404).end()
    })
  })
  afterAll(() => {
    registry.server.close()
    other.server.close()
  })

  it('stops an endless listing at maxPages with a LimitError (exit 1)', async () => {
    const client = new RegistryClient(registry.host, {httpOptions: {plainHttp: [registry.host], proxy: false}, pages: {maxPages: 5}})
    const err = await all(client.catalog()).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(LimitError)
    expect((err as LimitError).exitCode).toBe(1)
    expect((err as Error).message).toMatch(new RegExp(`catalog of ${registry.host} runs past 5 pages`))
    expect(pages).toBe(5)
    await client.close()
  })

  it('refuses a 401 from a Link on another origin instead of answering it with credentials', async () => {
    const client = new RegistryClient(registry.host, {
      httpOptions: {plainHttp: [registry.host, other.host], proxy: false},
      credentials: {get: () => Promise.resolve({username: 'u', password: 'p'})},
    })
    const err = await all(client.repository('away').tags()).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthError)
    expect((err as Error).message).toMatch(new RegExp(`http://${other.host}, named by ${registry.host} for GET /v2/away/tags/list, asks for credentials`))
    await client.close()
  })

  it('refuses a page whose list is not a list of names (exit 5, not a crash)', async () => {
    const client = new RegistryClient(registry.host, {httpOptions: {plainHttp: [registry.host], proxy: false}})
    await expect(all(client.repository('odd').tags())).rejects.toThrow(/"tags" of the page .* is not a list of names/)
    await client.close()
  })
})
