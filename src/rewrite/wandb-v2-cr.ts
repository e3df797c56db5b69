/**
 * The `WeightsAndBiases` resource for the v2 operator (apps.wandb.com/v2) pointing at a mirror,
 * and, for a mirror the operator cannot reach over HTTPS, the `file://` route for the server
 * manifest. Pure; validated against WANDB_V2_SCHEMA before it is returned.
 *
 * What is written and why:
 *  - spec.wandb.version: the server version = the manifest's tag;
 *  - spec.wandb.manifestRepository: `oci://MIRROR/wandb/server-manifest` (written although it is
 *    the default the operator derives from imageRegistry, so the CR says where it reads from), or
 *    `file:///etc/wandb/server-manifest` for the file route;
 *  - spec.global.imageRegistry = MIRROR: the operator prepends it to every manifest image;
 *  - spec.global.imagePullSecrets: dockerconfigjson Secrets, used by the operator for the manifest
 *    pull AND put on every workload it creates;
 *  - spec.global.customCACerts / caCertsConfigMap: CAs the W&B workloads trust (the operator's own
 *    trust for the manifest pull is the operator chart's `wandb-operator.caCerts`);
 *  - spec.retentionPolicy.onDelete, spec.wandb.features and spec.wandb.bucketProxy: required by
 *    the CRD (no omitempty in the Go types); the defaulting webhook turns bucketProxy on when it
 *    adds a managed object store.
 *
 * The reconciler never pulls the manifest over plain HTTP (its RegistryAuth never sets PlainHTTP),
 * so a plain-HTTP mirror is refused for the oci:// route. The file route: the operator's
 * `LoadManifestFromFile` reads `<path>/<version>.yaml`, else every `*.yaml` of the folder
 * `<path>/<version>/` in name order, merged as from the artifact. The files go in a ConfigMap
 * mounted into the operator container at `/etc/wandb/server-manifest/<version>/` through the
 * operator chart's `wandb-operator.volumes` and `wandb-operator.containers.operator.volumeMounts`
 * (lists: Helm replaces them whole, so the chart's own entries are repeated).
 */
import {Ajv} from 'ajv'
import type {ErrorObject} from 'ajv'
import {Document} from 'yaml'
import {SpecError, UsageError} from '../errors.js'
import {WANDB_V2_SCHEMA} from './wandb-v2-schema.js'
import type {SIZES} from './wandb-v2-schema.js'

export const WANDB_V2_API_VERSION = 'apps.wandb.com/v2'
export const MANIFEST_CONFIGMAP = 'wandb-server-manifest'
export const MANIFEST_MOUNT_ROOT = '/etc/wandb/server-manifest'
const CONFIGMAP_LIMIT_BYTES = 1024 * 1024
const CONFIGMAP_KEY = /^[-._a-zA-Z0-9]+$/

/** The operator chart's own volumes and mounts (deploy/operator values.yaml, 2.0.0-beta.3), repeated because Helm replaces lists. */
export const OPERATOR_CHART_VOLUMES = [
  {name: 'server-manifest', emptyDir: {}},
  {name: 'ecr-cache', emptyDir: {}},
  {name: 'serving-certs', secret: {secretName: '{{ .Release.Name }}-serving-cert'}},
]
export const OPERATOR_CHART_VOLUME_MOUNTS = [
  {mountPath: '/tmp/server-manifest', name: 'server-manifest'},
  {mountPath: '/tmp/ecr-cache', name: 'ecr-cache'},
  {mountPath: '/tmp/wandb-operator/serving-certs', name: 'serving-certs', readOnly: true},
]

export type ManifestRoute = 'oci' | 'file'

export interface WandbV2CrOptions {
  /** `HOST[:PORT][/PREFIX]` (the v2 mirror plan's imageRegistry). */
  imageRegistry: string
  /** `oci://HOST[:PORT][/PREFIX]/wandb/server-manifest` (the v2 mirror plan's manifestRepository). */
  manifestRepository: string
  /** W&B server version (the manifest's tag). */
  version: string
  /** Public URL of W&B (`spec.wandb.hostname`, required). */
  hostname: string
  name?: string
  namespace?: string
  size?: (typeof SIZES)[number]
  pullSecrets?: readonly string[]
  /** PEM certificates the W&B workloads trust. */
  customCACerts?: readonly string[]
  caCertsConfigMap?: string
  /** The mirror speaks plain HTTP. */
  plainHttp?: boolean
  /** The node configs this rewrite also writes that set plain HTTP up (named instead of the manual step). */
  nodeConfigs?: string
  /** Where the operator reads the manifest (default oci). */
  manifestRoute?: ManifestRoute
  /** File route: the manifest's YAML files (tar names and bytes) in merge order. */
  manifestFiles?: ReadonlyArray<{name: string; bytes: Uint8Array}>
  /** File route: namespace of the operator (where the ConfigMap must be; default: namespace). */
  operatorNamespace?: string
}

export interface WandbV2Cr {
  crYaml: string
  /** File route: the ConfigMap with the manifest files. */
  configMapYaml?: string
  /** File route: values to add to the operator chart's values (the ConfigMap's volume and mount). */
  operatorValues?: Record<string, unknown>
  warnings: string[]
}

/** Build and validate the v2 CR (and, for the file route, the ConfigMap and operator values). */
export function buildWandbV2Cr(options: WandbV2CrOptions): WandbV2Cr {
  const route = options.manifestRoute ?? 'oci'
  const warnings: string[] = []
  if (route === 'oci' && options.plainHttp) {
    throw new UsageError(`the mirror ${options.imageRegistry} speaks plain HTTP, and the v2 operator never pulls the server manifest over plain HTTP (it sets no PlainHTTP on the pull)`, {
      hint: 'serve the mirror over HTTPS (give the operator the CA with wandb-operator.caCerts), or write the file:// route for the manifest (airgap rewrite --manifest-route file)',
    })
  }
  if (options.plainHttp) {
    const host = options.imageRegistry.split('/')[0]!
    warnings.push(
      options.nodeConfigs !== undefined
        ? `nodes pull images from ${options.imageRegistry} over plain HTTP only once ${options.nodeConfigs} (written now) are installed on every node`
        : `nodes pull images from ${options.imageRegistry} over plain HTTP only if their container runtime is configured for it (containerd: /etc/containerd/certs.d/${host}/hosts.toml with server = "http://${host}")`,
    )
  }
  const namespace = options.namespace ?? 'wandb'
  const manifestRepository = route === 'oci' ? options.manifestRepository : `file://${MANIFEST_MOUNT_ROOT}`
  const global: Record<string, unknown> = {imageRegistry: options.imageRegistry}
  const pullSecrets = [...new Set(options.pullSecrets ?? [])]
  if (pullSecrets.length > 0) global['imagePullSecrets'] = pullSecrets.map((name) => ({name}))
  const pems = checkedPems(options.customCACerts ?? [])
  if (pems.length > 0) global['customCACerts'] = pems
  if (options.caCertsConfigMap) global['caCertsConfigMap'] = options.caCertsConfigMap
  const spec: Record<string, unknown> = {}
  if (options.size !== undefined) spec['size'] = options.size
  spec['retentionPolicy'] = {onDelete: 'detach'}
  spec['global'] = global
  spec['wandb'] = {hostname: options.hostname, version: options.version, manifestRepository, features: {}, bucketProxy: false}
  const cr = {apiVersion: WANDB_V2_API_VERSION, kind: 'WeightsAndBiases', metadata: {name: options.name ?? 'wandb', namespace}, spec}
  const problems = validateWandbV2(cr)
  if (problems.length > 0) {
    throw new SpecError(`the v2 WeightsAndBiases resource would not apply: ${problems.join('; ')}`, undefined, undefined, {hint: 'fix the option named (hostname, version, name, size)'})
  }
  const doc = new Document(cr)
  doc.commentBefore = ` Generated by airgap rewrite: W&B ${options.version} for the v2 operator, every image and the server manifest from ${options.imageRegistry}.`
  const crYaml = doc.toString({lineWidth: 0})
  if (route === 'oci') return {crYaml, warnings}
  const files = manifestConfigMapFiles(options.manifestFiles ?? [])
  const configMapYaml = manifestConfigMap(files, options.operatorNamespace ?? namespace, options.version)
  const mountPath = `${MANIFEST_MOUNT_ROOT}/${options.version}`
  const operatorValues = {
    'wandb-operator': {
      volumes: [...OPERATOR_CHART_VOLUMES, {name: MANIFEST_CONFIGMAP, configMap: {name: MANIFEST_CONFIGMAP}}],
      containers: {operator: {volumeMounts: [...OPERATOR_CHART_VOLUME_MOUNTS, {mountPath, name: MANIFEST_CONFIGMAP, readOnly: true}]}},
    },
  }
  warnings.push(`the file route repeats the operator chart's own volumes and volume mounts (2.0.0-beta.3); check them against the chart version installed`)
  return {crYaml, configMapYaml, operatorValues, warnings}
}

/** ConfigMap keys for the manifest files: base names, unique, in the same order as the artifact's merge. */
function manifestConfigMapFiles(files: ReadonlyArray<{name: string; bytes: Uint8Array}>): Array<[string, string]> {
  if (files.length === 0) throw new UsageError('the file:// route needs the server manifest files', {hint: 'give the bundle that carries the server manifest'})
  const entries = files.map((f) => [f.name.slice(f.name.lastIndexOf('/') + 1), Buffer.from(f.bytes).toString('utf8')] as [string, string])
  const keys = entries.map(([k]) => k)
  const bad = keys.filter((k, i) => !CONFIGMAP_KEY.test(k) || keys.indexOf(k) !== i)
  const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  if (bad.length > 0 || sorted.some((k, i) => k !== keys[i])) {
    throw new UsageError(`the server manifest files (${files.map((f) => f.name).join(', ')}) cannot be ConfigMap keys in the same merge order${bad.length ? ` (${bad.join(', ')})` : ''}`, {
      hint: 'use the oci:// route with an HTTPS mirror',
    })
  }
  return entries
}

function manifestConfigMap(files: Array<[string, string]>, namespace: string, version: string): string {
  const object = {apiVersion: 'v1', kind: 'ConfigMap', metadata: {name: MANIFEST_CONFIGMAP, namespace}, data: Object.fromEntries(files)}
  const size = Buffer.byteLength(JSON.stringify(object), 'utf8')
  if (size > CONFIGMAP_LIMIT_BYTES) {
    throw new UsageError(`the server manifest ${version} is too big for a ConfigMap (${size} bytes, limit ${CONFIGMAP_LIMIT_BYTES})`, {hint: 'use the oci:// route with an HTTPS mirror'})
  }
  const doc = new Document(object)
  doc.commentBefore = ` Generated by airgap rewrite: the W&B server manifest ${version} for the v2 operator's file:// route (mounted at ${MANIFEST_MOUNT_ROOT}/${version}).\n Apply with "kubectl create" or "kubectl apply --server-side".`
  return doc.toString({lineWidth: 0})
}

function checkedPems(certs: readonly string[]): string[] {
  const pems = certs.map((c) => c.trim()).filter((c) => c !== '')
  pems.forEach((cert, i) => {
    if (!/^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----$/.test(cert)) {
      throw new UsageError(`CA certificate #${i + 1} is not a PEM certificate (BEGIN/END CERTIFICATE lines missing)`, {hint: 'give the CA as PEM text, as in a .crt file'})
    }
  })
  return [...new Set(pems)].map((c) => `${c}\n`)
}

let compiled: ReturnType<Ajv['compile']> | undefined

/** Problems of a v2 CR against WANDB_V2_SCHEMA, one line each (`spec.wandb.version: …`). */
export function validateWandbV2(cr: unknown): string[] {
  compiled ??= new Ajv({allErrors: true, strict: false}).compile(WANDB_V2_SCHEMA)
  if (compiled(cr)) return []
  return (compiled.errors ?? []).map(describe)
}

function describe(e: ErrorObject): string {
  const path = e.instancePath.split('/').slice(1).join('.') || '(document)'
  if (e.keyword === 'additionalProperties') return `${path === '(document)' ? '' : `${path}.`}${String((e.params as {additionalProperty?: string}).additionalProperty)}: is not a field of the v2 resource`
  if (e.keyword === 'not' && path === 'spec.wandb.version') return `${path}: must be pinned to a published server version, not "latest"`
  return `${path}: ${e.message ?? e.keyword}`
}
