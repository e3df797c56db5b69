import {describe, expect, it} from 'vitest'
import type {ChartDependency, LoadedChart} from '../helm/types.js'
import {discoverImages, groupFindings, specFindings} from './discover.js'
import {annotationImages, templateImages} from './literals.js'
import {chartTree} from './tree.js'
import {coalesce, evaluateCondition, evaluateTags} from './values.js'

function chart(name: string, init: {values?: Record<string, unknown>; templates?: Record<string, string>; subcharts?: LoadedChart[]; deps?: ChartDependency[]; appVersion?: string; annotations?: Record<string, string>} = {}): LoadedChart {
  return {
    metadata: {
      apiVersion: 'v2',
      name,
      version: '1.0.0',
      ...(init.appVersion ? {appVersion: init.appVersion} : {}),
      ...(init.deps ? {dependencies: init.deps} : {}),
      ...(init.annotations ? {annotations: init.annotations} : {}),
    },
    values: init.values ?? {},
    templates: new Map(Object.entries(init.templates ?? {})),
    subcharts: init.subcharts ?? [],
    origin: `${name}-1.0.0.tgz`,
  }
}

const refs = (c: LoadedChart, values?: Record<string, unknown>): Array<[string, string | undefined, boolean]> =>
  discoverImages(c, {includeDisabled: true, ...(values ? {values} : {})}).map((f) => [f.reference, f.valuesPath ?? f.template, f.enabled])

describe('Helm values coalescing', () => {
  it('merges maps recursively, replaces lists and scalars, deletes on null, never mutates inputs', () => {
    const defaults = {a: {b: 1, c: [1, 2], d: {e: 'x'}}, keep: true, drop: 'me'}
    const override = {a: {c: [3], d: {f: 'y'}}, drop: null}
    const merged = coalesce(override, defaults)
    expect(merged).toEqual({a: {b: 1, c: [3], d: {e: 'x', f: 'y'}}, keep: true})
    expect(defaults).toEqual({a: {b: 1, c: [1, 2], d: {e: 'x'}}, keep: true, drop: 'me'})
    ;(merged.a as {c: number[]}).c.push(9)
    expect(override.a.c).toEqual([3])
  })

  it('evaluates conditions (first boolean path wins) and tags', () => {
    expect(evaluateCondition('redis.install,redis.enabled', {redis: {enabled: false}})).toBe(false)
    expect(evaluateCondition('redis.install,redis.enabled', {redis: {install: true, enabled: false}})).toBe(true)
    expect(evaluateCondition('redis.install', {redis: {install: 'yes'}})).toBeUndefined()
    expect(evaluateTags(['a', 'b'], {tags: {a: false, b: true}})).toBe(true)
    expect(evaluateTags(['a'], {tags: {a: false}})).toBe(false)
    expect(evaluateTags(['a'], {})).toBeUndefined()
  })

  it('gives a subchart its alias section and the parent globals, and disables children of a disabled parent', () => {
    const leaf = chart('leaf', {values: {image: {repository: 'leaf', tag: '1'}, global: {x: 'sub', y: 'sub'}}})
    const mid = chart('mid', {subcharts: [leaf], deps: [{name: 'leaf', condition: 'leaf.on'}]})
    const top = chart('top', {
      subcharts: [mid],
      deps: [{name: 'mid', alias: 'middle', condition: 'middle.enabled'}],
      values: {global: {x: 'top'}, middle: {enabled: false, leaf: {on: true, image: {tag: '2'}}}},
    })
    const nodes = chartTree(top, {}, () => undefined)
    expect(nodes.map((n) => [n.path, n.enabled])).toEqual([
      ['top', true],
      ['top/middle', false],
      ['top/middle/leaf', false],
    ])
    expect(nodes[2]!.values.global).toEqual({x: 'top', y: 'sub'})
    expect(refs(top)).toEqual([['docker.io/library/leaf:2', 'middle.leaf.image', false]])
    expect(refs(top, {middle: {enabled: true}})).toEqual([['docker.io/library/leaf:2', 'middle.leaf.image', true]])
  })

  it('enables by tags when no condition resolves, and warns about a dependency missing from charts/', () => {
    const sub = chart('sub', {values: {image: 'sub:1'}})
    const top = chart('top', {subcharts: [sub], deps: [{name: 'sub', tags: ['extras']}, {name: 'gone', version: '1.x'}], values: {tags: {extras: false}}})
    const warnings: string[] = []
    const found = discoverImages(top, {includeDisabled: true, onWarning: (m) => warnings.push(m)})
    expect(found.map((f) => [f.reference, f.enabled, f.shape])).toEqual([['docker.io/library/sub:1', false, 'string']])
    expect(warnings).toEqual(['top: dependency "gone" (chart gone 1.x) is not in charts/ of top-1.0.0.tgz; its images cannot be discovered (run helm dependency build)'])
    expect(discoverImages(top, {includeDisabled: false})).toEqual([])
  })
})

describe('image shapes in values', () => {
  it('reads repository/tag (numeric tag), digests, strings, *Image keys and list items', () => {
    const digest = `sha256:${'b'.repeat(64)}`
    const c = chart('c', {
      values: {
        a: {image: {repository: 'org/a', tag: 1.5}},
        b: {image: {repository: 'ghcr.io/org/b', digest}},
        d: {image: {repository: 'org/d', tag: '2', digest}},
        e: {initImage: 'quay.io/org/init:3'},
        f: {containers: [{name: 'x', image: 'org/f:4'}]},
        g: {image: {repository: 'org/g:5'}},
        h: {image: {repository: ''}, imagePullSecrets: ['x'], imageTag: 'nope'},
        i: {image: '{{ .Values.x }}'},
      },
    })
    expect(refs(c)).toEqual([
      ['docker.io/org/a:1.5', 'a.image', true],
      [`docker.io/org/d:2@${digest}`, 'd.image', true],
      ['docker.io/org/f:4', 'f.containers[0].image', true],
      ['docker.io/org/g:5', 'g.image', true],
      [`ghcr.io/org/b@${digest}`, 'b.image', true],
      ['quay.io/org/init:3', 'e.initImage', true],
    ])
  })

  it('reads {name, tag} maps (stakater reloader) as shape name-tag, never as repository-tag', () => {
    const digest = `sha256:${'c'.repeat(64)}`
    const c = chart('c', {
      values: {
        reloader: {deployment: {image: {name: 'ghcr.io/stakater/reloader', base: 'stakater/reloader', tag: 'v1.3.0', pullPolicy: 'IfNotPresent'}}},
        pinned: {image: {name: 'org/pinned', tag: '', digest}},
        own: {image: {name: 'quay.io/org/own:2'}},
        bare: {image: {name: 'just-a-name', pullPolicy: 'Always'}},
        repo: {image: {repository: 'org/repo', name: 'ignored', tag: '1'}},
      },
    })
    const found = discoverImages(c, {includeDisabled: true}).map((f) => [f.reference, f.valuesPath, f.shape])
    expect(found).toEqual([
      [`docker.io/org/pinned@${digest}`, 'pinned.image', 'name-tag'],
      ['docker.io/org/repo:1', 'repo.image', 'repository-tag'],
      ['ghcr.io/stakater/reloader:v1.3.0', 'reloader.deployment.image', 'name-tag'],
      ['quay.io/org/own:2', 'own.image', 'name-tag'],
    ])
  })

  it('defaults an empty tag to appVersion only when the templates do, else latest', () => {
    const values = {image: {repository: 'org/app', tag: ''}}
    const withAppVersion = chart('c', {appVersion: '2.1.0', values, templates: {'templates/d.yaml': 'image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"'}})
    const without = chart('c', {appVersion: '2.1.0', values, templates: {'templates/d.yaml': 'image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default "latest" }}"'}})
    expect(refs(withAppVersion)[0]![0]).toBe('docker.io/org/app:2.1.0')
    expect(refs(without)[0]![0]).toBe('docker.io/org/app:latest')
  })

  it('reports references that do not parse as warnings, not findings', () => {
    const warnings: string[] = []
    const found = discoverImages(chart('c', {values: {a: {image: {repository: 'Org/Upper', tag: '1'}}, b: {image: {repository: '{{ .Values.r }}'}}}}), {includeDisabled: true, onWarning: (m) => warnings.push(m)})
    expect(found).toEqual([])
    expect(warnings).toHaveLength(2)
    expect(warnings[0]).toMatch(/^c: values a\.image: not an image reference \(invalid image reference "Org\/Upper:1"/)
    expect(warnings[1]).toMatch(/^c: values b\.image: not an image reference \(templated repository/)
  })
})

describe('literal references', () => {
  it('reads artifacthub.io/images and helm.sh/images annotations', () => {
    const c = chart('c', {
      annotations: {
        'artifacthub.io/images': '- name: app\n  image: ghcr.io/org/app:1.0.0\n- name: bad\n  image: "not a ref"\n',
        'helm.sh/images': '- image: busybox:1.36\n',
      },
    })
    const warnings: string[] = []
    expect(annotationImages(c, (m) => warnings.push(m))).toEqual([
      {reference: 'ghcr.io/org/app:1.0.0', where: 'artifacthub.io/images'},
      {reference: 'docker.io/library/busybox:1.36', where: 'helm.sh/images'},
    ])
    expect(warnings).toEqual(['c-1.0.0.tgz: annotation artifacthub.io/images lists "not a ref", which is not an image reference'])
    expect(discoverImages(c, {includeDisabled: true}).map((f) => [f.reference, f.source])).toEqual([
      ['docker.io/library/busybox:1.36', 'annotation'],
      ['ghcr.io/org/app:1.0.0', 'annotation'],
    ])
  })

  it('finds literal image lines and version-tagged args, not ports, URLs, templates or comments', () => {
    const c = chart('c', {
      templates: {
        'templates/a.yaml': [
          '# image: commented:1.0',
          '{{- /*',
          'image: in-block-comment:1.0',
          '*/}}',
          '  image: {{ .Values.image }}',
          "  - image: 'docker.io/org/quoted:2.0'",
          '  args: ["--upstream=http://backend:8080", "redis-master:6379", "alpine:3.19", "--time=10:30"]',
          '  command: [sh, -c, "wget http://example.com:8080/x"]',
          '  env: {value: "{{ .Release.Name }}-svc:9.9"}',
        ].join('\n'),
        'templates/NOTES.txt': 'run busybox:1.36 to debug',
      },
    })
    expect(templateImages(c)).toEqual([
      {reference: 'docker.io/org/quoted:2.0', where: 'templates/a.yaml'},
      {reference: 'docker.io/library/alpine:3.19', where: 'templates/a.yaml'},
    ])
  })
})

describe('grouping and spec findings', () => {
  it('dedupes identical origins and groups by reference', () => {
    const c = chart('c', {values: {a: {image: 'x:1'}, b: {install: false, image: 'x:1'}}, templates: {'templates/t.yaml': 'image: x:1\nimage: x:1\n'}})
    const found = discoverImages(c, {includeDisabled: true})
    expect(found.map((f) => [f.source, f.valuesPath ?? f.template, f.enabled])).toEqual([
      ['template', 'templates/t.yaml', true],
      ['values', 'a.image', true],
      ['values', 'b.image', false],
    ])
    const groups = groupFindings([...found, ...specFindings(['docker.io/library/y:2'])])
    expect(groups.map((g) => [g.reference, g.enabled, g.origins.length])).toEqual([
      ['docker.io/library/x:1', true, 3],
      ['docker.io/library/y:2', true, 1],
    ])
    expect(groups[1]!.origins[0]).toEqual({reference: 'docker.io/library/y:2', chart: '(spec)', source: 'spec', enabled: true})
  })
})
