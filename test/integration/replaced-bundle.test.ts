/**
 * A bundle file replaced after it was opened and verified: another valid bundle, signed by the
 * same key (an older release, say), is renamed over the path. `push` and `serve --key` go on
 * with what they verified, through the one reader they opened: the mirror gets, and the server
 * serves, the original content, never the replacement's. Both bundles carry layers large enough
 * to be hashed on the worker threads. Push runs in-process against the real plain registry, the
 * rename done when its first request leaves (after the signature check, before blobs are hashed
 * and anything is written); serve runs in-process, the rename done while it hashes.
 */
import {subscribe, unsubscribe} from 'node:diagnostics_channel'
import {generateKeyPairSync} from 'node:crypto'
import {readFileSync, renameSync} from 'node:fs'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BundleReader, LOCK_JSON} from '../../src/bundle/index.js'
import {MemoryTarget} from '../../src/content/memory.js'
import {digestOf} from '../../src/oci/digest.js'
import {startServer} from '../../src/serve/index.js'
import {loadPublicKey} from '../../src/signing/index.js'
import {pushBundle} from '../../src/usecases/push/index.js'
import {openServeSource} from '../../src/usecases/serve.js'
import {writeBundle} from '../../src/usecases/write-bundle.js'
import {loadInto, makeImage, type GeneratedImage} from '../support/images.js'
import {describeWithServices, services} from '../support/services.js'
import {buildFixture, type PushFixture} from './push-fixtures.js'
import {clientFor} from './registry-support.js'

/** Layers of at least 4 MiB are hashed on the worker threads. */
const WORKER_SIZED = 4 * 1024 * 1024

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-replaced-'))
})
afterAll(async () => {
  if (dir) await rm(dir, {recursive: true, force: true})
})

async function lockDigestAt(path: string): Promise<string> {
  const reader = await BundleReader.open(path)
  try {
    return digestOf(await reader.readFile(LOCK_JSON))
  } finally {
    await reader.close()
  }
}

describeWithServices('push: a bundle replaced after it was verified', () => {
  let original: PushFixture
  let replacement: PushFixture

  beforeAll(async () => {
    // Two random files of 2.5 MiB per layer.
    original = await buildFixture({dir, seed: `replaced-orig-${process.pid}`, fileSize: 2.5 * 1024 * 1024})
    replacement = await buildFixture({dir, seed: `replaced-new-${process.pid}`, fileSize: 2.5 * 1024 * 1024, keyPair: original.keyPair})
  }, 120_000)

  it('pushes the content it verified, never the replacement renamed over the path', async () => {
    const plain = services().registries.plain
    const prefix = `replaced-${process.pid}`
    const originalLock = await lockDigestAt(original.bundle)
    const replacementLock = await lockDigestAt(replacement.bundle)
    expect(replacementLock).not.toBe(originalLock)
    // The first request to the mirror (the survey: the signature, lock and graph are checked, no
    // blob is hashed yet) swaps the file; no write may leave before it.
    const seen: string[] = []
    let swapped = false
    const onRequest = (msg: unknown): void => {
      const r = (msg as {request: {origin: unknown; method: string}}).request
      if (!String(r.origin).includes(plain.host)) return
      seen.push(r.method)
      if (!swapped) {
        swapped = true
        renameSync(replacement.bundle, original.bundle)
      }
    }
    subscribe('undici:request:create', onRequest)
    const result = await pushBundle({
      bundle: original.bundle,
      registry: {host: plain.host, prefix},
      plainHttp: [plain.host],
      publicKey: loadPublicKey(readFileSync(original.pubFile, 'utf8')),
      receipt: join(dir, 'replaced.receipt.json'),
    }).finally(() => unsubscribe('undici:request:create', onRequest))

    expect(swapped).toBe(true)
    expect(seen[0]).toBe('HEAD')
    expect(await lockDigestAt(original.bundle)).toBe(replacementLock) // the path names the replacement now
    expect(result.images).toEqual({total: 3, pushed: 3, failed: 0})
    expect(result.receipt.bundle.lockDigest).toBe(originalLock)
    expect(result.verified.bytes).toBeGreaterThan(5 * WORKER_SIZED) // the large layers were hashed (on the workers) after the swap
    const client = clientFor(plain, 'admin')
    try {
      for (const image of result.receipt.images) {
        const source = image.source
        const tag = image.mirror.slice(image.mirror.lastIndexOf(':') + 1)
        const repo = image.mirror.slice(plain.host.length + 1, image.mirror.lastIndexOf(':'))
        const pushed = (await client.repository(repo).resolve(tag)).digest
        expect(pushed, source).toBe(original.images.get(source))
        expect(pushed, source).not.toBe(replacement.images.get(source))
      }
    } finally {
      await client.close()
    }
  }, 120_000)
})

describe('serve --key: a bundle replaced while it is verified', () => {
  const keys = generateKeyPairSync('ec', {namedCurve: 'P-256'})
  let original: GeneratedImage
  let other: GeneratedImage
  let path: string
  let replacementPath: string

  beforeAll(async () => {
    original = await makeImage({seed: 'replaced-serve-orig', layers: 1, files: 1, fileSize: WORKER_SIZED + 4096})
    other = await makeImage({seed: 'replaced-serve-new', layers: 1, files: 1, fileSize: WORKER_SIZED + 4096})
    path = join(dir, 'serve.tar')
    replacementPath = join(dir, 'serve-replacement.tar')
    for (const [g, out] of [
      [original, path],
      [other, replacementPath],
    ] as const) {
      const src = new MemoryTarget()
      await loadInto(src, g, 'app')
      await writeBundle({images: [{source: src, ref: 'app', name: 'docker.io/acme/app:1'}], out, signKey: keys})
    }
  }, 60_000)

  it('serves the content it verified, never the replacement renamed over the path', async () => {
    const originalLock = await lockDigestAt(path)
    let swapped = false
    const source = await openServeSource(path, {
      publicKey: keys.publicKey,
      onVerifyBytes: () => {
        if (swapped) return
        swapped = true
        renameSync(replacementPath, path)
      },
    })
    try {
      expect(swapped).toBe(true)
      expect(source.verified?.lockDigest).toBe(originalLock)
      expect(source.verified?.bytes).toBeGreaterThan(WORKER_SIZED)
      const server = await startServer({store: source.store, addr: '127.0.0.1:0'})
      try {
        const manifest = await fetch(`${server.url}/v2/acme/app/manifests/1`)
        expect(manifest.headers.get('docker-content-digest')).toBe(original.root.digest)
        const layer = original.layers[0]!.descriptor
        const bytes = Buffer.from(await (await fetch(`${server.url}/v2/acme/app/blobs/${layer.digest}`)).arrayBuffer())
        expect(digestOf(bytes)).toBe(layer.digest)
        // A range is not digest-checked by the server: it must come from the verified file too.
        const part = await fetch(`${server.url}/v2/acme/app/blobs/${layer.digest}`, {headers: {range: 'bytes=1000-1999'}})
        expect(part.status).toBe(206)
        expect(Buffer.from(await part.arrayBuffer()).equals(bytes.subarray(1000, 2000))).toBe(true)
        expect((await fetch(`${server.url}/v2/acme/app/manifests/${other.root.digest}`)).status).toBe(404)
      } finally {
        await server.close()
      }
    } finally {
      await source.close()
    }
  })
})
