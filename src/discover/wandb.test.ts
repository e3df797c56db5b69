/**
 * The reference case: operator-wandb 0.43.8 built from the REAL Chart.yaml and values.yaml of
 * wandb/helm-charts (test/fixtures/wandb, copied from the shared fixtures), with wandb-base's real values for every alias, and small
 * synthetic subcharts (redis, prometheus, otel, kafka, …) shaped like the upstream charts, since
 * only data files are in the fixtures. Every image of wandb-operator.md §6 must be found.
 */
import {readFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'
import {describe, expect, it} from 'vitest'
import {operatorWandb, TABLE} from '../../test/support/wandb-chart.js'
import {parseChannelResponse} from '../release/channel.js'
import {discoverImages, groupFindings} from './discover.js'
import type {Finding} from './types.js'

const manifests = new URL('../../manifests/', import.meta.url)

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
    expect(at(all, 'reloader.reloader.deployment.image')[0]).toMatchObject({chart: 'operator-wandb/reloader', shape: 'name-tag', valuesKeys: ['reloader', 'reloader', 'deployment', 'image']})
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
