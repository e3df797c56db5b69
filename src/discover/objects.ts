/**
 * Container images of rendered Kubernetes objects: the pod spec of every pod-bearing kind
 * (Pod, PodTemplate, Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController, Job,
 * CronJob, and any other kind with a `spec.template.spec` pod template, e.g. Argo Rollouts), its
 * containers, init containers and ephemeral containers; and the known custom resources that
 * carry an image outside a pod spec (prometheus-operator Prometheus, PrometheusAgent,
 * Alertmanager and ThanosRuler: `spec.image` and their `containers` / `initContainers`).
 * Objects of `helm test` hooks (`helm.sh/hook: test` / `test-success`) are marked.
 */
import type {KubernetesObject} from '../render/index.js'
import {DEFAULT_TAG, formatReference, parseReference} from '../oci/reference.js'
import {isMap} from './values.js'
import {CONTAINER_LISTS, POD_SPEC_PATHS} from '../kubernetes/workloads.js'

export interface ObjectImage {
  /** Normalised reference, or undefined with `problem` when the text is not a reference. */
  reference?: string
  problem?: string
  /** The text as rendered. */
  written: string
  /** Rendered template file: `operator-wandb/charts/app/templates/deployment.yaml`. */
  templateFile: string
  kind: string
  name: string
  /** `containers[app]`, `initContainers[init-db]`, `spec.image` … */
  container: string
  /** The object is a `helm test` hook (and no other hook). */
  testHook: boolean
}

/** prometheus-operator kinds whose `spec.image` is the main container's image, and whose spec holds extra containers. */
const PROMETHEUS_OPERATOR_KINDS = new Set(['Prometheus', 'PrometheusAgent', 'Alertmanager', 'ThanosRuler'])
const TEST_HOOKS = new Set(['test', 'test-success'])

/** Every container image of the objects, in object order. */
export function objectImages(objects: readonly KubernetesObject[]): ObjectImage[] {
  const out: ObjectImage[] = []
  for (const o of objects) {
    const base = {templateFile: o.template, kind: o.kind, name: o.name, testHook: isTestHook(o.object)}
    const add = (value: unknown, container: string): void => {
      if (typeof value !== 'string' || value.trim() === '') return
      out.push({...base, container, written: value, ...normalise(value)})
    }
    const podSpec = podSpecOf(o)
    if (podSpec) for (const c of containersOf(podSpec)) add(c.image, c.where)
    if (PROMETHEUS_OPERATOR_KINDS.has(o.kind) && o.apiVersion.startsWith('monitoring.coreos.com/')) {
      const spec = o.object.spec
      if (isMap(spec)) {
        add(spec.image, 'spec.image')
        for (const c of containersOf(spec)) add(c.image, `spec.${c.where}`)
      }
    }
  }
  return out
}

function podSpecOf(o: KubernetesObject): Record<string, unknown> | undefined {
  const path = POD_SPEC_PATHS[o.kind] ?? ['spec', 'template', 'spec']
  let cur: unknown = o.object
  for (const key of path) {
    if (!isMap(cur)) return undefined
    cur = cur[key]
  }
  return isMap(cur) ? cur : undefined
}

function containersOf(spec: Record<string, unknown>): Array<{image: unknown; where: string}> {
  const out: Array<{image: unknown; where: string}> = []
  for (const list of CONTAINER_LISTS) {
    const items = spec[list]
    if (!Array.isArray(items)) continue
    items.forEach((c, i) => {
      if (!isMap(c)) return
      const name = typeof c.name === 'string' && c.name !== '' ? c.name : String(i)
      out.push({image: c.image, where: `${list}[${name}]`})
    })
  }
  return out
}

function isTestHook(object: Record<string, unknown>): boolean {
  const annotations = isMap(object.metadata) ? object.metadata.annotations : undefined
  const hook = isMap(annotations) ? annotations['helm.sh/hook'] : undefined
  if (typeof hook !== 'string') return false
  const hooks = hook.split(',').map((h) => h.trim()).filter((h) => h !== '')
  return hooks.length > 0 && hooks.every((h) => TEST_HOOKS.has(h)) // `test,post-install` also runs at install
}

/** A reference without tag or digest runs `latest`, as the kubelet pulls it. */
function normalise(text: string): {reference: string} | {problem: string} {
  try {
    const ref = parseReference(text.trim())
    if (ref.tag === undefined && ref.digest === undefined) ref.tag = DEFAULT_TAG
    return {reference: formatReference(ref)}
  } catch (err) {
    return {problem: (err as Error).message}
  }
}
