/**
 * Values for the v2 operator chart (wandb/operator `deploy/operator`, 2.0.0-beta.3) installed from
 * a mirror: every dependency chart's image at the mirror, the operator's CA trust for the manifest
 * pull, pull secrets, and `wandb.install: false` (the chart would otherwise create its own
 * WeightsAndBiases resource, which reads the public manifest). Pure.
 *
 * Image value keys, per dependency (key paths under the operator chart; the shapes are those of the
 * dependency charts' values.yaml):
 *
 *   wandb-operator (wandb-base)     wandb-operator.image.{repository,tag}   also the crd-installer hook Job's image
 *   moco                            moco.image.{repository,tag}
 *   redis-operator                  redis-operator.redisOperator.{imageName,imageTag}
 *   seaweedfs-operator              seaweedfs-operator.image.{registry,repository,tag}   (rendered registry/repository:tag)
 *   altinity-clickhouse-operator    altinity-clickhouse-operator.operator.image.{repository,tag},
 *                                   altinity-clickhouse-operator.metrics.image.{repository,tag}
 *   victoria-metrics-operator       victoria-metrics-operator.image.{repository,tag} (registry cleared)
 *   grafana-operator                grafana-operator.image.{repository,tag}
 *   prometheus-operator-crds        CRDs only, no image
 *   telemetry (local)               its OTLP gateway image is written in the template: no value redirects it
 */
import {Document} from 'yaml'
import {UsageError} from '../errors.js'
import {parseReference, repositoryName} from '../oci/reference.js'
import {mergeInto} from './overrides.js'
import {mirrorTarget} from './relocate.js'
import type {MirroredImage, MirrorMap} from '../mirror/types.js'

type Shape = 'repository-tag' | 'registry-repository-tag' | 'name-tag'

/** Where the operator chart reads each dependency's image; `source` is the image's repository as pulled. */
export const OPERATOR_V2_IMAGE_VALUES: ReadonlyArray<{chart: string; path: string; shape: Shape; source: string}> = [
  {chart: 'wandb-operator', path: 'wandb-operator.image', shape: 'repository-tag', source: 'us-docker.pkg.dev/wandb-production/public/wandb/operator'},
  {chart: 'moco', path: 'moco.image', shape: 'repository-tag', source: 'ghcr.io/cybozu-go/moco'},
  {chart: 'redis-operator', path: 'redis-operator.redisOperator', shape: 'name-tag', source: 'ghcr.io/ot-container-kit/redis-operator/redis-operator'},
  {chart: 'seaweedfs-operator', path: 'seaweedfs-operator.image', shape: 'registry-repository-tag', source: 'docker.io/chrislusf/seaweedfs-operator'},
  {chart: 'altinity-clickhouse-operator', path: 'altinity-clickhouse-operator.operator.image', shape: 'repository-tag', source: 'docker.io/altinity/clickhouse-operator'},
  {chart: 'altinity-clickhouse-operator', path: 'altinity-clickhouse-operator.metrics.image', shape: 'repository-tag', source: 'docker.io/altinity/metrics-exporter'},
  {chart: 'victoria-metrics-operator', path: 'victoria-metrics-operator.image', shape: 'repository-tag', source: 'docker.io/victoriametrics/operator'},
  {chart: 'grafana-operator', path: 'grafana-operator.image', shape: 'repository-tag', source: 'ghcr.io/grafana-operator/grafana-operator'},
]

export interface OperatorV2ValuesOptions {
  /** Images pushed for the operator chart (the receipt's mirror map). */
  map: MirrorMap
  /** PEM certificates the operator trusts for the manifest pull (`wandb-operator.caCerts.certs`). */
  caCerts?: readonly string[]
  /** Pull secrets (`global.imagePullSecrets` and `wandb-operator.imagePullSecrets`). */
  pullSecrets?: readonly string[]
  /** Also set each image's digest where the chart reads one (only `wandb-operator.image`). */
  pinDigests?: boolean
  /** Values of the manifest's file route (buildWandbV2Cr), merged in. */
  extra?: Record<string, unknown>
}

export interface OperatorV2Values {
  valuesYaml: string
  values: Record<string, unknown>
  warnings: string[]
}

/** Operator chart values for a mirror; the operator's own image must be in the map. */
export function buildOperatorV2Values(options: OperatorV2ValuesOptions): OperatorV2Values {
  const byRepository = new Map<string, MirroredImage>()
  for (const image of options.map.images) byRepository.set(repositoryName(parseReference(image.source)), image)
  const values: Record<string, unknown> = {wandb: {install: false}}
  const warnings: string[] = []
  for (const entry of OPERATOR_V2_IMAGE_VALUES) {
    const image = byRepository.get(entry.source)
    if (image === undefined) {
      if (entry.chart === 'wandb-operator') {
        throw new UsageError(`the v2 operator image ${entry.source} is not in the mirror map`, {hint: 'pull the v2 operator chart (with its images) and push again'})
      }
      warnings.push(`${entry.path}: ${entry.source} is not in the mirror map; if ${entry.chart} is enabled its pod pulls from upstream`)
      continue
    }
    mergeInto(values, nested(entry.path, imageValue(image, entry.shape, options.pinDigests === true && entry.chart === 'wandb-operator')))
  }
  const pems = (options.caCerts ?? []).map((c) => c.trim()).filter((c) => c !== '')
  if (pems.length > 0) mergeInto(values, {'wandb-operator': {caCerts: {certs: [...new Set(pems)].map((c) => `${c}\n`)}}})
  const secrets = [...new Set(options.pullSecrets ?? [])].map((name) => ({name}))
  if (secrets.length > 0) mergeInto(values, {global: {imagePullSecrets: secrets}, 'wandb-operator': {imagePullSecrets: secrets}})
  if (options.extra !== undefined) mergeInto(values, options.extra)
  warnings.push('the telemetry subchart writes its OTLP gateway image in the template; with telemetry.mode other than "off" nodes need a registry mirror for it')
  const doc = new Document(values)
  doc.commentBefore = ' Generated by airgap rewrite: values for the W&B v2 operator chart (deploy/operator), images from the mirror.\n Install: helm upgrade --install operator <mirrored operator chart> -n <namespace> -f this-file'
  return {valuesYaml: doc.toString({lineWidth: 0}), values, warnings}
}

function imageValue(image: MirroredImage, shape: Shape, digest: boolean): Record<string, unknown> {
  const t = mirrorTarget(image)
  const tag = t.tag ?? ''
  switch (shape) {
    case 'name-tag':
      return {imageName: t.repository, imageTag: tag}
    case 'registry-repository-tag': {
      const slash = t.repository.indexOf('/')
      return {registry: t.repository.slice(0, slash), repository: t.repository.slice(slash + 1), tag}
    }
    case 'repository-tag':
      return digest ? {repository: t.repository, tag, digest: t.digest} : {repository: t.repository, tag}
  }
}

function nested(path: string, value: unknown): Record<string, unknown> {
  return path
    .split('.')
    .reverse()
    .reduce<unknown>((acc, key) => ({[key]: acc}), value) as Record<string, unknown>
}
