/**
 * Discovery by rendering on a small chart of our own: images built from values that do not look
 * like images (host/name/version, a `tpl` string, a library helper with `default`), disabled
 * components, helm test hooks, CronJob init containers, a prometheus-operator resource, and
 * templates that fail.
 */
import {describe, expect, it} from 'vitest'
import {loadChartFiles} from '../helm/load.js'
import type {LoadedChart} from '../helm/types.js'
import {discoverImages, groupFindings} from './discover.js'
import {discoverByRendering} from './rendering.js'
import type {Finding} from './types.js'

const CHART_YAML = `apiVersion: v2
name: shop
version: 1.0.0
appVersion: "2.5.0"
dependencies:
  - name: lib
    version: 0.1.0
  - name: cache
    version: 3.0.0
    condition: cache.install
`
const VALUES = `
x:
  host: registry.example.com:5000
  name: team/api
  version: 7.1.2
sidecarRef: "{{ .Values.x.host }}/team/sidecar:{{ .Chart.AppVersion }}"
agent:
  registry: ""
extra:
  enabled: false
  image:
    repository: team/extra
    tag: "1.0"
broken:
  enabled: false
  image: team/broken:1.0
  secret: ""
`
const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-api
spec:
  template:
    spec:
      initContainers:
        - name: agent
          image: {{ include "lib.image" (dict "name" "team/agent" "registry" .Values.agent.registry) }}
      containers:
        - name: api
          image: "{{ .Values.x.host }}/{{ .Values.x.name }}:{{ .Values.x.version }}"
        - name: sidecar
          image: {{ tpl .Values.sidecarRef . | quote }}
`
const LIBRARY_HELPER = `{{- define "lib.image" -}}
{{ default "ghcr.io/acme" .registry }}/{{ .name }}:{{ default "0.9.0" .tag }}
{{- end -}}`
const EXTRA = `{{- if .Values.extra.enabled }}
apiVersion: batch/v1
kind: CronJob
metadata:
  name: extra
spec:
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
            - name: wait
              image: {{ .Values.extra.image.repository }}:{{ .Values.extra.image.tag }}-init
          containers:
            - name: run
              image: {{ .Values.extra.image.repository }}:{{ .Values.extra.image.tag }}
{{- end }}`
const BROKEN = `{{- if .Values.broken.enabled }}
apiVersion: v1
kind: Pod
metadata:
  name: broken
spec:
  containers:
    - name: b
      image: {{ .Values.broken.image }}
      env:
        - name: SECRET
          value: {{ required "broken.secret is required when broken is enabled" .Values.broken.secret }}
{{- end }}`
const TEST_HOOK = `apiVersion: v1
kind: Pod
metadata:
  name: {{ .Release.Name }}-test
  annotations:
    "helm.sh/hook": test
spec:
  containers:
    - name: check
      image: busybox:1.36
`
const PROMETHEUS = `apiVersion: monitoring.coreos.com/v1
kind: Prometheus
metadata:
  name: k8s
spec:
  image: quay.io/prometheus/prometheus:v2.50.0
  containers:
    - name: oauth-proxy
      image: quay.io/oauth2-proxy/oauth2-proxy:v7.5.1
`
const CACHE_STATEFULSET = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: cache
spec:
  template:
    spec:
      containers:
        - name: cache
          image: "{{ .Values.image.registry }}/{{ .Values.image.repository }}:{{ .Values.image.tag }}"
`

async function shop(): Promise<LoadedChart> {
  const files: Record<string, string> = {
    'Chart.yaml': CHART_YAML,
    'values.yaml': VALUES,
    'templates/deployment.yaml': DEPLOYMENT,
    'templates/extra.yaml': EXTRA,
    'templates/broken.yaml': BROKEN,
    'templates/tests/test-connection.yaml': TEST_HOOK,
    'templates/prometheus.yaml': PROMETHEUS,
    'charts/lib/Chart.yaml': 'apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\n',
    'charts/lib/templates/_images.tpl': LIBRARY_HELPER,
    'charts/cache/Chart.yaml': 'apiVersion: v2\nname: cache\nversion: 3.0.0\n',
    'charts/cache/values.yaml': 'install: false\nimage:\n  registry: docker.io\n  repository: bitnami/valkey\n  tag: 8.0.1\n',
    'charts/cache/templates/statefulset.yaml': CACHE_STATEFULSET,
  }
  return loadChartFiles(new Map(Object.entries(files).map(([k, v]) => [k, Buffer.from(v, 'utf8')])), 'shop-1.0.0.tgz')
}

const rendered = (findings: readonly Finding[]) =>
  findings.filter((f) => f.source === 'render').map((f) => [f.reference, `${f.chart} ${f.template} ${f.rendered!.kind}/${f.rendered!.name} ${f.rendered!.container}`, f.enabled])

describe('discovery by rendering (a chart of our own)', () => {
  it('finds images built from values that do not look like images, with object, container and template', async () => {
    const warnings: string[] = []
    const found = discoverImages(await shop(), {includeDisabled: true, onWarning: (m) => warnings.push(m)})
    expect(rendered(found)).toEqual(
      expect.arrayContaining([
        ['registry.example.com:5000/team/api:7.1.2', 'shop templates/deployment.yaml Deployment/release-name-api containers[api]', true],
        ['registry.example.com:5000/team/sidecar:2.5.0', 'shop templates/deployment.yaml Deployment/release-name-api containers[sidecar]', true],
        ['ghcr.io/acme/team/agent:0.9.0', 'shop templates/deployment.yaml Deployment/release-name-api initContainers[agent]', true],
      ]),
    )
    // The values walk alone sees none of them.
    const walked = discoverImages(await shop(), {includeDisabled: true, render: false}).map((f) => f.reference)
    for (const ref of ['registry.example.com:5000/team/api:7.1.2', 'registry.example.com:5000/team/sidecar:2.5.0', 'ghcr.io/acme/team/agent:0.9.0']) expect(walked).not.toContain(ref)
  })

  it('switches disabled components on (a setting, a dependency condition) and marks what they run as disabled', async () => {
    const found = discoverImages(await shop(), {includeDisabled: true, onWarning: () => undefined})
    expect(rendered(found)).toEqual(
      expect.arrayContaining([
        ['docker.io/team/extra:1.0-init', 'shop templates/extra.yaml CronJob/extra initContainers[wait]', false],
        ['docker.io/team/extra:1.0', 'shop templates/extra.yaml CronJob/extra containers[run]', false],
        ['docker.io/bitnami/valkey:8.0.1', 'shop/cache templates/statefulset.yaml StatefulSet/cache containers[cache]', false],
      ]),
    )
    const extra = found.find((f) => f.reference === 'docker.io/team/extra:1.0-init')!
    expect(extra.rendered).toMatchObject({variants: ['disabled components on'], switchedOn: ['extra.enabled', 'broken.enabled']})
    const api = found.find((f) => f.reference === 'registry.example.com:5000/team/api:7.1.2')!
    expect(api.rendered).toMatchObject({variants: ['values as given', 'disabled components on'], switchedOn: []})
    // With only enabled components, nothing is switched on.
    const enabled = discoverImages(await shop(), {includeDisabled: false, onWarning: () => undefined})
    expect(enabled.map((f) => f.reference)).not.toContain('docker.io/team/extra:1.0-init')
    expect(enabled.every((f) => f.enabled)).toBe(true)
  })

  it('reads a prometheus-operator resource and marks images only helm test hooks run', async () => {
    const groups = groupFindings(discoverImages(await shop(), {includeDisabled: true, onWarning: () => undefined}))
    const group = (ref: string) => groups.find((g) => g.reference === ref)
    expect(group('quay.io/prometheus/prometheus:v2.50.0')?.origins.map((o) => o.rendered?.container)).toContain('spec.image')
    expect(group('quay.io/oauth2-proxy/oauth2-proxy:v7.5.1')?.origins.map((o) => o.rendered?.container)).toContain('spec.containers[oauth-proxy]')
    expect(group('docker.io/library/busybox:1.36')).toMatchObject({testOnly: true, enabled: true})
    expect(group('registry.example.com:5000/team/api:7.1.2')?.testOnly).toBe(false)
  })

  it('counts a literal in a test-hook template that renders nothing (a range over no features) as test only', async () => {
    const chart = await shop()
    chart.templates.set('templates/tests/test-features.yaml', '{{- range .Values.features }}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: t-{{ . }}\n  annotations:\n    "helm.sh/hook": test\nspec:\n  containers:\n    - name: t\n      image: python:3.12\n{{- end }}\n')
    chart.templates.set('templates/hooked.yaml', 'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  annotations:\n    "helm.sh/hook": test,post-install\nspec:\n  template:\n    spec:\n      containers:\n        - name: j\n          image: alpine:3.20\n')
    const groups = groupFindings(discoverImages(chart, {includeDisabled: true, onWarning: () => undefined}))
    expect(groups.find((g) => g.reference === 'docker.io/library/python:3.12')).toMatchObject({testOnly: true})
    // A test hook that is also an install hook runs at install.
    expect(groups.find((g) => g.reference === 'docker.io/library/alpine:3.20')).toMatchObject({testOnly: false})
  })

  it('reports a component that fails when switched on (chart, template, line, reason) and goes on with the rest', async () => {
    const warnings: string[] = []
    const found = discoverImages(await shop(), {includeDisabled: true, onWarning: (m) => warnings.push(m)})
    expect(warnings).toEqual([
      'shop: templates/broken.yaml:12 does not render when switched on (extra.enabled, broken.enabled): shop/templates/broken.yaml:12: broken.secret is required when broken is enabled; images of this template come from the values walk only',
    ])
    // The values walk still has the broken component's image; no render origin claims it.
    expect(found.filter((f) => f.reference === 'docker.io/team/broken:1.0').map((f) => f.source)).toEqual(['values'])
    expect(found.some((f) => f.reference === 'docker.io/team/extra:1.0')).toBe(true)
  })

  it('says so when the values as given do not render, and keeps the values walk', async () => {
    const warnings: string[] = []
    const found = discoverImages(await shop(), {values: {broken: {enabled: true}}, includeDisabled: true, onWarning: (m) => warnings.push(m)})
    expect(warnings[0]).toBe(
      'shop: templates/broken.yaml:12 does not render with the values as given (shop/templates/broken.yaml:12: broken.secret is required when broken is enabled); helm install would fail the same way; images of this template come from the values walk only',
    )
    expect(found.find((f) => f.reference === 'docker.io/team/broken:1.0')).toMatchObject({source: 'values', enabled: true, chartFullyRendered: false})
    expect(found.some((f) => f.reference === 'registry.example.com:5000/team/api:7.1.2' && f.enabled)).toBe(true)
  })

  it('renders a chart that fails only with everything on once more per failing chart, with just its conditions on', async () => {
    const chart = await shop()
    // cache fails when its metrics are on (the exporter needs a password), renders alone.
    chart.subcharts.find((s) => s.metadata.name === 'cache')!.templates.set(
      'templates/metrics.yaml',
      '{{- if .Values.metrics.enabled }}\napiVersion: v1\nkind: Pod\nmetadata:\n  name: m\nspec:\n  containers:\n    - name: m\n      image: {{ required "metrics.password" .Values.metrics.password }}\n{{- end }}\n',
    )
    chart.subcharts.find((s) => s.metadata.name === 'cache')!.values.metrics = {enabled: false, image: 'oliver006/redis_exporter:v1.62.0'}
    const warnings: string[] = []
    const result = discoverByRendering(chart, {}, true, (m) => warnings.push(m))
    expect(result.variants.map((v) => v.variant)).toEqual(['values as given', 'disabled components on', 'shop/cache on with its defaults'])
    expect(result.variants[2]!.switchedOn).toEqual(['cache.install'])
    expect(warnings.some((w) => w.startsWith('shop/cache: templates/metrics.yaml:9 does not render when switched on (cache.install, cache.metrics.enabled): '))).toBe(true)
    expect(result.incompleteCharts).toEqual(new Set(['shop', 'shop/cache']))
  })
})
