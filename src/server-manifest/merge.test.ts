import {describe, expect, it} from 'vitest'
import {goScalarString} from './decode.js'
import {mergeManifestDocuments} from './merge.js'

describe('mergeManifestDocuments (manifest.go mergeSimple)', () => {
  it('first file wins: requiredOperatorVersion, generatedSecrets, kafka.topics', () => {
    const merged = mergeManifestDocuments([
      {requiredOperatorVersion: '^2.0.0', generatedSecrets: [{name: 'a'}], kafka: {topics: [{name: 't1'}]}},
      {requiredOperatorVersion: '^3.0.0', generatedSecrets: [{name: 'b'}], kafka: {topics: [{name: 't2'}]}},
    ])
    expect(merged).toEqual({requiredOperatorVersion: '^2.0.0', generatedSecrets: [{name: 'a'}], kafka: {topics: [{name: 't1'}]}})
  })

  it('an empty value in the first file lets a later file set it', () => {
    expect(mergeManifestDocuments([{requiredOperatorVersion: '', generatedSecrets: []}, {requiredOperatorVersion: '^2.1.0', generatedSecrets: [{name: 'b'}]}])).toEqual({
      requiredOperatorVersion: '^2.1.0',
      generatedSecrets: [{name: 'b'}],
    })
  })

  it('per key, a later file wins: features, migrations, commonEnvvars, kafka.images, kafka.sizing', () => {
    const merged = mergeManifestDocuments([
      {features: {a: true, b: false}, migrations: {m1: {image: {repository: 'x', tag: '1'}}, m2: {args: ['x']}}, kafka: {images: {e: {repository: 'e', tag: '1'}}, sizing: {dev: {replicas: 1}}}},
      {features: {b: true}, migrations: {m1: {image: {repository: 'x', tag: '2'}}}, kafka: {images: {e: {repository: 'e', tag: '2'}}, sizing: {small: {replicas: 3}}}},
    ])
    expect(merged).toEqual({
      features: {a: true, b: true},
      migrations: {m1: {image: {repository: 'x', tag: '2'}}, m2: {args: ['x']}},
      kafka: {images: {e: {repository: 'e', tag: '2'}}, sizing: {dev: {replicas: 1}, small: {replicas: 3}}},
    })
  })

  it('infra entries: a new name is taken whole; an existing one takes only ingress and sizing from a later file', () => {
    const merged = mergeManifestDocuments([
      {mysql: {default: {images: {mysql: {repository: 'a', tag: '1'}}, sizing: {dev: {replicas: 1}}}}},
      {mysql: {default: {images: {mysql: {repository: 'b', tag: '2'}}, ingress: {paths: ['/x']}, sizing: {dev: {replicas: 3}}}, reports: {images: {mysql: {repository: 'c', tag: '3'}}}}},
    ])
    expect(merged).toEqual({
      mysql: {
        default: {images: {mysql: {repository: 'a', tag: '1'}}, ingress: {paths: ['/x']}, sizing: {dev: {replicas: 3}}},
        reports: {images: {mysql: {repository: 'c', tag: '3'}}},
      },
    })
  })

  it('applications: commonEnvs entries missing from the earlier list are appended (checked against the earlier list only, as in Go)', () => {
    const merged = mergeManifestDocuments([{applications: {api: {name: 'api', commonEnvs: ['a']}}}, {applications: {api: {commonEnvs: ['a', 'b', 'b'], args: ['ignored']}}}])
    expect(merged).toEqual({applications: {api: {name: 'api', commonEnvs: ['a', 'b', 'b']}}})
  })

  it('keys the operator does not know are merged deeply (a later scalar wins) and do not touch the inputs', () => {
    const first = {extra: {a: {x: 1, y: 2}}}
    const merged = mergeManifestDocuments([first, {extra: {a: {y: 3}, b: [1]}}])
    expect(merged).toEqual({extra: {a: {x: 1, y: 3}, b: [1]}})
    expect(first).toEqual({extra: {a: {x: 1, y: 2}}})
  })
})

describe('goScalarString (sigs.k8s.io/yaml: a number or boolean decoded into a Go string)', () => {
  it.each([
    [4.35, '4.35'],
    [1.1, '1.1'],
    [0.1, '0.1'],
    [123456.5, '123456.5'],
    [1e6 + 0.5, '1.0000005e+06'],
    [0.00001, '1e-05'],
    [3.14159265358979, '3.1415927'],
    [20240101, '20240101'],
    [-2.5, '-2.5'],
    [true, 'true'],
    [false, 'false'],
  ] as const)('%s -> %s', (value, expected) => {
    expect(goScalarString(value)).toBe(expected)
  })

  it('a whole number written as a float is formatted as a float, as go-yaml resolves it', () => {
    expect(goScalarString(1234567, '1234567.0')).toBe('1.234567e+06')
    expect(goScalarString(2, '2.0')).toBe('2')
    expect(goScalarString(31, '0x1F')).toBe('31')
    expect(goScalarString(1234567, '1234567')).toBe('1234567')
  })
})
