/**
 * JSON schema of the `WeightsAndBiases` resource, apps.wandb.com/v2, derived from the operator's Go
 * types (wandb/operator `api/v2/weightsandbiases_types.go`): field names and types, the fields
 * without `omitempty` (required), the kubebuilder enums; plus what its validating webhook refuses
 * (blank hostname, missing or unpinned `version`). Kubernetes types (affinity, tolerations, secret
 * key selectors, resources, probes) are plain objects here. Closed structs are
 * `additionalProperties: false`: the API server would silently drop an unknown field, this makes it
 * an error instead.
 */

type Schema = Record<string, unknown>

const str: Schema = {type: 'string'}
const bool: Schema = {type: 'boolean'}
const int32: Schema = {type: 'integer', minimum: -2147483648, maximum: 2147483647}
const object: Schema = {type: 'object'}
const strings: Schema = {type: 'array', items: str}
const stringMap: Schema = {type: 'object', additionalProperties: str}
const closed = (properties: Record<string, Schema>, required: string[] = []): Schema => ({type: 'object', properties, additionalProperties: false, ...(required.length > 0 ? {required} : {})})
/** corev1.SecretKeySelector */
const secretKey: Schema = closed({name: str, key: str, optional: bool}, ['key'])
const connection = (fields: string[]): Schema => closed(Object.fromEntries(fields.map((f) => [f, secretKey])))
const keyedBy = (value: Schema): Schema => ({type: 'object', additionalProperties: value})

const retentionPolicy = closed({onDelete: {type: 'string', enum: ['detach', 'purge']}}, ['onDelete'])
const managedInfra = {retentionPolicy, affinity: object, tolerations: {type: 'array', items: object}}
const telemetry = closed({enabled: bool}, ['enabled'])
const resources = closed({resources: object})
const managedServiceAccount = closed({create: bool, serviceAccountName: str, annotations: stringMap})

const proxyValue = closed({value: str, valueFrom: closed({secretKeyRef: secretKey})})

export const SIZES = ['dev', 'micro', 'small', 'medium', 'large', 'xlarge', 'xxlarge'] as const

export const WANDB_V2_SCHEMA: Schema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: {const: 'apps.wandb.com/v2'},
    kind: {const: 'WeightsAndBiases'},
    metadata: {
      type: 'object',
      required: ['name'],
      properties: {
        name: {type: 'string', maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'},
        namespace: {type: 'string', maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'},
        labels: stringMap,
        annotations: stringMap,
      },
    },
    spec: closed(
      {
        size: {type: 'string', enum: [...SIZES]},
        requireLimits: bool,
        retentionPolicy,
        global: closed({
          imageRegistry: str,
          imagePullSecrets: {type: 'array', items: closed({name: str})},
          customCACerts: strings,
          caCertsConfigMap: str,
          proxy: closed({httpProxy: proxyValue, httpsProxy: proxyValue, noProxy: strings}),
        }),
        wandb: closed(
          {
            hostname: {type: 'string', pattern: '\\S'},
            license: str,
            manifestRepository: {type: 'string', pattern: '^(oci|file)://.+'},
            version: {type: 'string', minLength: 1, pattern: '^\\S(.*\\S)?$', not: {const: 'latest'}},
            features: {type: 'object', additionalProperties: bool},
            internalServiceAuth: closed({enabled: bool, oidcIssuer: str}),
            bucketProxy: bool,
            serviceAccount: closed({create: bool, serviceAccountName: str, annotations: stringMap}, ['create']),
            probes: closed({startupProbe: object, livenessProbe: object, readinessProbe: object}),
            additionalHostnames: strings,
            oidc: closed({clientId: secretKey, clientSecret: secretKey, issuerUrl: secretKey, authMethod: secretKey, sessionLength: str}),
            notifications: closed({email: closed({sink: secretKey, smtp: closed({host: secretKey, port: secretKey, username: secretKey, password: secretKey}, ['host', 'port', 'username', 'password'])}), slack: closed({clientId: secretKey, clientSecret: secretKey})}),
            security: closed({allowUserTeamCreation: bool, disableCodeSaving: bool, allowAnonymousPublicProjects: bool, disableSSOProvisioning: bool, insecureAllowAPIKeyAdminAccess: bool, hideUpgradeBanner: bool}),
            legacyOverrides: keyedBy(closed({env: {type: 'array', items: object}, resources: object})),
            applications: keyedBy(closed({autoscaling: closed({minReplicas: {...int32, minimum: 1}, maxReplicas: {...int32, minimum: 1}})})),
          },
          ['hostname', 'version', 'features', 'bucketProxy'],
        ),
        affinity: object,
        tolerations: {type: 'array', items: object},
        mysql: keyedBy(
          closed({
            managedMysql: closed({...managedInfra, storageSize: str, replicas: int32, config: resources, namespace: str, name: str, telemetry}),
            externalMysql: connection(['host', 'port', 'database', 'username', 'password', 'tls', 'sslCa', 'sslCert', 'sslKey', 'url']),
          }),
        ),
        redis: keyedBy(
          closed({
            managedRedis: closed({...managedInfra, storageSize: str, config: resources, sentinel: closed({enabled: bool, config: closed({masterName: str, resources: object})}, ['enabled']), namespace: str, name: str, telemetry}),
            externalRedis: connection(['host', 'port', 'password', 'tls', 'sslCa', 'url']),
          }),
        ),
        kafka: closed({
          managedKafka: closed({
            ...managedInfra,
            storageSize: str,
            replicas: int32,
            config: closed({resources: object, replicationConfig: closed({defaultReplicationFactor: int32, minInSyncReplicas: int32, offsetsTopicRF: int32, transactionStateISR: int32, transactionStateRF: int32})}),
            namespace: str,
            name: str,
            telemetry,
            serviceAccount: managedServiceAccount,
            skipDataRecovery: bool,
          }),
        }),
        objectStore: keyedBy(
          closed({
            bucketAttributionDisabled: bool,
            managedObjectStore: closed({
              ...managedInfra,
              SeaweedObjectStoreSpec: closed({tlsEnabled: bool, filerStorageSize: str}),
              storageSize: str,
              replicas: int32,
              copies: int32,
              config: closed({resources: object, accessKey: str, rootUser: str, minioBrowserSetting: str}),
              namespace: str,
              name: str,
              telemetry,
            }),
            externalObjectStore: connection(['provider', 'endpoint', 'port', 'accessKey', 'secretKey', 'bucket', 'path', 'region', 'tlsEnabled', 'forcePathStyle', 'url']),
          }),
        ),
        clickhouse: keyedBy(
          closed({
            managedClickhouse: closed({
              ...managedInfra,
              storageSize: str,
              replicas: int32,
              version: str,
              config: resources,
              namespace: str,
              name: str,
              telemetry,
              serviceAccount: managedServiceAccount,
              objectStorage: closed({prefix: str, insecure: bool}),
              keeper: closed({replicas: int32, storageSize: str, config: resources}),
            }),
            externalClickhouse: connection(['host', 'tcpPort', 'httpPort', 'database', 'username', 'password', 'url', 'replicated', 'clusterName']),
          }),
        ),
        networking: closed({
          mode: {type: 'string', enum: ['', 'ingress', 'gateway']},
          ingress: closed({ingressClassName: str, name: str}),
          gatewayAPI: closed({gateway: object, listenerName: str}, ['gateway']),
          tls: closed({secretName: str, certManager: closed({clusterIssuer: str, issuer: str})}),
          annotations: stringMap,
        }),
      },
      ['retentionPolicy'],
    ),
  },
}
