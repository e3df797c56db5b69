import {parse, parseAllDocuments} from 'yaml'
import {describe, expect, it} from 'vitest'
import {SpecError, UsageError} from '../errors.js'
import type {MirrorMap} from '../mirror/types.js'
import {buildOperatorV2Values} from './operator-v2-values.js'
import {v1ConversionCheck} from './v1-conversion.js'
import {buildWandbV2Cr, MANIFEST_CONFIGMAP, validateWandbV2} from './wandb-v2-cr.js'

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----'
const BASE = {imageRegistry: 'registry.corp:5000/wandb', manifestRepository: 'oci://registry.corp:5000/wandb/wandb/server-manifest', version: '0.99.0', hostname: 'https://wandb.corp'}

describe('buildWandbV2Cr: the oci:// route', () => {
  it('writes version, manifestRepository at the mirror, imageRegistry, pull secrets and CAs, and the fields the CRD requires', () => {
    const out = buildWandbV2Cr({...BASE, pullSecrets: ['mirror-pull', 'mirror-pull'], customCACerts: [PEM], size: 'small'})
    expect(parse(out.crYaml)).toEqual({
      apiVersion: 'apps.wandb.com/v2',
      kind: 'WeightsAndBiases',
      metadata: {name: 'wandb', namespace: 'wandb'},
      spec: {
        size: 'small',
        retentionPolicy: {onDelete: 'detach'},
        global: {imageRegistry: 'registry.corp:5000/wandb', imagePullSecrets: [{name: 'mirror-pull'}], customCACerts: [`${PEM}\n`]},
        wandb: {hostname: 'https://wandb.corp', version: '0.99.0', manifestRepository: 'oci://registry.corp:5000/wandb/wandb/server-manifest', features: {}, bucketProxy: false},
      },
    })
    expect(out.configMapYaml).toBeUndefined()
    expect(out.warnings).toEqual([])
  })

  it('refuses a plain-HTTP mirror for the manifest, saying why', () => {
    const run = () => buildWandbV2Cr({...BASE, plainHttp: true})
    expect(run).toThrow(UsageError)
    expect(run).toThrow('the mirror registry.corp:5000/wandb speaks plain HTTP, and the v2 operator never pulls the server manifest over plain HTTP (it sets no PlainHTTP on the pull)')
  })

  it('refuses what the operator webhook refuses: latest, a blank hostname', () => {
    expect(() => buildWandbV2Cr({...BASE, version: 'latest'})).toThrow(SpecError)
    expect(() => buildWandbV2Cr({...BASE, version: 'latest'})).toThrow('spec.wandb.version: must be pinned to a published server version, not "latest"')
    expect(() => buildWandbV2Cr({...BASE, hostname: ' '})).toThrow(/spec\.wandb\.hostname: must match pattern/)
  })
})

describe('buildWandbV2Cr: the file:// route', () => {
  const files = [
    {name: 'manifest.yaml', bytes: Buffer.from('requiredOperatorVersion: ^2.0.0\n')},
    {name: 'sizing.yaml', bytes: Buffer.from('bucket: {}\n')},
  ]

  it('puts the files in a ConfigMap mounted at /etc/wandb/server-manifest/<version> and points the CR at file://', () => {
    const out = buildWandbV2Cr({...BASE, plainHttp: true, manifestRoute: 'file', manifestFiles: files, operatorNamespace: 'operator'})
    const cr = parse(out.crYaml) as {spec: {wandb: {manifestRepository: string}; global: {imageRegistry: string}}}
    expect(cr.spec.wandb.manifestRepository).toBe('file:///etc/wandb/server-manifest')
    expect(cr.spec.global.imageRegistry).toBe('registry.corp:5000/wandb')
    expect(parse(out.configMapYaml!)).toEqual({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {name: MANIFEST_CONFIGMAP, namespace: 'operator'},
      data: {'manifest.yaml': 'requiredOperatorVersion: ^2.0.0\n', 'sizing.yaml': 'bucket: {}\n'},
    })
    const values = out.operatorValues as {'wandb-operator': {volumes: Array<{name: string}>; containers: {operator: {volumeMounts: Array<{name: string; mountPath: string}>}}}}
    expect(values['wandb-operator'].volumes.map((v) => v.name)).toEqual(['server-manifest', 'ecr-cache', 'serving-certs', MANIFEST_CONFIGMAP])
    expect(values['wandb-operator'].containers.operator.volumeMounts.at(-1)).toEqual({mountPath: '/etc/wandb/server-manifest/0.99.0', name: MANIFEST_CONFIGMAP, readOnly: true})
    expect(out.warnings.some((w) => w.includes('plain HTTP only if their container runtime is configured'))).toBe(true)
    // with node configs written alongside, the warning names them instead of the manual step
    const withNodes = buildWandbV2Cr({...BASE, plainHttp: true, nodeConfigs: 'the hosts.toml folders under certs.d', manifestRoute: 'file', manifestFiles: files})
    expect(withNodes.warnings.filter((w) => w.includes('plain HTTP'))).toEqual(['nodes pull images from registry.corp:5000/wandb over plain HTTP only once the hosts.toml folders under certs.d (written now) are installed on every node'])
  })

  it('refuses files whose ConfigMap keys would change the merge order', () => {
    const run = () => buildWandbV2Cr({...BASE, manifestRoute: 'file', manifestFiles: [{name: 'b/a.yaml', bytes: Buffer.from('')}, {name: 'c/a.yaml', bytes: Buffer.from('')}]})
    expect(run).toThrow(/cannot be ConfigMap keys in the same merge order \(a\.yaml\)/)
  })
})

describe('validateWandbV2 (schema from the Go types)', () => {
  it('names unknown fields, wrong enums and missing required fields', () => {
    const cr = {apiVersion: 'apps.wandb.com/v2', kind: 'WeightsAndBiases', metadata: {name: 'wandb'}, spec: {size: 'huge', retentionPolicy: {onDelete: 'detach'}, global: {imageRegistry: 'm', registry: 'x'}, wandb: {hostname: 'h', version: '1'}}}
    expect(validateWandbV2(cr)).toEqual([
      'spec.size: must be equal to one of the allowed values',
      'spec.global.registry: is not a field of the v2 resource',
      "spec.wandb: must have required property 'features'",
      "spec.wandb: must have required property 'bucketProxy'",
    ])
  })
})

const MAP: MirrorMap = {
  registry: 'registry.corp:5000/wandb',
  keepSourceHost: false,
  charts: [],
  images: [
    {source: 'us-docker.pkg.dev/wandb-production/public/wandb/operator:2.0.0-beta.3', mirror: 'registry.corp:5000/wandb/wandb-production/public/wandb/operator:2.0.0-beta.3', digest: `sha256:${'1'.repeat(64)}`, origins: []},
    {source: 'ghcr.io/cybozu-go/moco:0.26.0', mirror: 'registry.corp:5000/wandb/cybozu-go/moco:0.26.0', digest: `sha256:${'2'.repeat(64)}`, origins: []},
    {source: 'ghcr.io/ot-container-kit/redis-operator/redis-operator:v0.22.2', mirror: 'registry.corp:5000/wandb/ot-container-kit/redis-operator/redis-operator:v0.22.2', digest: `sha256:${'3'.repeat(64)}`, origins: []},
    {source: 'docker.io/chrislusf/seaweedfs-operator:v0.1.35', mirror: 'registry.corp:5000/wandb/chrislusf/seaweedfs-operator:v0.1.35', digest: `sha256:${'4'.repeat(64)}`, origins: []},
    {source: 'docker.io/altinity/clickhouse-operator:0.26.3', mirror: 'registry.corp:5000/wandb/altinity/clickhouse-operator:0.26.3', digest: `sha256:${'5'.repeat(64)}`, origins: []},
    {source: 'docker.io/altinity/metrics-exporter:0.26.3', mirror: 'registry.corp:5000/wandb/altinity/metrics-exporter:0.26.3', digest: `sha256:${'6'.repeat(64)}`, origins: []},
  ],
}

describe('buildOperatorV2Values', () => {
  it('points every dependency image it finds at the mirror, in the shape each chart reads', () => {
    const out = buildOperatorV2Values({map: MAP, caCerts: [PEM], pullSecrets: ['mirror-pull'], pinDigests: true})
    expect(out.values).toEqual({
      wandb: {install: false},
      'wandb-operator': {
        image: {repository: 'registry.corp:5000/wandb/wandb-production/public/wandb/operator', tag: '2.0.0-beta.3', digest: `sha256:${'1'.repeat(64)}`},
        caCerts: {certs: [`${PEM}\n`]},
        imagePullSecrets: [{name: 'mirror-pull'}],
      },
      moco: {image: {repository: 'registry.corp:5000/wandb/cybozu-go/moco', tag: '0.26.0'}},
      'redis-operator': {redisOperator: {imageName: 'registry.corp:5000/wandb/ot-container-kit/redis-operator/redis-operator', imageTag: 'v0.22.2'}},
      'seaweedfs-operator': {image: {registry: 'registry.corp:5000', repository: 'wandb/chrislusf/seaweedfs-operator', tag: 'v0.1.35'}},
      'altinity-clickhouse-operator': {
        operator: {image: {repository: 'registry.corp:5000/wandb/altinity/clickhouse-operator', tag: '0.26.3'}},
        metrics: {image: {repository: 'registry.corp:5000/wandb/altinity/metrics-exporter', tag: '0.26.3'}},
      },
      global: {imagePullSecrets: [{name: 'mirror-pull'}]},
    })
    expect(out.warnings.filter((w) => w.includes('not in the mirror map')).map((w) => w.split(':')[0])).toEqual(['victoria-metrics-operator.image', 'grafana-operator.image'])
    expect(parseAllDocuments(out.valuesYaml)).toHaveLength(1)
  })

  it('refuses a map without the operator image', () => {
    expect(() => buildOperatorV2Values({map: {...MAP, images: MAP.images.slice(1)}})).toThrow('the v2 operator image us-docker.pkg.dev/wandb-production/public/wandb/operator is not in the mirror map')
  })
})

describe('v1ConversionCheck (what the v1-to-v2 conversion reads)', () => {
  it('sets global.imageRegistry to the mirror when unset, so the conversion finds the manifest there', () => {
    expect(v1ConversionCheck({app: {image: {tag: '0.99.0'}}}, 'registry.corp:5000/wandb')).toEqual({
      manifestRepository: 'oci://registry.corp:5000/wandb/wandb/server-manifest',
      overrides: {global: {imageRegistry: 'registry.corp:5000/wandb'}},
      warnings: [],
    })
  })

  it('leaves another registry in place and says where the manifest must also be', () => {
    const out = v1ConversionCheck({global: {imageRegistry: 'registry.corp:5000/wandb/docker.io'}, api: {image: {tag: '0.99.0'}}}, 'registry.corp:5000/wandb')
    expect(out.manifestRepository).toBe('oci://registry.corp:5000/wandb/docker.io/wandb/server-manifest')
    expect(out.overrides).toEqual({})
    expect(out.warnings[0]).toContain('push it there too')
  })

  it('warns when no version can be derived', () => {
    expect(v1ConversionCheck({global: {imageRegistry: 'm'}}, 'm').warnings).toEqual([
      'neither app.image.tag nor api.image.tag is set: the v1-to-v2 conversion cannot tell the server version and skips the manifest',
    ])
  })
})
