import {mkdtemp, mkdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {MemoryRegistry, MemoryTarget} from '../content/memory.js'
import {IntegrityError, SpecError, UnsupportedError, UsageError} from '../errors.js'
import {digestOf} from '../oci/digest.js'
import {parseManifest} from '../oci/manifest.js'
import {MediaType} from '../oci/types.js'
import {buildChartArchive} from './archive.js'
import {fetchDependencies} from './dependencies.js'
import {loadChartArchive} from './load.js'
import {chartTag, chartToOciArtifact, parseOciChartRef, ociArtifactToChart, pullOciChart, pushChartArtifact, versionFromTag} from './oci.js'

const meta = {apiVersion: 'v2', name: 'app', version: '1.0.0+build.7', description: 'Tom & Jerry <app>', appVersion: '2.0'}

describe('chartToOciArtifact', () => {
  it('writes exactly the manifest and config helm push writes', () => {
    const tgz = Buffer.from('the chart tgz')
    const a = chartToOciArtifact(tgz, meta)
    const config = '{"name":"app","version":"1.0.0+build.7","description":"Tom \\u0026 Jerry \\u003capp\\u003e","apiVersion":"v2","appVersion":"2.0"}'
    expect(a.config.bytes.toString()).toBe(config)
    expect(a.config.descriptor).toEqual({mediaType: 'application/vnd.cncf.helm.config.v1+json', digest: digestOf(Buffer.from(config)), size: config.length})
    expect(a.layers).toHaveLength(1)
    expect(a.layers[0]!.bytes.equals(tgz)).toBe(true)
    const manifest =
      '{"schemaVersion":2,' +
      `"config":{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"${digestOf(Buffer.from(config))}","size":${config.length}},` +
      `"layers":[{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"${digestOf(tgz)}","size":${tgz.length}}],` +
      '"annotations":{"org.opencontainers.image.description":"Tom \\u0026 Jerry \\u003capp\\u003e","org.opencontainers.image.title":"app","org.opencontainers.image.version":"1.0.0+build.7"}}'
    expect(a.manifest.bytes.toString()).toBe(manifest)
    expect(a.manifest.descriptor).toEqual({mediaType: MediaType.OciManifest, digest: digestOf(Buffer.from(manifest)), size: manifest.length})
    // the project's manifest parser accepts it (no top-level mediaType, like helm)
    expect(parseManifest(a.manifest.bytes, MediaType.OciManifest, 'x').kind).toBe('manifest')
    expect(JSON.parse(a.manifest.bytes.toString())).not.toHaveProperty('mediaType')
  })

  it('adds provenance as a layer sorted by digest, created, maintainers, sources and chart annotations', () => {
    const tgz = Buffer.from('tgz')
    const prov = Buffer.from('-----BEGIN PGP SIGNED MESSAGE-----')
    const a = chartToOciArtifact(
      tgz,
      {...meta, home: 'https://h', sources: ['https://src', 'https://other'], maintainers: [{name: 'A', email: 'a@x'}, {name: 'B'}], annotations: {'org.opencontainers.image.title': 'evil', 'x.io/k': 'v'}},
      {prov, created: '2026-01-01T00:00:00Z', annotations: {extra: '1'}},
    )
    const digests = a.layers.map((l) => l.descriptor.digest)
    expect(digests).toEqual([...digests].sort())
    expect(a.layers.map((l) => l.descriptor.mediaType).sort()).toEqual([MediaType.HelmChart, MediaType.HelmProvenance].sort())
    const m = JSON.parse(a.manifest.bytes.toString()) as {annotations: Record<string, string>}
    expect(m.annotations).toEqual({
      'extra': '1',
      'org.opencontainers.image.authors': 'A (a@x), B',
      'org.opencontainers.image.created': '2026-01-01T00:00:00Z',
      'org.opencontainers.image.description': 'Tom & Jerry <app>',
      'org.opencontainers.image.source': 'https://src',
      'org.opencontainers.image.title': 'app',
      'org.opencontainers.image.url': 'https://h',
      'org.opencontainers.image.version': '1.0.0+build.7',
      'x.io/k': 'v',
    })
  })

  it('parses oci:// chart references', () => {
    expect(parseOciChartRef('oci://reg:5000/charts/app:1.0.0_b')).toEqual({repository: 'reg:5000/charts/app', version: '1.0.0+b'})
    expect(parseOciChartRef('oci://reg:5000/charts/app')).toEqual({repository: 'reg:5000/charts/app'})
    expect(parseOciChartRef(`oci://reg/app@sha256:${'a'.repeat(64)}`)).toEqual({repository: 'reg/app', digest: `sha256:${'a'.repeat(64)}`})
    expect(() => parseOciChartRef('https://reg/app')).toThrow(UsageError)
    expect(() => parseOciChartRef('oci://reg')).toThrow(/has no chart path/)
  })

  it('keeps dependency fields such as import-values in the config JSON, in helm field order', async () => {
    const tgz = await buildChartArchive(
      {'Chart.yaml': 'apiVersion: v2\nname: p\nversion: 1.0.0\ndependencies:\n- alias: c\n  import-values: [data]\n  name: d\n  repository: https://r\n  version: 1.0.0\n'},
      'p',
    )
    const chart = await loadChartArchive(tgz, 'p.tgz')
    expect(chartToOciArtifact(tgz, chart.metadata).config.bytes.toString()).toBe(
      '{"name":"p","version":"1.0.0","apiVersion":"v2","dependencies":[{"name":"d","version":"1.0.0","repository":"https://r","import-values":["data"],"alias":"c"}]}',
    )
  })

  it('maps versions to tags and back', () => {
    expect(chartTag('1.0.0+build.7')).toBe('1.0.0_build.7')
    expect(versionFromTag('1.0.0_build.7')).toBe('1.0.0+build.7')
    expect(() => chartTag('1.0.0 bad')).toThrow(UsageError)
  })
})

describe('ociArtifactToChart and pullOciChart (in-memory target)', () => {
  it('round-trips a chart through a target: pushed, tagged by version, pulled with identical bytes', async () => {
    const tgz = await buildChartArchive({'Chart.yaml': 'apiVersion: v2\nname: app\nversion: 1.0.0+build.7\n'}, 'app')
    const target = new MemoryTarget()
    const prov = Buffer.from('prov')
    const a = chartToOciArtifact(tgz, meta, {prov})
    const desc = await pushChartArtifact(a, target, meta.version)
    expect(desc).toEqual(a.manifest.descriptor)
    const pulled = await pullOciChart('1.0.0+build.7', target, 'oci://mem/app')
    expect(pulled.tag).toBe('1.0.0_build.7')
    expect(pulled.manifest.digest).toBe(a.manifest.descriptor.digest)
    expect(pulled.tgz.equals(tgz)).toBe(true)
    expect(pulled.prov?.equals(prov)).toBe(true)
    expect((await pullOciChart(desc.digest, target, 'oci://mem/app')).tgz.equals(tgz)).toBe(true)
  })

  it('accepts the legacy application/tar+gzip layer', async () => {
    const tgz = Buffer.from('legacy')
    const config = Buffer.from('{}')
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        config: {mediaType: MediaType.HelmConfig, digest: digestOf(config), size: 2},
        layers: [{mediaType: 'application/tar+gzip', digest: digestOf(tgz), size: tgz.length}],
      }),
    )
    expect((await ociArtifactToChart(manifest, async () => tgz)).equals(tgz)).toBe(true)
  })

  it('refuses layers whose bytes do not match, and artifacts that are not charts', async () => {
    const a = chartToOciArtifact(Buffer.from('tgz'), meta)
    await expect(ociArtifactToChart(a.manifest.bytes, async () => Buffer.from('evil'), 'oci://h/app:1')).rejects.toThrow(IntegrityError)
    const image = Buffer.from(
      JSON.stringify({schemaVersion: 2, config: {mediaType: MediaType.OciConfig, digest: digestOf(Buffer.from('{}')), size: 2}, layers: []}),
    )
    await expect(ociArtifactToChart(image, async () => Buffer.alloc(0), 'docker.io/library/redis:7')).rejects.toThrow(
      /docker\.io\/library\/redis:7 is not a Helm chart \(config media type application\/vnd\.oci\.image\.config\.v1\+json\)/,
    )
    await expect(ociArtifactToChart(Buffer.from('{not json'), async () => Buffer.alloc(0))).rejects.toThrow(SpecError)
    const index = Buffer.from(JSON.stringify({schemaVersion: 2, manifests: []}))
    await expect(ociArtifactToChart(index, async () => Buffer.alloc(0))).rejects.toThrow(UnsupportedError)
  })
})

describe('fetchDependencies (OCI and file:// sources; classic repositories are covered by the nginx integration test)', () => {
  it('fetches a missing oci:// dependency (version range resolved from tags) and a file:// dependency, keeps vendored ones', async () => {
    const registry = new MemoryRegistry('reg.example')
    const repo = registry.repository('charts/redis')
    for (const v of ['17.3.1', '17.3.7', '17.4.0', '18.0.0-rc.1']) {
      const tgz = await buildChartArchive({'Chart.yaml': `apiVersion: v2\nname: redis\nversion: ${v}\n`}, 'redis')
      await pushChartArtifact(chartToOciArtifact(tgz, {apiVersion: 'v2', name: 'redis', version: v}), repo, v)
    }
    const dir = await mkdtemp(join(tmpdir(), 'airgap-deps-'))
    try {
      await mkdir(join(dir, 'common'))
      await writeFile(join(dir, 'common', 'Chart.yaml'), 'apiVersion: v2\nname: common\nversion: 2.0.0\ntype: library\n')
      const vendored = await buildChartArchive({'Chart.yaml': 'apiVersion: v2\nname: vendored\nversion: 1.0.0\n'}, 'vendored')
      const parent = await loadChartArchive(
        await buildChartArchive(
          {
            'Chart.yaml': [
              'apiVersion: v2',
              'name: parent',
              'version: 1.0.0',
              'dependencies:',
              '- {name: redis, version: "~17.3.0", repository: "oci://reg.example/charts", alias: cache}',
              '- {name: common, version: 2.0.0, repository: "file://./common"}',
              '- {name: vendored, version: 1.0.0, repository: "https://unreachable.invalid"}',
            ].join('\n'),
            'charts/vendored-1.0.0.tgz': vendored,
          },
          'parent',
        ),
        'parent-1.0.0.tgz',
      )
      const opened: string[] = []
      const result = await fetchDependencies(parent, {
        baseDir: dir,
        openOciRepository: (r) => {
          opened.push(r)
          return registry.repository(r.slice('reg.example/'.length))
        },
      })
      expect(opened).toEqual(['reg.example/charts/redis'])
      expect(result.fetched.map((f) => [f.name, f.version, f.repository])).toEqual([
        ['redis', '17.3.7', 'oci://reg.example/charts'],
        ['common', '2.0.0', 'file://./common'],
      ])
      expect(result.chart.subcharts.map((s) => `${s.metadata.name}@${s.metadata.version}`)).toEqual(['common@2.0.0', 'redis@17.3.7', 'vendored@1.0.0'])
      expect(parent.subcharts).toHaveLength(1)
    } finally {
      await rm(dir, {recursive: true, force: true})
    }
  })

  it('prefers Chart.lock versions, refuses file:// without a base folder and dependencies without repository', async () => {
    const registry = new MemoryRegistry('reg.example')
    const repo = registry.repository('charts/redis')
    for (const v of ['17.3.1', '17.3.7']) {
      const tgz = await buildChartArchive({'Chart.yaml': `apiVersion: v2\nname: redis\nversion: ${v}\n`}, 'redis')
      await pushChartArtifact(chartToOciArtifact(tgz, {apiVersion: 'v2', name: 'redis', version: v}), repo, v)
    }
    const locked = await loadChartArchive(
      await buildChartArchive(
        {
          'Chart.yaml': 'apiVersion: v2\nname: p\nversion: 1.0.0\ndependencies:\n- {name: redis, version: "~17.3.0", repository: "oci://reg.example/charts"}\n',
          'Chart.lock': 'dependencies:\n- {name: redis, version: 17.3.1, repository: "oci://reg.example/charts"}\n',
        },
        'p',
      ),
      'p.tgz',
    )
    const r = await fetchDependencies(locked, {openOciRepository: (x) => registry.repository(x.slice('reg.example/'.length))})
    expect(r.fetched[0]!.version).toBe('17.3.1')

    const fileDep = await loadChartArchive(
      await buildChartArchive({'Chart.yaml': 'apiVersion: v2\nname: p\nversion: 1.0.0\ndependencies:\n- {name: c, repository: "file://../c"}\n'}, 'p'),
      'p.tgz',
    )
    await expect(fetchDependencies(fileDep)).rejects.toThrow(/dependency "c" comes from file:\/\/\.\.\/c, a local folder/)
    const noRepo = await loadChartArchive(
      await buildChartArchive({'Chart.yaml': 'apiVersion: v2\nname: p\nversion: 1.0.0\ndependencies:\n- {name: c, version: 1.0.0}\n'}, 'p'),
      'p.tgz',
    )
    await expect(fetchDependencies(noRepo)).rejects.toThrow(/dependency "c" has no repository and is missing from charts\//)
  })
})
