import {describe, expect, it} from 'vitest'
import {IntegrityError, UnsupportedError} from '../errors.js'
import {digestOf} from './digest.js'
import {
  bareMediaType,
  isIndexMediaType,
  isManifestMediaType,
  manifestMediaTypeOf,
  parseManifest,
  successors,
} from './manifest.js'
import {MediaType} from './types.js'
import type {Descriptor} from './types.js'

const bytes = (v: unknown): Buffer => Buffer.from(JSON.stringify(v))
const blob = (content: string, mediaType: string): Descriptor => ({
  mediaType,
  digest: digestOf(Buffer.from(content)),
  size: Buffer.byteLength(content),
})
const config = blob('{"architecture":"amd64","os":"linux"}', MediaType.OciConfig)
const layer1 = blob('layer-1', MediaType.OciLayerGzip)
const layer2 = blob('layer-2', MediaType.OciLayerGzip)

const ociManifest = {schemaVersion: 2, mediaType: MediaType.OciManifest, config, layers: [layer1, layer2]}
const ociManifestDesc: Descriptor = {
  mediaType: MediaType.OciManifest,
  digest: digestOf(bytes(ociManifest)),
  size: bytes(ociManifest).length,
  platform: {os: 'linux', architecture: 'amd64'},
}
const ociIndex = {schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [ociManifestDesc]}
const dockerManifest = {
  schemaVersion: 2,
  mediaType: MediaType.DockerManifest,
  config: {...config, mediaType: MediaType.DockerConfig},
  layers: [{...layer1, mediaType: MediaType.DockerLayer}],
}
const dockerList = {
  schemaVersion: 2,
  mediaType: MediaType.DockerManifestList,
  manifests: [{...ociManifestDesc, mediaType: MediaType.DockerManifest}],
}
// As written by `helm push` (helm/helm pkg/registry/client.go): no mediaType, no artifactType.
const helmManifest = {
  schemaVersion: 2,
  config: blob('{"name":"mychart","version":"0.1.0"}', MediaType.HelmConfig),
  layers: [blob('tgz', MediaType.HelmChart), blob('prov', MediaType.HelmProvenance)],
  annotations: {'org.opencontainers.image.title': 'mychart', 'org.opencontainers.image.version': '0.1.0'},
}
const schema1 = {
  schemaVersion: 1,
  name: 'library/redis',
  tag: 'latest',
  architecture: 'amd64',
  fsLayers: [{blobSum: layer1.digest}],
  history: [],
}

function thrown(fn: () => unknown): Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected a throw')
}

describe('media type helpers', () => {
  it('classify manifest and index types, ignoring parameters and case', () => {
    expect(isIndexMediaType(MediaType.OciIndex)).toBe(true)
    expect(isIndexMediaType(MediaType.DockerManifestList)).toBe(true)
    expect(isIndexMediaType(MediaType.OciManifest)).toBe(false)
    expect(isManifestMediaType(MediaType.OciManifest)).toBe(true)
    expect(isManifestMediaType(`${MediaType.DockerManifest}; charset=utf-8`)).toBe(true)
    expect(isManifestMediaType(MediaType.OciIndex)).toBe(false)
    expect(isManifestMediaType(MediaType.DockerSchema1Signed)).toBe(false)
    expect(isManifestMediaType(MediaType.OciLayerGzip)).toBe(false)
    expect(bareMediaType(' Application/JSON ; charset=utf-8')).toBe('application/json')
  })
})

describe('parseManifest', () => {
  it('parses an OCI image manifest', () => {
    const got = parseManifest(bytes(ociManifest), MediaType.OciManifest, 'r/a:1')
    expect(got.kind).toBe('manifest')
    expect(got.mediaType).toBe(MediaType.OciManifest)
    if (got.kind === 'manifest') expect(got.manifest.layers).toHaveLength(2)
  })

  it('parses an OCI index and a Docker manifest list', () => {
    const a = parseManifest(bytes(ociIndex), MediaType.OciIndex, 'r/a:1')
    expect(a.kind).toBe('index')
    if (a.kind === 'index') expect(a.index.manifests[0]?.platform?.architecture).toBe('amd64')
    expect(parseManifest(bytes(dockerList), `${MediaType.DockerManifestList}; charset=utf-8`, 'x').kind).toBe('index')
  })

  it('parses a Docker schema 2 manifest', () => {
    expect(parseManifest(bytes(dockerManifest), MediaType.DockerManifest, 'x')).toMatchObject({
      kind: 'manifest',
      mediaType: MediaType.DockerManifest,
    })
  })

  it('parses a Helm chart manifest that has no mediaType, from the given type or from its shape', () => {
    expect(parseManifest(bytes(helmManifest), MediaType.OciManifest, 'charts/mychart:0.1.0').kind).toBe('manifest')
    const byShape = parseManifest(bytes(helmManifest), '', 'charts/mychart:0.1.0')
    expect(byShape).toMatchObject({kind: 'manifest', mediaType: MediaType.OciManifest})
    expect(parseManifest(bytes(ociIndex), 'application/octet-stream', 'x').kind).toBe('index')
    expect(parseManifest(bytes({schemaVersion: 2, manifests: []}), '', 'x')).toMatchObject({
      kind: 'index',
      mediaType: MediaType.OciIndex,
    })
  })

  it('takes the kind from the body mediaType when the given type is not a manifest type', () => {
    expect(parseManifest(bytes(dockerList), 'application/json', 'x')).toMatchObject({
      kind: 'index',
      mediaType: MediaType.DockerManifestList,
    })
  })

  it('accepts unknown artifact, config and layer media types', () => {
    const artifact = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      artifactType: 'application/vnd.example.thing.v1',
      config: {mediaType: MediaType.OciEmpty, digest: digestOf(Buffer.from('{}')), size: 2, data: 'e30='},
      layers: [blob('x', 'application/vnd.example.unknown.layer+weird')],
      subject: ociManifestDesc,
      annotations: {a: 'b'},
    }
    const got = parseManifest(bytes(artifact), MediaType.OciManifest, 'x')
    expect(got.kind).toBe('manifest')
  })

  it('refuses Docker schema 1 with UnsupportedError and a hint to re-push', () => {
    for (const [body, mt] of [
      [schema1, MediaType.DockerSchema1Signed],
      [schema1, MediaType.DockerSchema1],
      [schema1, 'application/json'],
      [{...schema1, schemaVersion: 2, mediaType: MediaType.DockerSchema1}, ''],
    ] as const) {
      const err = thrown(() => parseManifest(bytes(body), mt, 'docker.io/library/old:1'))
      expect(err).toBeInstanceOf(UnsupportedError)
      expect(err.message).toContain('docker.io/library/old:1')
      expect(err.message).toContain('Docker schema 1 manifests are not supported')
      expect((err as UnsupportedError).hint).toMatch(/re-push the image with a current client/)
    }
  })

  it('refuses the removed OCI artifact manifest and other schema versions', () => {
    expect(thrown(() => parseManifest(bytes({schemaVersion: 2, mediaType: MediaType.OciArtifactManifest, blobs: []}), '', 'x'))).toBeInstanceOf(
      UnsupportedError,
    )
    expect(thrown(() => parseManifest(bytes({...ociManifest, schemaVersion: 3}), MediaType.OciManifest, 'x')).message).toMatch(
      /schemaVersion 3/,
    )
  })

  it('rejects bad JSON and non-objects with IntegrityError naming where', () => {
    for (const raw of ['{', 'null', '[]', '"x"', '']) {
      const err = thrown(() => parseManifest(Buffer.from(raw), MediaType.OciManifest, 'reg/app:1 (source)'))
      expect(err).toBeInstanceOf(IntegrityError)
      expect(err.message).toContain('manifest reg/app:1 (source)')
    }
  })

  it('rejects a body mediaType that contradicts the given one', () => {
    const err = thrown(() => parseManifest(bytes(ociIndex), MediaType.OciManifest, 'reg/app:1'))
    expect(err).toBeInstanceOf(IntegrityError)
    expect(err.message).toBe(
      `manifest reg/app:1 says its mediaType is "${MediaType.OciIndex}" but it was served or referenced as "${MediaType.OciManifest}"`,
    )
  })

  it('rejects content that is neither index nor manifest', () => {
    expect(thrown(() => parseManifest(bytes({schemaVersion: 2, foo: 1}), '', 'x')).message).toMatch(/neither an image index nor/)
    expect(thrown(() => parseManifest(bytes({schemaVersion: 2, layers: []}), MediaType.OciManifest, 'x')).message).toMatch(
      /at config: an image manifest must have a config/,
    )
    expect(thrown(() => parseManifest(bytes({schemaVersion: 2}), MediaType.OciIndex, 'x')).message).toMatch(/at manifests:/)
  })

  it.each([
    [{...ociManifest, layers: [layer1, {...layer2, digest: 'sha256:abc'}]}, 'layers[1].digest', /64 hex characters, got 3/],
    [{...ociManifest, layers: [{...layer1, size: -1}]}, 'layers[0].size', /non-negative integer, got -1/],
    [{...ociManifest, layers: [{...layer1, size: 1.5}]}, 'layers[0].size', /non-negative integer/],
    [{...ociManifest, layers: [{...layer1, size: '7'}]}, 'layers[0].size', /got "7"/],
    [{...ociManifest, config: {...config, mediaType: 7}}, 'config.mediaType', /non-empty string/],
    [{...ociManifest, config: {digest: config.digest, size: config.size}}, 'config.mediaType', /non-empty string/],
    [{...ociManifest, layers: 'x'}, 'layers', /array of descriptors/],
    [{...ociManifest, layers: [null]}, 'layers[0]', /must be an object/],
    [{...ociManifest, subject: {...layer1, digest: 'nope'}}, 'subject.digest', /must look like/],
    [{...ociManifest, annotations: {a: 1}}, 'annotations["a"]', /must be a string/],
    [{...ociManifest, layers: [{...layer1, urls: [1]}]}, 'layers[0].urls', /array of strings/],
    [{...ociIndex, manifests: [{...ociManifestDesc, platform: {os: 'linux'}}]}, 'manifests[0].platform.architecture', /string/],
  ])('reports the JSON path of a bad descriptor (%#: %s)', (body, path, problem) => {
    const mt = 'manifests' in body ? MediaType.OciIndex : MediaType.OciManifest
    const err = thrown(() => parseManifest(bytes(body), mt, 'reg/app:1'))
    expect(err).toBeInstanceOf(IntegrityError)
    expect(err.message).toContain(`manifest reg/app:1 is invalid at ${path}:`)
    expect(err.message).toMatch(problem)
  })
})

describe('successors', () => {
  it('index -> manifests (+ subject)', () => {
    expect(successors(bytes(ociIndex), {mediaType: MediaType.OciIndex, digest: digestOf(bytes(ociIndex)), size: 1})).toEqual([
      ociManifestDesc,
    ])
    const withSubject = {...ociIndex, subject: layer1}
    const got = successors(bytes(withSubject), {mediaType: MediaType.OciIndex, digest: digestOf(bytes(withSubject)), size: 1})
    expect(got.map((d) => d.digest)).toEqual([ociManifestDesc.digest, layer1.digest])
  })

  it('manifest -> config, layers (+ subject)', () => {
    const got = successors(bytes({...ociManifest, subject: ociManifestDesc}), ociManifestDesc)
    expect(got).toEqual([config, layer1, layer2, ociManifestDesc])
    expect(successors(bytes(helmManifest), {...ociManifestDesc, mediaType: MediaType.OciManifest})).toHaveLength(3)
  })

  it('blobs and unknown types -> []', () => {
    expect(successors(Buffer.from('not json'), layer1)).toEqual([])
    expect(successors(bytes(ociIndex), {...config, mediaType: 'application/vnd.unknown'})).toEqual([])
  })

  it('names the digest of a bad manifest', () => {
    const d = {mediaType: MediaType.OciManifest, digest: digestOf(Buffer.from('{')), size: 1}
    expect(thrown(() => successors(Buffer.from('{'), d)).message).toContain(d.digest)
  })
})

describe('manifestMediaTypeOf', () => {
  it.each([
    [bytes(ociManifest), MediaType.OciManifest],
    [bytes(dockerList), MediaType.DockerManifestList],
    [bytes(helmManifest), MediaType.OciManifest],
    [bytes({schemaVersion: 2, manifests: []}), MediaType.OciIndex],
    [bytes(schema1), MediaType.DockerSchema1],
    [bytes({foo: 1}), undefined],
    [Buffer.from('garbage'), undefined],
    [Buffer.from('[]'), undefined],
  ])('%#', (raw, want) => {
    expect(manifestMediaTypeOf(raw)).toBe(want)
  })
})
