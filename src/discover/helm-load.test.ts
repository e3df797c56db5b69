/** Discovery over a chart loaded by src/helm from real files (the contract between the two modules). */
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {loadChartFiles} from '../helm/load.js'
import {discoverImages} from './discover.js'

const fixture = (name: string): Buffer => readFileSync(fileURLToPath(new URL(`../../test/fixtures/wandb/${name}`, import.meta.url)))

describe('discoverImages on charts loaded by src/helm', () => {
  it('finds the controller image of the real operator chart files', async () => {
    const files = new Map<string, Buffer>([
      ['Chart.yaml', fixture('operator-Chart.yaml')],
      ['values.yaml', fixture('operator-values.yaml')],
      ['templates/deployment.yaml', Buffer.from('image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"\n')],
    ])
    const chart = await loadChartFiles(files, 'operator-1.4.8.tgz')
    const found = discoverImages(chart, {includeDisabled: true, values: {image: {tag: '1.22.0'}}})
    expect(found.map((f) => [f.reference, f.valuesPath, f.chart])).toEqual([['docker.io/wandb/controller:1.22.0', 'image', 'operator']])
  })

  it('follows an aliased subchart directory under charts/', async () => {
    const files = new Map<string, Buffer>([
      ['Chart.yaml', Buffer.from('apiVersion: v2\nname: top\nversion: 1.0.0\ndependencies:\n  - {name: base, alias: web, version: 0.1.0, condition: web.install}\n')],
      ['values.yaml', Buffer.from('web:\n  install: false\n  image: {repository: org/web, tag: "2"}\n')],
      ['charts/base/Chart.yaml', Buffer.from('apiVersion: v2\nname: base\nversion: 0.1.0\n')],
      ['charts/base/values.yaml', Buffer.from('image: {repository: nginx, tag: ""}\n')],
      ['charts/base/templates/d.yaml', Buffer.from('image: {{ .Values.image.repository }}\n')],
    ])
    const chart = await loadChartFiles(files, 'top-1.0.0.tgz')
    expect(discoverImages(chart, {includeDisabled: true}).map((f) => [f.reference, f.valuesPath, f.enabled])).toEqual([['docker.io/org/web:2', 'web.image', false]])
  })
})
