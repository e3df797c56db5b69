import {describe, expect, it} from 'vitest'
import {SpecError, UnsupportedError, UsageError} from '../errors.js'
import {MemoryRegistry, MemoryTarget} from '../content/memory.js'
import {formatReference} from '../oci/reference.js'
import {MediaType} from '../oci/types.js'
import {jsonBlob, loadInto} from '../../test/support/images.js'
import {fixtureText, makeServerManifest, manifestArtifact, type ManifestVariant} from '../../test/support/server-manifest.js'
import {checkOperatorVersion, findMissingImages, loadServerManifest, operatorImage, type ServerManifest} from './index.js'

async function load(variant: ManifestVariant): Promise<ServerManifest> {
  const target = new MemoryTarget()
  await loadInto(target, await makeServerManifest(variant), '0.99.0')
  return loadServerManifest(target, '0.99.0', 'test/wandb/server-manifest:0.99.0')
}

async function loadLayers(layers: Parameters<typeof manifestArtifact>[0]): Promise<ServerManifest> {
  const target = new MemoryTarget()
  const {manifest, blobs} = await manifestArtifact(layers)
  await loadInto(target, {root: manifest.descriptor, blobs}, 'v')
  return loadServerManifest(target, 'v', 'sm:v')
}

const listing = (m: ServerManifest) => m.images.map((i) => `${i.key} ${i.operatorPath} ${formatReference(i.source)}`)

describe('server manifest: the single-layer artifact', () => {
  it('lists every image with its key, the literal operator path and the source to pull', async () => {
    const m = await load('single')
    expect(m.files.map((f) => f.name)).toEqual(['manifest.yaml', 'sizing.yaml'])
    expect(listing(m)).toEqual([
      'applications.api.image registry.example.com/acme/public/platform/server registry.example.com/acme/public/platform/server:0.99.0',
      'applications.notebook.image registry.example.com/acme/public/platform/notebook registry.example.com/acme/public/platform/notebook:0.99.0',
      'applications.web.image registry.example.com/acme/public/platform/web registry.example.com/acme/public/platform/web:0.99.0',
      'applications.web.initContainers[0].image acme/toolbox docker.io/acme/toolbox:1.4',
      'bucket.default.images.seaweedfs docker.io/acme/objstore docker.io/acme/objstore:3.1',
      'clickhouse.default.images.server quay.io/acme/columnar-server quay.io/acme/columnar-server:24.3.1',
      'clickhouseKeeper.default.images.keeper quay.io/acme/columnar-keeper quay.io/acme/columnar-keeper:24.3.1',
      'kafka.images.bucketEnsure acme/cloud-cli docker.io/acme/cloud-cli:2.1.0',
      'kafka.images.bufstream registry.example.com/streams/broker registry.example.com/streams/broker:1.2.0',
      'kafka.images.etcd quay.io/acme/kv-store quay.io/acme/kv-store:v3.5.9',
      'migrations.schema.image registry.example.com/acme/public/platform/server registry.example.com/acme/public/platform/server:0.99.0',
      'mysql.default.images.exporter docker.io/acme/sql-exporter docker.io/acme/sql-exporter:v0.1.0',
      'mysql.default.images.mysql ghcr.io/acme/sql/server ghcr.io/acme/sql/server:8.4.1',
            'redis.default.images.exporter quay.io/acme/cache-exporter quay.io/acme/cache-exporter:v1.2.0',
      'redis.default.images.replication quay.io/acme/cache quay.io/acme/cache:v7.0.1',
      'redis.default.images.sentinel quay.io/acme/cache-sentinel quay.io/acme/cache-sentinel:v7.0.1',
      'redis.default.images.standalone quay.io/acme/cache quay.io/acme/cache:v7.0.1',
    ])
    expect(m.images.every((i) => i.readByOperator)).toBe(true)
    expect(m.requiredOperatorVersion).toBe('^2.0.0')
  })

  it('merges sizing.yaml into the entries of manifest.yaml and keeps their images', async () => {
    const m = await load('single')
    const bucket = (m.document['bucket'] as Record<string, Record<string, unknown>>)['default']!
    expect(bucket['sizing']).toEqual({dev: {replicas: 1, volumeSize: '10Gi'}, small: {replicas: 3, volumeSize: '100Gi'}})
    expect(bucket['ingress']).toEqual({paths: ['/objects'], servicePort: 'http-s3', pathType: 'Prefix'})
    expect(Object.keys(bucket['images'] as object)).toEqual(['seaweedfs'])
  })

  it('reads an unquoted number where the operator expects a string as the operator does, and says so', async () => {
    const m = await load('single')
    expect(m.warnings.filter((w) => !w.includes('unquoted'))).toEqual([])
    expect(m.warnings.filter((w) => w.includes('unquoted'))).toEqual([
      'test/wandb/server-manifest:0.99.0: manifest.yaml (layer 1): applications.web.initContainers[0].image.tag: unquoted number 1.4 is read by the operator as the string "1.4"',
    ])
  })

  it('the operator image of an entry: imageRegistry prepended to the literal registry/repository', async () => {
    const m = await load('single')
    const byKey = new Map(m.images.map((i) => [i.key, i]))
    expect(operatorImage(byKey.get('bucket.default.images.seaweedfs')!.ref, 'mirror.corp/w')).toBe('mirror.corp/w/docker.io/acme/objstore:3.1')
    expect(operatorImage(byKey.get('kafka.images.bucketEnsure')!.ref, 'mirror.corp/w')).toBe('mirror.corp/w/acme/cloud-cli:2.1.0')
    expect(operatorImage(byKey.get('applications.api.image')!.ref, 'mirror.corp/w')).toBe('mirror.corp/w/registry.example.com/acme/public/platform/server:0.99.0')
    expect(operatorImage({registry: '', repository: 'a/b', tag: '1', digest: `sha256:${'a'.repeat(64)}`})).toBe(`a/b@sha256:${'a'.repeat(64)}`)
  })
})

describe('server manifest: layers and the merge order', () => {
  it('a later layer replaces a file of the same name; files merge in name order, not layer order', async () => {
    const m = await load('layers')
    expect(m.files.map((f) => `${f.name}@${f.layer}`)).toEqual(['manifest.yaml@0', 'sizing.yaml@1', 'zz-patch.yaml@1'])
    const bucket = (m.document['bucket'] as Record<string, Record<string, unknown>>)['default']!
    expect((bucket['sizing'] as Record<string, unknown>)['dev']).toEqual({replicas: 1, volumeSize: '10Gi'})
  })

  it('kafka.images is merged per key (the later file wins); an application image in a later file is ignored, with a warning', async () => {
    const m = await load('layers')
    const byKey = new Map(m.images.map((i) => [i.key, i]))
    expect(byKey.get('kafka.images.bufstream')!.ref.tag).toBe('1.2.1')
    expect(byKey.get('applications.api.image')!.ref.tag).toBe('0.99.0')
    const apps = m.document['applications'] as Record<string, Record<string, unknown>>
    expect(apps['api']!['commonEnvs']).toEqual(['appDb', 'tracing'])
    expect(m.warnings).toContain(
      'test/wandb/server-manifest:0.99.0: zz-patch.yaml (layer 2): applications.api.image (registry.example.com/acme/public/platform/server:0.99.1) is ignored by the operator: an earlier file (in name order) already defines applications.api, and the operator takes only ingress and sizing and commonEnvs from later files',
    )
  })

  it('an infra entry first defined by a file sorting earlier loses the images of a later file', async () => {
    const m = await loadLayers([
      {gzip: true, files: {'a-sizing.yaml': 'bucket:\n  default:\n    sizing:\n      dev: {replicas: 1}\n', 'manifest.yaml': 'bucket:\n  default:\n    images:\n      seaweedfs: {registry: docker.io, repository: acme/objstore, tag: "3.1"}\n'}},
    ])
    expect(m.images).toEqual([])
    expect(m.warnings.filter((w) => w.includes('bucket.default.images.seaweedfs'))).toEqual([
      'sm:v: manifest.yaml (layer 1): bucket.default.images.seaweedfs (docker.io/acme/objstore:3.1) is ignored by the operator: an earlier file (in name order) already defines bucket.default, and the operator takes only ingress and sizing from later files',
      expect.stringMatching(/^sm:v: names no image at bucket\.default\.images\.seaweedfs, .*the operator then uses built-in images that it pulls WITHOUT spec\.global\.imageRegistry/),
    ])
  })
})

describe('server manifest: an index', () => {
  it('follows the FIRST entry only (the second names other images)', async () => {
    const m = await load('index')
    expect(m.artifact.root.mediaType).toBe(MediaType.OciIndex)
    expect(m.artifact.path).toHaveLength(2)
    expect(m.artifact.manifest.digest).toBe((await makeServerManifest('single')).root.digest)
    expect(m.images.some((i) => i.operatorPath.includes('never-read'))).toBe(false)
    expect(m.images).toHaveLength(17)
  })

  it('refuses an index without entries', async () => {
    const target = new MemoryTarget()
    const index = jsonBlob({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: []}, MediaType.OciIndex)
    await loadInto(target, {root: index.descriptor, blobs: [index]}, 'v')
    await expect(loadServerManifest(target, 'v', 'sm:v')).rejects.toThrow(/sm:v: the index sha256:[0-9a-f]+ has no manifests/)
  })
})

describe('server manifest: layers the operator cannot read', () => {
  it('a layer that is not a tar (a bare YAML file pushed as a layer) is refused, naming the layer', async () => {
    const target = new MemoryTarget()
    const {blob} = await import('../../test/support/images.js')
    const layer = blob('requiredOperatorVersion: ^2.0.0\n', MediaType.OciLayer)
    const config = blob('{}', MediaType.OciEmpty)
    const manifest = jsonBlob({schemaVersion: 2, mediaType: MediaType.OciManifest, config: config.descriptor, layers: [layer.descriptor]}, MediaType.OciManifest)
    await loadInto(target, {root: manifest.descriptor, blobs: [layer, config, manifest]}, 'v')
    const err = await loadServerManifest(target, 'v', 'sm:v').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SpecError)
    expect((err as Error).message).toMatch(/^server manifest sm:v layer 1 \(sha256:[0-9a-f]{64}, application\/vnd\.oci\.image\.layer\.v1\.tar\): is not a valid tar archive/)
  })

  it('a tar+gzip layer that is not gzip is refused', async () => {
    const target = new MemoryTarget()
    const {blob, tarOf} = await import('../../test/support/images.js')
    const layer = blob(await tarOf([{name: 'manifest.yaml', content: Buffer.from('a: 1\n')}]), MediaType.OciLayerGzip)
    const config = blob('{}', MediaType.OciEmpty)
    const manifest = jsonBlob({schemaVersion: 2, mediaType: MediaType.OciManifest, config: config.descriptor, layers: [layer.descriptor]}, MediaType.OciManifest)
    await loadInto(target, {root: manifest.descriptor, blobs: [layer, config, manifest]}, 'v')
    await expect(loadServerManifest(target, 'v', 'sm:v')).rejects.toThrow(/layer 1 .*: is not a valid gzip stream/)
  })

  it('an artifact without .yaml files is refused (.yml does not count, as in the operator)', async () => {
    await expect(loadLayers([{gzip: false, files: {'manifest.yml': 'a: 1\n', 'README.md': 'x'}}])).rejects.toThrow(/sm:v: no \.yaml file in its 1 layer\(s\)/)
  })

  it('refuses a root that is not a manifest or index', async () => {
    const target = new MemoryTarget()
    const {blob} = await import('../../test/support/images.js')
    const b = blob('{}', 'application/json')
    await target.push(b.descriptor, (await import('node:stream')).Readable.from(b.bytes))
    const source = {fetch: target.fetch.bind(target), resolve: async () => b.descriptor}
    await expect(loadServerManifest(source, 'v', 'sm:v')).rejects.toBeInstanceOf(UnsupportedError)
  })
})

describe('server manifest: positioned errors', () => {
  const file = (text: string) => loadLayers([{gzip: true, files: {'manifest.yaml': text}}])

  it('a wrong kind names the file, line, column and key', async () => {
    await expect(file('requiredOperatorVersion: ^2.0.0\napplications:\n  - api\n')).rejects.toThrow(
      'sm:v: manifest.yaml (layer 1):3:3: applications: expected a map, got a list (the operator cannot decode this file)',
    )
  })

  it('an image that is a string instead of a map', async () => {
    await expect(file('kafka:\n  images:\n    broker: "registry.example.com/streams/broker:1"\n')).rejects.toThrow(
      /manifest\.yaml \(layer 1\):3:13: kafka\.images\.broker: expected an image map \{registry, repository, tag, digest\}, got the string/,
    )
  })

  it('an invalid digest, and a known image without repository', async () => {
    const err = (await file(['migrations:', '  m:', '    image: {repository: acme/x, digest: "sha256:abc"}', 'redis:', '  default:', '    images:', '      standalone: {registry: quay.io, tag: v1}', ''].join('\n')).catch((e: unknown) => e)) as SpecError & {problems: string[]}
    expect(err.problems).toEqual([
      expect.stringMatching(/^sm:v: manifest\.yaml \(layer 1\):3:12: migrations\.m\.image: "acme\/x@sha256:abc" is not a valid image reference: invalid digest/),
      'sm:v: manifest.yaml (layer 1):7:19: redis.default.images.standalone: the image has no repository, so the operator would start a container without an image',
    ])
  })

  it('a key the operator would match ignoring case is refused', async () => {
    await expect(file('Applications: {}\n')).rejects.toThrow(/1:1: Applications: the operator's decoder matches "Applications" to the field "applications"/)
  })

  it('a YAML syntax error', async () => {
    await expect(file('bucket: [\n')).rejects.toThrow(/manifest\.yaml \(layer 1\)/)
  })

  it('an unquoted float tag is read through float32 like the operator, with the written text in the warning', async () => {
    const m = await file('kafka:\n  images:\n    broker: {repository: acme/b, tag: 1.10}\n')
    expect(m.images[0]!.ref.tag).toBe('1.1')
    expect(m.warnings[0]).toContain('kafka.images.broker.tag: unquoted number 1.10 is read by the operator as the string "1.1"; write "1.10" in quotes if that is what is meant')
  })

  it('reads only the first YAML document of a file, as the operator does', async () => {
    const m = await file('kafka:\n  images:\n    a: {repository: acme/a, tag: "1"}\n---\nkafka:\n  images:\n    b: {repository: acme/b, tag: "1"}\n')
    expect(m.images.map((i) => i.key)).toEqual(['kafka.images.a'])
    expect(m.warnings).toContain('sm:v: manifest.yaml (layer 1) holds 2 YAML documents; the operator reads only the first')
  })
})

describe('server manifest: generic discovery', () => {
  it('lists images under keys the operator does not read, flagged as such', async () => {
    const m = await loadLayers([
      {gzip: false, files: {'manifest.yaml': 'telemetry:\n  collector:\n    image: {registry: ghcr.io, repository: acme/otel, tag: "0.1"}\n  images:\n    agent: {repository: acme/agent, tag: "2"}\napplications:\n  api:\n    sidecar:\n      image: {repository: acme/side, tag: "3"}\n    image: {repository: acme/api, tag: "1"}\n'}},
    ])
    expect(m.images.map((i) => [i.key, i.readByOperator])).toEqual([
      ['applications.api.image', true],
      ['applications.api.sidecar.image', false],
      ['telemetry.collector.image', false],
      ['telemetry.images.agent', false],
    ])
    expect(m.warnings).toContain('sm:v: top-level key "telemetry" is not read by this operator version; images under it are listed anyway')
  })
})

describe('requiredOperatorVersion', () => {
  it('a pre-release operator satisfies the range of its release version', () => {
    expect(checkOperatorVersion('^2.0.0', '2.0.0-beta.3', 'sm')?.note).toBe('2.0.0-beta.3 satisfies ^2.0.0 by its release version 2.0.0')
    expect(checkOperatorVersion('^2.0.0', '2.1.0', 'sm')?.note).toBe('2.1.0 satisfies ^2.0.0')
    expect(checkOperatorVersion(undefined, '2.1.0', 'sm')).toBeUndefined()
  })

  it('refuses an operator too old for the manifest, and a range that does not parse', () => {
    expect(() => checkOperatorVersion('^2.0.0', '1.22.0', 'sm:0.99.0')).toThrow(UsageError)
    expect(() => checkOperatorVersion('^2.0.0', '1.22.0', 'sm:0.99.0')).toThrow('server manifest sm:0.99.0 needs an operator ^2.0.0, but the operator chart is 1.22.0')
    expect(() => checkOperatorVersion('two', '2.0.0', 'sm')).toThrow(SpecError)
  })
})

describe('findMissingImages', () => {
  it('names the key of every image its repository does not have', async () => {
    const m = await load('single')
    const registry = new MemoryRegistry()
    for (const image of m.images.filter((i) => i.key !== 'kafka.images.etcd')) {
      const {makeImage} = await import('../../test/support/images.js')
      await loadInto(registry.repository(`${image.source.registry}/${image.source.repository}`), await makeImage({seed: image.key, layers: 1, fileSize: 16}), image.source.tag)
    }
    const missing = await findMissingImages(m.images, (i) => registry.repository(`${i.source.registry}/${i.source.repository}`))
    expect(missing.map((x) => x.image.key)).toEqual(['kafka.images.etcd'])
  })
})

it('the fixtures are our own made-up files', () => {
  expect(fixtureText('manifest.yaml')).toContain('# Made-up server manifest')
})
