import {describe, expect, it} from 'vitest'
import {whyMatcher} from './images.js'

describe('images --why REF matching', () => {
  const refs = [
    'registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.10.0',
    'docker.io/bitnami/redis-exporter:1.58.0-debian-12-r4',
    'docker.io/library/busybox:latest',
    'docker.io/library/busybox:1.36',
    'quay.io/prometheus/node-exporter:v1.6.1',
  ]
  const matched = (text: string) => refs.filter(whyMatcher(text).matches)

  it('matches one image exactly, or every tag of a repository when no tag is given', () => {
    expect(matched('busybox:1.36')).toEqual(['docker.io/library/busybox:1.36'])
    expect(matched('docker.io/library/busybox')).toEqual(['docker.io/library/busybox:latest', 'docker.io/library/busybox:1.36'])
    expect(matched('busybox:1.37')).toEqual([])
  })

  it('matches any registry when none is given, and the last segment for one name', () => {
    expect(matched('kube-state-metrics/kube-state-metrics')).toEqual(['registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.10.0'])
    expect(matched('redis-exporter')).toEqual(['docker.io/bitnami/redis-exporter:1.58.0-debian-12-r4'])
    expect(matched('quay.io/prometheus/node-exporter:v1.6.1')).toEqual(['quay.io/prometheus/node-exporter:v1.6.1'])
    expect(matched('ghcr.io/prometheus/node-exporter')).toEqual([])
  })

  it('refuses text that is not a reference (exit 2)', () => {
    expect(() => whyMatcher('Not A Ref!')).toThrow(expect.objectContaining({exitCode: 2}))
  })
})
