import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {IntegrityError, UsageError} from '../errors.js'
import {buildChartArchive} from '../helm/archive.js'
import {parseRepoIndex} from '../helm/repo-index.js'
import {createHttpClient, type HttpClient} from '../http/client.js'
import {digestOf} from '../oci/digest.js'
import {helmRepoKind, openChartPublisher, type ChartPackage} from './helm-publish.js'

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
