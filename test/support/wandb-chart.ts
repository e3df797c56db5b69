/**
 * A W&B-shaped chart for tests: operator-wandb 0.43.8 built from the REAL Chart.yaml and
 * values.yaml of wandb/helm-charts (test/fixtures/wandb, copied from the shared fixtures), with wandb-base's real values for every
 * alias, and small synthetic subcharts (redis, prometheus, otel, kafka, …) shaped like the upstream
 * charts, since only data files are in the fixtures. Also the `operator` chart from its real
 * Chart.yaml and values.yaml, and helpers that turn a LoadedChart into chart archive files.
 * Shared by src/discover/wandb.test.ts and test/integration/pull-*.test.ts.
 */
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {parse, stringify} from 'yaml'
import type {ChartMetadata, LoadedChart} from '../../src/helm/types.js'

/** The real W&B fixtures (wandb/helm-charts data files), beside the repository. */
export const WANDB_FIXTURES = new URL('../fixtures/wandb/', import.meta.url)
const fixtures = WANDB_FIXTURES
const fixture = (name: string): unknown => parse(readFileSync(fileURLToPath(new URL(name, fixtures)), 'utf8'))

export interface ChartInit {
  values?: Record<string, unknown>
  templates?: Record<string, string>
  subcharts?: LoadedChart[]
  metadata?: Partial<ChartMetadata>
}

/** A LoadedChart built in memory. */
export function chart(name: string, version: string, init: ChartInit = {}): LoadedChart {
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

/**
 * operator-wandb 0.43.8 from the REAL Chart.yaml and values.yaml, wandb-base with its real values,
 * and small synthetic subcharts shaped like the upstream ones (redis, prometheus, otel, kafka, …).
 */
export function operatorWandb(): LoadedChart {
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
export const TABLE: Array<[string, string, boolean]> = [
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


/** The `operator` chart (1.4.8) from its real Chart.yaml and values.yaml, with a controller Deployment. */
export function operatorChart(): LoadedChart {
  const metadata = fixture('operator-Chart.yaml') as ChartMetadata
  return chart(metadata.name, metadata.version, {
    metadata,
    values: fixture('operator-values.yaml') as Record<string, unknown>,
    templates: {
      'templates/deployment.yaml': [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'spec:',
        '  template:',
        '    spec:',
        '      containers:',
        '        - name: manager',
        '          image: "{{ .Values.image.repository }}{{ if .Values.image.digest }}@{{ .Values.image.digest }}{{ else }}:{{ .Values.image.tag }}{{ end }}"',
      ].join('\n'),
    },
  })
}

/**
 * The files of a chart archive (chart-relative paths, for buildChartArchive): Chart.yaml,
 * values.yaml, templates, and each subchart as a folder under charts/ (recursively).
 */
export function chartArchiveFiles(c: LoadedChart): Record<string, string> {
  const files: Record<string, string> = {
    'Chart.yaml': stringify(c.metadata),
    'values.yaml': stringify(c.values),
  }
  for (const [path, text] of c.templates) files[path] = text
  for (const sub of c.subcharts) {
    for (const [path, text] of Object.entries(chartArchiveFiles(sub))) files[`charts/${sub.metadata.name}/${path}`] = text
  }
  return files
}

/** A copy of `c` without the subchart `name` (to have it fetched as a dependency), its Chart.yaml pointing at `repository`. */
export function withoutSubchart(c: LoadedChart, name: string, repository: string): LoadedChart {
  const dependencies = (c.metadata.dependencies ?? []).map((d) => (d.name === name ? {...d, repository} : d))
  return {...c, metadata: {...c.metadata, dependencies}, subcharts: c.subcharts.filter((s) => s.metadata.name !== name)}
}

/** The subchart `name` of `c`. */
export function subchart(c: LoadedChart, name: string): LoadedChart {
  const s = c.subcharts.find((x) => x.metadata.name === name)
  if (!s) throw new Error(`no subchart ${name} in ${c.metadata.name}`)
  return s
}
