import {Readable} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {AuthError, ExitCode, NotFoundError, RegistryError} from '../errors.js'
import {MemoryRegistry, MemoryTarget} from '../content/memory.js'
import type {Target} from '../content/types.js'
import {parseManifest} from '../oci/manifest.js'
import {parsePlatform} from '../oci/platform.js'
import {MediaType, type Descriptor} from '../oci/types.js'
import {verifier} from '../content/verify.js'
import {blob, jsonBlob, loadInto, makeImage, makeIndex, type BlobData} from '../../test/support/images.js'
import {CopyError, CopyTracker, ManifestCache, copy, copyGraph, narrowIndex, type CopyHooks} from './index.js'

async function sourceWithIndex(seed = 'idx'): Promise<{src: MemoryTarget; g: Awaited<ReturnType<typeof makeIndex>>}> {
  const g = await makeIndex({seed, sharedLayers: 2, layers: 1})
  const src = new MemoryTarget({location: 'memory source'})
  await loadInto(src, g, 'v1')
  return {src, g}
}

const isBlob = (b: BlobData): boolean =>
  b.descriptor.mediaType !== MediaType.OciManifest && b.descriptor.mediaType !== MediaType.OciIndex

describe('copy engine', () => {
  it('pushes each unique node of a two-platform index with shared layers exactly once', async () => {
    const {src, g} = await sourceWithIndex()
    const dst = new MemoryTarget()
    const {descriptor, stats} = await copy(src, 'v1', dst, 'v1')

    expect(descriptor.digest).toBe(g.root.digest)
    expect(dst.pushCount).toBe(g.blobs.length)
    expect(dst.digests()).toEqual(g.blobs.map((b) => b.descriptor.digest).sort())
    for (const b of g.blobs) expect(dst.bytes(b.descriptor.digest)?.equals(b.bytes)).toBe(true)
    expect(stats.manifestsCopied).toBe(3)
    expect(stats.blobsCopied).toBe(g.blobs.filter(isBlob).length)
    expect(stats.bytesCopied).toBe(g.blobs.reduce((n, b) => n + b.bytes.length, 0))
    expect((await dst.resolve('v1')).digest).toBe(g.root.digest)
  })

  it('transfers zero bytes on a second copy and only the missing part after a partial one', async () => {
    const {src, g} = await sourceWithIndex()
    const dst = new MemoryTarget()
    await copy(src, 'v1', dst, 'v1')
    const before = dst.pushedBytes

    const again = await copy(src, 'v1', dst, 'v2')
    expect(dst.pushedBytes).toBe(before)
    expect(again.stats).toMatchObject({bytesCopied: 0, blobsCopied: 0, manifestsCopied: 0, manifestsSkipped: 1})
    expect((await dst.resolve('v2')).digest).toBe(g.root.digest)

    // Lose the arm64 manifest, its own layer and the index: only those come back.
    const arm = g.images[1]!
    dst.delete(g.root.digest)
    dst.delete(arm.manifest.descriptor.digest)
    dst.delete(arm.layers[arm.layers.length - 1]!.descriptor.digest)
    const pushes = dst.pushCount
    const resumed = await copy(src, 'v1', dst, 'v1')
    expect(dst.pushCount - pushes).toBe(3)
    expect(resumed.stats).toMatchObject({manifestsCopied: 2, blobsCopied: 1, manifestsSkipped: 1})
  })

  it('shares in-flight nodes across concurrent copy() calls through one CopyTracker', async () => {
    const base = await makeIndex({seed: 'base', platforms: ['linux/amd64'], sharedLayers: 2, layers: 0})
    const shared = base.images[0]!.layers
    const a = await makeImage({seed: 'a', baseLayers: shared, layers: 1})
    const b = await makeImage({seed: 'b', baseLayers: shared, layers: 1})
    const src = new MemoryTarget()
    await loadInto(src, a, 'a')
    await loadInto(src, b, 'b')
    const dst = new MemoryTarget()
    const tracker = new CopyTracker({concurrency: 2})

    const [ra, rb] = await Promise.all([copy(src, 'a', dst, 'a', {tracker}), copy(src, 'b', dst, 'b', {tracker})])
    const unique = new Set([...a.blobs, ...b.blobs].map((x) => x.descriptor.digest))
    expect(dst.pushCount).toBe(unique.size)
    expect(ra.stats.blobsCopied + rb.stats.blobsCopied).toBe(2 + 2 + 2) // shared twice once, own layer + config each
  })

  it('does not deadlock on a deep and wide graph with concurrency 1', async () => {
    const src = new MemoryTarget()
    const leafImages: Descriptor[] = []
    for (let i = 0; i < 12; i++) {
      const img = await makeImage({seed: `deep-${i % 4}-${i}`, layers: 2, files: 1, fileSize: 64})
      await loadInto(src, img)
      leafImages.push({...img.root, platform: {os: 'linux', architecture: 'amd64'}})
    }
    // Six levels of nested indexes, each holding the level below plus two images.
    let level: Descriptor[] = leafImages.slice(0, 2)
    let next = 2
    for (let depth = 0; depth < 6; depth++) {
      const idx = jsonBlob({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [...level, ...leafImages.slice(next, next + 2)]}, MediaType.OciIndex)
      next += 2
      src.put(idx.bytes, MediaType.OciIndex)
      level = [idx.descriptor]
    }
    const root = level[0]!
    const dst = new MemoryTarget()
    const stats = await copyGraph(src, dst, root, {concurrency: 1})
    expect(stats.manifestsCopied).toBe(6 + 12)
    expect(dst.digests()).toEqual(src.digests())
  })

  it('starts the largest sibling blobs first', async () => {
    const layers = [10, 5000, 300, 70_000].map((n, i) => blob(Buffer.alloc(n, i), MediaType.OciLayerGzip))
    const config = jsonBlob({architecture: 'amd64', os: 'linux'}, MediaType.OciConfig)
    const manifest = jsonBlob({schemaVersion: 2, mediaType: MediaType.OciManifest, config: config.descriptor, layers: layers.map((l) => l.descriptor)}, MediaType.OciManifest)
    const src = new MemoryTarget()
    await loadInto(src, {root: manifest.descriptor, blobs: [...layers, config, manifest]})
    const started: number[] = []
    await copyGraph(src, new MemoryTarget(), manifest.descriptor, {concurrency: 1, hooks: {onStart: (d) => d.mediaType === MediaType.OciLayerGzip && started.push(d.size)}})
    expect(started).toEqual([70_000, 5000, 300, 10])
  })

  it('reports progress through hooks: bytes as they flow, done, skipped', async () => {
    const {src, g} = await sourceWithIndex()
    const bytes = new Map<string, number>()
    const done: string[] = []
    const skipped: string[] = []
    const hooks: CopyHooks = {
      onBytes: (d, n) => bytes.set(d.digest, (bytes.get(d.digest) ?? 0) + n),
      onDone: (d) => done.push(d.digest),
      onSkipped: (d) => skipped.push(d.digest),
    }
    const dst = new MemoryTarget()
    await copy(src, 'v1', dst, 'v1', {hooks})
    for (const b of g.blobs) expect(bytes.get(b.descriptor.digest)).toBe(b.bytes.length)
    expect(done.sort()).toEqual(g.blobs.map((b) => b.descriptor.digest).sort())
    expect(done[done.length - 1]).toBeDefined()
    await copy(src, 'v1', dst, 'v1', {hooks})
    expect(skipped).toEqual([g.root.digest])
  })
})

describe('copy with a platform filter', () => {
  it('writes a new index holding only the matching child', async () => {
    const {src, g} = await sourceWithIndex()
    const dst = new MemoryTarget()
    const {descriptor} = await copy(src, 'v1', dst, 'v1', {platforms: [parsePlatform('linux/arm64')]})

    expect(descriptor.digest).not.toBe(g.root.digest)
    const parsed = parseManifest(dst.bytes(descriptor.digest)!, descriptor.mediaType, 'test')
    expect(parsed.kind).toBe('index')
    const children = parsed.kind === 'index' ? parsed.index.manifests : []
    expect(children).toHaveLength(1)
    expect(children[0]).toMatchObject({digest: g.images[1]!.root.digest, platform: {architecture: 'arm64', variant: 'v8'}})
    const amdOwnLayer = g.images[0]!.layers[2]!.descriptor.digest
    expect(await dst.exists({...g.root, digest: amdOwnLayer})).toBe(false)
    expect((await dst.resolve('v1')).digest).toBe(descriptor.digest)
  })

  it('keeps the original index bytes and digest when every child matches', async () => {
    const {src, g} = await sourceWithIndex()
    const dst = new MemoryTarget()
    const {descriptor} = await copy(src, 'v1', dst, 'v1', {platforms: ['linux/amd64', 'linux/arm64/v8'].map(parsePlatform)})
    expect(descriptor.digest).toBe(g.root.digest)
    expect(dst.bytes(g.root.digest)?.equals(g.index.bytes)).toBe(true)
  })

  it('fails with NotFoundError naming the available platforms when none matches', async () => {
    const {src} = await sourceWithIndex()
    const dst = new MemoryTarget()
    const err = await copy(src, 'v1', dst, 'v1', {platforms: [parsePlatform('linux/s390x')]}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NotFoundError)
    expect((err as Error).message).toMatch(/linux\/s390x.*linux\/amd64, linux\/arm64\/v8/)
    expect(dst.pushCount).toBe(0)
  })
})

describe('copy with cross-repository mounts', () => {
  it('mounts blobs from a candidate repository and copies only the manifest', async () => {
    const img = await makeImage({seed: 'mount'})
    const registry = new MemoryRegistry()
    await loadInto(registry.repository('team/base'), img, 'v1')
    const dst = registry.repository('team/app', {mountable: true})
    const mounted: string[] = []
    const {stats} = await copy(registry.repository('team/base'), 'v1', dst, 'v1', {
      mountFrom: () => ['other/missing', 'team/base'],
      hooks: {onMounted: (d, from) => mounted.push(`${d.digest}<-${from}`)},
    })
    expect(stats.blobsMounted).toBe(3)
    expect(stats.blobsCopied).toBe(0)
    expect(dst.mountCount).toBe(3)
    expect(dst.pushCount).toBe(1)
    expect(mounted).toContain(`${img.config.descriptor.digest}<-team/base`)
    expect(dst.digests()).toEqual(img.blobs.map((b) => b.descriptor.digest).sort())
  })

  it('falls back to a copy when no candidate holds the blob', async () => {
    const img = await makeImage({seed: 'mount-fallback'})
    const registry = new MemoryRegistry()
    const src = new MemoryTarget()
    await loadInto(src, img, 'v1')
    const dst = registry.repository('team/app', {mountable: true})
    const {stats} = await copy(src, 'v1', dst, 'v1', {mountFrom: () => ['nowhere/at-all']})
    expect(stats).toMatchObject({blobsMounted: 0, blobsCopied: 3, manifestsCopied: 1})
    expect(dst.mountCount).toBe(0)
  })
})

/** Test double (a registry's refusal cannot be produced by MemoryTarget): wraps a target and injects faults. */
function faulty(inner: MemoryTarget, faults: {push?: (d: Descriptor) => Error | undefined; exists?: (d: Descriptor) => boolean | undefined}): Target {
  return {
    location: 'faulty double',
    exists: async (d, s) => faults.exists?.(d) ?? inner.exists(d, s),
    fetch: (d, s) => inner.fetch(d, s),
    push: async (d, body, s) => {
      const err = faults.push?.(d)
      if (err) {
        body.destroy()
        throw err
      }
      return inner.push(d, body, s)
    },
    resolve: (r, s) => inner.resolve(r, s),
    tag: (d, r, s) => inner.tag(d, r, s),
  } as Target
}

describe('copy failures', () => {
  it('names the source side, the digest and the image when a source blob is missing (keeps exit 7)', async () => {
    const img = await makeImage({seed: 'missing'})
    const src = new MemoryTarget({location: 'memory source'})
    await loadInto(src, img, 'v1')
    const layer = img.layers[0]!.descriptor.digest
    src.delete(layer)
    const err = await copy(src, 'v1', new MemoryTarget(), 'v1').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CopyError)
    expect(err).toMatchObject({side: 'source', op: 'fetch', digest: layer, exitCode: ExitCode.NOT_FOUND})
    expect((err as Error).message).toContain('v1')
    expect((err as Error).message).toContain('memory source')
  })

  it('names the source side for content that does not match its digest (exit 5; lying source is a test double)', async () => {
    const img = await makeImage({seed: 'corrupt'})
    const src = new MemoryTarget()
    await loadInto(src, img, 'v1')
    const layer = img.layers[1]!.descriptor
    // A source whose verifying stream receives other bytes than the digest promises.
    const lying = {
      ...faulty(src, {}),
      fetch: async (d: Descriptor, s?: AbortSignal) =>
        d.digest === layer.digest ? Readable.from([Buffer.alloc(d.size, 1)]).pipe(verifier(d, 'lying double')) : src.fetch(d, s),
    } as Target
    const dst = new MemoryTarget()
    const err = await copy(lying, 'v1', dst, 'v1').catch((e: unknown) => e)
    expect(err).toMatchObject({side: 'source', op: 'fetch', digest: layer.digest, exitCode: ExitCode.INTEGRITY})
    expect(await dst.exists(layer)).toBe(false)
    expect(await dst.exists(img.root)).toBe(false)
  })

  it('starts a damaged blob transfer again and succeeds when the source serves good bytes the second time (flaky source is a test double)', async () => {
    const img = await makeImage({seed: 'flaky'})
    const src = new MemoryTarget()
    await loadInto(src, img, 'v1')
    const layer = img.layers[1]!.descriptor
    let fetches = 0
    let alwaysBad = false
    const flaky = {
      ...faulty(src, {}),
      fetch: async (d: Descriptor, s?: AbortSignal) => {
        if (d.digest !== layer.digest) return src.fetch(d, s)
        fetches++
        return fetches === 1 || alwaysBad ? Readable.from([Buffer.alloc(d.size, 1)]).pipe(verifier(d, 'flaky double')) : src.fetch(d, s)
      },
    } as Target
    const dst = new MemoryTarget()
    await copy(flaky, 'v1', dst, 'v1')
    expect(fetches).toBe(2)
    expect(await dst.exists(img.root)).toBe(true)
    // A source that is always wrong fails after three attempts, and nothing is stored.
    fetches = 0
    alwaysBad = true
    const dst2 = new MemoryTarget()
    const err = await copy(flaky, 'v1', dst2, 'v1').catch((e: unknown) => e)
    expect(err).toMatchObject({side: 'source', exitCode: ExitCode.INTEGRITY})
    expect(fetches).toBe(3)
    expect(await dst2.exists(layer)).toBe(false)
  })

  it('keeps AuthError exit 4 and names the destination side when a push is denied (test double)', async () => {
    const img = await makeImage({seed: 'denied'})
    const src = new MemoryTarget()
    await loadInto(src, img, 'v1')
    const dst = faulty(new MemoryTarget(), {push: () => new AuthError({registry: 'reg.example'}, 'denied')})
    const err = await copy(src, 'v1', dst, 'v1').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CopyError)
    expect(err).toMatchObject({side: 'destination', op: 'push', exitCode: ExitCode.AUTH})
    expect((err as CopyError).hint).toContain('docker login reg.example')
  })

  it('re-pushes children and retries once on MANIFEST_BLOB_UNKNOWN (registry test double)', async () => {
    const img = await makeImage({seed: 'blob-unknown'})
    const src = new MemoryTarget()
    await loadInto(src, img, 'v1')
    const inner = new MemoryTarget()
    const lost = img.layers[0]!.descriptor
    const dst = faulty(inner, {
      exists: (d) => (d.digest === lost.digest ? true : undefined), // claims a blob it cannot link
      push: (d) =>
        d.mediaType === MediaType.OciManifest && !inner.bytes(lost.digest)
          ? new RegistryError({registry: 'reg.example', side: 'destination'}, 400, ['MANIFEST_BLOB_UNKNOWN'], 'blob unknown to registry')
          : undefined,
    })
    const {stats} = await copy(src, 'v1', dst, 'v1')
    expect(inner.bytes(lost.digest)?.equals(img.layers[0]!.bytes)).toBe(true)
    expect(stats.manifestsCopied).toBe(1)
    expect((await inner.resolve('v1')).digest).toBe(img.root.digest)
  })

  it('stops on abort and rejects with the abort reason, not a CopyError', async () => {
    const {src} = await sourceWithIndex('abort')
    const dst = new MemoryTarget()
    const ac = new AbortController()
    const err = await copy(src, 'v1', dst, 'v1', {
      concurrency: 1,
      signal: ac.signal,
      hooks: {onStart: () => ac.abort()},
    }).catch((e: unknown) => e)
    expect((err as Error).name).toBe('AbortError')
    expect(err).not.toBeInstanceOf(CopyError)
    expect(dst.pushCount).toBeLessThanOrEqual(1)

    const before = new AbortController()
    before.abort()
    await expect(copy(src, 'v1', new MemoryTarget(), 'v1', {signal: before.signal})).rejects.toMatchObject({name: 'AbortError'})
  })
})

describe('copy of Docker schema 2 content', () => {
  it('copies a Docker manifest list byte-identical', async () => {
    const g = await makeIndex({seed: 'docker', format: 'docker'})
    const src = new MemoryTarget()
    await loadInto(src, g, 'v1')
    const dst = new MemoryTarget()
    const {descriptor} = await copy(src, 'v1', dst, 'v1')
    expect(descriptor).toEqual({mediaType: MediaType.DockerManifestList, digest: g.root.digest, size: g.root.size})
    for (const b of g.blobs) expect(dst.bytes(b.descriptor.digest)?.equals(b.bytes)).toBe(true)
  })
})

describe('copy details', () => {
  it('fails with a source-side resolve CopyError for an unknown reference (keeps exit 7)', async () => {
    const err = await copy(new MemoryTarget({location: 'memory source'}), 'nope', new MemoryTarget(), 'x').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CopyError)
    expect(err).toMatchObject({side: 'source', op: 'resolve', exitCode: ExitCode.NOT_FOUND})
  })

  it('tags through pushReference when the destination is a ReferencePusher (registry test double)', async () => {
    const img = await makeImage({seed: 'refpush'})
    const src = new MemoryTarget()
    await loadInto(src, img, 'v1')
    const inner = new MemoryTarget()
    const calls: string[] = []
    const dst = {
      ...faulty(inner, {}),
      tag: async () => {
        throw new Error('tag() must not be used when pushReference exists')
      },
      pushReference: async (d: Descriptor, body: Readable, ref: string, s?: AbortSignal) => {
        calls.push(`${d.digest}:${ref}`)
        await inner.push(d, body, s)
        await inner.tag(d, ref, s)
      },
    } as Target
    await copy(src, 'v1', dst, 'v9')
    expect(calls).toEqual([`${img.root.digest}:v9`])
    expect((await inner.resolve('v9')).digest).toBe(img.root.digest)
  })

  it('keeps attestation manifests of kept platforms when narrowing an index', () => {
    const m = (digest: string, platform?: {os: string; architecture: string}, annotations?: Record<string, string>): Descriptor => ({
      mediaType: MediaType.OciManifest,
      digest,
      size: 10,
      ...(platform ? {platform} : {}),
      ...(annotations ? {annotations} : {}),
    })
    const d = (c: string): string => `sha256:${c.repeat(64)}`
    const index = {
      schemaVersion: 2,
      mediaType: MediaType.OciIndex,
      manifests: [
        m(d('a'), {os: 'linux', architecture: 'amd64'}),
        m(d('b'), {os: 'linux', architecture: 'arm64'}),
        m(d('c'), {os: 'unknown', architecture: 'unknown'}, {'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': d('a')}),
        m(d('e'), {os: 'unknown', architecture: 'unknown'}, {'vnd.docker.reference.type': 'attestation-manifest', 'vnd.docker.reference.digest': d('b')}),
      ],
      annotations: {'org.example': 'kept'},
    }
    const g = jsonBlob(index, MediaType.OciIndex)
    const out = narrowIndex(g.bytes, g.descriptor, [parsePlatform('linux/amd64')], 'test')!
    const body = JSON.parse(out.bytes.toString()) as typeof index
    expect(body.manifests.map((x) => x.digest)).toEqual([d('a'), d('c')])
    expect(body.annotations).toEqual({'org.example': 'kept'})
    expect(out.descriptor).toMatchObject({mediaType: MediaType.OciIndex, size: out.bytes.length})
  })

  it('bounds the manifest cache by bytes, evicting the least recently used', () => {
    const cache = new ManifestCache(10)
    cache.set('a', Buffer.alloc(4))
    cache.set('b', Buffer.alloc(4))
    cache.get('a')
    cache.set('c', Buffer.alloc(4))
    cache.set('huge', Buffer.alloc(11))
    expect(cache.get('b')).toBeUndefined()
    expect(cache.get('a')).toBeDefined()
    expect(cache.get('c')).toBeDefined()
    expect(cache.get('huge')).toBeUndefined()
    expect(cache.size).toBe(8)
  })
})
