/**
 * writeBundle from the real plain registry: reproducible output for the same SOURCE_DATE_EPOCH,
 * and resume after an abort (only missing blobs are fetched again, same bytes in the end); a blob
 * damaged on disk between the runs is fetched again, never signed (issue 15, class 3).
 */
import {mkdtemp, open, readFile, rm, stat} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {writeBundle, type BundleImageInput} from '../../src/usecases/write-bundle.js'
import {verifyBundleFile} from '../../src/usecases/verify.js'
import type {RegistryClient} from '../../src/registry/index.js'
import {loadInto, makeImage, makeIndex, type GeneratedImage, type GeneratedIndex} from '../support/images.js'
import {describeWithServices, services} from '../support/services.js'
import {clientFor, repoName} from './registry-support.js'

describeWithServices('bundle writing from a real registry: reproducible and resumable', () => {
  let dir: string
  let client: RegistryClient
  let big: GeneratedImage
  let multi: GeneratedIndex
  let inputs: () => BundleImageInput[]

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-bundle-resume-'))
    const plain = services().registries.plain
    client = clientFor(plain)
    big = await makeImage({seed: 'bundle-resume-big', layers: 6, files: 4, fileSize: 256 * 1024})
    multi = await makeIndex({seed: 'bundle-resume-multi', sharedLayers: 1, layers: 1})
    const bigRepo = repoName('bundle-resume-big')
    const multiRepo = repoName('bundle-resume-multi')
    await loadInto(client.repository(bigRepo), big, '1')
    await loadInto(client.repository(multiRepo), multi, '1')
    inputs = () => [
      {source: client.repository(bigRepo), ref: '1', name: `${plain.host}/${bigRepo}:1`},
      {source: client.repository(multiRepo), ref: '1', name: `${plain.host}/${multiRepo}:1`},
    ]
  }, 120_000)

  afterAll(async () => {
    await client?.close()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('two writes with the same SOURCE_DATE_EPOCH are byte-identical', async () => {
    const [a, b] = [join(dir, 'a.tar'), join(dir, 'b.tar')]
    await writeBundle({images: inputs(), out: a, epoch: 1_735_689_600, concurrency: 4})
    await writeBundle({images: inputs().reverse(), out: b, epoch: 1_735_689_600, concurrency: 1})
    expect((await readFile(a)).equals(await readFile(b))).toBe(true)
    const c = join(dir, 'c.tar')
    await writeBundle({images: inputs(), out: c, epoch: 1_735_689_601})
    expect((await readFile(a)).equals(await readFile(c))).toBe(false)
  })

  it('an aborted write resumes: the rerun fetches fewer bytes and the result equals an uninterrupted run', async () => {
    const reference = join(dir, 'reference.tar')
    let full = 0
    await writeBundle({images: inputs(), out: reference, epoch: 42, hooks: {onBytes: (_d, n) => (full += n)}})

    const out = join(dir, 'resumed.tar')
    const controller = new AbortController()
    let first = 0
    const err = await writeBundle({
      images: inputs(),
      out,
      epoch: 42,
      concurrency: 1,
      signal: controller.signal,
      hooks: {
        onBytes: (_d, n) => {
          first += n
          if (first > full / 2) controller.abort(new Error('simulated interruption'))
        },
      },
    }).catch((e: unknown) => e)
    expect((err as Error).message).toBe('simulated interruption')
    await expect(stat(out)).rejects.toThrow(/ENOENT/)

    let second = 0
    let missing = -1
    await writeBundle({images: inputs(), out, epoch: 42, hooks: {onBytes: (_d, n) => (second += n), onPlanned: (p) => (missing = p.missingBytes)}})
    expect(second).toBe(missing)
    expect(second).toBeLessThan(full)
    expect(second).toBeGreaterThan(0)
    expect((await readFile(out)).equals(await readFile(reference))).toBe(true)
    await expect(stat(`${out}.partial.journal`)).rejects.toThrow(/ENOENT/)
    await expect(verifyBundleFile(out)).resolves.toMatchObject({authenticity: 'unsigned', images: [expect.anything(), expect.anything()]})
  })

  it('a byte flipped in a journaled blob between the runs is hashed on resume and fetched again: the bundle verifies', async () => {
    const out = join(dir, 'flipped.tar')
    const controller = new AbortController()
    let first = 0
    const err = await writeBundle({
      images: inputs(),
      out,
      epoch: 7,
      concurrency: 1,
      signal: controller.signal,
      hooks: {
        onBytes: (_d, n) => {
          first += n
          if (first > 3 * 1024 * 1024) controller.abort(new Error('simulated interruption'))
        },
      },
    }).catch((e: unknown) => e)
    expect((err as Error).message).toBe('simulated interruption')
    // The journal records complete blobs; flip one byte inside the first one it names.
    const journal = (await readFile(`${out}.partial.journal`, 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as {done?: string})
    const done = journal.flatMap((r) => (r.done ? [r.done] : []))
    expect(done.length).toBeGreaterThan(0)
    const partial = await readFile(`${out}.partial`)
    const at = partial.indexOf(Buffer.from(`blobs/sha256/${done[0]!.slice('sha256:'.length)}`))
    expect(at).toBeGreaterThanOrEqual(0)
    const handle = await open(`${out}.partial`, 'r+')
    try {
      const dataStart = at + 512 // the data follows its 512-byte header; the name is at offset 0 of it
      const byte = Buffer.alloc(1)
      await handle.read(byte, 0, 1, dataStart + 100)
      byte[0] = byte[0]! ^ 0xff
      await handle.write(byte, 0, 1, dataStart + 100)
    } finally {
      await handle.close()
    }
    let missingBytes = 0
    await writeBundle({images: inputs(), out, epoch: 7, hooks: {onPlanned: (p) => (missingBytes = p.missingBytes)}})
    expect(missingBytes).toBeGreaterThan(0)
    await expect(verifyBundleFile(out)).resolves.toMatchObject({images: [expect.anything(), expect.anything()]})
  })
})
