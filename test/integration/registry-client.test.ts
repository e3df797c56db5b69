/**
 * RegistryRepository against the real registries (distribution 2.8) in every auth mode: blobs
 * (monolithic and chunked), manifests by tag and digest with bytes preserved, mounts, tags.
 */
import * as diagnostics from 'node:diagnostics_channel'
import {Readable} from 'node:stream'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {readAll} from '../../src/content/verify.js'
import {MediaType} from '../../src/oci/types.js'
import type {RegistryClient} from '../../src/registry/index.js'
import {makeImage, type GeneratedImage} from '../support/images.js'
import {describeWithServices, services, type RegistryMode} from '../support/services.js'
import {clientFor, collect, randomBlob, recordRequests, repoName} from './registry-support.js'

const MODES: RegistryMode[] = ['plain', 'htpasswd', 'token', 'tls']

for (const mode of MODES) {
  describeWithServices(`registry client (${mode} registry)`, () => {
    let client: RegistryClient
    let image: GeneratedImage
    const warnings: string[] = []

    beforeAll(async () => {
      client = clientFor(services().registries[mode], 'admin', {
        chunkThreshold: 100 * 1024,
        chunkSize: 40 * 1024,
        onWarning: (w) => warnings.push(w),
      })
      image = await makeImage({seed: `registry-client-${mode}`, layers: 2})
    })
    afterAll(async () => client?.close())

    it('pings the registry with the configured credentials', async () => {
      await expect(client.ping()).resolves.toBeUndefined()
    })

    it('existence checks (HEAD) keep their connection open: 6 more checks, no new connection', async () => {
      const repo = client.repository(repoName('keepalive'))
      const b = randomBlob(10 * 1024)
      // Warm up: connect (and, in token mode, fetch the token). distribution drops the very first
      // connection of a client after one response, so the pool is settled after two checks.
      for (let i = 0; i < 2; i++) await repo.exists(b.descriptor)
      let connects = 0
      const onConnect = (): void => void connects++
      diagnostics.subscribe('undici:client:connected', onConnect)
      try {
        for (let i = 0; i < 6; i++) expect(await repo.exists(b.descriptor)).toBe(false)
      } finally {
        diagnostics.unsubscribe('undici:client:connected', onConnect)
      }
      expect(connects).toBe(0)
    })

    it('pushes a blob monolithically and fetches the same bytes back', async () => {
      const repo = client.repository(repoName('mono'))
      const b = randomBlob(50 * 1024)
      expect(await repo.exists(b.descriptor)).toBe(false)
      const rec = recordRequests(client.apiHost)
      await repo.push(b.descriptor, Readable.from(b.bytes)).finally(rec.stop)
      const uploads = rec.requests.filter((r) => r.path.includes('/blobs/uploads/'))
      expect(uploads.filter((r) => r.method === 'PATCH')).toEqual([])
      expect(uploads.filter((r) => r.method === 'PUT' && r.path.includes('digest=sha256%3A'))).toHaveLength(1)
      expect(await repo.exists(b.descriptor)).toBe(true)
      const got = await readAll(await repo.fetch(b.descriptor), 1 << 20, 'test')
      expect(got.equals(b.bytes)).toBe(true)
    })

    it('pushes a blob larger than the chunk threshold in chunks (3 PATCH + PUT) and reads it back', async () => {
      const repo = client.repository(repoName('chunked'))
      const b = randomBlob(110 * 1024) // 40 + 40 + 30 KiB
      const rec = recordRequests(client.apiHost)
      await repo.push(b.descriptor, Readable.from(b.bytes)).finally(rec.stop)
      const uploads = rec.requests.filter((r) => r.path.includes('/blobs/uploads/'))
      expect(uploads.filter((r) => r.method === 'PATCH')).toHaveLength(3)
      const puts = uploads.filter((r) => r.method === 'PUT')
      expect(puts).toHaveLength(1)
      expect(puts[0]!.path).toMatch(/[?&]_state=.*&digest=sha256%3A/)
      const got = await readAll(await repo.fetch(b.descriptor), 1 << 20, 'test')
      expect(got.equals(b.bytes)).toBe(true)
    })

    it('pushes an image, keeps manifest bytes and resolves/fetches it by tag and digest', async () => {
      const repo = client.repository(repoName('image'))
      for (const b of image.blobs.slice(0, -1)) await repo.push(b.descriptor, Readable.from(b.bytes))
      const manifest = image.manifest
      await repo.pushReference(manifest.descriptor, Readable.from(manifest.bytes), 'v1')
      const byTag = await repo.resolve('v1')
      expect(byTag).toEqual({mediaType: MediaType.OciManifest, digest: manifest.descriptor.digest, size: manifest.bytes.length})
      const byDigest = await repo.resolve(manifest.descriptor.digest)
      expect(byDigest.digest).toBe(manifest.descriptor.digest)
      const fetched = await readAll(await repo.fetch(byTag), 1 << 20, 'test')
      expect(fetched.equals(manifest.bytes)).toBe(true)
      expect(await repo.exists(manifest.descriptor)).toBe(true)
      // tag() re-points another tag at the pushed manifest
      await repo.tag(byTag, 'latest')
      expect((await repo.resolve('latest')).digest).toBe(manifest.descriptor.digest)
    })

    it('pushes a manifest by digest with push() and refuses bytes that do not match the descriptor', async () => {
      const repo = client.repository(repoName('bydigest'))
      for (const b of image.blobs.slice(0, -1)) await repo.push(b.descriptor, Readable.from(b.bytes))
      await repo.push(image.manifest.descriptor, Readable.from(image.manifest.bytes))
      expect(await repo.exists(image.manifest.descriptor)).toBe(true)
      const tampered = Buffer.from(image.manifest.bytes)
      tampered[tampered.length - 2] ^= 1
      await expect(repo.push({...image.manifest.descriptor, digest: 'sha256:' + '0'.repeat(64)}, Readable.from(tampered))).rejects.toMatchObject({
        exitCode: 5,
      })
    })

    it('mounts a blob from another repository instead of uploading it', async () => {
      const src = client.repository(repoName('mount-src'))
      const dst = client.repository(repoName('mount-dst'))
      const b = randomBlob(64 * 1024)
      await src.push(b.descriptor, Readable.from(b.bytes))
      expect(await dst.exists(b.descriptor)).toBe(false)
      const rec = recordRequests(client.apiHost)
      expect(await dst.mount(b.descriptor, src.repository).finally(rec.stop)).toBe(true)
      // one POST ?mount=&from= (plus a possible auth retry), no upload of the bytes
      expect(rec.requests.filter((r) => r.method === 'PUT' || r.method === 'PATCH')).toEqual([])
      expect(rec.requests.filter((r) => r.method === 'POST').every((r) => r.path.includes('mount='))).toBe(true)
      expect(await dst.exists(b.descriptor)).toBe(true)
      // a blob that the source does not have is declined (202 -> session cancelled), not an error
      const missing = randomBlob(10)
      expect(await dst.mount(missing.descriptor, src.repository)).toBe(false)
      expect(await dst.exists(missing.descriptor)).toBe(false)
    })

    it('lists tags across pages (Link pagination, n=2)', async () => {
      const repo = client.repository(repoName('tags'))
      for (const b of image.blobs.slice(0, -1)) await repo.push(b.descriptor, Readable.from(b.bytes))
      const tags = ['a1', 'b2', 'c3', 'd4', 'e5']
      for (const t of tags) await repo.pushReference(image.manifest.descriptor, Readable.from(image.manifest.bytes), t)
      expect((await collect(repo.tags(undefined, 2))).sort()).toEqual(tags)
      expect((await collect(repo.tags())).sort()).toEqual(tags)
    })

    it('pushing a blob that exists is a no-op success', async () => {
      const repo = client.repository(repoName('exists'))
      const b = randomBlob(1000)
      await repo.push(b.descriptor, Readable.from(b.bytes))
      await expect(repo.push(b.descriptor, Readable.from(b.bytes))).resolves.toBeUndefined()
      expect(warnings).toEqual([])
    })

    it('lists the catalog (Link pagination) including a pushed repository', async () => {
      const name = repoName('catalog')
      const b = randomBlob(10)
      await client.repository(name).push(b.descriptor, Readable.from(b.bytes))
      for (const b2 of image.blobs.slice(0, -1)) await client.repository(name).push(b2.descriptor, Readable.from(b2.bytes))
      await client.repository(name).pushReference(image.manifest.descriptor, Readable.from(image.manifest.bytes), 'c')
      expect(await collect(client.catalog(undefined, 2))).toContain(name)
    })
  })
}
