import {mkdtemp, mkdir, readdir, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'
import * as tar from 'tar-stream'
import {afterEach, describe, expect, it} from 'vitest'
import {SpecError} from '../errors.js'
import {buildChartArchive, readChartArchive} from './archive.js'
import {chartFiles, chartLock, helmIgnore, loadChartArchive, loadChartDir, packageChartDir, parseChartYaml} from './load.js'

/** A raw tar.gz with arbitrary headers (for hostile archives). */
async function rawTgz(entries: {name: string; type?: tar.Header['type']; linkname?: string; body?: string}[]): Promise<Buffer> {
  const pack = tar.pack()
  const out = (async () => {
    const chunks: Buffer[] = []
    for await (const c of pack) chunks.push(c as Buffer)
    return Buffer.concat(chunks)
  })()
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '')
    await new Promise<void>((res, rej) =>
      pack.entry(
        {name: e.name, type: e.type ?? 'file', size: e.type && e.type !== 'file' ? 0 : body.length, ...(e.linkname ? {linkname: e.linkname} : {})},
        body,
        (err) => (err ? rej(err) : res()),
      ),
    )
  }
  pack.finalize()
  return gzipSync(await out)
}

const subChartYaml = 'apiVersion: v2\nname: redis\nversion: 17.3.1\nappVersion: "7.0"\n'

async function operatorChart(): Promise<Buffer> {
  const redisTgz = await buildChartArchive(
    {'Chart.yaml': subChartYaml, 'values.yaml': 'image:\n  repository: bitnami/redis\n  tag: 7.0.5\n', 'templates/sts.yaml': 'kind: StatefulSet\n'},
    'redis',
  )
  return buildChartArchive(
    {
      'Chart.yaml': [
        'apiVersion: v2',
        'name: operator-wandb',
        'version: 0.43.8',
        'appVersion: 1.10',
        'annotations:',
        '  category: ML',
        'dependencies:',
        '  - name: redis',
        '    version: ~17.3.0',
        '    repository: https://charts.bitnami.com/bitnami',
        '    alias: cache',
        '    condition: cache.enabled',
        '    tags: [backend]',
        '  - name: common',
        '    version: 1.0.0',
        '    repository: file://../common',
        '',
      ].join('\n'),
      'Chart.lock': 'dependencies:\n- name: redis\n  repository: https://charts.bitnami.com/bitnami\n  version: 17.3.7\n- name: common\n  repository: file://../common\n  version: 1.0.0\ndigest: sha256:abc\ngenerated: "2024-01-01T00:00:00Z"\n',
      'values.yaml': 'image:\n  repository: wandb/local\n  tag: 0.62.2\ncache:\n  enabled: true\n',
      'templates/deployment.yaml': 'kind: Deployment\nimage: {{ .Values.image.repository }}\n',
      'templates/_helpers.tpl': '{{- define "x" -}}x{{- end -}}',
      'charts/redis-17.3.1.tgz': redisTgz,
      'charts/common/Chart.yaml': 'apiVersion: v2\nname: common\nversion: 1.0.0\ntype: library\n',
      'charts/common/templates/_names.tpl': '{{- define "common.name" -}}c{{- end -}}',
      'charts/README.md': 'not a chart',
    },
    'operator-wandb',
  )
}

describe('loadChartArchive', () => {
  it('loads metadata, values, templates, nested tgz and folder subcharts, dependencies with alias and Chart.lock', async () => {
    const chart = await loadChartArchive(await operatorChart(), 'operator-wandb-0.43.8.tgz')
    expect(chart.origin).toBe('operator-wandb-0.43.8.tgz')
    expect(chart.metadata).toMatchObject({apiVersion: 'v2', name: 'operator-wandb', version: '0.43.8', appVersion: '1.10', annotations: {category: 'ML'}})
    expect(chart.metadata.dependencies).toEqual([
      {name: 'redis', version: '~17.3.0', repository: 'https://charts.bitnami.com/bitnami', alias: 'cache', condition: 'cache.enabled', tags: ['backend']},
      {name: 'common', version: '1.0.0', repository: 'file://../common'},
    ])
    expect(chart.values).toEqual({image: {repository: 'wandb/local', tag: '0.62.2'}, cache: {enabled: true}})
    expect([...chart.templates.keys()]).toEqual(['templates/_helpers.tpl', 'templates/deployment.yaml'])
    expect(chart.subcharts.map((s) => s.metadata.name)).toEqual(['common', 'redis'])
    const redis = chart.subcharts[1]!
    expect(redis.origin).toBe('operator-wandb-0.43.8.tgz:charts/redis-17.3.1.tgz')
    expect(redis.metadata.appVersion).toBe('7.0')
    expect(redis.values).toEqual({image: {repository: 'bitnami/redis', tag: '7.0.5'}})
    expect(redis.templates.get('templates/sts.yaml')).toBe('kind: StatefulSet\n')
    expect(chart.subcharts[0]!.metadata.type).toBe('library')
    expect(chart.subcharts[0]!.templates.has('templates/_names.tpl')).toBe(true)
    expect(chartLock(chart)).toEqual({
      dependencies: [
        {name: 'redis', version: '17.3.7', repository: 'https://charts.bitnami.com/bitnami'},
        {name: 'common', version: '1.0.0', repository: 'file://../common'},
      ],
      digest: 'sha256:abc',
      generated: '2024-01-01T00:00:00Z',
    })
    expect(chartFiles(chart)?.has('charts/README.md')).toBe(true)
  })

  it('reads dependencies of apiVersion v1 charts from requirements.yaml and requirements.lock', async () => {
    const tgz = await buildChartArchive(
      {
        'Chart.yaml': 'apiVersion: v1\nname: old\nversion: 1.0.0\n',
        'requirements.yaml': 'dependencies:\n- name: mysql\n  version: 1.x\n  repository: https://example.com/charts\n',
        'requirements.lock': 'dependencies:\n- name: mysql\n  version: 1.6.9\n  repository: https://example.com/charts\n',
      },
      'old',
    )
    const chart = await loadChartArchive(tgz, 'old-1.0.0.tgz')
    expect(chart.metadata.dependencies).toEqual([{name: 'mysql', version: '1.x', repository: 'https://example.com/charts'}])
    expect(chartLock(chart)?.dependencies).toEqual([{name: 'mysql', version: '1.6.9', repository: 'https://example.com/charts'}])
    expect(chart.values).toEqual({})
  })

  it('reads values.yaml with the YAML 1.1 rules Helm uses (yes/no booleans, octal, merge keys; dates stay strings)', async () => {
    const tgz = await buildChartArchive(
      {'Chart.yaml': 'apiVersion: v2\nname: x\nversion: 1.0.0\n', 'values.yaml': 'a: yes\nb: NO\nmode: 0755\nday: 2024-01-01\nbase: &b {x: 1}\nc:\n  <<: *b\n  z: 2\nq: "yes"\n'},
      'x',
    )
    expect((await loadChartArchive(tgz, 'x.tgz')).values).toEqual({a: true, b: false, mode: 493, day: '2024-01-01', base: {x: 1}, c: {x: 1, z: 2}, q: 'yes'})
  })

  it('defaults a missing apiVersion to v1 and refuses v3', () => {
    expect(parseChartYaml('name: a\nversion: 1.0.0\n', 'x').apiVersion).toBe('v1')
    expect(() => parseChartYaml('apiVersion: v3\nname: a\nversion: 1.0.0\n', 'x.tgz')).toThrow(/unsupported apiVersion "v3"/)
  })

  it('requires Chart.yaml, a name and a version', async () => {
    await expect(loadChartArchive(await buildChartArchive({'values.yaml': 'a: 1\n'}, 'x'), 'x.tgz')).rejects.toThrow('x.tgz has no Chart.yaml')
    await expect(loadChartArchive(await buildChartArchive({'Chart.yaml': 'apiVersion: v2\nname: x\n'}, 'x'), 'x.tgz')).rejects.toThrow(
      'x.tgz:Chart.yaml has no version',
    )
  })

  it('reports YAML errors with file and line', async () => {
    const tgz = await buildChartArchive({'Chart.yaml': 'apiVersion: v2\nname: x\nversion: 1.0.0\n', 'values.yaml': 'a: 1\nb: [\n  c: d\n  : }\n'}, 'x')
    const err = await loadChartArchive(tgz, 'x-1.0.0.tgz').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SpecError)
    expect((err as SpecError).message).toMatch(/^invalid YAML in x-1\.0\.0\.tgz:values\.yaml:\d+: /)
    expect((err as SpecError).exitCode).toBe(3)
  })

  it('refuses path traversal, absolute paths, symlinks, hardlinks and devices, naming the entry', async () => {
    const cases: [Parameters<typeof rawTgz>[0], RegExp][] = [
      [[{name: 'x/Chart.yaml', body: 'a'}, {name: 'x/../../etc/passwd', body: 'p'}], /entry "x\/\.\.\/\.\.\/etc\/passwd" refused: "\.\." in path/],
      [[{name: '/etc/x/Chart.yaml', body: 'a'}], /entry "\/etc\/x\/Chart\.yaml" refused: absolute path/],
      [[{name: 'x/Chart.yaml', body: 'a'}, {name: 'x/templates/link', type: 'symlink', linkname: '/etc/passwd'}], /entry "x\/templates\/link" refused: symlink entries are not allowed/],
      [[{name: 'x/Chart.yaml', body: 'a'}, {name: 'x/hard', type: 'link', linkname: 'x/Chart.yaml'}], /entry "x\/hard" refused: link entries are not allowed/],
      [[{name: 'x/dev', type: 'character-device'}], /character-device entries are not allowed/],
      [[{name: 'x/Chart.yaml', body: 'a'}, {name: 'y/Chart.yaml', body: 'b'}], /second top-level folder "y"/],
      [[{name: 'Chart.yaml', body: 'a'}], /file outside the chart folder/],
    ]
    const cwdBefore = await readdir(process.cwd())
    for (const [entries, message] of cases) {
      const err = await loadChartArchive(await rawTgz(entries), 'evil.tgz').catch((e: unknown) => e)
      expect(err).toBeInstanceOf(SpecError)
      expect((err as Error).message).toMatch(message)
      expect((err as Error).message).toContain('chart archive evil.tgz')
    }
    expect(await readdir(process.cwd())).toEqual(cwdBefore)
  })

  it('refuses archives that expand beyond the cap, too many entries, and non-gzip input', async () => {
    const big = await buildChartArchive({'Chart.yaml': 'apiVersion: v2\nname: x\nversion: 1.0.0\n', 'files/zeros': new Uint8Array(2 * 1024 * 1024)}, 'x')
    expect(big.length).toBeLessThan(64 * 1024)
    await expect(readChartArchive(big, 'bomb.tgz', {maxUncompressedBytes: 1024 * 1024})).rejects.toThrow(/bomb\.tgz expands to more than 1048576 bytes/)
    await expect(readChartArchive(big, 'many.tgz', {maxEntries: 1})).rejects.toThrow(/more than 1 entries/)
    // nested archives share the budget: two 600 KiB subcharts under a 1 MiB cap are refused
    const sub = await buildChartArchive({'Chart.yaml': 'apiVersion: v2\nname: s\nversion: 1.0.0\n', 'files/zeros': new Uint8Array(600 * 1024)}, 's')
    const nested = await buildChartArchive({'Chart.yaml': 'apiVersion: v2\nname: p\nversion: 1.0.0\n', 'charts/s1.tgz': sub, 'charts/s2.tgz': sub}, 'p')
    await expect(loadChartArchive(nested, 'nested.tgz', {maxUncompressedBytes: 1024 * 1024})).rejects.toThrow(/nested\.tgz:charts\/s2\.tgz expands to more than/)
    expect((await loadChartArchive(nested, 'nested.tgz', {maxUncompressedBytes: 2 * 1024 * 1024})).subcharts).toHaveLength(2)
    await expect(readChartArchive(Buffer.from('PK\x03\x04zip'), 'a.zip')).rejects.toThrow(/a\.zip is not gzip-compressed/)
    await expect(readChartArchive(gzipSync(Buffer.from('garbage that is not tar'.repeat(40))), 'g.tgz')).rejects.toThrow(SpecError)
  })
})

describe('buildChartArchive', () => {
  it('is deterministic and round-trips through readChartArchive', async () => {
    const files = {'templates/b.yaml': 'b', 'Chart.yaml': 'apiVersion: v2\nname: x\nversion: 1.0.0\n', 'templates/a.yaml': new Uint8Array([1, 2, 3])}
    const a = await buildChartArchive(files, 'x')
    const b = await buildChartArchive({...files}, 'x')
    expect(a.equals(b)).toBe(true)
    const read = await readChartArchive(a, 'x.tgz')
    expect(read.top).toBe('x')
    expect([...read.files.keys()]).toEqual(['Chart.yaml', 'templates/a.yaml', 'templates/b.yaml'])
    expect([...read.files.get('templates/a.yaml')!]).toEqual([1, 2, 3])
  })

  it('refuses unsafe paths', async () => {
    await expect(buildChartArchive({'../x': 'a'}, 'x')).rejects.toThrow(SpecError)
    await expect(buildChartArchive({a: 'a'}, '../x')).rejects.toThrow(SpecError)
  })
})

describe('chart folders', () => {
  let dir: string | undefined
  afterEach(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('loads a folder honouring .helmignore and packages it like the same files built in memory', async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-chart-'))
    await mkdir(join(dir, 'templates'))
    await mkdir(join(dir, 'tmp'))
    await writeFile(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: app\nversion: 2.0.0+build.1\n')
    await writeFile(join(dir, 'values.yaml'), 'replicas: 2\n')
    await writeFile(join(dir, 'templates', 'svc.yaml'), 'kind: Service\n')
    await writeFile(join(dir, 'tmp', 'junk'), 'x')
    await writeFile(join(dir, 'notes.bak'), 'x')
    await writeFile(join(dir, '.helmignore'), '# comment\ntmp/\n*.bak\n')
    const chart = await loadChartDir(dir)
    expect(chart.metadata.version).toBe('2.0.0+build.1')
    expect(chart.values).toEqual({replicas: 2})
    expect([...chartFiles(chart)!.keys()].sort()).toEqual(['.helmignore', 'Chart.yaml', 'templates/svc.yaml', 'values.yaml'])
    const pkg = await packageChartDir(dir)
    expect(pkg.fileName).toBe('app-2.0.0+build.1.tgz')
    const again = await buildChartArchive(
      {
        '.helmignore': '# comment\ntmp/\n*.bak\n',
        'Chart.yaml': 'apiVersion: v2\nname: app\nversion: 2.0.0+build.1\n',
        'templates/svc.yaml': 'kind: Service\n',
        'values.yaml': 'replicas: 2\n',
      },
      'app',
    )
    expect(pkg.archive.equals(again)).toBe(true)
  })

  it('refuses symbolic links in a chart folder', async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-chart-'))
    await writeFile(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: app\nversion: 1.0.0\n')
    await symlink('/etc/hostname', join(dir, 'values.yaml'))
    await expect(loadChartDir(dir)).rejects.toThrow(/values\.yaml is a symbolic link/)
  })

  it('helmIgnore matches basenames, anchored paths, directories and negation', () => {
    const ig = helmIgnore('*.tmp\n/ci/*.yaml\nbuild/\n!keep.tmp\n')
    expect(ig('a/b.tmp', false)).toBe(true)
    expect(ig('keep.tmp', false)).toBe(false)
    expect(ig('ci/x.yaml', false)).toBe(true)
    expect(ig('sub/ci/x.yaml', false)).toBe(false)
    expect(ig('build', true)).toBe(true)
    expect(ig('build', false)).toBe(false)
  })
})
