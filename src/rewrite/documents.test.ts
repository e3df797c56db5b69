import {describe, expect, it} from 'vitest'
import {parse, parseAllDocuments} from 'yaml'
import {SpecError} from '../errors.js'
import {rewriteYamlDocuments} from './documents.js'
import type {MirrorMap} from '../mirror/types.js'

const D1 = `sha256:${'1'.repeat(64)}`
const D2 = `sha256:${'2'.repeat(64)}`
const D3 = `sha256:${'3'.repeat(64)}`
const D4 = `sha256:${'4'.repeat(64)}`

const map: MirrorMap = {
  registry: 'mirror.corp:5000/ext',
  keepSourceHost: false,
  charts: [],
  images: [
    {source: 'docker.io/library/redis:latest', mirror: 'mirror.corp:5000/ext/library/redis:latest', digest: D1, origins: []},
    {source: 'docker.io/library/busybox:1.36', mirror: 'mirror.corp:5000/ext/library/busybox:1.36', digest: D2, origins: []},
    {source: 'docker.io/wandb/local:0.62.2', mirror: 'mirror.corp:5000/ext/wandb/local:0.62.2', digest: D3, origins: []},
    {source: 'docker.io/bitnamilegacy/redis:7.2.4-debian-12-r9', mirror: 'mirror.corp:5000/ext/bitnamilegacy/redis:7.2.4-debian-12-r9', digest: D4, origins: []},
    {source: 'quay.io/prometheus/prometheus:v2.47.0', mirror: 'mirror.corp:5000/ext/prometheus/prometheus:v2.47.0', digest: D4, origins: []},
  ],
}

const VALUES = `# Values for my app
app:
  # main image, pinned by the release
  image:
    repository: wandb/local   # Docker Hub
    tag: '0.62.2'
    pullPolicy: IfNotPresent

cache:
  image: "redis" # bare name means docker.io/library/redis:latest

redis:
  image:
    registry: docker.io
    repository: bitnamilegacy/redis
    tag: 7.2.4-debian-12-r9

prometheus:
  server:
    image:
      repository: quay.io/prometheus/prometheus
      # tag comes from the chart appVersion

sidecars:
  - name: helper
    image: ghcr.io/acme/helper:1.0 # not mirrored
  - name: tpl
    image: "{{ .Values.helperImage }}"
already: mirror.corp:5000/ext/wandb/local:0.62.2
other:
  image: mirror.corp:5000/ext/wandb/local:0.62.2
`

const MANIFESTS = `# Rendered by helm template
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      initContainers:
        - name: wait
          image: busybox:1.36 # wait for the db
      containers:
        - name: web
          image: "docker.io/wandb/local:0.62.2"
---
# nightly job
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
            - name: prep
              image: index.docker.io/library/busybox:1.36
          containers:
            - name: run
              image: 'redis@${D1}'
          restartPolicy: Never
---
apiVersion: v1
kind: Pod
metadata:
  name: debug
spec:
  containers:
    - name: c
      image: quay.io/unknown/tool:2
  ephemeralContainers:
    - name: e
      image: busybox:1.36
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: not-an-image
data:
  image: redis
`

function comments(text: string): string[] {
  return text.split('\n').flatMap((l) => (l.includes('#') ? [l.slice(l.indexOf('#')).trim()] : []))
}

describe('rewriteYamlDocuments', () => {
  it('rewrites a commented values file in place: comments, order and quoting survive', () => {
    const result = rewriteYamlDocuments(VALUES, map, {file: 'values.yaml'})
    expect(comments(result.text)).toEqual(comments(VALUES))
    expect(result.text).toContain(`tag: '0.62.2'`)
    expect(result.text).toContain(`image: "mirror.corp:5000/ext/library/redis:latest" # bare name means docker.io/library/redis:latest`)
    const v = parse(result.text) as Record<string, any>
    expect(Object.keys(v)).toEqual(['app', 'cache', 'redis', 'prometheus', 'sidecars', 'already', 'other'])
    expect(v.app.image).toEqual({repository: 'mirror.corp:5000/ext/wandb/local', tag: '0.62.2', pullPolicy: 'IfNotPresent'})
    expect(v.redis.image).toEqual({registry: 'mirror.corp:5000/ext', repository: 'bitnamilegacy/redis', tag: '7.2.4-debian-12-r9'})
    // no tag written: the one mirrored version is pinned
    expect(v.prometheus.server.image).toEqual({repository: 'mirror.corp:5000/ext/prometheus/prometheus', tag: 'v2.47.0'})
    expect(result.changes.map((c) => [c.path, c.from, c.to, c.line])).toEqual([
      ['app.image', 'wandb/local:0.62.2', 'mirror.corp:5000/ext/wandb/local:0.62.2', 5],
      ['cache.image', 'redis', 'mirror.corp:5000/ext/library/redis:latest', 10],
      ['redis.image', 'docker.io/bitnamilegacy/redis:7.2.4-debian-12-r9', 'mirror.corp:5000/ext/bitnamilegacy/redis:7.2.4-debian-12-r9', 15],
      ['prometheus.server.image', 'quay.io/prometheus/prometheus', 'mirror.corp:5000/ext/prometheus/prometheus:v2.47.0', 21],
    ])
    expect(result.unresolved).toEqual([
      {path: 'sidecars[0].image', document: 0, ref: 'ghcr.io/acme/helper:1.0', line: 26, reason: 'repository not in the mirror map'},
    ])
  })

  it('rewrites containers, initContainers, ephemeralContainers and CronJob jobTemplates of a multi-document manifest', () => {
    const result = rewriteYamlDocuments(MANIFESTS, map, {file: 'rendered.yaml'})
    expect(comments(result.text)).toEqual(comments(MANIFESTS))
    const docs = parseAllDocuments(result.text) as Array<{toJSON(): any}>
    expect(docs).toHaveLength(4)
    const [deploy, cron, pod, cm] = docs.map((d) => d.toJSON())
    expect(deploy.spec.template.spec.initContainers[0].image).toBe('mirror.corp:5000/ext/library/busybox:1.36')
    expect(deploy.spec.template.spec.containers[0].image).toBe('mirror.corp:5000/ext/wandb/local:0.62.2')
    const job = cron.spec.jobTemplate.spec.template.spec
    expect(job.initContainers[0].image).toBe('mirror.corp:5000/ext/library/busybox:1.36')
    // written by digest: found by digest, pinned
    expect(job.containers[0].image).toBe(`mirror.corp:5000/ext/library/redis@${D1}`)
    expect(pod.spec.ephemeralContainers[0].image).toBe('mirror.corp:5000/ext/library/busybox:1.36')
    expect(pod.spec.containers[0].image).toBe('quay.io/unknown/tool:2')
    expect(cm.data.image).toBe('redis') // a ConfigMap's data is not an image field
    expect(result.unresolved).toEqual([{path: 'spec.containers[0].image', document: 2, ref: 'quay.io/unknown/tool:2', line: 42, reason: 'repository not in the mirror map'}])
    expect(result.changes.map((c) => [c.document, c.path])).toEqual([
      [0, 'spec.template.spec.initContainers[0].image'],
      [0, 'spec.template.spec.containers[0].image'],
      [1, 'spec.jobTemplate.spec.template.spec.initContainers[0].image'],
      [1, 'spec.jobTemplate.spec.template.spec.containers[0].image'],
      [2, 'spec.ephemeralContainers[0].image'],
    ])
    expect(result.text).toContain(`image: "mirror.corp:5000/ext/wandb/local:0.62.2"`)
  })

  it('pins digests on request: strings get @digest, maps get a digest key', () => {
    const result = rewriteYamlDocuments(VALUES, map, {file: 'values.yaml', pinDigests: true})
    const v = parse(result.text) as Record<string, any>
    expect(v.cache.image).toBe(`mirror.corp:5000/ext/library/redis:latest@${D1}`)
    expect(v.app.image.digest).toBe(D3)
    expect(v.redis.image.digest).toBe(D4)
  })

  it('lists a tag that was not mirrored as unresolved, and leaves it untouched', () => {
    const text = 'image: redis:7.0 # old\n'
    const result = rewriteYamlDocuments(text, map, {file: 'v.yaml'})
    expect(result.text).toBe(text)
    expect(result.unresolved).toEqual([{path: 'image', document: 0, ref: 'redis:7.0', line: 1, reason: 'tag 7.0 not mirrored (mirrored: latest)'}])
  })

  it('keeps numeric-looking tags as strings', () => {
    const m: MirrorMap = {...map, images: [{source: 'docker.io/library/busybox:1.10', mirror: 'mirror.corp:5000/ext/library/busybox:1.10', digest: D2, origins: []}]}
    const result = rewriteYamlDocuments('image:\n  repository: busybox\n  tag: 1.10\n', m, {file: 'v.yaml'})
    expect(result.changes).toHaveLength(1)
    expect((parse(result.text) as any).image.tag).toBe('1.10')
  })

  it('reports a syntax error with file and line', () => {
    expect(() => rewriteYamlDocuments('a: [1\nb: 2\n', map, {file: 'bad.yaml'})).toThrow(SpecError)
    expect(() => rewriteYamlDocuments('a: [1\nb: 2\n', map, {file: 'bad.yaml'})).toThrow(/^bad\.yaml:\d+:\d+: YAML syntax error/)
  })

  it('when a key must be added to a flow map, re-serialises with YAML 1.1 semantics (0755 stays octal)', () => {
    const text = 'mode: 0755 # rwx\nflag: yes\nimage: {repository: busybox}\n'
    const result = rewriteYamlDocuments(text, map, {file: 'v.yaml'})
    expect(result.text).toContain('mode: 0755 # rwx')
    expect(result.text).toContain('flag: yes')
    expect(result.text).toMatch(/image: \{ repository: mirror\.corp:5000\/ext\/library\/busybox, tag: "?1\.36"? \}/)
  })

  it('rewrites {name, tag} image maps (stakater reloader) at name, never adding repository', () => {
    const text = `reloader:\n  reloader:\n    deployment:\n      image:\n        name: quay.io/prometheus/prometheus # upstream\n        base: prometheus/prometheus\n        tag: v2.47.0\n        pullPolicy: IfNotPresent\nnotImage:\n  image:\n    name: just-a-label\n`
    const result = rewriteYamlDocuments(text, map, {file: 'v.yaml'})
    expect(result.changes).toEqual([{path: 'reloader.reloader.deployment.image', document: 0, from: 'quay.io/prometheus/prometheus:v2.47.0', to: 'mirror.corp:5000/ext/prometheus/prometheus:v2.47.0', line: 5}])
    expect(result.text).toBe(text.replace('name: quay.io/prometheus/prometheus', 'name: mirror.corp:5000/ext/prometheus/prometheus'))
    const pinned = rewriteYamlDocuments(text, map, {file: 'v.yaml', pinDigests: true}).text
    expect((parse(pinned) as any).reloader.reloader.deployment.image).toEqual({name: 'mirror.corp:5000/ext/prometheus/prometheus', digest: D4, base: 'prometheus/prometheus', tag: 'v2.47.0', pullPolicy: 'IfNotPresent'})
    expect(pinned).toContain('        name: mirror.corp:5000/ext/prometheus/prometheus # upstream\n        digest: ')
  })

  it('leaves the text byte-identical when nothing is in the map', () => {
    expect(rewriteYamlDocuments(MANIFESTS.replace(/busybox|redis|wandb\/local/g, 'x/unknown'), map, {file: 'm.yaml'}).changes).toEqual([])
  })
})
