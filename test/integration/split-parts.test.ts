/**
 * Split media end to end (issue 10): `airgap pull --max-part-size 200KiB` of generated images in
 * the REAL plain registry writes three signed parts (one of them holding only a blob larger than
 * the limit, with a warning); every part verifies alone (`airgap verify`, spawned CLI); a part with
 * a flipped byte is refused by verify and push (exit 5, nothing written); pushing the parts in
 * reverse order (3, 2, 1) into a fresh distribution 2.8 registry completes each image as its last
 * part arrives, skopeo sees the source digests, and `airgap check` passes on the final receipt.
 */
import {createHash} from 'node:crypto'
import {existsSync} from 'node:fs'
import {copyFile, mkdtemp, open, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import type {BundleLock} from '../../src/bundle/lock.js'
import {generateKeyPair} from '../../src/signing/index.js'
import {BundleReader, LOCK_JSON} from '../../src/bundle/index.js'
import {parseLock} from '../../src/bundle/lock.js'
import type {RegistryHandle} from '../support/services.js'
import {describeWithServices, services, startRegistry} from '../support/services.js'
import {jsonOf, runCli} from '../support/cli.js'
import {loadInto, makeImage, makeIndex} from '../support/images.js'
import {catalog, skopeoDigest} from './push-fixtures.js'
import {clientFor, repoName} from './registry-support.js'

const PASSWORD = 'split-test-pw'
const KiB = 1024
const LIMIT = 200 * KiB

interface PartJson {
  part: number
  parts: number
  path: string
  size: number
  images: string[]
  oversized: boolean
  kept: boolean
  lockDigest: string
}

interface PullJson {
  warnings: string[]
  split: {setId: string; parts: PartJson[]; oversized: Array<{digest: string; size: number; part: number}>}
}

interface PushJson {
  receiptPath: string
  receipt: {complete: boolean; images: Array<{source: string; mirror: string; digest: string; status: string; error?: string}>}
  split: {part: number; parts: number; completed: string[]; alreadyComplete: string[]; waiting: Array<{image: string; parts: number[]}>; missingParts: number[]}
}

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

describeWithServices('split media: pull --max-part-size, verify each part, push parts in reverse order (real registry, spawned CLI)', () => {
  let dir: string
  let keyFile: string
  let pubFile: string
  let spec: string
  let mirror: RegistryHandle
  const roots = new Map<string, string>()
  const env = {SOURCE_DATE_EPOCH: '1700000000', AIRGAP_KEY_PASSWORD: PASSWORD}
  const srcHost = (): string => services().registries.plain.host
  const pull = (out: string, extra: string[] = []) =>
    runCli(['pull', spec, '-o', out, '--max-part-size', '200KiB', '--sign-key', keyFile, '--plain-http', srcHost(), '--json', ...extra], {env})
  let parts: PartJson[]
  let pulled: PullJson

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-split-'))
    const keys = generateKeyPair(PASSWORD)
    keyFile = join(dir, 'cosign.key')
    pubFile = join(dir, 'cosign.pub')
    await writeFile(keyFile, keys.privateKeyPem)
    await writeFile(pubFile, keys.publicKeyPem)

    const client = clientFor(services().registries.plain)
    const multi = await makeIndex({seed: 'split-multi', sharedLayers: 1, layers: 1, files: 1, fileSize: 40 * KiB})
    const app = await makeImage({seed: 'split-app', layers: 1, files: 1, fileSize: 40 * KiB, baseLayers: [multi.images[0]!.layers[0]!]})
    const tool = await makeImage({seed: 'split-tool', layers: 1, files: 1, fileSize: 30 * KiB, format: 'docker'})
    const big = await makeImage({seed: 'split-big', layers: 1, files: 1, fileSize: 250 * KiB})
    const refs: string[] = []
    for (const [key, g, tag] of [
      ['multi', multi, 'v1'],
      ['app', app, '1.0'],
      ['tool', tool, '3'],
      ['big', big, 'huge'],
    ] as const) {
      const repo = repoName(`split-${key}`)
      await loadInto(client.repository(repo), g, tag)
      const ref = `${srcHost()}/${repo}:${tag}`
      refs.push(ref)
      roots.set(ref, g.root.digest)
    }
    spec = join(dir, 'airgap.yaml')
    await writeFile(spec, ['apiVersion: airgap.dev/v1alpha1', 'kind: ReleaseSpec', 'metadata: {name: split}', 'spec:', '  images:', ...refs.map((r) => `    - ${r}`), ''].join('\n'))
    mirror = await startRegistry({mode: 'plain'})

    const r = await pull(join(dir, 'set.tar'))
    expect(r.code, r.stderr).toBe(0)
    pulled = jsonOf<PullJson>(r)
    parts = pulled.split.parts
  }, 120_000)

  afterAll(async () => {
    await mirror?.stop()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('writes three parts within the limit; the blob over the limit is alone in its part, with a warning', async () => {
    expect(parts.map((p) => [p.part, p.parts])).toEqual([
      [1, 3],
      [2, 3],
      [3, 3],
    ])
    for (const p of parts) {
      expect(p.path).toBe(join(dir, `set.part-00${p.part}-of-003.tar`))
      expect(existsSync(p.path)).toBe(true)
      if (!p.oversized) expect(p.size).toBeLessThanOrEqual(LIMIT)
    }
    expect(pulled.split.oversized).toHaveLength(1)
    const over = parts.find((p) => p.oversized)!
    expect(over.size).toBeGreaterThan(LIMIT)
    expect(over.images).toEqual([expect.stringContaining('split-big')])
    expect(pulled.warnings.join('\n')).toMatch(/larger than --max-part-size .* only blob of part \d of 3/)
    // Every part's lock describes the whole set: the same set id, blob placement and image list.
    const locks = await Promise.all(parts.map((p) => readLock(p.path)))
    for (const [i, lock] of locks.entries()) {
      expect(lock.split).toEqual({...locks[0]!.split!, part: i + 1})
      expect(lock.split!.setId).toBe(pulled.split.setId)
      expect(lock.split!.images.map((x) => x.source).sort()).toEqual([...roots.keys()].sort())
    }
  })

  it('is deterministic: a rerun keeps the finished parts, another output gets the same parts (same signed lock bytes)', async () => {
    const again = await pull(join(dir, 'set.tar'))
    expect(again.code, again.stderr).toBe(0)
    expect(jsonOf<PullJson>(again).split.parts.every((p) => p.kept)).toBe(true)
    const other = await pull(join(dir, 'other.tar'))
    expect(other.code, other.stderr).toBe(0)
    const otherParts = jsonOf<PullJson>(other).split.parts
    expect(otherParts.map((p) => p.kept)).toEqual([false, false, false])
    // ECDSA signatures are randomised; everything they sign (the lock, pinning index.json and every blob) is identical.
    for (const [i, p] of otherParts.entries()) {
      expect(p.lockDigest).toBe(parts[i]!.lockDigest)
      expect(p.size).toBe(parts[i]!.size)
      const [a, b] = [await readFile(p.path), await readFile(parts[i]!.path)]
      expect(sha256(a.subarray(0, a.length - 4096))).toBe(sha256(b.subarray(0, b.length - 4096)))
    }
  })

  it('verifies every part alone, with the key; blobs of the other parts are not required', async () => {
    for (const p of parts) {
      const r = await runCli(['verify', p.path, '--key', pubFile, '--json'])
      expect(r.code, r.stderr).toBe(0)
      const report = jsonOf<{authenticity: string; split: {part: number; parts: number}; images: unknown[]}>(r)
      expect(report.authenticity).toBe('verified')
      expect(report.split).toEqual(expect.objectContaining({part: p.part, parts: 3}))
      expect(report.images).toHaveLength(p.images.length)
    }
    const text = await runCli(['verify', parts[0]!.path, '--key', pubFile])
    expect(text.stdout).toMatch(/part 1 of 3 of set sha256:[0-9a-f]{64}: \d+ blob\(s\) of the set are in the other parts/)
  })

  it('refuses a part with one flipped byte (verify and push exit 5; nothing reaches the registry)', async () => {
    const damaged = join(dir, 'damaged.part-002-of-003.tar')
    await copyFile(parts[1]!.path, damaged)
    const reader = await BundleReader.open(damaged)
    const largest = reader.entries().filter((e) => e.kind === 'blob').sort((a, b) => b.size - a.size)[0]!
    await reader.close()
    const fh = await open(damaged, 'r+')
    const at = largest.offset + Math.floor(largest.size / 2)
    const byte = Buffer.alloc(1)
    await fh.read(byte, 0, 1, at)
    byte[0] = byte[0]! ^ 0xff
    await fh.write(byte, 0, 1, at)
    await fh.close()

    const verify = await runCli(['verify', damaged, '--key', pubFile])
    expect(verify.code).toBe(5)
    expect(verify.stderr).toContain(largest.name)
    const push = await runCli(['push', damaged, '--key', pubFile, '--registry', `${mirror.host}/mirror`, '--plain-http', mirror.host, '--receipt', join(dir, 'damaged.receipt.json')])
    expect(push.code).toBe(5)
    expect(await catalog(mirror.url)).toEqual([])
  })

  it('pushes parts 3, 2, 1: each image completes when its last part arrives; skopeo sees the source digests; check passes', async () => {
    const lock = await readLock(parts[0]!.path)
    const partsOf = new Map(lock.split!.images.map((i) => [i.source, i.parts]))
    const arrived: number[] = []
    let last: PushJson | undefined
    let waited = 0
    for (const n of [3, 2, 1]) {
      const receiptFile = join(dir, `part-${n}.receipt.json`)
      const r = await runCli(['push', parts[n - 1]!.path, '--key', pubFile, '--registry', `${mirror.host}/mirror`, '--plain-http', mirror.host, '--receipt', receiptFile, '--json'])
      expect(r.code, r.stderr).toBe(0)
      arrived.push(n)
      last = jsonOf<PushJson>(r)
      waited += last.split.waiting.length
      expect(last.split.part).toBe(n)
      for (const image of last.receipt.images) {
        const needed = partsOf.get(image.source)!
        const complete = needed.every((p) => arrived.includes(p))
        expect(image.status, `${image.source} after parts ${arrived.join(',')}`).toBe(complete ? 'pushed' : 'not-attempted')
        if (!complete) {
          const waitingFor = needed.filter((p) => !arrived.includes(p))
          expect(last.split.waiting).toContainEqual({image: image.source, parts: waitingFor})
          expect(image.error).toBe(`waiting for part(s) ${waitingFor.join(', ')} of 3`)
        }
      }
      expect(last.receipt.complete).toBe(arrived.length === 3)
      expect(last.split.missingParts).toEqual([1, 2, 3].filter((p) => !arrived.includes(p) && [...partsOf.values()].some((ps) => ps.includes(p))))
    }
    expect(waited).toBeGreaterThan(0) // the reverse order really left images incomplete for a while
    expect(last!.split.waiting).toEqual([])
    expect(last!.receipt.images).toHaveLength(roots.size)
    for (const image of last!.receipt.images) {
      expect(image.status).toBe('pushed')
      expect(image.mirror.startsWith(`${mirror.host}/mirror/`)).toBe(true)
      expect(skopeoDigest(image.mirror, ['--tls-verify=false'])).toBe(roots.get(image.source))
    }
    const check = await runCli(['check', last!.receiptPath, '--plain-http', mirror.host, '--json'])
    expect(check.code, check.stderr).toBe(0)
    expect(jsonOf<{ok: boolean; counts: {ok: number}}>(check)).toEqual(expect.objectContaining({ok: true, counts: expect.objectContaining({ok: roots.size})}))
  })
})

async function readLock(path: string): Promise<BundleLock> {
  const reader = await BundleReader.open(path)
  try {
    return parseLock(await reader.readFile(LOCK_JSON), path)
  } finally {
    await reader.close()
  }
}
