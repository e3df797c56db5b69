/**
 * Helm charts against the real services: the nginx classic Helm repository (HTTP and HTTPS with
 * the rig CA) and the plain distribution registry (charts as OCI artifacts, checked with skopeo).
 */
import {execFile} from 'node:child_process'
import {mkdir, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {IntegrityError, NotFoundError, TlsError} from '../../src/errors.js'
import {
  HelmRepository,
  buildChartArchive,
  chartToOciArtifact,
  fetchDependencies,
  indexEntryFor,
  loadChartArchive,
  mergeIndex,
  pullOciChart,
  pushChartArtifact,
} from '../../src/helm/index.js'
import {digestOf} from '../../src/oci/digest.js'
import {openRegistryTarget, type RegistryClient} from '../../src/registry/index.js'
import {describeWithServices, services} from '../support/services.js'

const run = promisify(execFile)
const CREATED = '2026-01-01T00:00:00Z'

async function chart(name: string, version: string, extra: Record<string, string | Buffer> = {}): Promise<Buffer> {
  return buildChartArchive(
    {
      'Chart.yaml': `apiVersion: v2\nname: ${name}\nversion: ${version}\ndescription: ${name} chart\n`,
      'values.yaml': `image:\n  repository: example/${name}\n  tag: "${version}"\n`,
      'templates/deployment.yaml': 'kind: Deployment\n',
      ...extra,
    },
    name,
  )
}

describeWithServices('Helm classic repository on the real nginx server', () => {
  const sub = `helm-it-${process.pid}`
  let dir: string
  let httpBase: string
  let httpsBase: string
  let app110: Buffer

  beforeAll(async () => {
    const nginx = services().nginx
    dir = join(nginx.root, sub)
    httpBase = `${nginx.url}/${sub}`
    httpsBase = `${nginx.httpsUrl}/${sub}`
    await mkdir(join(dir, 'charts'), {recursive: true})
    const app100 = await chart('app', '1.0.0')
    app110 = await chart('app', '1.1.0')
    const app120rc = await chart('app', '1.2.0-rc.1')
    const lib = await chart('lib', '0.3.0')
    await writeFile(join(dir, 'app-1.0.0.tgz'), app100)
    await writeFile(join(dir, 'charts', 'app-1.1.0.tgz'), app110)
    await writeFile(join(dir, 'app-1.2.0-rc.1.tgz'), app120rc)
    await writeFile(join(dir, 'lib-0.3.0.tgz'), lib)
    await writeFile(join(dir, 'tampered-1.0.0.tgz'), await chart('tampered', '1.0.0'))
    const meta = (name: string, version: string) => ({apiVersion: 'v2', name, version, description: `${name} chart`})
    const index = mergeIndex(
      undefined,
      [
        indexEntryFor(meta('app', '1.0.0'), app100, 'app-1.0.0.tgz', CREATED),
        indexEntryFor(meta('app', '1.1.0'), app110, 'charts/app-1.1.0.tgz', CREATED),
        indexEntryFor(meta('app', '1.2.0-rc.1'), app120rc, `${httpBase}/app-1.2.0-rc.1.tgz`, CREATED),
        {...indexEntryFor(meta('lib', '0.3.0'), lib, 'lib-0.3.0.tgz', CREATED), digest: digestOf(lib)},
        indexEntryFor(meta('tampered', '1.0.0'), await chart('tampered', '1.0.1'), 'tampered-1.0.0.tgz', CREATED),
      ],
      CREATED,
    )
    await writeFile(join(dir, 'index.yaml'), index)
  })
  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('resolves the newest stable version over HTTP, downloads it (relative URL in a subfolder) and checks its digest', async () => {
    const repo = new HelmRepository(httpBase)
    try {
      const entry = await repo.resolveChart('app')
      expect(entry.version).toBe('1.1.0')
      const got = await repo.downloadChart(entry)
      expect(got.url).toBe(`${httpBase}/charts/app-1.1.0.tgz`)
      expect(got.bytes.equals(app110)).toBe(true)
      expect(got.digest).toBe(digestOf(app110))
      const loaded = await loadChartArchive(got.bytes, 'app-1.1.0.tgz')
      expect(loaded.values).toEqual({image: {repository: 'example/app', tag: '1.1.0'}})
      // absolute URL, "sha256:"-prefixed digest, semver range
      expect((await repo.pullChart('app', '1.2.0-rc.1')).entry.urls[0]).toBe(`${httpBase}/app-1.2.0-rc.1.tgz`)
      expect((await repo.pullChart('lib', '~0.3')).entry.version).toBe('0.3.0')
      const missing = (await repo.pullChart('app', '2.x').catch((e: unknown) => e)) as NotFoundError
      expect(missing).toBeInstanceOf(NotFoundError)
      expect(missing.message).toBe(`chart "app" version "2.x" not found in Helm repository ${httpBase}`)
      expect(missing.hint).toBe('available versions (newest first): 1.2.0-rc.1, 1.1.0, 1.0.0')
    } finally {
      await repo.close()
    }
  })

  it('refuses a chart whose bytes do not match the index digest', async () => {
    const repo = new HelmRepository(httpBase)
    try {
      const err = await repo.pullChart('tampered', '1.0.0').catch((e: unknown) => e)
      expect(err).toBeInstanceOf(IntegrityError)
      expect((err as IntegrityError).exitCode).toBe(5)
      expect((err as Error).message).toMatch(/^chart tampered@1\.0\.0 from .*tampered-1\.0\.0\.tgz has digest sha256:[0-9a-f]{64}, but the index says sha256:/)
    } finally {
      await repo.close()
    }
  })

  it('works over HTTPS with the CA file, and fails with TlsError without it', async () => {
    const withCa = new HelmRepository(httpsBase, {httpOptions: {caFiles: [services().nginx.caFile]}})
    const withoutCa = new HelmRepository(httpsBase, {httpOptions: {retry: {retries: 0}}})
    try {
      const got = await withCa.pullChart('app', '1.1.0')
      expect(got.bytes.equals(app110)).toBe(true)
      const err = await withoutCa.fetchIndex().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(TlsError)
      expect((err as TlsError).exitCode).toBe(8)
      expect((err as Error).message).toContain('127.0.0.1')
    } finally {
      await Promise.all([withCa.close(), withoutCa.close()])
    }
  })

  it('fetches a dependency that is missing from charts/ from the repository', async () => {
    const parent = await loadChartArchive(
      await buildChartArchive(
        {'Chart.yaml': `apiVersion: v2\nname: parent\nversion: 0.1.0\ndependencies:\n- name: lib\n  version: ">=0.2.0"\n  repository: ${httpsBase}\n`},
        'parent',
      ),
      'parent-0.1.0.tgz',
    )
    expect(parent.subcharts).toEqual([])
    const {chart: full, fetched} = await fetchDependencies(parent, {repositoryOptions: () => ({httpOptions: {caFiles: [services().nginx.caFile]}})})
    expect(fetched).toHaveLength(1)
    expect(fetched[0]).toMatchObject({name: 'lib', version: '0.3.0', repository: httpsBase})
    expect(full.subcharts.map((s) => s.metadata.name)).toEqual(['lib'])
    expect(full.subcharts[0]!.values).toEqual({image: {repository: 'example/lib', tag: '0.3.0'}})
  })
})

describeWithServices('Helm charts as OCI artifacts on the real plain registry', () => {
  let client: RegistryClient | undefined
  afterAll(async () => client?.close())

  it('pushes a chart artifact, reads it back with skopeo (same digest and bytes) and with pullOciChart (same tgz)', async () => {
    const reg = services().registries.plain
    const repoPath = `airgap-test/helm-${process.pid}/app`
    const opened = openRegistryTarget(`${reg.host}/${repoPath}`, {httpOptions: {plainHttp: [reg.host]}})
    client = opened.client
    const tgz = await chart('app', '1.3.0+build.5')
    const artifact = chartToOciArtifact(tgz, {apiVersion: 'v2', name: 'app', version: '1.3.0+build.5', description: 'app chart'}, {created: CREATED})
    await pushChartArtifact(artifact, opened.repository, '1.3.0+build.5')

    const raw = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${reg.host}/${repoPath}:1.3.0_build.5`], {encoding: 'buffer'})
    expect(Buffer.from(raw.stdout).equals(artifact.manifest.bytes)).toBe(true)
    expect(digestOf(Buffer.from(raw.stdout))).toBe(artifact.manifest.descriptor.digest)

    const pulled = await pullOciChart('1.3.0+build.5', opened.repository, `oci://${reg.host}/${repoPath}`)
    expect(pulled.manifest.digest).toBe(artifact.manifest.descriptor.digest)
    expect(pulled.tgz.equals(tgz)).toBe(true)
    expect((await loadChartArchive(pulled.tgz, 'app.tgz')).metadata.version).toBe('1.3.0+build.5')
  })

  it('fetches an oci:// dependency from the registry, choosing the version from its tags', async () => {
    const reg = services().registries.plain
    const ns = `airgap-test/helm-deps-${process.pid}`
    const {repository, client: c} = openRegistryTarget(`${reg.host}/${ns}/redis`, {httpOptions: {plainHttp: [reg.host]}})
    try {
      for (const v of ['17.3.1', '17.3.7', '17.4.0']) {
        await pushChartArtifact(chartToOciArtifact(await chart('redis', v), {apiVersion: 'v2', name: 'redis', version: v}), repository, v)
      }
      const parent = await loadChartArchive(
        await buildChartArchive(
          {'Chart.yaml': `apiVersion: v2\nname: parent\nversion: 0.1.0\ndependencies:\n- {name: redis, version: "~17.3.0", repository: "oci://${reg.host}/${ns}"}\n`},
          'parent',
        ),
        'parent.tgz',
      )
      const {fetched, chart: full} = await fetchDependencies(parent, {
        openOciRepository: (r) => openRegistryTarget(r, {httpOptions: {plainHttp: [reg.host]}, clients: new Map([[reg.host, c]])}).repository,
      })
      expect(fetched.map((f) => `${f.name}@${f.version}`)).toEqual(['redis@17.3.7'])
      expect(full.subcharts[0]!.values).toEqual({image: {repository: 'example/redis', tag: '17.3.7'}})
    } finally {
      await c.close()
    }
  })
})
