import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {IntegrityError, UsageError} from '../errors.js'
import {buildChartArchive} from './archive.js'
import {parseRepoIndex} from './repo-index.js'
import {createHttpClient, type HttpClient} from '../http/client.js'
import {digestOf} from '../oci/digest.js'
import {helmRepoKind, openChartPublisher, type ChartPackage} from './publish.js'

let dir: string
let http: HttpClient

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'helm-publish-'))
  http = createHttpClient()
})
afterAll(async () => {
  await http.close()
  await rm(dir, {recursive: true, force: true})
})

async function chart(version: string, extra = ''): Promise<ChartPackage> {
  const yaml = `apiVersion: v2\nname: demo\nversion: ${version}\n${extra}`
  const tgz = await buildChartArchive({'Chart.yaml': yaml, 'values.yaml': 'a: 1\n'}, 'demo')
  return {name: 'demo', version, tgz, metadata: {apiVersion: 'v2', name: 'demo', version}}
}

describe('chart publishers', () => {
  it('chooses the publisher by URL scheme', () => {
    expect(helmRepoKind('oci://r:5000/charts')).toBe('oci')
    expect(helmRepoKind('https://nexus.corp/repository/helm')).toBe('http')
    expect(helmRepoKind('chartmuseum+https://cm.corp')).toBe('chartmuseum')
    expect(helmRepoKind('file:///srv/charts')).toBe('file')
    expect(() => helmRepoKind('s3://bucket/charts')).toThrow(UsageError)
  })

  it('file://: creates the repository, keeps existing entries, is idempotent, refuses a changed chart of the same version', async () => {
    const repo = join(dir, 'repo')
    const publisher = openChartPublisher(`file://${repo}`, {http, now: () => new Date('2026-01-02T03:04:05Z')})
    const v1 = await chart('1.0.0')
    expect(await publisher.publish(v1)).toEqual({repoUrl: `file://${repo}`, uploaded: true})
    const index1 = parseRepoIndex(await readFile(join(repo, 'index.yaml'), 'utf8'), 'index')
    expect(index1.entries.get('demo')?.[0]).toEqual(expect.objectContaining({version: '1.0.0', digest: digestOf(v1.tgz).slice(7), urls: ['demo-1.0.0.tgz']}))
    expect(digestOf(await readFile(join(repo, 'demo-1.0.0.tgz')))).toBe(digestOf(v1.tgz))

    expect((await publisher.publish(v1)).uploaded).toBe(false)
    await publisher.publish(await chart('1.1.0'))
    const index2 = parseRepoIndex(await readFile(join(repo, 'index.yaml'), 'utf8'), 'index')
    expect(index2.entries.get('demo')?.map((e) => e.version)).toEqual(['1.1.0', '1.0.0'])
    expect((await readdir(repo)).sort()).toEqual(['demo-1.0.0.tgz', 'demo-1.1.0.tgz', 'index.yaml'])

    await expect(publisher.publish(await chart('1.0.0', 'description: changed\n'))).rejects.toThrow(IntegrityError)
  })

  it('file://: merges into an index written by someone else', async () => {
    const repo = join(dir, 'existing')
    await import('node:fs/promises').then((fs) => fs.mkdir(repo))
    await writeFile(join(repo, 'index.yaml'), 'apiVersion: v1\nentries:\n  other:\n    - {name: other, version: 2.0.0, apiVersion: v2, urls: [other-2.0.0.tgz]}\n')
    await openChartPublisher(`file://${repo}`, {http}).publish(await chart('0.1.0'))
    const index = parseRepoIndex(await readFile(join(repo, 'index.yaml'), 'utf8'), 'index')
    expect([...index.entries.keys()].sort()).toEqual(['demo', 'other'])
  })
})

/**
 * A ChartMuseum API test double (ChartMuseum does not run on this machine: no package for it):
 * node:http answering the three calls the publisher makes, as ChartMuseum documents them.
 * POST /api/charts with the .tgz as the body: 201 {"saved":true}, or 409 when that version exists;
 * GET /api/charts/NAME/VERSION: the chart version as JSON with the .tgz's sha256 as "digest"
 * (hex); basic auth on everything.
 */
async function chartMuseumDouble(user: string, password: string) {
  const {createServer} = await import('node:http')
  const {createHash} = await import('node:crypto')
  const stored = new Map<string, Buffer>()
  const requests: string[] = []
  const want = `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', async () => {
      requests.push(`${req.method} ${req.url}`)
      const json = (status: number, body: unknown): void => {
        res.writeHead(status, {'content-type': 'application/json'}).end(JSON.stringify(body))
      }
      if (req.headers.authorization !== want) return json(401, {error: 'unauthorized'})
      if (req.method === 'POST' && req.url === '/api/charts') {
        const tgz = Buffer.concat(chunks)
        const {readChartArchive} = await import('./archive.js')
        const {parse} = await import('yaml')
        const meta = parse((await readChartArchive(tgz, 'upload')).files.get('Chart.yaml')!.toString('utf8')) as {name: string; version: string}
        const key = `${meta.name}/${meta.version}`
        if (stored.has(key)) return json(409, {error: 'file already exists'})
        stored.set(key, tgz)
        return json(201, {saved: true})
      }
      const m = /^\/api\/charts\/([^/]+)\/([^/]+)$/.exec(req.url ?? '')
      if (req.method === 'GET' && m) {
        const tgz = stored.get(`${m[1]}/${m[2]}`)
        if (!tgz) return json(404, {error: 'improper constraint'})
        return json(200, {name: m[1], version: m[2], urls: [`charts/${m[1]}-${m[2]}.tgz`], digest: createHash('sha256').update(tgz).digest('hex')})
      }
      json(404, {error: 'not found'})
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as import('node:net').AddressInfo).port
  return {url: `chartmuseum+http://127.0.0.1:${port}`, stored, requests, close: () => new Promise<void>((resolve) => server.close(() => resolve()))}
}

describe('ChartMuseum publisher against a ChartMuseum API test double (no ChartMuseum runs here)', () => {
  it('uploads with POST /api/charts and basic auth; a rerun finds the same digest and uploads nothing; a changed chart of the same version is refused; wrong credentials fail with the repository named', async () => {
    const cm = await chartMuseumDouble('cm-user', 'cm-pw')
    try {
      const publisher = openChartPublisher(cm.url, {http, auth: {username: 'cm-user', password: 'cm-pw'}})
      expect(publisher.url).toBe(cm.url.replace(/^chartmuseum\+/, ''))
      const v1 = await chart('1.0.0')
      expect(await publisher.publish(v1)).toEqual({repoUrl: publisher.url, uploaded: true})
      expect(digestOf(cm.stored.get('demo/1.0.0')!)).toBe(digestOf(v1.tgz))

      expect(await publisher.publish(v1)).toEqual({repoUrl: publisher.url, uploaded: false})
      expect(cm.requests.slice(-2)).toEqual(['POST /api/charts', 'GET /api/charts/demo/1.0.0'])

      const changed = publisher.publish(await chart('1.0.0', 'description: changed\n'))
      await expect(changed).rejects.toThrow(IntegrityError)
      await expect(changed).rejects.toThrow(/already has chart demo@1\.0\.0 with digest/)

      const wrong = openChartPublisher(cm.url, {http, auth: {username: 'cm-user', password: 'nope'}})
      const err = await wrong.publish(await chart('2.0.0')).then(
        () => undefined,
        (e: unknown) => e as Error,
      )
      expect(err?.message).toContain(publisher.url)
      expect(err?.message).toMatch(/401|credentials|unauthori/i)
      expect(err?.message).not.toContain('nope')
      expect(cm.stored.has('demo/2.0.0')).toBe(false)
    } finally {
      await cm.close()
    }
  })
})
