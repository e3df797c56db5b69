/**
 * Kubernetes workload shapes, no I/O: where each pod-bearing kind keeps its pod spec, and the
 * container lists of a pod spec. The one table that discovery by rendering (src/discover), the
 * rewrite of image sites (src/rewrite/sites.ts) and the rendering proof (src/rewrite/proof.ts) read,
 * so that a kind one of them knows is never missed by another.
 */

/** Where the pod spec sits in each pod-bearing kind. */
export const POD_SPEC_PATHS: Readonly<Record<string, readonly string[]>> = {
  Pod: ['spec'],
  PodTemplate: ['template', 'spec'],
  Deployment: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
}

/** The container lists of a pod spec, main containers first. */
export const CONTAINER_LISTS = ['containers', 'initContainers', 'ephemeralContainers'] as const
export type ContainerList = (typeof CONTAINER_LISTS)[number]
