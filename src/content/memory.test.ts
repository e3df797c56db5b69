import {Readable} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {IntegrityError, NotFoundError} from '../errors.js'
import {digestOf} from '../oci/digest.js'
import {MediaType} from '../oci/types.js'
import type {Descriptor} from '../oci/types.js'
import {MemoryRegistry, MemoryTarget} from './memory.js'
import {isLocated, isMounter, isTagLister} from './types.js'
import {readAll} from './verify.js'

const layer = Buffer.alloc(200_000, 7) // several 64 KiB slices
const layerDesc: Descriptor = {mediaType: MediaType.OciLayerGzip, digest: digestOf(layer), size: layer.length}
const manifest = Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciManifest, layers: []}))
const manifestDesc: Descriptor = {
  mediaType: MediaType.OciManifest,
  digest: digestOf(manifest),
  size: manifest.length,
  annotations: {a: 'b'},
}

const read = (s: Readable): Promise<Buffer> => readAll(s, 10_000_000, 'test')

describe('MemoryTarget', () => {
  it('push verifies, stores and counts; fetch returns the bytes', async () => {
    const t = new MemoryTarget()
    expect(await t.exists(layerDesc)).toBe(false)
    await t.push(layerDesc, Readable.from([layer.subarray(0, 1000), layer.subarray(1000)]))
    expect(await t.exists(layerDesc)).toBe(true)
    expect(t.pushCount).toBe(1)
    expect(t.pushedBytes).toBe(layer.length)
    expect((await read(await t.fetch(layerDesc))).equals(layer)).toBe(true)
    expect(t.digests()).toEqual([layerDesc.digest])
  })

  it('push of corrupt, short or long content fails and stores nothing', async () => {
    const t = new MemoryTarget()
    const bad = Buffer.from(layer)
    bad[10] = 1
    for (const body of [bad, layer.subarray(1), Buffer.concat([layer, Buffer.from('x')])]) {
      const err = await t.push(layerDesc, Readable.from([body])).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(IntegrityError)
      expect((err as Error).message).toContain(`${layerDesc.digest} pushed to memory`)
    }
    expect(await t.exists(layerDesc)).toBe(false)
    expect(t.pushCount).toBe(0)
  })

  it('pushing existing content succeeds and is counted (so tests can see redundant pushes)', async () => {
    const t = new MemoryTarget()
    t.put(layer, layerDesc.mediaType)
    await t.push(layerDesc, Readable.from([layer]))
    expect(t.pushCount).toBe(1)
    expect(t.digests()).toHaveLength(1)
  })

  it('fetch of missing content is NotFoundError naming the location', async () => {
    const t = new MemoryTarget({location: 'memory src'})
    const err = await t.fetch(layerDesc).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NotFoundError)
    expect((err as Error).message).toBe(`${layerDesc.digest} not found in memory src`)
  })

  it('fetch verifies against the requested descriptor (a wrong size fails the stream)', async () => {
    const t = new MemoryTarget()
    t.put(layer, layerDesc.mediaType)
    const stream = await t.fetch({...layerDesc, size: layer.length - 1})
    await expect(read(stream)).rejects.toBeInstanceOf(IntegrityError)
  })

  it('tags, resolves by tag, full reference and digest; lists tags', async () => {
    const t = new MemoryTarget()
    await t.push(manifestDesc, Readable.from([manifest]))
    await t.tag(manifestDesc, '1.0')
    await t.tag(manifestDesc, '127.0.0.1:5000/ns/app:latest')
    const plain = {mediaType: manifestDesc.mediaType, digest: manifestDesc.digest, size: manifestDesc.size}
    expect(await t.resolve('1.0')).toEqual(plain)
    expect(await t.resolve('latest')).toEqual(plain)
    expect(await t.resolve('127.0.0.1:5000/ns/app:1.0')).toEqual(plain)
    expect(await t.resolve(manifestDesc.digest)).toEqual(plain)
    expect(await t.resolve(`ns/app@${manifestDesc.digest}`)).toEqual(plain)
    const tags: string[] = []
    for await (const tag of t.tags()) tags.push(tag)
    expect(tags).toEqual(['1.0', 'latest'])
    await expect(t.resolve('2.0')).rejects.toBeInstanceOf(NotFoundError)
    await expect(t.resolve(`sha256:${'0'.repeat(64)}`)).rejects.toBeInstanceOf(NotFoundError)
  })

  it('refuses to tag content that was not pushed', async () => {
    const t = new MemoryTarget()
    await expect(t.tag(manifestDesc, 'v1')).rejects.toThrow(/has not been pushed/)
  })

  it('honours an aborted signal', async () => {
    const t = new MemoryTarget()
    const ac = new AbortController()
    ac.abort()
    await expect(t.exists(layerDesc, ac.signal)).rejects.toThrow()
    await expect(t.push(layerDesc, Readable.from([layer]), ac.signal)).rejects.toThrow()
    expect(t.pushCount).toBe(0)
  })

  it('implements TagLister and Located, not Mounter by default', () => {
    const t = new MemoryTarget()
    expect(isTagLister(t)).toBe(true)
    expect(isLocated(t)).toBe(true)
    expect(t.location).toBe('memory')
    expect(isMounter(t)).toBe(false)
  })
})

describe('MemoryRegistry mounts (test helper for the engine)', () => {
  it('mounts a blob from another repository of the same registry', async () => {
    const reg = new MemoryRegistry('reg.test')
    const src = reg.repository('ns/src')
    const dst = reg.repository('ns/dst', {mountable: true})
    expect(dst.location).toBe('memory reg.test/ns/dst')
    expect(dst.registryHost).toBe('reg.test')
    expect(dst.repository).toBe('ns/dst')
    expect(isMounter(dst)).toBe(true)
    if (!isMounter(dst)) return
    expect(await dst.mount(layerDesc, 'ns/src')).toBe(false) // not there yet
    await src.push(layerDesc, Readable.from([layer]))
    expect(await dst.mount(layerDesc, 'ns/src')).toBe(true)
    expect(await dst.mount(layerDesc, 'ns/missing')).toBe(false)
    expect(dst.mountCount).toBe(1)
    expect(dst.pushCount).toBe(0)
    expect((await read(await dst.fetch(layerDesc))).equals(layer)).toBe(true)
    expect(reg.repository('ns/src')).toBe(src)
  })
})
