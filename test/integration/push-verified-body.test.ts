/**
 * Push hashes each blob once on its way out of the bundle: the bundle reader hands over verified
 * chunks in reused memory (ChunkFetcher) and the registry sends them as they are (ChunkPusher),
 * or, above the chunking threshold, as a verifying stream it does not hash again. These
 * tests bypass push's pre-pass on purpose and copy straight out of a damaged bundle into a real
 * registry: nothing corrupt may ever be committed, with a monolithic PUT or a chunked upload.
 */
import {copyFile, mkdtemp, open, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {fetchAll} from '../../src/content/verify.js'
import {isChunkFetcher, isChunkPusher, type Storage} from '../../src/content/types.js'
import {copyGraph} from '../../src/copy/index.js'
import {IntegrityError} from '../../src/errors.js'
import type {Descriptor} from '../../src/oci/types.js'
import {BundleReader, type BundleEntry} from '../../src/bundle/index.js'
import type {RegistryClientOptions, RegistryRepository} from '../../src/registry/index.js'
import {describeWithServices, services} from '../support/services.js'
import {buildFixture} from './push-fixtures.js'
import {clientFor, repoName} from './registry-support.js'

function descOf(entry: BundleEntry): Descriptor {
  return {mediaType: 'application/octet-stream', digest: `sha256:${entry.name.split('/').pop()}`, size: entry.size}
}

/** The repository, with every push()/pushVerified()/pushChunks() call recorded (the real methods run). */
function recorded(repo: RegistryRepository): {dst: Storage; calls: string[]} {
  const calls: string[] = []
  const dst = new Proxy(repo, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver)
      if (typeof value !== 'function') return value
      const fn = value as (...args: unknown[]) => unknown
      if (prop === 'push' || prop === 'pushVerified' || prop === 'pushChunks') return (...args: unknown[]) => (calls.push(prop), fn.apply(target, args))
      return fn.bind(target)
    },
  })
  return {dst, calls}
}

function hasIntegrityError(err: unknown): boolean {
  for (let e: unknown = err, i = 0; i < 8 && e instanceof Error; i++, e = e.cause) if (e instanceof IntegrityError) return true
  return false
}

describeWithServices('push: one hash pass, nothing corrupt committed (real registry)', () => {
  let dir: string
  let intact: string
  let damaged: string
  let blob: BundleEntry

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-verified-body-'))
    const fx = await buildFixture({dir, seed: `vbody-${process.pid}`, fileSize: 64 * 1024})
    intact = fx.bundle
    const reader = await BundleReader.open(intact)
    blob = reader.entries().filter((e) => e.kind === 'blob').sort((a, b) => b.size - a.size)[0]!
    await reader.close()
    damaged = join(dir, 'damaged.tar')
    await copyFile(intact, damaged)
    const fh = await open(damaged, 'r+')
    const b = Buffer.alloc(1)
    await fh.read(b, 0, 1, blob.offset + blob.size - 10)
    b[0] = b[0]! ^ 0xff
    await fh.write(b, 0, 1, blob.offset + blob.size - 10)
    await fh.close()
  }, 60_000)

  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  const uploads: Array<[string, RegistryClientOptions]> = [
    ['monolithic PUT', {}],
    ['chunked upload', {chunkThreshold: 1024, chunkSize: 16 * 1024}],
  ]

  describe.each(uploads)('%s', (_name, clientOptions) => {
    it('a flipped byte fails the copy as a source integrity error and the registry never holds the blob', async () => {
      const repo = clientFor(services().registries.plain, 'admin', clientOptions).repository(repoName('vbody-bad'))
      const reader = await BundleReader.open(damaged)
      try {
        expect(isChunkFetcher(reader) && isChunkPusher(repo)).toBe(true)
        const {dst, calls} = recorded(repo)
        const desc = descOf(blob)
        const err = await copyGraph(reader, dst, desc).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(err).toBeInstanceOf(Error)
        expect(hasIntegrityError(err)).toBe(true)
        expect((err as Error).message).toContain(desc.digest)
        expect(calls.length).toBeGreaterThan(0)
        expect(new Set(calls)).toEqual(new Set(['pushChunks']))
        expect(await repo.exists(desc)).toBe(false)
      } finally {
        await reader.close()
      }
    })

    it('an intact blob is pushed through the single-hash path and reads back with its digest', async () => {
      const repo = clientFor(services().registries.plain, 'admin', clientOptions).repository(repoName('vbody-ok'))
      const reader = await BundleReader.open(intact)
      try {
        const {dst, calls} = recorded(repo)
        const desc = descOf(blob)
        const stats = await copyGraph(reader, dst, desc)
        expect(stats.blobsCopied).toBe(1)
        expect(calls).toEqual(['pushChunks'])
        expect(await repo.exists(desc)).toBe(true)
        const back = await fetchAll(repo, desc, 'read back', blob.size + 1)
        expect(back.length).toBe(blob.size)
      } finally {
        await reader.close()
      }
    })
  })

  describe('several MiB sent from one reused buffer', () => {
    let big: string
    let entry: BundleEntry

    beforeAll(async () => {
      const fx = await buildFixture({dir, seed: `vbody-big-${process.pid}`, fileSize: 3 * 1024 * 1024 + 12345})
      big = fx.bundle
      const reader = await BundleReader.open(big)
      entry = reader.entries().filter((e) => e.kind === 'blob').sort((a, b) => b.size - a.size)[0]!
      await reader.close()
      expect(entry.size).toBeGreaterThan(3 * 1024 * 1024)
    }, 60_000)

    // The chunked case cuts PATCH boundaries (700 KiB) through the middle of the 1 MiB chunks.
    it.each([
      ['plain', 'one PUT', {}],
      ['tls', 'one PUT', {}],
      ['plain', 'PATCHes of 700 KiB', {chunkThreshold: 1024 * 1024, chunkSize: 700 * 1024}],
      ['tls', 'PATCHes of 700 KiB', {chunkThreshold: 1024 * 1024, chunkSize: 700 * 1024}],
    ] as const)('every chunk reaches the %s registry intact in %s (the registry checks the digest)', async (mode, _how, options: RegistryClientOptions) => {
      const repo = clientFor(services().registries[mode], 'admin', options).repository(repoName(`vbody-big-${mode}`))
      const reader = await BundleReader.open(big)
      try {
        const {dst, calls} = recorded(repo)
        const desc = descOf(entry)
        const stats = await copyGraph(reader, dst, desc)
        expect(stats.blobsCopied).toBe(1)
        expect(calls).toEqual(['pushChunks'])
        const back = await fetchAll(repo, desc, 'read back', entry.size + 1)
        const original = Buffer.alloc(entry.size)
        const fh = await open(big, 'r')
        await fh.read(original, 0, entry.size, entry.offset)
        await fh.close()
        expect(back.equals(original)).toBe(true)
      } finally {
        await reader.close()
      }
    })
  })
})
