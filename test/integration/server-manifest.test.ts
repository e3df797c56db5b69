/**
 * The W&B v2 server manifest read from a real registry (distribution): the three artifact forms
 * the operator reads, every image listed with its manifest key, each resolved in the registry
 * that stands in for upstream; one image missing upstream is named by its key.
 */
import {afterAll, beforeAll, expect, it} from 'vitest'
import type {RegistryClient} from '../../src/registry/index.js'
import {formatReference} from '../../src/oci/reference.js'
import {findMissingImages, loadServerManifest} from '../../src/server-manifest/index.js'
import {loadInto} from '../support/images.js'
import {imageSources, makeServerManifest, MANIFEST_VARIANTS, seedUpstreamImages, upstreamRepository} from '../support/server-manifest.js'
import {describeWithServices, services} from '../support/services.js'
import {clientFor, repoName} from './registry-support.js'

const VERSION = '0.99.0'

describeWithServices('server manifest from a real registry', () => {
  let client: RegistryClient
  const prefix = repoName('v2-upstream')
  const MISSING = 'quay.io/acme/kv-store:v3.5.9'

  beforeAll(async () => {
    client = clientFor(services().registries.plain)
    const texts = (await makeServerManifest('layers')).texts
    await seedUpstreamImages(client, prefix, imageSources(texts), new Set([MISSING]))
    for (const variant of MANIFEST_VARIANTS) {
      await loadInto(client.repository(`${prefix}/${variant}/wandb/server-manifest`), await makeServerManifest(variant), VERSION)
    }
  })
  afterAll(async () => client?.close())

  for (const variant of MANIFEST_VARIANTS) {
    it(`${variant}: resolves the artifact and lists every image with its manifest key`, async () => {
      const repo = client.repository(`${prefix}/${variant}/wandb/server-manifest`)
      const where = `${services().registries.plain.host}/${prefix}/${variant}/wandb/server-manifest:${VERSION}`
      const m = await loadServerManifest(repo, VERSION, where)
      const built = await makeServerManifest(variant)
      expect(m.artifact.root.digest).toBe(built.root.digest)
      expect(m.artifact.manifest.digest).toBe(built.manifest.descriptor.digest)
      const bufstream = variant === 'layers' ? '1.2.1' : '1.2.0'
      expect(m.images.map((i) => `${i.key} ${formatReference(i.source)}`)).toEqual([
        'applications.api.image registry.example.com/acme/public/platform/server:0.99.0',
        'applications.notebook.image registry.example.com/acme/public/platform/notebook:0.99.0',
        'applications.web.image registry.example.com/acme/public/platform/web:0.99.0',
        'applications.web.initContainers[0].image docker.io/acme/toolbox:1.4',
        'bucket.default.images.seaweedfs docker.io/acme/objstore:3.1',
        'clickhouse.default.images.server quay.io/acme/columnar-server:24.3.1',
        'clickhouseKeeper.default.images.keeper quay.io/acme/columnar-keeper:24.3.1',
        'kafka.images.bucketEnsure docker.io/acme/cloud-cli:2.1.0',
        `kafka.images.bufstream registry.example.com/streams/broker:${bufstream}`,
        'kafka.images.etcd quay.io/acme/kv-store:v3.5.9',
        'migrations.schema.image registry.example.com/acme/public/platform/server:0.99.0',
        'mysql.default.images.exporter docker.io/acme/sql-exporter:v0.1.0',
        'mysql.default.images.mysql ghcr.io/acme/sql/server:8.4.1',
        'redis.default.images.exporter quay.io/acme/cache-exporter:v1.2.0',
        'redis.default.images.replication quay.io/acme/cache:v7.0.1',
        'redis.default.images.sentinel quay.io/acme/cache-sentinel:v7.0.1',
        'redis.default.images.standalone quay.io/acme/cache:v7.0.1',
      ])
      const missing = await findMissingImages(m.images, (i) => client.repository(upstreamRepository(prefix, i.source)))
      expect(missing.map((x) => `${x.image.key} ${formatReference(x.image.source)}`)).toEqual([`kafka.images.etcd ${MISSING}`])
    })
  }

  it('a tag that does not exist is a NotFoundError naming the repository', async () => {
    const repo = client.repository(`${prefix}/single/wandb/server-manifest`)
    await expect(loadServerManifest(repo, '0.0.0-none', 'sm')).rejects.toMatchObject({code: 'NOT_FOUND'})
  })
})
