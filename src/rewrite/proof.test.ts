/**
 * proveRendered on small hand-written objects: each rule of the proof, one case each. The real
 * chart is proven in src/usecases/rewrite-proof.test.ts.
 */
import {describe, expect, it} from 'vitest'
import {chartSpec} from './operator-cr.js'
import {operatorMerge, operatorRenderValues} from './operator-render.js'
import {allowMatcher} from './checks.js'
import {componentOf, proveRendered, type ProofOptions, type RenderedObject} from './proof.js'
import type {MirrorMap} from '../mirror/types.js'

const D1 = `sha256:${'1'.repeat(64)}`
const D2 = `sha256:${'2'.repeat(64)}`
const MAP: MirrorMap = {
  registry: 'mirror.corp/wandb',
  keepSourceHost: false,
  charts: [],
  images: [
    {source: 'docker.io/wandb/local:0.74.1', mirror: 'mirror.corp/wandb/wandb/local:0.74.1', digest: D1, origins: []},
    {source: 'docker.io/library/busybox:1.36', mirror: 'mirror.corp/wandb/library/busybox:1.36', digest: D2, origins: []},
  ],
}
const OPTIONS: ProofOptions = {map: MAP, pinDigests: false, nodeMirrors: {containerd: false, crio: false, openshift: false}, mirrorPullSecrets: [], topChart: 'operator-wandb', namespace: 'default'}

function deployment(name: string, pod: Record<string, unknown>, template = `operator-wandb/charts/${name}/templates/deployment.yaml`): RenderedObject {
  return {template, kind: 'Deployment', name, object: {apiVersion: 'apps/v1', kind: 'Deployment', metadata: {name}, spec: {template: {spec: pod}}}}
}

const errors = (objects: RenderedObject[], options: Partial<ProofOptions> = {}) => proveRendered(objects, {...OPTIONS, ...options}).findings.filter((f) => f.severity === 'error').map((f) => f.message)
const warnings = (objects: RenderedObject[], options: Partial<ProofOptions> = {}) => proveRendered(objects, {...OPTIONS, ...options}).findings.filter((f) => f.severity === 'warning').map((f) => f.message)

describe('proveRendered', () => {
  it('accepts images in the mirror, and explains every container (init and hook containers included)', () => {
    const job: RenderedObject = {
      template: 'operator-wandb/charts/app/templates/job.yaml',
      kind: 'CronJob',
      name: 'backfill',
      object: {kind: 'CronJob', metadata: {name: 'backfill', annotations: {'helm.sh/hook': 'pre-install'}}, spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: 'run', image: `mirror.corp/wandb/wandb/local@${D1}`}]}}}}}},
    }
    const proof = proveRendered([deployment('app', {initContainers: [{name: 'wait', image: 'mirror.corp/wandb/library/busybox:1.36'}], containers: [{name: 'app', image: 'mirror.corp/wandb/wandb/local:0.74.1'}]}), job], OPTIONS)
    expect(proof.findings).toEqual([])
    expect(proof.rows).toEqual([
      {component: 'app', object: 'Deployment/app', template: 'operator-wandb/charts/app/templates/deployment.yaml', container: 'app', image: 'mirror.corp/wandb/wandb/local:0.74.1', redirection: ['values']},
      {component: 'app', object: 'Deployment/app', template: 'operator-wandb/charts/app/templates/deployment.yaml', container: 'wait (init)', image: 'mirror.corp/wandb/library/busybox:1.36', redirection: ['values']},
      {component: 'app', object: 'CronJob/backfill', template: 'operator-wandb/charts/app/templates/job.yaml', container: 'run', image: `mirror.corp/wandb/wandb/local@${D1}`, redirection: ['values'], hook: 'pre-install'},
    ])
  })

  it('refuses an image outside the mirror, and a mirror path, tag or digest the receipt does not hold, naming object and template', () => {
    const found = errors([deployment('app', {containers: [{name: 'a', image: 'quay.io/x/y:1'}, {name: 'b', image: 'mirror.corp/wandb/wandb/local:0.75.0'}, {name: 'c', image: `mirror.corp/wandb/wandb/local@${D2}`}, {name: 'd', image: 'mirror.corp/wandb/other:1'}]})])
    expect(found).toEqual([
      'Deployment/app (operator-wandb/charts/app/templates/deployment.yaml) container a: quay.io/x/y:1 is not in the mirror (repository not in the mirror map)',
      'Deployment/app (operator-wandb/charts/app/templates/deployment.yaml) container b: mirror.corp/wandb/wandb/local:0.75.0 points into the mirror, but the receipt holds only 0.74.1 there; the pod would fail to pull',
      `Deployment/app (operator-wandb/charts/app/templates/deployment.yaml) container c: mirror.corp/wandb/wandb/local@${D2} points into the mirror, but the receipt holds only 0.74.1 there; the pod would fail to pull`,
      'Deployment/app (operator-wandb/charts/app/templates/deployment.yaml) container d: mirror.corp/wandb/other:1 points into the mirror, but the receipt holds no image in that repository; the pod would fail to pull',
    ])
    expect(errors([deployment('app', {containers: [{name: 'a', image: 'quay.io/x/y:1'}]})], {allowExternal: allowMatcher('quay.io/*')})).toEqual([])
  })

  it('a mirrored source pulled by its own name passes only through the node-level config, which the row names', () => {
    const pod = deployment('t', {containers: [{name: 'wget', image: 'busybox:1.36'}]})
    expect(errors([pod])[0]).toMatch(/busybox:1\.36 is mirrored \(as mirror\.corp\/wandb\/library\/busybox:1\.36\) but the rendered object pulls it from its source, and no node-level mirror config is written/)
    const proof = proveRendered([pod], {...OPTIONS, nodeMirrors: {containerd: true, crio: true, openshift: false}})
    expect(proof.findings).toEqual([])
    expect(proof.rows[0]!.redirection).toEqual(['containerd hosts.toml', 'CRI-O registries.conf'])
  })

  it('checks every kind discovery renders images from (one table: src/kubernetes/workloads.ts), a PodTemplate and a CronJob included', () => {
    const t = 'operator-wandb/templates/x.yaml'
    const podTemplate: RenderedObject = {template: t, kind: 'PodTemplate', name: 'pt', object: {apiVersion: 'v1', kind: 'PodTemplate', metadata: {name: 'pt'}, template: {spec: {containers: [{name: 'c', image: 'quay.io/x/y:1'}]}}}}
    const cronJob: RenderedObject = {template: t, kind: 'CronJob', name: 'cj', object: {apiVersion: 'batch/v1', kind: 'CronJob', metadata: {name: 'cj'}, spec: {jobTemplate: {spec: {template: {spec: {initContainers: [{name: 'i', image: 'quay.io/x/z:1'}], containers: []}}}}}}}
    expect(errors([podTemplate, cronJob]).map((m) => m.split(' ')[0])).toEqual(['PodTemplate/pt', 'CronJob/cj'])
  })

  it('refuses imagePullSecrets entries that are not {name} objects, in pods and ServiceAccounts', () => {
    const sa: RenderedObject = {template: 'operator-wandb/charts/reloader/templates/serviceaccount.yaml', kind: 'ServiceAccount', name: 'r', object: {kind: 'ServiceAccount', imagePullSecrets: ['plain']}}
    expect(proveRendered([deployment('otel', {imagePullSecrets: [{name: ''}], containers: []}), sa], OPTIONS).findings.map((f) => [f.rule, f.object])).toEqual([
      ['pull-secret-shape', 'Deployment/otel'],
      ['pull-secret-shape', 'ServiceAccount/r'],
    ])
    expect(errors([deployment('otel', {imagePullSecrets: ['plain', {name: 'ok'}], containers: []}), sa])).toEqual([
      'Deployment/otel (operator-wandb/charts/otel/templates/deployment.yaml): imagePullSecrets[0] is "plain", not an object with a name ({name: …}); Kubernetes refuses the object',
      'ServiceAccount/r (operator-wandb/charts/reloader/templates/serviceaccount.yaml): imagePullSecrets[0] is "plain", not an object with a name ({name: …}); Kubernetes refuses the object',
    ])
  })

  it('with an authenticated mirror, every pod pulling from it needs one of the pull secrets, in its spec or its ServiceAccount', () => {
    const image = {name: 'a', image: 'mirror.corp/wandb/wandb/local:0.74.1'}
    const options = {mirrorPullSecrets: ['mirror-pull']}
    expect(errors([deployment('prometheus', {containers: [image]})], options)).toEqual([
      "Deployment/prometheus (operator-wandb/charts/prometheus/templates/deployment.yaml) pulls mirror.corp/wandb/wandb/local:0.74.1 from the authenticated mirror without a pull secret (none of mirror-pull, in its spec or ServiceAccount default); the pull would be refused",
    ])
    expect(errors([deployment('app', {imagePullSecrets: [{name: 'mirror-pull'}], containers: [image]})], options)).toEqual([])
    const sa: RenderedObject = {template: 'x/templates/sa.yaml', kind: 'ServiceAccount', name: 'runner', object: {kind: 'ServiceAccount', imagePullSecrets: [{name: 'mirror-pull'}]}}
    expect(errors([deployment('app', {serviceAccountName: 'runner', containers: [image]}), sa], options)).toEqual([])
  })

  it('warns, once per image, where --pin-digests is dropped by a template and where a tag is latest', () => {
    const map: MirrorMap = {...MAP, images: [...MAP.images, {source: 'docker.io/wandb/console:latest', mirror: 'mirror.corp/wandb/wandb/console:latest', digest: D2, origins: []}]}
    const objects = [deployment('a', {containers: [{name: 'a', image: 'mirror.corp/wandb/wandb/local:0.74.1'}]}), deployment('b', {containers: [{name: 'b', image: 'mirror.corp/wandb/wandb/local:0.74.1'}, {name: 'c', image: `mirror.corp/wandb/wandb/console:latest@${D2}`}]})]
    expect(warnings(objects, {map, pinDigests: true})).toEqual([
      `mirror.corp/wandb/wandb/console:latest@${D2} uses the tag "latest" (Deployment/b): what it runs changes whenever the tag moves; pin a version in the channel or site values`,
      '--pin-digests: mirror.corp/wandb/wandb/local:0.74.1 is pulled by tag, not digest: the template renders repository:tag only (Deployment/a (operator-wandb/charts/a/templates/deployment.yaml), Deployment/b (operator-wandb/charts/b/templates/deployment.yaml))',
    ])
    expect(warnings(objects.slice(0, 1))).toEqual([])
  })

  it('names components by chart path', () => {
    expect(componentOf('operator-wandb/charts/prometheus/charts/instance/templates/deploy.yaml', 'operator-wandb')).toBe('prometheus/instance')
    expect(componentOf('operator-wandb/templates/tests/test-connection.yaml', 'operator-wandb')).toBe('operator-wandb')
  })
})

describe('what the operator renders with', () => {
  it('spec.values over the operator defaults; maps merged, scalars of the CR kept, lists concatenated', () => {
    expect(operatorRenderValues({global: {host: 'h', operator: {namespace: 'mine'}}}, 'wandb')).toEqual({global: {host: 'h', operator: {namespace: 'mine', apiVersion: 'apps.wandb.com/v1'}}})
    expect(operatorMerge({global: {imagePullSecrets: [{name: 'a'}]}}, {global: {imagePullSecrets: [{name: 'b'}]}})).toEqual({global: {imagePullSecrets: [{name: 'a'}, {name: 'b'}]}})
  })

  it('a chart credentialSecret is written with usernameKey and passwordKey', () => {
    const chart = {name: 'operator-wandb', version: '0.43.8', repoUrl: 'https://charts.corp', ociRef: 'oci://mirror.corp/charts/operator-wandb'}
    expect(chartSpec(chart, {chartSource: 'repo', chartCredentialSecret: 'helm-creds'})).toEqual({
      url: 'https://charts.corp',
      name: 'operator-wandb',
      version: '0.43.8',
      credentialSecret: {name: 'helm-creds', usernameKey: 'HELM_USERNAME', passwordKey: 'HELM_PASSWORD'},
    })
    expect(chartSpec(chart, {chartSource: 'oci', chartCredentialSecret: 'c'})['credentialSecret']).toEqual({name: 'c', usernameKey: 'HELM_USERNAME', passwordKey: 'HELM_PASSWORD'})
  })
})
