/**
 * HelmRepository over real local HTTP servers (node:http on 127.0.0.1) that record the requests
 * they get: credential scoping across origins and the mapping of HTTP failures. The nginx
 * integration test (test/integration/helm-repo.test.ts) covers a real Helm repository server.
 */
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {AuthError, IntegrityError, NotFoundError, RegistryError} from '../errors.js'
import {buildChartArchive} from './archive.js'
import {indexEntryFor, mergeIndex} from './repo-index.js'
import {HelmRepository} from './repository.js'

interface Recorder {
  server: Server
  url: string
  seen: {path: string; authorization: string | undefined}[]
  routes: Map<string, (res: ServerResponse) => void>
}

async function recorder(): Promise<Recorder> {
  const seen: Recorder['seen'] = []
  const routes = new Map<string, (res: ServerResponse) => void>()
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push({path: req.url ?? '', authorization: req.headers.authorization})
    const route = routes.get(req.url ?? '')
    if (route) route(res)
    else res.writeHead(404).end('not found')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, routes}
}

const send = (body: string | Buffer, status = 200, headers: Record<string, string> = {}) => (res: ServerResponse) => {
  res.writeHead(status, headers).end(body)
}

describe('HelmRepository over HTTP (local recording servers stand in for repository hosts)', () => {
  let repoHost: Recorder
  let cdnHost: Recorder
  let tgz: Buffer
  const meta = {apiVersion: 'v2', name: 'app', version: '1.0.0'}

  beforeAll(async () => {
    repoHost = await recorder()
    cdnHost = await recorder()
    tgz = await buildChartArchive({'Chart.yaml': 'apiVersion: v2\nname: app\nversion: 1.0.0\n'}, 'app')
    const index = mergeIndex(
      undefined,
      [
        indexEntryFor(meta, tgz, 'app-1.0.0.tgz', '2026-01-01T00:00:00Z'),
        indexEntryFor({...meta, version: '2.0.0'}, tgz, `${cdnHost.url}/app-2.0.0.tgz`, '2026-01-01T00:00:00Z'),
        {...indexEntryFor({...meta, version: '3.0.0'}, tgz, 'sub/app-3.0.0.tgz', 'T'), digest: 'f'.repeat(64)},
        indexEntryFor({...meta, version: '4.0.0'}, tgz, 'broken.tgz', 'T'),
      ],
      '2026-01-01T00:00:00Z',
    )
    repoHost.routes.set('/charts/index.yaml', send(index))
    repoHost.routes.set('/charts/app-1.0.0.tgz', send(tgz))
    repoHost.routes.set('/charts/sub/app-3.0.0.tgz', send(tgz))
    repoHost.routes.set('/charts/broken.tgz', send('upstream exploded', 502))
    cdnHost.routes.set('/app-2.0.0.tgz', send(tgz))
    repoHost.routes.set('/private/index.yaml', send('denied', 401))
  })
  afterAll(async () => {
    repoHost.server.close()
    cdnHost.server.close()
  })

  const open = (path = '/charts') => new HelmRepository(`${repoHost.url}${path}`, {username: 'u', password: 'p', httpOptions: {retry: {retries: 0}}})

  it('sends basic auth to the repository origin only, never to chart URLs on another host', async () => {
    const repo = open()
    try {
      const local = await repo.pullChart('app', '1.0.0')
      expect(local.bytes.equals(tgz)).toBe(true)
      expect(local.url).toBe(`${repoHost.url}/charts/app-1.0.0.tgz`)
      const remote = await repo.pullChart('app', '2.0.0')
      expect(remote.bytes.equals(tgz)).toBe(true)
      const basic = `Basic ${Buffer.from('u:p').toString('base64')}`
      expect(repoHost.seen.filter((s) => s.path.startsWith('/charts/')).map((s) => s.authorization)).toEqual([basic, basic])
      expect(cdnHost.seen).toEqual([{path: '/app-2.0.0.tgz', authorization: undefined}])
    } finally {
      await repo.close()
    }
  })

  it('fails with IntegrityError when the archive does not match the index digest', async () => {
    const repo = open()
    try {
      const err = await repo.pullChart('app', '3.0.0').catch((e: unknown) => e)
      expect(err).toBeInstanceOf(IntegrityError)
      expect((err as Error).message).toContain(`chart app@3.0.0 from ${repoHost.url}/charts/sub/app-3.0.0.tgz has digest sha256:`)
      expect((err as Error).message).toContain(`but the index says sha256:${'f'.repeat(64)}`)
    } finally {
      await repo.close()
    }
  })

  it('maps 401 to AuthError, 404 to NotFoundError and 5xx to RegistryError, naming the URL', async () => {
    const repo = open()
    const priv = open('/private')
    const missing = open('/nowhere')
    try {
      await expect(priv.fetchIndex()).rejects.toBeInstanceOf(AuthError)
      await expect(missing.fetchIndex()).rejects.toThrow(`Helm repository index not found: ${repoHost.url}/nowhere/index.yaml (HTTP 404)`)
      await expect(missing.fetchIndex()).rejects.toBeInstanceOf(NotFoundError)
      const err = await repo.pullChart('app', '4.0.0').catch((e: unknown) => e)
      expect(err).toBeInstanceOf(RegistryError)
      expect((err as Error).message).toContain('HTTP 502')
      expect((err as Error).message).toContain('upstream exploded')
    } finally {
      await Promise.all([repo.close(), priv.close(), missing.close()])
    }
  })

  it('refuses an index larger than the limit', async () => {
    const repo = new HelmRepository(`${repoHost.url}/charts`, {maxIndexBytes: 100})
    try {
      await expect(repo.fetchIndex()).rejects.toThrow(/Helm repository index .* limit of 100 bytes/)
    } finally {
      await repo.close()
    }
  })
})
