/**
 * Exact deltas end to end (issue 10), spawned CLI against real registries: a first pull and push
 * (receipt), then a second pull of a release where one image changed, with --since the receipt
 * (and with --since an `airgap inventory` of the mirror). The delta holds only the new blobs plus
 * manifests; pushing it completes and `airgap check` passes; pushing it under another prefix of
 * the same mirror mounts the blobs it leaves out; pushing it into an empty registry is refused
 * before anything is written.
 */
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {parseLock, type BundleLock} from '../../src/bundle/lock.js'
import {parseInventory} from '../../src/delta/inventory.js'
import type {PushReceipt} from '../../src/mirror/receipt.js'
import {BundleReader} from '../../src/bundle/index.js'
import type {RegistryClient} from '../../src/registry/index.js'
import {jsonOf, runCli} from '../support/cli.js'
import {loadInto, makeImage, makeLayer, type GeneratedImage} from '../support/images.js'
import {describeWithServices, services, startRegistry, type RegistryHandle} from '../support/services.js'
import {catalog, skopeoDigest} from './push-fixtures.js'
import {clientFor} from './registry-support.js'

describeWithServices('airgap pull --since / push of a delta / inventory (CLI, real registries)', () => {
  let dir: string
  let client: RegistryClient
  let mirror: RegistryHandle
  let empty: RegistryHandle
  let src: string
  let v2: GeneratedImage
  let spec2: string
  let receipt1: string
  const plainFlags = (...hosts: string[]) => hosts.flatMap((h) => ['--plain-http', h])

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-delta-'))
    const plain = services().registries.plain
    client = clientFor(plain)
    const prefix = `delta-${process.pid}-${Date.now()}`
    src = `${plain.host}/${prefix}`
    const base = await makeLayer({seed: `${prefix}-base`, files: 4, fileSize: 256 * 1024})
    const v1 = await makeImage({seed: `${prefix}-app1`, baseLayers: [base], layers: 1, files: 2, fileSize: 256 * 1024})
    v2 = await makeImage({seed: `${prefix}-app2`, baseLayers: [base], layers: 1, files: 2, fileSize: 256 * 1024})
    const tool = await makeImage({seed: `${prefix}-tool`, layers: 1, files: 2, fileSize: 128 * 1024})
    await loadInto(client.repository(`${prefix}/acme/app`), v1, '1')
    await loadInto(client.repository(`${prefix}/acme/app`), v2, '2')
    await loadInto(client.repository(`${prefix}/acme/tool`), tool, '1')
    const spec = (app: string) => `apiVersion: airgap.dev/v1alpha1\nkind: ReleaseSpec\nmetadata:\n  name: delta\nspec:\n  images:\n    - ${src}/acme/app:${app}\n    - ${src}/acme/tool:1\n`
    await writeFile(join(dir, 'spec1.yaml'), spec('1'))
    spec2 = join(dir, 'spec2.yaml')
    await writeFile(spec2, spec('2'))
    mirror = await startRegistry({mode: 'plain'})
    empty = await startRegistry({mode: 'plain'})

    const pull1 = await runCli(['pull', join(dir, 'spec1.yaml'), '-o', join(dir, 'b1.tar'), ...plainFlags(plain.host), '--json'])
    expect(pull1.code, pull1.stderr).toBe(0)
    receipt1 = join(dir, 'b1.receipt.json')
    const push1 = await runCli(['push', join(dir, 'b1.tar'), '--allow-unsigned', '--registry', `${mirror.host}/m`, ...plainFlags(mirror.host), '--receipt', receipt1, '--json'])
    expect(push1.code, push1.stderr).toBe(0)
  }, 180_000)

  afterAll(async () => {
    await mirror?.stop()
    await empty?.stop()
    await client?.close()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  async function lockOf(bundle: string): Promise<BundleLock> {
    const reader = await BundleReader.open(bundle)
    try {
      return parseLock(await reader.readFile('airgap/lock.json'), bundle)
    } finally {
      await reader.close()
    }
  }

  /** Bytes of what changed: app:2's own layer, config and manifest. */
  const newBytes = (): number => v2.layers[1]!.descriptor.size + v2.config.descriptor.size + v2.manifest.descriptor.size

  it('--since the receipt: the delta is within 5% of the new blobs, pushes, and airgap check passes', async () => {
    const out = join(dir, 'delta.tar')
    const pull = await runCli(['pull', spec2, '-o', out, '--since', receipt1, ...plainFlags(services().registries.plain.host), '--json'])
    expect(pull.code, pull.stderr).toBe(0)
    const result = jsonOf<{size: number; delta: {expectedBlobs: number; expectedBytes: number}}>(pull)
    const lock = await lockOf(out)
    // left out: the shared base layer, tool's layer and config (all in the mirror already)
    expect(lock.expectedInMirror?.map((e) => e.digest)).toContain(v2.layers[0]!.descriptor.digest)
    expect(lock.expectedInMirror).toHaveLength(3)
    expect(result.delta.expectedBlobs).toBe(3)
    expect(lock.blobs.bytes).toBeGreaterThanOrEqual(newBytes())
    expect(lock.blobs.bytes).toBeLessThanOrEqual(newBytes() * 1.05)
    expect(result.size).toBeLessThanOrEqual(newBytes() * 1.05 + 16 * 1024) // + tar headers, index, lock, spec
    expect((await runCli(['verify', out, '--json'])).code).toBe(0)

    const receipt2 = join(dir, 'delta.receipt.json')
    const dry = await runCli(['push', out, '--allow-unsigned', '--registry', `${mirror.host}/m`, ...plainFlags(mirror.host), '--receipt', receipt2, '--dry-run', '--json'])
    expect(dry.code, dry.stderr).toBe(0)
    const planned = jsonOf<{delta: {expected: number; present: number; mounts: number}; send: {bytes: number; manifestBytes: number}}>(dry)
    await expect(readFile(receipt2)).rejects.toThrow(/ENOENT/)
    const push = await runCli(['push', out, '--allow-unsigned', '--registry', `${mirror.host}/m`, ...plainFlags(mirror.host), '--receipt', receipt2, '--json'])
    expect(push.code, push.stderr).toBe(0)
    const pushed = jsonOf<{delta: {expected: number; present: number; mounted: number}; stats: {bytesCopied: number}}>(push)
    // the dry run said what the push then did
    expect(planned.delta).toEqual({expected: pushed.delta.expected, present: pushed.delta.present, mounts: pushed.delta.mounted})
    expect(planned.send.bytes + planned.send.manifestBytes).toBe(pushed.stats.bytesCopied)
    // tool:1 is in the mirror already (nothing of it is sent); app:2 needs the base layer, which is there
    expect(pushed.delta).toEqual({expected: 3, present: 1, mounted: 0})
    expect(pushed.stats.bytesCopied).toBeLessThanOrEqual(newBytes() * 1.05)
    const check = await runCli(['check', receipt2, ...plainFlags(mirror.host), '--json'])
    expect(check.code, check.stdout + check.stderr).toBe(0)
    expect(skopeoDigest(`${mirror.host}/m/${src.split('/')[1]}/acme/app:2`, ['--tls-verify=false'])).toBe(v2.root.digest)
    const r2 = JSON.parse(await readFile(receipt2, 'utf8')) as PushReceipt
    expect(r2.complete).toBe(true)
  })

  it('under another prefix of the same mirror, the blobs it leaves out are mounted from where the receipt saw them', async () => {
    const out = join(dir, 'delta.tar')
    const push = await runCli(['push', out, '--allow-unsigned', '--registry', `${mirror.host}/other`, ...plainFlags(mirror.host), '--receipt', join(dir, 'other.receipt.json'), '--json'])
    expect(push.code, push.stderr).toBe(0)
    const pushed = jsonOf<{delta: {expected: number; present: number; mounted: number}}>(push)
    expect(pushed.delta.mounted).toBe(3)
    const check = await runCli(['check', join(dir, 'other.receipt.json'), ...plainFlags(mirror.host)])
    expect(check.code, check.stdout + check.stderr).toBe(0)
  })

  it('a delta pushed into a registry missing its base blobs is refused before any write (exit 7, catalog unchanged)', async () => {
    const push = await runCli(['push', join(dir, 'delta.tar'), '--allow-unsigned', '--registry', `${empty.host}/m`, ...plainFlags(empty.host), '--receipt', join(dir, 'refused.json')])
    expect(push.code, push.stderr).toBe(7)
    expect(push.stderr).toContain('3 blob(s) it leaves out are not in the mirror')
    expect(push.stderr).toContain(v2.layers[0]!.descriptor.digest)
    expect(await catalog(empty.url)).toEqual([])
  })

  it('airgap inventory records the mirror; --since the inventory leaves out the same blobs as the receipt', async () => {
    const inv = join(dir, 'inventory.json')
    const r = await runCli(['inventory', '--registry', `${mirror.host}/m`, ...plainFlags(mirror.host), '-o', inv, '--json'])
    expect(r.code, r.stderr).toBe(0)
    const text = await readFile(inv, 'utf8')
    const inventory = parseInventory(text, inv)
    const name = `m/${src.split('/')[1]}/acme/app`
    expect(inventory.repositories[name]?.tags['2']).toBe(v2.root.digest)
    expect(inventory.blobs).toContain(v2.layers[0]!.descriptor.digest)
    expect(Object.keys(inventory.repositories).every((n) => n.startsWith('m/'))).toBe(true)
    // deterministic: a second run writes the same bytes
    const again = join(dir, 'inventory2.json')
    expect((await runCli(['inventory', '--registry', `${mirror.host}/m`, ...plainFlags(mirror.host), '-o', again])).code).toBe(0)
    expect(await readFile(again, 'utf8')).toBe(text)

    const out = join(dir, 'delta-inv.tar')
    const pull = await runCli(['pull', spec2, '-o', out, '--since', inv, ...plainFlags(services().registries.plain.host), '--json'])
    expect(pull.code, pull.stderr).toBe(0)
    const lock = await lockOf(out)
    // app:2 is in the mirror now, so everything but manifests is left out
    expect(lock.expectedInMirror?.map((e) => e.digest).sort()).toEqual(expect.arrayContaining([v2.layers[0]!.descriptor.digest, v2.layers[1]!.descriptor.digest]))
    expect(lock.blobs.bytes).toBeLessThan(16 * 1024)
  })
})
