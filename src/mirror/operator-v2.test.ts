import {describe, expect, it} from 'vitest'
import {UsageError} from '../errors.js'
import {parseMirrorRegistry, planMirror} from './mapping.js'
import {planV2Mirror, type V2ImageInput} from './operator-v2.js'

const D = (c: string) => `sha256:${c.repeat(64)}`
const image = (operatorPath: string, source: string, tag: string, digest: string, keys: string[], pinnedDigest = ''): V2ImageInput => ({operatorPath, source, tag, digest, keys, pinnedDigest})
const MANIFEST = {source: 'us-docker.pkg.dev/wandb-production/public/wandb/server-manifest:0.99.0', digest: D('f')}

describe('planV2Mirror: the literal registry/repository under the mirror', () => {
  it('keeps docker.io/ when the manifest writes it, adds nothing to a blank registry, keeps a host written in repository', () => {
    const plan = planV2Mirror({
      registry: parseMirrorRegistry('registry.corp:5000/wandb'),
      version: '0.99.0',
      manifest: MANIFEST,
      images: [
        image('docker.io/chrislusf/seaweedfs', 'docker.io/chrislusf/seaweedfs:4.0', '4.0', D('1'), ['bucket.default.images.seaweedfs']),
        image('amazon/aws-cli', 'docker.io/amazon/aws-cli:2.1.0', '2.1.0', D('2'), ['kafka.images.bucketEnsure']),
        image('us-docker.pkg.dev/acme/public/wandb/megabinary', 'us-docker.pkg.dev/acme/public/wandb/megabinary:0.99.0', '0.99.0', D('3'), ['applications.api.image']),
      ],
    })
    expect(plan.imageRegistry).toBe('registry.corp:5000/wandb')
    expect(plan.manifestRepository).toBe('oci://registry.corp:5000/wandb/wandb/server-manifest')
    expect(plan.manifest).toEqual({source: MANIFEST.source, mirror: 'registry.corp:5000/wandb/wandb/server-manifest:0.99.0', repository: 'registry.corp:5000/wandb/wandb/server-manifest', tag: '0.99.0', digest: D('f'), keys: []})
    expect(plan.images.map((p) => [p.mirror, p.digest, p.keys])).toEqual([
      ['registry.corp:5000/wandb/amazon/aws-cli:2.1.0', D('2'), ['kafka.images.bucketEnsure']],
      ['registry.corp:5000/wandb/docker.io/chrislusf/seaweedfs:4.0', D('1'), ['bucket.default.images.seaweedfs']],
      ['registry.corp:5000/wandb/us-docker.pkg.dev/acme/public/wandb/megabinary:0.99.0', D('3'), ['applications.api.image']],
    ])
  })

  it('a Docker Hub official short name stays without library/, exactly as the operator writes it', () => {
    const plan = planV2Mirror({registry: parseMirrorRegistry('mirror.corp'), version: '1.0.0', manifest: MANIFEST, images: [image('redis', 'docker.io/library/redis:7', '7', D('1'), ['x.images.redis'])]})
    expect(plan.images[0]!.mirror).toBe('mirror.corp/redis:7')
  })

  it('one image named by two entries (host in repository, and registry + repository) gets one placement with both keys', () => {
    const plan = planV2Mirror({
      registry: parseMirrorRegistry('m.corp'),
      version: '1.0.0',
      manifest: MANIFEST,
      images: [
        image('r.example/acme/server', 'r.example/acme/server:1', '1', D('1'), ['applications.api.image']),
        image('r.example/acme/server', 'r.example/acme/server:1', '1', D('1'), ['migrations.schema.image']),
      ],
    })
    expect(plan.images.map((p) => [p.mirror, p.keys])).toEqual([['m.corp/r.example/acme/server:1', ['applications.api.image', 'migrations.schema.image']]])
  })

  it('an entry pinned by digest only is pushed by digest; one with neither tag nor digest gets latest, as a runtime pulls it', () => {
    const plan = planV2Mirror({
      registry: parseMirrorRegistry('m.corp'),
      version: '1.0.0',
      manifest: MANIFEST,
      images: [image('acme/pinned', `docker.io/acme/pinned@${D('1')}`, '', D('1'), ['a'], D('1')), image('acme/bare', 'docker.io/acme/bare:latest', '', D('2'), ['b'])],
    })
    expect(plan.images.map((p) => p.mirror)).toEqual(['m.corp/acme/bare:latest', `m.corp/acme/pinned@${D('1')}`])
  })
})

describe('planV2Mirror: refused before anything is written', () => {
  it('two different sources in one mirror repository (against the placements of other images)', () => {
    const registry = parseMirrorRegistry('m.corp')
    const others = planMirror([{source: 'quay.io/coreos/etcd:v3.5', digest: D('9')}], registry, false)
    const run = () => planV2Mirror({registry, version: '1.0.0', manifest: MANIFEST, images: [image('coreos/etcd', 'docker.io/coreos/etcd:v3.5', 'v3.5', D('1'), ['kafka.images.etcd'])], others})
    expect(run).toThrow(UsageError)
    expect(run).toThrow('quay.io/coreos/etcd:v3.5 (quay.io/coreos/etcd) and manifest image kafka.images.etcd (docker.io/coreos/etcd) both need m.corp/coreos/etcd')
  })

  it('one tag on two digests', () => {
    const run = () =>
      planV2Mirror({
        registry: parseMirrorRegistry('m.corp'),
        version: '1.0.0',
        manifest: MANIFEST,
        images: [image('acme/a', 'docker.io/acme/a:1', '1', D('1'), ['k1'], D('1')), image('acme/a', `docker.io/acme/a:1@${D('2')}`, '1', D('2'), ['k2'], D('2'))],
      })
    expect(run).toThrow(`manifest image k1 and manifest image k2 both need m.corp/acme/a:1, at ${D('1')} and ${D('2')}`)
  })

  it('an image at the manifest repository, and a path the operator would build that no registry accepts', () => {
    const run = () =>
      planV2Mirror({
        registry: parseMirrorRegistry('m.corp'),
        version: '1.0.0',
        manifest: MANIFEST,
        images: [
          image('wandb/server-manifest', 'docker.io/wandb/server-manifest:2', '2', D('1'), ['odd.image']),
          image('localhost:5000/acme/x', 'localhost:5000/acme/x:1', '1', D('2'), ['applications.x.image']),
        ],
      })
    expect(run).toThrow(/the server manifest \(us-docker\.pkg\.dev\/wandb-production\/public\/wandb\/server-manifest\) and manifest image odd\.image \(docker\.io\/wandb\/server-manifest\) both need m\.corp\/wandb\/server-manifest/)
    expect(run).toThrow('manifest image applications.x.image: the operator would pull m.corp/localhost:5000/acme/x:1, but "localhost:5000" cannot be a repository path component')
  })

  it('a version that cannot be a tag', () => {
    expect(() => planV2Mirror({registry: parseMirrorRegistry('m.corp'), version: '1.0+build', manifest: MANIFEST, images: []})).toThrow('server version "1.0+build" cannot be the manifest\'s tag in the mirror')
  })
})
