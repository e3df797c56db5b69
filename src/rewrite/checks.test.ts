import {describe, expect, it} from 'vitest'
import {findExternalImages} from './checks.js'
import {validateCr} from './io.js'
import type {MirrorMap} from '../mirror/types.js'

const map: MirrorMap = {registry: 'registry.corp:5000/mirror', keepSourceHost: false, images: [], charts: []}

const CR = (spec: string) => `apiVersion: apps.wandb.com/v1\nkind: WeightsAndBiases\nmetadata:\n  name: wandb\nspec:\n${spec}`

describe('validateCr (real CRD schema)', () => {
  it('accepts a minimal air-gapped CR with a local chart', () => {
    expect(validateCr(CR('  chart:\n    path: /charts/operator-wandb\n  values: {}\n'))).toEqual([])
  })

  it('names the path of each problem', () => {
    expect(validateCr(CR('  chrt:\n    path: /charts/x\n  values: []\n'))).toEqual([
      {path: 'spec.chrt', message: 'is not in the CRD schema (Kubernetes would drop it)'},
      {path: 'spec.values', message: 'must be object'},
      {path: 'spec.chart', message: 'is required in air-gapped mode (the operator reads no release channel)'},
    ])
    expect(validateCr(CR('  chart:\n    url: https://charts.corp\n')).map((p) => p.path)).toEqual(['spec.chart.name'])
    expect(validateCr(CR('  chart:\n    url: ftp://charts.corp\n    name: x\n')).map((p) => p.path)).toEqual(['spec.chart.url'])
    expect(validateCr('apiVersion: apps.wandb.com/v2\nkind: WeightsAndBiases\nmetadata:\n  name: Bad_Name\nspec:\n  chart: {path: /c}\n').map((p) => p.path)).toEqual(['apiVersion', 'metadata.name'])
    expect(validateCr('kind: X\n---\nkind: Y\n')[0]!.message).toBe('expected exactly one YAML document')
  })
})

describe('findExternalImages', () => {
  const texts = [
    {file: 'operator.yaml', text: 'spec:\n  values:\n    a:\n      image:\n        repository: registry.corp:5000/mirror/wandb/local\n        tag: "1"\n    b:\n      image:\n        registry: registry.corp:5000/mirror\n        repository: bitnamilegacy/redis\n    c:\n      image: docker.io/library/busybox:1.36\n    d:\n      image:\n        repository: quay.io/prometheus/prometheus\n'},
    {file: 'deploy.yaml', text: 'apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - image: registry.corp:5000/mirror/x:1\n        - image: registry.corp:5000/other/y:1\n'},
  ]

  it('lists every reference outside the mirror, with file, path and line', () => {
    expect(findExternalImages(texts, map).external).toEqual([
      {file: 'operator.yaml', document: 0, path: 'spec.values.c.image', line: 12, ref: 'docker.io/library/busybox:1.36'},
      {file: 'operator.yaml', document: 0, path: 'spec.values.d.image', line: 15, ref: 'quay.io/prometheus/prometheus'},
      {file: 'deploy.yaml', document: 0, path: 'spec.template.spec.containers[1].image', line: 8, ref: 'registry.corp:5000/other/y:1'},
    ])
  })

  it('flags an un-rewritten {name, tag} image map (stakater reloader) and passes a rewritten one', () => {
    const text = 'reloader:\n  reloader:\n    deployment:\n      image:\n        name: ghcr.io/stakater/reloader\n        tag: v1.3.0\nmirrored:\n  image:\n    name: registry.corp:5000/mirror/stakater/reloader\n    tag: v1.3.0\nlabel:\n  image:\n    name: not-an-image-map\n'
    expect(findExternalImages([{file: 'values.yaml', text}], map).external).toEqual([
      {file: 'values.yaml', document: 0, path: 'reloader.reloader.deployment.image', line: 5, ref: 'ghcr.io/stakater/reloader:v1.3.0'},
    ])
  })

  it('honours allowExternal by repository, exact reference and glob', () => {
    expect(findExternalImages(texts, map, ['busybox', 'quay.io/*', 'registry.corp:5000/other/y:1']).external).toEqual([])
    expect(findExternalImages(texts, map, ['busybox:1.0']).external.map((e) => e.ref)).toContain('docker.io/library/busybox:1.36')
  })
})
