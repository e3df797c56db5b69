/**
 * The reference case: operator-wandb 0.43.8 built from the REAL Chart.yaml and values.yaml of
 * wandb/helm-charts (shared/fixtures/wandb), with wandb-base's real values for every alias, and small
 * synthetic subcharts (redis, prometheus, otel, kafka, …) shaped like the upstream charts, since
 * only data files are in the fixtures. Every image of wandb-operator.md §6 must be found.
 */
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {parse} from 'yaml'
import {describe, expect, it} from 'vitest'
import type {ChartMetadata, LoadedChart} from '../helm/types.js'
import {parseChannelResponse} from '../spec/channel.js'
import {discoverImages, groupFindings} from './discover.js'
import type {Finding} from './types.js'

const fixtures = new URL('../../../shared/fixtures/wandb/', import.meta.url)
const fixture = (name: string): unknown => parse(readFileSync(fileURLToPath(new URL(name, fixtures)), 'utf8'))
const manifests = new URL('../../manifests/', import.meta.url)

interface ChartInit {
  values?: Record<string, unknown>
  templates?: Record<string, string>
  subcharts?: LoadedChart[]
  metadata?: Partial<ChartMetadata>
}

function chart(name: string, version: string, init: ChartInit = {}): LoadedChart {
  return {
    metadata: {apiVersion: 'v2', name, version, ...init.metadata},
    values: init.values ?? {},
    templates: new Map(Object.entries(init.templates ?? {})),
    subcharts: (init.subcharts ?? []).sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)),
    origin: `${name}-${version}.tgz`,
  }
}

const bitnami = (repository: string, tag: string): Record<string, string> => ({registry: 'docker.io', repository, tag, digest: ''})
const BITNAMI_GLOBAL = {imageRegistry: '', imagePullSecrets: []}
const BITNAMI_COMMON = chart('common', '2.x', {
  metadata: {type: 'library'},
  templates: {'templates/_images.tpl': '{{- $registryName := default .imageRoot.registry ((.global).imageRegistry) -}}'},
})

function wandbBase(): LoadedChart {
  return chart('wandb-base', '0.12.4', {
    values: fixture('wandb-base-values.yaml') as Record<string, unknown>,
    templates: {
      'templates/_containers.tpl': [
        '{{- define "wandb-base.image" -}}',
        '{{- if .image.digest }}{{ .image.repository }}@{{ .image.digest }}{{ else }}{{ .image.repository }}:{{ .image.tag | default "latest" }}{{ end -}}',
        '{{- end -}}',
        '{{- range $name, $c := .Values.containers }}',
        '- name: {{ $name }}',
        '  image: {{ include "wandb-base.image" (dict "image" (merge ($c.image | default dict) $.Values.image)) }}',
        '{{- end }}',
      ].join('\n'),
      'templates/job.yaml': '{{- range $name, $job := .Values.jobs }}{{ $job.containers }}{{ end }}{{ .Values.cronJobs }}{{ .Values.initContainers }}',
    },
  })
}

function redis(): LoadedChart {
  return chart('redis', '18.19.4', {
    metadata: {appVersion: '7.2.4'},
    subcharts: [BITNAMI_COMMON],
    values: {
      global: BITNAMI_GLOBAL,
      image: bitnami('bitnami/redis', '7.2.4-debian-12-r9'),
      sentinel: {enabled: false, image: bitnami('bitnami/redis-sentinel', '7.2.4-debian-12-r7')},
      metrics: {enabled: false, image: bitnami('bitnami/redis-exporter', '1.58.0-debian-12-r4')},
      volumePermissions: {enabled: false, image: bitnami('bitnami/os-shell', '12-debian-12-r16')},
      kubectl: {image: bitnami('bitnami/kubectl', '1.29.2-debian-12-r3')},
    },
    templates: {'templates/master/application.yaml': 'image: {{ include "redis.image" . }}\n{{ .Values.image }}{{ .Values.sentinel }}'},
  })
}

function prometheus(): LoadedChart {
  const community = chart('prometheus', '24.5.0', {
    metadata: {appVersion: 'v2.47.0'},
    values: {
      server: {image: {repository: 'quay.io/prometheus/prometheus', tag: '', digest: ''}},
      configmapReload: {prometheus: {enabled: true, image: {repository: 'quay.io/prometheus-operator/prometheus-config-reloader', tag: 'v0.67.0'}}},
    },
    templates: {
      'templates/deploy.yaml': [
        '      containers:',
        '        - name: {{ template "prometheus.name" . }}-{{ .Values.server.name }}',
        '          {{- if .Values.server.image.digest }}',
        '          image: "{{ .Values.server.image.repository }}@{{ .Values.server.image.digest }}"',
        '          {{- else }}',
        '          image: "{{ .Values.server.image.repository }}:{{ .Values.server.image.tag | default .Chart.AppVersion}}"',
      ].join('\n'),
    },
  })
  return chart('prometheus', '0.1.0', {
    metadata: {
      dependencies: [
        {name: 'prometheus', alias: 'instance', version: '24.5.0', condition: 'instance.install'},
        {name: 'prometheus-mysql-exporter', alias: 'mysql-exporter', condition: 'mysql-exporter.install'},
        {name: 'prometheus-redis-exporter', alias: 'redis-exporter', condition: 'redis-exporter.install'},
      ],
    },
    subcharts: [
      community,
      chart('prometheus-mysql-exporter', '2.5.0', {values: {image: {repository: 'prom/mysqld-exporter', tag: 'latest'}}}),
      chart('prometheus-redis-exporter', '6.1.1', {values: {image: {repository: 'oliver006/redis_exporter', tag: 'latest'}}}),
    ],
  })
}

function otel(): LoadedChart {
  const image = {repository: 'otel/opentelemetry-collector-contrib', tag: '0.97.0'}
  return chart('otel', '0.1.0', {
    values: {daemonset: {install: false, image}, deployment: {install: false, image}},
    templates: {'templates/daemonset.yaml': '{{ .Values.daemonset.image }}', 'templates/deployment.yaml': '{{ .Values.deployment.image }}'},
  })
}

function kafka(): LoadedChart {
  return chart('kafka', '25.3.5', {
    metadata: {dependencies: [{name: 'zookeeper', version: '12.x.x', condition: 'zookeeper.enabled'}, {name: 'common', version: '2.x.x'}]},
    subcharts: [BITNAMI_COMMON, chart('zookeeper', '12.1.2', {values: {global: BITNAMI_GLOBAL, image: bitnami('bitnami/zookeeper', '3.8.2-debian-11-r47')}})],
    values: {
      global: BITNAMI_GLOBAL,
      image: bitnami('bitnami/kafka', '3.5.1-debian-11-r72'),
      zookeeper: {enabled: false},
      metrics: {kafka: {enabled: false, image: bitnami('bitnami/kafka-exporter', '1.7.0-debian-11-r132')}, jmx: {enabled: false, image: bitnami('bitnami/jmx-exporter', '0.19.0-debian-11-r75')}},
      volumePermissions: {enabled: false, image: bitnami('bitnami/os-shell', '11-debian-11-r60')},
      externalAccess: {autoDiscovery: {enabled: false, image: bitnami('bitnami/kubectl', '1.25.14-debian-11-r6')}},
    },
  })
}

function operatorWandb(): LoadedChart {
  const metadata = fixture('operator-wandb-Chart.yaml') as ChartMetadata
  const values = fixture('operator-wandb-values.yaml') as Record<string, unknown>
  return chart(metadata.name, metadata.version, {
    metadata,
    values,
    templates: {
      'templates/_helpers.tpl': '{{- define "wandb.fullname" -}}{{ .Release.Name }}{{- end }}',
      'templates/tests/test-connection.yaml': [
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        '  annotations:',
        '    "helm.sh/hook": test',
        'spec:',
        '  initContainers:',
        '    - name: wait',
        '      image: busybox',
        '      command: ["sh", "-c", "until nc -z {{ .Release.Name }}-app 8080; do sleep 2; done"]',
        '  containers:',
        '    - name: check',
        '      image: "us-docker.pkg.dev/wandb-production/public/python:3.12"',
        '      command: ["python", "-c", "print(1)"]',
      ].join('\n'),
      'templates/tests/test-redis.yaml': [
        '# image: commented/out:1.0',
        'spec:',
        '  containers:',
        '    - name: ping',
        '      {{- /* uses the public busybox */}}',
        '      args: ["run", "--rm", "busybox:1.36", "--", "redis-cli", "-h", "redis-master:6379"]',
      ].join('\n'),
    },
    subcharts: [
      wandbBase(),
      redis(),
      prometheus(),
      otel(),
      kafka(),
      chart('mysql', '0.1.0', {values: {image: {repository: 'mysql', tag: 'latest'}}}),
      chart('clickhouse', '9.1.1', {
        subcharts: [BITNAMI_COMMON],
        values: {
          global: BITNAMI_GLOBAL,
          image: bitnami('bitnami/clickhouse', '25.7.5-debian-12-r0'),
          keeper: {image: bitnami('bitnami/clickhouse-keeper', '25.7.5-debian-12-r0')},
          volumePermissions: {enabled: false, image: bitnami('bitnami/os-shell', '12-debian-12-r50')},
        },
      }),
      chart('etcd', '10.7.1', {
        subcharts: [BITNAMI_COMMON],
        values: {global: BITNAMI_GLOBAL, image: bitnami('bitnami/etcd', '3.5.17-debian-12-r3'), volumePermissions: {enabled: false, image: bitnami('bitnami/os-shell', '12-debian-12-r35')}},
      }),
      chart('bufstream', '0.3.5', {
        values: {bufstream: {image: {repository: 'us-docker.pkg.dev/buf-images-1/bufstream-public/images/bufstream', tag: '0.3.5'}}},
        templates: {'templates/statefulset.yaml': 'image: "{{ .Values.bufstream.image.repository }}:{{ .Values.bufstream.image.tag }}"'},
      }),
      chart('stackdriver', '0.1.0', {values: {image: {repository: 'prometheuscommunity/stackdriver-exporter', tag: 'latest'}}}),
      chart('yace', '0.1.0', {values: {image: {registry: 'ghcr.io', repository: 'nerdswords/yet-another-cloudwatch-exporter', tag: 'v0.60.0'}}}),
      chart('reloader', '1.3.0', {values: {reloader: {deployment: {image: {name: 'ghcr.io/stakater/reloader', tag: 'v1.3.0'}}}}}),
    ],
  })
}

/** wandb-operator.md §6: reference, values path (or template), enabled by default. */
const TABLE: Array<[string, string, boolean]> = [
  ['docker.io/wandb/local:latest', 'app.image', true],
  ['docker.io/wandb/console:latest', 'console.image', true],
  ['docker.io/wandb/megabinary:latest', 'parquet.image', true],
  ['docker.io/wandb/weave-python:latest', 'weave.image', true],
  ['docker.io/alpine/k8s:1.31.12', 'appRenamePreHook.image', true],
  ['docker.io/alpine/k8s:1.31.12', 'appRenamePostHook.image', true],
  ...[
    'api',
    'glue',
    'executor',
    'filestream',
    'filemeta',
    'flat-run-fields-updater',
    'history-updater',
    'history-reader',
    'metric-observer',
    'parquet-metadata-cache',
    'settingsMigrationJob',
    'clickhouseMigrationJob',
    'internalSignerPreHook',
  ].map((k): [string, string, boolean] => ['docker.io/wandb/megabinary:latest', `${k}.image`, false]),
  ['docker.io/wandb/frontend-nginx:latest', 'frontend.image', false],
  ['docker.io/wandb/anaconda2:latest', 'anaconda2.image', false],
  ...['weave-trace', 'weave-trace-worker', 'weave-evaluate-model-worker', 'weave-trace-agent-scoring-worker'].map(
    (k): [string, string, boolean] => ['docker.io/wandb/weave-trace:latest', `${k}.image`, false],
  ),
  ['docker.io/wandb/mcp-server:0.3.5', 'mcp-server.image', false],
  ['us-docker.pkg.dev/wandb-production/public/wandb/lumen:v0.1.5', 'lumen-agent.image', false],
  ['docker.io/nginxinc/nginx-unprivileged:latest', 'nginx.image', false],
  ['docker.io/bitnamilegacy/redis:7.2.4-debian-12-r9', 'redis.image', true],
  ['docker.io/bitnami/redis-sentinel:7.2.4-debian-12-r7', 'redis.sentinel.image', false],
  ['docker.io/bitnami/redis-exporter:1.58.0-debian-12-r4', 'redis.metrics.image', false],
  ['docker.io/bitnami/os-shell:12-debian-12-r16', 'redis.volumePermissions.image', false],
  ['docker.io/bitnami/kubectl:1.29.2-debian-12-r3', 'redis.kubectl.image', true],
  ['quay.io/prometheus/prometheus:v2.47.0', 'prometheus.instance.server.image', true],
  ['quay.io/prometheus-operator/prometheus-config-reloader:v0.67.0', 'prometheus.instance.configmapReload.prometheus.image', true],
  ['docker.io/prom/mysqld-exporter:latest', 'prometheus.mysql-exporter.image', true],
  ['docker.io/oliver006/redis_exporter:latest', 'prometheus.redis-exporter.image', true],
  ['docker.io/otel/opentelemetry-collector-contrib:0.97.0', 'otel.daemonset.image', true],
  ['docker.io/otel/opentelemetry-collector-contrib:0.97.0', 'otel.deployment.image', false],
  ['docker.io/library/mysql:latest', 'mysql.image', false],
  ['docker.io/bitnami/kafka:3.5.1-debian-11-r72', 'kafka.image', false],
  ['docker.io/bitnami/zookeeper:3.8.2-debian-11-r47', 'kafka.zookeeper.image', false],
  ['docker.io/bitnami/kafka-exporter:1.7.0-debian-11-r132', 'kafka.metrics.kafka.image', false],
  ['docker.io/bitnami/jmx-exporter:0.19.0-debian-11-r75', 'kafka.metrics.jmx.image', false],
  ['docker.io/bitnamilegacy/clickhouse:25.7.5-debian-12-r0', 'clickhouse.image', false],
  ['docker.io/bitnami/clickhouse-keeper:25.7.5-debian-12-r0', 'clickhouse.keeper.image', false],
  ['docker.io/bitnamilegacy/etcd:3.5.17-debian-12-r3', 'etcd.image', false],
  ['us-docker.pkg.dev/buf-images-1/bufstream-public/images/bufstream:0.3.5', 'bufstream.bufstream.image', false],
  ['docker.io/prometheuscommunity/stackdriver-exporter:latest', 'stackdriver.image', false],
  ['ghcr.io/nerdswords/yet-another-cloudwatch-exporter:v0.60.0', 'yace.image', false],
  ['ghcr.io/stakater/reloader:v1.3.0', 'reloader.reloader.deployment.image', false],
]

const at = (findings: Finding[], valuesPath: string): Finding[] => findings.filter((f) => f.valuesPath === valuesPath)

describe('discoverImages on operator-wandb 0.43.8 (real values, synthetic subchart stand-ins)', () => {
  const warnings: string[] = []
  const all = discoverImages(operatorWandb(), {includeDisabled: true, onWarning: (m) => warnings.push(m)})

  it.each(TABLE)('finds %s at %s (enabled: %s)', (reference, valuesPath, enabled) => {
    const found = at(all, valuesPath)
    expect(found.map((f) => f.reference)).toEqual([reference])
    expect(found[0]!.enabled).toBe(enabled)
    expect(found[0]!.source).toBe('values')
  })

  it('records the chart path by alias and the shape', () => {
    expect(at(all, 'prometheus.instance.server.image')[0]).toMatchObject({chart: 'operator-wandb/prometheus/instance', shape: 'repository-tag', valuesKeys: ['prometheus', 'instance', 'server', 'image']})
    expect(at(all, 'redis.image')[0]).toMatchObject({chart: 'operator-wandb/redis', shape: 'bitnami'})
    expect(at(all, 'history-reader.image')[0]).toMatchObject({chart: 'operator-wandb'})
    expect(at(all, 'settingsMigrationJob.jobs.smj.containers.smj.image')[0]).toMatchObject({reference: 'docker.io/wandb/megabinary:latest', enabled: false})
  })

  it('finds the helm test images literally written in templates', () => {
    const literal = all.filter((f) => f.source === 'template')
    expect(literal.map((f) => [f.reference, f.template])).toEqual([
      ['docker.io/library/busybox:1.36', 'templates/tests/test-redis.yaml'],
      ['docker.io/library/busybox:latest', 'templates/tests/test-connection.yaml'],
      ['us-docker.pkg.dev/wandb-production/public/python:3.12', 'templates/tests/test-connection.yaml'],
    ])
    expect(literal.every((f) => f.chart === 'operator-wandb' && f.enabled)).toBe(true)
  })

  it('ignores an override the subchart never reads (bufstream.image), with a warning', () => {
    expect(all.some((f) => f.reference.includes('bitnamilegacy/bufstream'))).toBe(false)
    expect(warnings).toContain(
      'operator-wandb/bufstream: values bufstream.image (docker.io/bitnamilegacy/bufstream:latest) is not read by the chart\'s templates; ignored',
    )
    expect(all.some((f) => f.reference.startsWith('docker.io/library/nginx:'))).toBe(false) // wandb-base default, overridden by every alias
  })

  it('narrows to enabled components with includeDisabled: false', () => {
    const enabled = discoverImages(operatorWandb(), {includeDisabled: false})
    expect(enabled.every((f) => f.enabled)).toBe(true)
    expect(groupFindings(enabled).map((g) => g.reference)).toEqual([
      'docker.io/alpine/k8s:1.31.12',
      'docker.io/bitnami/kubectl:1.29.2-debian-12-r3',
      'docker.io/bitnamilegacy/redis:7.2.4-debian-12-r9',
      'docker.io/library/busybox:1.36',
      'docker.io/library/busybox:latest',
      'docker.io/oliver006/redis_exporter:latest',
      'docker.io/otel/opentelemetry-collector-contrib:0.97.0',
      'docker.io/prom/mysqld-exporter:latest',
      'docker.io/wandb/console:latest',
      'docker.io/wandb/local:latest',
      'docker.io/wandb/megabinary:latest',
      'docker.io/wandb/weave-python:latest',
      'quay.io/prometheus-operator/prometheus-config-reloader:v0.67.0',
      'quay.io/prometheus/prometheus:v2.47.0',
      'us-docker.pkg.dev/wandb-production/public/python:3.12',
    ])
  })

  it('groups origins per reference; a group is enabled when any origin is', () => {
    const megabinary = groupFindings(all).find((g) => g.reference === 'docker.io/wandb/megabinary:latest')!
    expect(megabinary.enabled).toBe(true)
    expect(megabinary.origins.length).toBe(15)
    expect(megabinary.origins.filter((o) => o.enabled).map((o) => o.valuesPath)).toEqual(['parquet.image'])
  })

  it('takes pinned tags from the channel values, not latest', () => {
    const channel = parseChannelResponse(readFileSync(fileURLToPath(new URL('wandb-channel-example.json', manifests)), 'utf8'), 'wandb-channel-example.json')
    const values = channel.spec.charts[0]!.set
    const found = discoverImages(operatorWandb(), {values, includeDisabled: true})
    const ref = (path: string): string | undefined => at(found, path)[0]?.reference
    expect(ref('app.image')).toBe('docker.io/wandb/local:0.74.1')
    expect(ref('console.image')).toBe('docker.io/wandb/console:2.19.4')
    expect(ref('parquet.image')).toBe('docker.io/wandb/megabinary:0.74.1')
    expect(ref('weave.image')).toBe('docker.io/wandb/weave-python:0.74.1')
    expect(ref('weave-trace.image')).toBe('docker.io/wandb/weave-trace:0.74.1')
    expect(ref('otel.daemonset.image')).toBe('docker.io/otel/opentelemetry-collector-contrib:0.97.0')
    expect(ref('history-reader.image')).toBe('docker.io/wandb/megabinary:latest') // the channel does not pin it
    expect(found.some((f) => f.reference === 'docker.io/wandb/local:latest')).toBe(false)
  })

  it('applies values that enable components and Bitnami global.imageRegistry', () => {
    const found = discoverImages(operatorWandb(), {
      includeDisabled: true,
      values: {global: {imageRegistry: 'registry.corp:5000', api: {enabled: true}}, 'weave-trace': {install: true}, redis: {sentinel: {enabled: true}}, kafka: {install: true, zookeeper: {enabled: true}}},
    })
    expect(at(found, 'api.image')[0]!.enabled).toBe(true)
    expect(at(found, 'weave-trace.image')[0]!.enabled).toBe(true)
    expect(at(found, 'redis.sentinel.image')[0]).toMatchObject({reference: 'registry.corp:5000/bitnami/redis-sentinel:7.2.4-debian-12-r7', enabled: true})
    expect(at(found, 'redis.image')[0]!.reference).toBe('registry.corp:5000/bitnamilegacy/redis:7.2.4-debian-12-r9')
    expect(at(found, 'kafka.zookeeper.image')[0]).toMatchObject({reference: 'registry.corp:5000/bitnami/zookeeper:3.8.2-debian-11-r47', enabled: true})
    // not Bitnami: no global.imageRegistry convention
    expect(at(found, 'yace.image')[0]!.reference).toBe('ghcr.io/nerdswords/yet-another-cloudwatch-exporter:v0.60.0')
  })
})
