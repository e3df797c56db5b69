import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {SpecError, UsageError} from '../errors.js'
import {validateCr} from './io.js'
import {buildOperatorCr, CONFIGMAP_LIMIT_BYTES} from './operator-cr.js'
import type {MirrorMap} from '../mirror/types.js'

const D = `sha256:${'b'.repeat(64)}`

function mapWith(tgz?: Uint8Array): MirrorMap {
  return {
    registry: 'registry.corp:5000/mirror',
    keepSourceHost: false,
    images: [{source: 'docker.io/wandb/local:0.62.2', mirror: 'registry.corp:5000/mirror/wandb/local:0.62.2', digest: D, origins: [{chart: 'operator-wandb', valuesPath: 'app.image', source: 'values', shape: 'repository-tag'}]}],
    charts: [{name: 'operator-wandb', version: '0.43.8', ...(tgz ? {tgz} : {})}],
  }
}

describe('buildOperatorCr ConfigMap route', () => {
  it('points spec.chart at /charts and emits the wandb-charts ConfigMap with the base64 chart', () => {
    const tgz = new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2, 3, 4])
    const {operatorYaml, configMapYaml, warnings} = buildOperatorCr({map: mapWith(tgz), chartSource: 'configmap', namespace: 'wandb', operatorNamespace: 'wandb-operator'})
    expect((parse(operatorYaml) as any).spec.chart).toEqual({path: '/charts/operator-wandb'})
    expect(validateCr(operatorYaml)).toEqual([])
    const cm = parse(configMapYaml!) as any
    expect(cm).toEqual({apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: 'wandb-charts', namespace: 'wandb-operator'}, data: {'operator-wandb': Buffer.from(tgz).toString('base64')}})
    expect(warnings.some((w) => w.includes('--server-side'))).toBe(true)
  })

  it('refuses a chart whose ConfigMap would pass 1 MiB, naming the size and the limit', () => {
    const tgz = new Uint8Array(800 * 1024) // base64 ~1.07 MB
    let error: unknown
    try {
      buildOperatorCr({map: mapWith(tgz), chartSource: 'configmap'})
    } catch (err) {
      error = err
    }
    expect(error).toBeInstanceOf(UsageError)
    const message = (error as UsageError).message
    expect(message).toMatch(/ConfigMap wandb-charts would be (\d+) bytes/)
    expect(Number(/would be (\d+) bytes/.exec(message)![1])).toBeGreaterThan(CONFIGMAP_LIMIT_BYTES)
    expect(message).toContain('1 MiB (1048576 bytes)')
    expect((error as UsageError).hint).toMatch(/chart source repo|oci/)
  })

  it('accepts a chart just under the limit (the whole object is counted)', () => {
    const fits = new Uint8Array(Math.floor(((CONFIGMAP_LIMIT_BYTES - 200) / 4) * 3))
    expect(() => buildOperatorCr({map: mapWith(fits), chartSource: 'configmap'})).not.toThrow()
    const over = new Uint8Array(Math.floor((CONFIGMAP_LIMIT_BYTES / 4) * 3))
    expect(() => buildOperatorCr({map: mapWith(over), chartSource: 'configmap'})).toThrow(UsageError)
  })
})

describe('buildOperatorCr inputs', () => {
  it('refuses a route the map has no location for', () => {
    expect(() => buildOperatorCr({map: mapWith(), chartSource: 'repo'})).toThrow(/chart operator-wandb 0.43.8 has no Helm repository URL in the mirror map, so the "repo" chart source cannot be used/)
    expect(() => buildOperatorCr({map: mapWith(), chartSource: 'oci'})).toThrow(UsageError)
    expect(() => buildOperatorCr({map: mapWith(), chartSource: 'configmap'})).toThrow(/no package/)
    expect(() => buildOperatorCr({map: {...mapWith(), charts: []}, chartSource: 'repo'})).toThrow(/chart operator-wandb is not in the mirror map/)
  })

  it('reports bad site values with file and line', () => {
    const map = {...mapWith(), charts: [{name: 'operator-wandb', version: '1', repoUrl: 'https://c'}]}
    expect(() => buildOperatorCr({map, chartSource: 'repo', siteValues: 'a:\n  b: [\n', siteFile: 'site.yaml'})).toThrow(SpecError)
    expect(() => buildOperatorCr({map, chartSource: 'repo', siteValues: '- a\n- b\n', siteFile: 'site.yaml'})).toThrow(/site\.yaml:1:1: values must be a YAML map/)
    // An alias bomb is a spec error naming the file (it used to escape as an internal error, exit 70).
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...'bcdefgh'.split('').map((k, i) => `${k}: &${k} [${Array(10).fill(`*${'abcdefgh'[i]}`).join(', ')}]`)].join('\n')
    expect(() => buildOperatorCr({map, chartSource: 'repo', siteValues: bomb, siteFile: 'bomb.yaml'})).toThrow(/bomb\.yaml: its aliases expand past 100 nodes/)
    expect(() => buildOperatorCr({map, chartSource: 'repo', siteValues: bomb, siteFile: 'bomb.yaml'})).toThrow(SpecError)
  })

  it('null site values in the path are replaced by the override map', () => {
    const map = {...mapWith(), charts: [{name: 'operator-wandb', version: '1', repoUrl: 'https://c'}]}
    const {operatorYaml} = buildOperatorCr({map, chartSource: 'repo', siteValues: 'app: # nothing yet\n'})
    expect((parse(operatorYaml) as any).spec.values.app.image).toEqual({repository: 'registry.corp:5000/mirror/wandb/local', tag: '0.62.2'})
  })

  it('warns when the site pins a tag other than the mirrored one (the mirrored tag wins)', () => {
    const map = {...mapWith(), charts: [{name: 'operator-wandb', version: '1', repoUrl: 'https://c'}]}
    const {operatorYaml, warnings} = buildOperatorCr({map, chartSource: 'repo', siteValues: 'app:\n  image:\n    tag: 0.63.0\n'})
    expect((parse(operatorYaml) as any).spec.values.app.image.tag).toBe('0.62.2')
    expect(warnings).toContain('site values set app.image.tag 0.63.0, which is not mirrored; the CR uses the mirrored 0.62.2')
  })
})
