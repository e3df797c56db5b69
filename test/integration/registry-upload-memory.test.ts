/**
 * Uploads stream (no chunk or blob is held in memory): 4 blobs of 200 MiB pushed at once into the
 * real plain registry, in 16 MiB chunks and monolithically (the default below 1 GiB), keep the
 * process RSS flat. Slow-ish (~5 s each). Before streamed chunks the chunked case grew by ~167 MiB.
 */
import {createHash, randomBytes} from 'node:crypto'
import {Readable} from 'node:stream'
import {afterAll, expect, it} from 'vitest'
import {IntegrityError} from '../../src/errors.js'
import type {Descriptor} from '../../src/oci/types.js'
import type {RegistryClient} from '../../src/registry/index.js'
import {describeWithServices, services} from '../support/services.js'
import {clientFor, recordRequests, repoName, type SeenRequest} from './registry-support.js'

const MiB = 1024 * 1024
const BLOB_SIZE = 200 * MiB
const CHUNK = 16 * MiB
const PARALLEL = 4

/** A 200 MiB blob made of one random 1 MiB block repeated: streamed as views, never allocated whole. */
function bigBlob(): {desc: Descriptor; stream: () => Readable} {
  const block = randomBytes(MiB)
  const hash = createHash('sha256')
  for (let i = 0; i < BLOB_SIZE / MiB; i++) hash.update(block)
  const desc = {mediaType: 'application/octet-stream', digest: `sha256:${hash.digest('hex')}`, size: BLOB_SIZE}
  const stream = () =>
    Readable.from(
      (function* () {
        for (let i = 0; i < BLOB_SIZE / MiB; i++) for (let o = 0; o < MiB; o += 256 * 1024) yield block.subarray(o, o + 256 * 1024)
      })(),
      {objectMode: false},
    )
  return {desc, stream}
}

/** Sample RSS every 10 ms until stop(); returns the peak seen. */
function rssSampler(): {stop(): number} {
  let peak = process.memoryUsage().rss
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss)
  }, 10)
  return {
    stop() {
      clearInterval(timer)
      return Math.max(peak, process.memoryUsage().rss)
    },
  }
}

async function pushAll(client: RegistryClient, blobs: ReturnType<typeof bigBlob>[]): Promise<{growthMiB: number; requests: SeenRequest[]}> {
  const repo = client.repository(repoName('memory'))
  globalThis.gc?.()
  const before = process.memoryUsage().rss
  const sampler = rssSampler()
  const rec = recordRequests(client.apiHost)
  try {
    await Promise.all(blobs.map((b) => repo.push(b.desc, b.stream())))
  } finally {
    rec.stop()
  }
  const peak = sampler.stop()
  for (const b of blobs) expect(await repo.exists(b.desc)).toBe(true)
  return {growthMiB: (peak - before) / MiB, requests: rec.requests}
}

describeWithServices('upload memory (plain registry)', () => {
  const clients: RegistryClient[] = []
  afterAll(async () => Promise.all(clients.map((c) => c.close())))

  it(`pushes ${PARALLEL} x 200 MiB at once in 16 MiB streamed chunks with RSS growth < 100 MiB (slow-ish)`, async () => {
    const client = clientFor(services().registries.plain, 'admin', {chunkThreshold: 64 * MiB, chunkSize: CHUNK})
    clients.push(client)
    const {growthMiB, requests} = await pushAll(client, Array.from({length: PARALLEL}, bigBlob))
    // 13 PATCH per blob (12 x 16 MiB + 8 MiB), then one PUT ?digest= each
    expect(requests.filter((r) => r.method === 'PATCH')).toHaveLength(PARALLEL * Math.ceil(BLOB_SIZE / CHUNK))
    expect(requests.filter((r) => r.method === 'PUT' && r.path.includes('digest=sha256%3A'))).toHaveLength(PARALLEL)
    expect(growthMiB, `RSS grew by ${growthMiB.toFixed(1)} MiB`).toBeLessThan(100)
  }, 30_000)

  it(`pushes ${PARALLEL} x 200 MiB at once monolithically by default (one streamed PUT each) with RSS growth < 100 MiB (slow-ish)`, async () => {
    const client = clientFor(services().registries.plain, 'admin')
    clients.push(client)
    const {growthMiB, requests} = await pushAll(client, Array.from({length: PARALLEL}, bigBlob))
    expect(requests.filter((r) => r.method === 'PATCH')).toEqual([])
    expect(requests.filter((r) => r.method === 'PUT' && r.path.includes('digest=sha256%3A'))).toHaveLength(PARALLEL)
    expect(growthMiB, `RSS grew by ${growthMiB.toFixed(1)} MiB`).toBeLessThan(100)
  }, 30_000)

  it('a chunked push whose bytes are not the digest fails with IntegrityError (exit 5) and commits nothing', async () => {
    const client = clientFor(services().registries.plain, 'admin', {chunkThreshold: 64 * 1024, chunkSize: 40 * 1024})
    clients.push(client)
    const repo = client.repository(repoName('bad-chunks'))
    const bytes = randomBytes(100 * 1024)
    const desc = {mediaType: 'application/octet-stream', digest: `sha256:${createHash('sha256').update('other').digest('hex')}`, size: bytes.length}
    const err = await repo.push(desc, Readable.from([bytes])).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as IntegrityError).exitCode).toBe(5)
    expect((err as Error).message).toContain(desc.digest)
    expect(await repo.exists(desc)).toBe(false)
  })
})
