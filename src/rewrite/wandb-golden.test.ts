/**
 * Golden tests on the REAL operator-wandb values (wandb/helm-charts fixture, chart 0.43.8): a mirror
 * map with every image of reference §6 at its real values path, a channel pinning tags, and a
 * commented site values file. Goldens live in test/golden/rewrite; refresh with UPDATE_GOLDEN=1.
 */
import {existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {digestOf} from '../oci/digest.js'
import {findExternalImages} from './checks.js'
import {validateCr} from './io.js'
import {buildOperatorCr} from './operator-cr.js'
import {buildOperatorValues} from './operator-values.js'
import {imageOverrides, mergeInto} from './overrides.js'
import {rewriteYamlDocuments} from './documents.js'
import {containerdHostsTree, registriesConf} from './node-mirrors.js'
import type {ImageOrigin, MirroredImage, MirrorMap} from '../mirror/types.js'

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/wandb', import.meta.url))
const GOLDEN = fileURLToPath(new URL('../../test/golden/rewrite/', import.meta.url))
const MIRROR = 'registry.corp:5000/mirror'

/** Compare with a golden file; UPDATE_GOLDEN=1 (re)writes it. */
function golden(name: string, actual: string): void {
  const file = `${GOLDEN}${name}`
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(GOLDEN, {recursive: true})
    writeFileSync(file, actual)
  }
  if (!existsSync(file)) throw new Error(`golden file ${file} is missing; run with UPDATE_GOLDEN=1 once and commit it`)
  expect(actual).toBe(readFileSync(file, 'utf8'))
}

type Shape = ImageOrigin['shape']
const TOP = 'operator-wandb'

/** [source, values paths, shape, chart under operator-wandb] — reference §6 with the fixture's keys. */
const TABLE: Array<[string, string[], Shape?, string?]> = [
  ['docker.io/wandb/local:0.62.2', ['app.image']],
  ['docker.io/wandb/console:2.13.1', ['console.image']],
  [
    'docker.io/wandb/megabinary:0.62.2',
    ['parquet.image', 'api.image', 'glue.image', 'executor.image', 'filestream.image', 'filemeta.image', 'flat-run-fields-updater.image', 'history-updater.image', 'history-reader.image', 'metric-observer.image', 'parquet-metadata-cache.image', 'settingsMigrationJob.image', 'settingsMigrationJob.jobs.smj.containers.smj.image', 'clickhouseMigrationJob.image', 'internalSignerPreHook.image'],
  ],
  ['docker.io/wandb/weave-python:0.62.2', ['weave.image']],
  ['docker.io/alpine/k8s:1.31.12', ['appRenamePreHook.image', 'appRenamePostHook.image']],
  ['docker.io/wandb/frontend-nginx:0.62.2', ['frontend.image']],
  ['docker.io/wandb/anaconda2:0.62.2', ['anaconda2.image']],
  ['docker.io/wandb/weave-trace:0.62.2', ['weave-trace.image', 'weave-trace-worker.image', 'weave-evaluate-model-worker.image', 'weave-trace-agent-scoring-worker.image']],
  ['docker.io/wandb/mcp-server:0.3.5', ['mcp-server.image']],
  ['us-docker.pkg.dev/wandb-production/public/wandb/lumen:v0.1.5', ['lumen-agent.image']],
  ['docker.io/nginxinc/nginx-unprivileged:1.27.4', ['nginx.image']],
  ['docker.io/bitnamilegacy/redis:7.2.4-debian-12-r9', ['redis.image'], 'bitnami', 'redis'],
  ['quay.io/prometheus/prometheus:v2.47.0', ['prometheus.instance.server.image'], 'repository-tag', 'prometheus/instance'],
  ['quay.io/prometheus-operator/prometheus-config-reloader:v0.67.0', ['prometheus.instance.configmapReload.prometheus.image'], 'repository-tag', 'prometheus/instance'],
  ['docker.io/prom/mysqld-exporter:v0.15.1', ['prometheus.mysql-exporter.image'], 'repository-tag', 'prometheus/mysql-exporter'],
  ['docker.io/oliver006/redis_exporter:v1.58.0', ['prometheus.redis-exporter.image'], 'repository-tag', 'prometheus/redis-exporter'],
  ['docker.io/otel/opentelemetry-collector-contrib:0.97.0', ['otel.daemonset.image', 'otel.deployment.image'], 'repository-tag', 'otel'],
  ['docker.io/library/mysql:8.0.36', ['mysql.image'], 'repository-tag', 'mysql'],
  ['docker.io/bitnami/kafka:3.5.1-debian-11-r72', ['kafka.image'], 'bitnami', 'kafka'],
  ['docker.io/bitnamilegacy/clickhouse:25.7.5-debian-12-r0', ['clickhouse.image'], 'bitnami', 'clickhouse'],
  ['docker.io/bitnamilegacy/etcd:3.5.17-debian-12-r3', ['etcd.image'], 'bitnami', 'etcd'],
  ['us-docker.pkg.dev/buf-images-1/bufstream-public/images/bufstream:0.3.5', ['bufstream.bufstream.image'], 'repository-tag', 'bufstream/bufstream'],
  ['docker.io/prometheuscommunity/stackdriver-exporter:v0.15.0', ['stackdriver.image'], 'repository-tag', 'stackdriver'],
  ['ghcr.io/nerdswords/yet-another-cloudwatch-exporter:v0.60.0', ['yace.image'], 'bitnami', 'yace'],
  ['ghcr.io/stakater/reloader:v1.3.0', ['reloader.reloader.deployment.image'], 'name-tag', 'reloader'],
]

function mirrorOf(source: string, keepSourceHost = false): string {
  const slash = source.indexOf('/')
  return `${MIRROR}/${keepSourceHost ? source : source.slice(slash + 1)}`
}

function image(source: string, origins: ImageOrigin[]): MirroredImage {
  return {source, mirror: mirrorOf(source), digest: digestOf(new TextEncoder().encode(source)), origins}
}

export function wandbMap(): MirrorMap {
  const images = TABLE.map(([source, paths, shape, sub]) =>
    image(source, paths.map((valuesPath) => ({chart: sub ? `${TOP}/${sub}` : TOP, valuesPath, source: 'values' as const, shape: shape ?? 'repository-tag'}))),
  )
  images.push(
    image('docker.io/wandb/controller:1.22.0', [{chart: 'operator', valuesPath: 'image', source: 'values', shape: 'repository-tag'}]),
    image('us-docker.pkg.dev/wandb-production/public/python:3.12', [{chart: TOP, template: 'templates/tests/test-connection.yaml', source: 'template'}]),
    image('docker.io/library/busybox:1.36', [{chart: TOP, template: 'templates/tests/test-mysql.yaml', source: 'template'}]),
  )
  return {
    registry: MIRROR,
    keepSourceHost: false,
    images,
    charts: [{name: 'operator-wandb', version: '0.43.8', repoUrl: 'https://charts.corp.example/wandb', ociRef: `oci://${MIRROR}/charts/operator-wandb`}],
  }
}

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ2Fr\n-----END CERTIFICATE-----'

/** What the channel would return as values: pinned tags, its own pull secret and CA. */
const CHANNEL = {
  global: {imagePullSecrets: [{name: 'regcred'}], customCACerts: [`${PEM}\n`], 'weave-trace': {enabled: true}},
  app: {image: {repository: 'wandb/local', tag: '0.62.2'}},
  console: {image: {repository: 'wandb/console', tag: '2.13.1'}},
  parquet: {image: {repository: 'wandb/megabinary', tag: '0.62.2'}},
  weave: {image: {repository: 'wandb/weave-python', tag: '0.62.2'}},
  'weave-trace': {install: true, image: {repository: 'wandb/weave-trace', tag: '0.62.2'}},
}

const SITE = `# Site values for wandb.corp.example (owned by the platform team)
global:
  host: https://wandb.corp.example # external URL users open
  license: "eyJhbGciOiJSUzI1NiJ9.literal-test-license" # the user chose a literal license
  repositoryPrefix: registry.corp:5000/old-prefix
  imagePullSecrets:
    - regcred # same secret the channel names, string form
    - corp-pull
  customCACerts:
    - |
      ${PEM.split('\n').join('\n      ')}
ingress:
  # corporate ingress class
  class: nginx
app:
  image:
    # the site pins the same tag as the channel
    tag: "0.62.2"
`

function getIn(tree: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], tree)
}

describe('operator-wandb CR from the real chart values', () => {
  const map = wandbMap()

  it('sets every values path of the table to its mirror, disabled components included', () => {
    const {operatorYaml} = buildOperatorCr({map, channelValues: CHANNEL, siteValues: SITE, siteFile: 'site.yaml', chartSource: 'repo'})
    const values = (parse(operatorYaml) as {spec: {values: unknown}}).spec.values
    let checked = 0
    for (const [source, paths, shape] of TABLE) {
      const [repo, tag] = [mirrorOf(source).replace(/:[^:/]+$/, ''), source.split(':').pop()]
      const sourcePath = source.slice(source.indexOf('/') + 1).replace(/:[^:/]+$/, '')
      for (const path of paths) {
        const expected = shape === 'bitnami' ? {registry: MIRROR, repository: sourcePath, tag} : shape === 'name-tag' ? {name: repo, tag} : {repository: repo, tag}
        expect(getIn(values, path), path).toMatchObject(expected)
        if (shape === 'name-tag') expect(getIn(values, path), `${path} (the chart reads name, not repository)`).not.toHaveProperty('repository')
        checked++
      }
    }
    expect(checked).toBe(44)
    expect(getIn(values, 'global.repositoryPrefix')).toBe('')
    expect(getIn(values, 'global.imageRegistry')).toBe(MIRROR)
    // the operator chart's controller is not a value of operator-wandb
    expect(getIn(values, 'image')).toBeUndefined()
  })

  it('keeps channel values under the site and the site under the overrides, each list entry once', () => {
    const {operatorYaml, warnings} = buildOperatorCr({map, channelValues: CHANNEL, siteValues: SITE, chartSource: 'repo', pullSecrets: ['corp-pull', 'mirror-pull']})
    const values = (parse(operatorYaml) as {spec: {values: Record<string, unknown>}}).spec.values
    expect(getIn(values, 'global.weave-trace.enabled')).toBe(true)
    expect(getIn(values, 'weave-trace.install')).toBe(true)
    expect(getIn(values, 'console.image.tag')).toBe('2.13.1')
    expect(getIn(values, 'global.host')).toBe('https://wandb.corp.example')
    // plain names are written as objects: several subcharts copy the list verbatim into pod specs (issue 16)
    expect(getIn(values, 'global.imagePullSecrets')).toEqual([{name: 'regcred'}, {name: 'corp-pull'}, {name: 'mirror-pull'}])
    // the prometheus-community server reads only its own key
    expect(getIn(values, 'prometheus.instance.imagePullSecrets')).toEqual([{name: 'regcred'}, {name: 'corp-pull'}, {name: 'mirror-pull'}])
    expect(getIn(values, 'global.customCACerts')).toHaveLength(1)
    // the literal license is kept but never echoed
    expect(getIn(values, 'global.license')).toBe('eyJhbGciOiJSUzI1NiJ9.literal-test-license')
    expect(warnings.join('\n')).not.toContain('literal-test-license')
    expect(warnings.some((w) => w.includes('global.licenseSecret'))).toBe(true)
    expect(warnings.some((w) => w.includes('repositoryPrefix'))).toBe(true)
  })

  it('keeps the site comments and passes the real CRD schema', () => {
    const {operatorYaml} = buildOperatorCr({map, channelValues: CHANNEL, siteValues: SITE, chartSource: 'repo'})
    for (const comment of ['# Site values for wandb.corp.example', '# external URL users open', '# corporate ingress class', '# the site pins the same tag as the channel', '# same secret the channel names']) {
      expect(operatorYaml).toContain(comment)
    }
    expect(validateCr(operatorYaml)).toEqual([])
    golden('operator.yaml', operatorYaml)
  })

  it('OCI and pinned-digest variants pass the schema; pinned images carry their digest', () => {
    const {operatorYaml} = buildOperatorCr({map, channelValues: CHANNEL, chartSource: 'oci', pinDigests: true, ociPlainHttp: true, name: 'wandb', namespace: 'wandb'})
    expect(validateCr(operatorYaml)).toEqual([])
    const cr = parse(operatorYaml) as {spec: {chart: unknown; values: unknown}}
    expect(cr.spec.chart).toEqual({url: `oci://${MIRROR}/charts/operator-wandb`, version: '0.43.8', plainHTTP: true})
    expect(getIn(cr.spec.values, 'app.image.digest')).toBe(digestOf(new TextEncoder().encode('docker.io/wandb/local:0.62.2')))
    golden('operator-oci-pinned.yaml', operatorYaml)
  })

  it('leaves no public image in the chart defaults merged with the CR, except the dead bufstream.image key', () => {
    const {operatorYaml} = buildOperatorCr({map, channelValues: CHANNEL, siteValues: SITE, chartSource: 'repo'})
    const defaults = parse(readFileSync(`${FIXTURES}/operator-wandb-values.yaml`, 'utf8')) as Record<string, unknown>
    const merged = mergeInto(defaults, (parse(operatorYaml) as {spec: {values: Record<string, unknown>}}).spec.values)
    const text = JSON.stringify(merged)
    const report = findExternalImages([{file: 'merged-values.yaml', text}], map)
    // reference §6: the parent's bufstream.image is not read by any template; discovery does not list it
    expect(report.external.map((e) => `${e.path} ${e.ref}`)).toEqual(['bufstream.image bitnamilegacy/bufstream'])
    expect(findExternalImages([{file: 'merged-values.yaml', text}], map, ['docker.io/bitnamilegacy/bufstream']).external).toEqual([])
    expect(report.needsNodeMirror).toEqual([
      {ref: 'us-docker.pkg.dev/wandb-production/public/python:3.12', chart: TOP, template: 'templates/tests/test-connection.yaml'},
      {ref: 'docker.io/library/busybox:1.36', chart: TOP, template: 'templates/tests/test-mysql.yaml'},
    ])
  })

  it('findExternalImages catches a public image left in the CR', () => {
    const extra = {image: {repository: 'quay.io/evil/leftover', tag: 'v1'}}
    const reloaderLike = {image: {name: 'ghcr.io/evil/reloader', tag: 'v2'}}
    const {operatorYaml} = buildOperatorCr({map, channelValues: {...CHANNEL, extra, reloaderLike}, chartSource: 'repo'})
    const report = findExternalImages([{file: 'operator.yaml', text: operatorYaml}], map)
    expect(report.external).toHaveLength(2)
    expect(report.external[0]).toMatchObject({file: 'operator.yaml', path: 'spec.values.extra.image', ref: 'quay.io/evil/leftover:v1'})
    expect(report.external[1]).toMatchObject({file: 'operator.yaml', path: 'spec.values.reloaderLike.image', ref: 'ghcr.io/evil/reloader:v2'})
    expect(report.external[0]!.line).toBeGreaterThan(1)
  })

  it('rewrites the real chart values file, keeping every comment; images at :latest stay unresolved', () => {
    const text = readFileSync(`${FIXTURES}/operator-wandb-values.yaml`, 'utf8')
    const result = rewriteYamlDocuments(text, map, {file: 'operator-wandb-values.yaml'})
    const comments = (s: string) => s.split('\n').filter((l) => /^\s*#/.test(l)).map((l) => l.trim())
    expect(comments(result.text)).toEqual(comments(text))
    // fixture pins: alpine/k8s:1.31.12, mcp-server:0.3.5, lumen:v0.1.5 (x2 for the hooks); Bitnami maps without a tag resolve by repository
    expect(result.changes.map((c) => c.path).sort()).toEqual(
      ['appRenamePostHook.image', 'appRenamePreHook.image', 'clickhouse.image', 'etcd.image', 'lumen-agent.image', 'mcp-server.image', 'redis.image'].sort(),
    )
    expect(result.unresolved.find((u) => u.path === 'app.image')).toMatchObject({ref: 'wandb/local:latest'})
    expect(result.unresolved.find((u) => u.path === 'bufstream.image')).toMatchObject({reason: 'repository not in the mirror map'})
    // only image lines change: 7 repositories replaced, 3 tags inserted into tag-less Bitnami maps
    const others = (s: string) => s.split('\n').filter((l) => !/^\s*(repository|tag):/.test(l))
    expect(others(result.text)).toEqual(others(text))
    expect(result.text.split('\n').length).toBe(text.split('\n').length + 3)
    const redis = getIn(parse(result.text), 'redis.image')
    expect(redis).toEqual({repository: `${MIRROR}/bitnamilegacy/redis`, tag: '7.2.4-debian-12-r9'})
  })

  it('operator chart values: mirrored controller, air-gapped, CA, pull secrets', () => {
    const text = buildOperatorValues({map, airgapped: true, customCACerts: [PEM, PEM], caCertsConfigMap: 'corp-ca', pullSecrets: ['mirror-pull']})
    const values = parse(text) as Record<string, unknown>
    const fixture = parse(readFileSync(`${FIXTURES}/operator-values.yaml`, 'utf8')) as Record<string, unknown>
    for (const key of Object.keys(values)) expect(fixture, `key ${key} exists in the operator chart`).toHaveProperty(key)
    // image.digest is not in values.yaml, but templates/deployment.yaml renders repository@digest when it is set
    for (const key of Object.keys(values['image'] as object).filter((k) => k !== 'digest')) expect(fixture['image'], `image.${key}`).toHaveProperty(key)
    expect(values).toEqual({
      // always pinned by digest (issue 16)
      image: {repository: `${MIRROR}/wandb/controller`, tag: '1.22.0', digest: digestOf(new TextEncoder().encode('docker.io/wandb/controller:1.22.0')), pullSecrets: ['mirror-pull']},
      airgapped: true,
      customCACerts: [`${PEM}\n`],
      caCertsConfigMap: 'corp-ca',
    })
    golden('operator-values.yaml', text)
  })

  it('imageOverrides alone: string shape and pinned digests', () => {
    const m: MirrorMap = {...map, images: [image('docker.io/wandb/local:0.62.2', [{chart: TOP, valuesPath: 'x.ref', source: 'values', shape: 'string'}])]}
    const digest = m.images[0]!.digest
    expect(imageOverrides(m)).toEqual({x: {ref: `${MIRROR}/wandb/local:0.62.2`}})
    expect(imageOverrides(m, {pinDigests: true})).toEqual({x: {ref: `${MIRROR}/wandb/local:0.62.2@${digest}`}})
  })

  it('node-level mirror config for every source registry of the platform', () => {
    const tree = containerdHostsTree(map, {caFile: '/etc/containerd/certs.d/corp-ca.crt'})
    const mirrorHost = map.registry.split('/')[0]!
    expect(Object.keys(tree)).toEqual(['docker.io/hosts.toml', 'ghcr.io/hosts.toml', 'quay.io/hosts.toml', 'us-docker.pkg.dev/hosts.toml', `${mirrorHost}/hosts.toml`])
    golden('containerd-hosts.toml.txt', Object.entries(tree).map(([path, text]) => `## ${path}\n${text}`).join('\n'))
    golden('registries.conf', registriesConf(map))
  })
})
