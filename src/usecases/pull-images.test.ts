/**
 * The release-level merge of the values walk and the renders: images only helm test hooks run
 * left out on request, and what the lock records of rendered origins.
 */
import {describe, expect, it} from 'vitest'
import {loadChartFiles} from '../helm/load.js'
import type {PulledChart} from './pull-charts.js'
import {discoverRelease, lockDiscoveries} from './pull-images.js'

const FILES: Record<string, string> = {
  'Chart.yaml': 'apiVersion: v2\nname: web\nversion: 1.0.0\n',
  'values.yaml': 'image:\n  repository: acme/web\n  tag: "2.0"\nproxy:\n  host: ghcr.io\n  path: acme/proxy\n  version: "0.7"\n',
  'templates/deployment.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          image: {{ .Values.image.repository }}:{{ .Values.image.tag }}
        - name: proxy
          image: {{ .Values.proxy.host }}/{{ .Values.proxy.path }}:{{ .Values.proxy.version }}
`,
  'templates/tests/test.yaml': `apiVersion: v1
kind: Pod
metadata:
  name: web-test
  annotations:
    helm.sh/hook: test
spec:
  containers:
    - name: t
      image: curlimages/curl:8.8.0
`,
}

async function pulled(): Promise<PulledChart> {
  const chart = await loadChartFiles(new Map(Object.entries(FILES).map(([k, v]) => [k, Buffer.from(v, 'utf8')])), 'web-1.0.0.tgz')
  return {
    spec: {type: 'path', path: '/charts/web', values: [], set: {}},
    name: 'web',
    version: '1.0.0',
    source: '/charts/web',
    tgz: Buffer.alloc(0),
    tgzDigest: 'sha256:' + '0'.repeat(64),
    chart,
    values: {},
    bundleName: 'localhost/charts/web:1.0.0',
    fetchedDependencies: [],
  }
}

describe('discoverRelease: values walk merged with the renders', () => {
  it('lists images only helm test hooks run as such, and leaves them out with skipTestImages', async () => {
    const all = discoverRelease([await pulled()], {includeDisabled: true, images: [], exclude: []})
    expect(all.groups.map((g) => [g.reference, g.testOnly])).toEqual([
      ['docker.io/acme/web:2.0', false],
      ['docker.io/curlimages/curl:8.8.0', true],
      ['ghcr.io/acme/proxy:0.7', false],
    ])
    const skipped = discoverRelease([await pulled()], {includeDisabled: true, images: [], exclude: [], skipTestImages: true})
    expect(skipped.groups.map((g) => g.reference)).toEqual(['docker.io/acme/web:2.0', 'ghcr.io/acme/proxy:0.7'])
    expect(skipped.testOnlySkipped).toEqual(['docker.io/curlimages/curl:8.8.0'])
    expect(skipped.all.map((g) => g.reference)).toContain('docker.io/curlimages/curl:8.8.0')
    // Nothing is off in this chart: one render, as given.
    expect(all.renders).toEqual([{chart: 'web', version: '1.0.0', variants: [{variant: 'values as given', switchedOn: [], files: 2, objects: 2, failedFiles: []}]}])
  })

  it('records a rendered origin in the lock only for an image nothing else names, as a template origin', async () => {
    const {groups} = discoverRelease([await pulled()], {includeDisabled: true, images: [], exclude: []})
    const lock = (ref: string) => lockDiscoveries(groups.find((g) => g.reference === ref)!)
    expect(lock('docker.io/acme/web:2.0')).toEqual([{chart: 'web', source: 'docker.io/acme/web:2.0', valuesPath: 'image', kind: 'values', shape: 'repository-tag'}])
    expect(lock('ghcr.io/acme/proxy:0.7')).toEqual([{chart: 'web', source: 'ghcr.io/acme/proxy:0.7', template: 'templates/deployment.yaml', kind: 'template'}])
  })
})
