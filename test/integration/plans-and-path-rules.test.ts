/**
 * Issue 19, plans before actions and path rules, spawned CLI against real registries:
 *  - `pull --dry-run` lists every image with the digest and size the real pull then stores, and
 *    writes nothing into the output folder;
 *  - `push --dry-run --max-nested-paths 2` prints the mapping and the blobs and bytes the real push
 *    then sends, and writes nothing (the catalog stays empty, no receipt);
 *  - the real push lands every repository within two path components, records the rules and plain
 *    HTTP in the receipt, `check` passes without --plain-http, and containerd pulls through the
 *    generated hosts.toml (by source name where the name was kept, by mirror name where shortened);
 *  - a push over TLS with --ca-file: `check` trusts the same CA from the receipt;
 *  - two sources folded onto one name are refused naming both, before anything is written.
 */
import {mkdtemp, readdir, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {BundleReader} from '../../src/bundle/index.js'
import {parseLock, type BundleLock} from '../../src/bundle/lock.js'
import type {PushReceipt} from '../../src/mirror/receipt.js'
import type {RegistryClient} from '../../src/registry/index.js'
import type {PullPlanResult} from '../../src/usecases/pull-plan.js'
import type {PushDryRunResult} from '../../src/usecases/push/index.js'
import {jsonOf, runCli} from '../support/cli.js'
import {loadInto, makeImage, makeLayer} from '../support/images.js'
import {describeWithServices, services, startContainerd, startRegistry, type RegistryHandle} from '../support/services.js'
import {catalog} from './push-fixtures.js'
import {clientFor} from './registry-support.js'

describeWithServices('pull/push --dry-run and push --max-nested-paths (CLI, real registries)', () => {
  let dir: string
  let out: string
  let client: RegistryClient
  let mirror: RegistryHandle
  let src: string
  let prefix: string
  let bundle: string
  let lock: BundleLock
  const plainFlags = (...hosts: string[]) => hosts.flatMap((h) => ['--plain-http', h])

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-plans-'))
    out = join(dir, 'out')
    const plain = services().registries.plain
    client = clientFor(plain)
    prefix = `plans${process.pid}x${Date.now()}`
    src = plain.host
    const base = await makeLayer({seed: `${prefix}-base`, files: 2, fileSize: 64 * 1024})
    const app = await makeImage({seed: `${prefix}-app`, baseLayers: [base], layers: 1, files: 2, fileSize: 64 * 1024})
    const tool = await makeImage({seed: `${prefix}-tool`, baseLayers: [base], layers: 1, files: 1, fileSize: 32 * 1024})
    const other = await makeImage({seed: `${prefix}-other`, layers: 1, files: 1, fileSize: 16 * 1024})
    // PREFIX/acme/app has 3 path components (shortened under --max-nested-paths 2), PREFIX/tool 2 (kept);
    // PREFIX/acme-app is what PREFIX/acme/app folds into (a collision when both are pushed).
    await loadInto(client.repository(`${prefix}/acme/app`), app, '1')
    await loadInto(client.repository(`${prefix}/tool`), tool, '1')
    await loadInto(client.repository(`${prefix}/acme-app`), other, '1')
    const spec = (images: string[]) => `apiVersion: airgap.dev/v1alpha1\nkind: ReleaseSpec\nmetadata:\n  name: plans\nspec:\n  images:\n${images.map((i) => `    - ${i}\n`).join('')}`
    await writeFile(join(dir, 'spec.yaml'), spec([`${src}/${prefix}/acme/app:1`, `${src}/${prefix}/tool:1`]))
    await writeFile(join(dir, 'clash.yaml'), spec([`${src}/${prefix}/acme/app:1`, `${src}/${prefix}/acme-app:1`]))
    await writeFile(join(dir, 'missing.yaml'), spec([`${src}/${prefix}/tool:1`, `${src}/${prefix}/gone:1`]))
    mirror = await startRegistry({mode: 'plain'})
    await rm(out, {recursive: true, force: true})
    await (await import('node:fs/promises')).mkdir(out)
  }, 120_000)

  afterAll(async () => {
    await mirror?.stop()
    await client?.close()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  async function lockOf(file: string): Promise<BundleLock> {
    const reader = await BundleReader.open(file)
    try {
      return parseLock(await reader.readFile('airgap/lock.json'), file)
    } finally {
      await reader.close()
    }
  }

  it('pull --dry-run lists the digests and sizes the real pull stores, and writes nothing', async () => {
    bundle = join(out, 'plans.tar')
    const dry = await runCli(['pull', join(dir, 'spec.yaml'), '-o', bundle, '--dry-run', ...plainFlags(src), '--json'])
    expect(dry.code, dry.stderr).toBe(0)
    const plan = jsonOf<PullPlanResult>(dry)
    expect(await readdir(out)).toEqual([])
    expect(plan.dryRun).toBe(true)
    expect(plan.wouldFail).toEqual([])
    expect(plan.images.map((i) => i.reference).sort()).toEqual([`${src}/${prefix}/acme/app:1`, `${src}/${prefix}/tool:1`])

    const human = await runCli(['pull', join(dir, 'spec.yaml'), '--dry-run', ...plainFlags(src)])
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toContain('Dry run, nothing written')
    expect(human.stdout).toMatch(/Would write [\d.]+ KiB in 7 blob\(s\): 0 chart\(s\), 2 image\(s\)/)
    expect(await readdir(out)).toEqual([])

    const pull = await runCli(['pull', join(dir, 'spec.yaml'), '-o', bundle, ...plainFlags(src), '--json'])
    expect(pull.code, pull.stderr).toBe(0)
    lock = await lockOf(bundle)
    for (const image of lock.images) {
      const planned = plan.images.find((i) => i.reference === image.source)
      expect(planned, image.source).toBeDefined()
      expect(planned!.digest).toBe(image.digest)
      expect(planned!.bytes).toBe(image.bytes)
    }
    expect(plan.totals.blobs).toBe(lock.blobs.count)
    expect(plan.totals.bundleBytes).toBe(lock.blobs.bytes)
  }, 120_000)

  it('pull --dry-run reports an image missing upstream and that the pull would fail, without -o and exit 0', async () => {
    const dry = await runCli(['pull', join(dir, 'missing.yaml'), '--dry-run', ...plainFlags(src), '--json'])
    expect(dry.code, dry.stderr).toBe(0)
    const plan = jsonOf<PullPlanResult>(dry)
    expect(plan.missing.map((m) => m.reference)).toEqual([`${src}/${prefix}/gone:1`])
    expect(plan.wouldFail).toHaveLength(1)
    expect(plan.wouldFail[0]).toContain(`${src}/${prefix}/gone:1`)
    const noOut = await runCli(['pull', join(dir, 'missing.yaml'), ...plainFlags(src)])
    expect(noOut.code).toBe(2)
    expect(noOut.stderr).toContain('missing -o BUNDLE')
  }, 60_000)

  it('push --dry-run --max-nested-paths 2 prints the mapping and the figures the real push sends, writing nothing', async () => {
    const receipt = join(dir, 'plans.receipt.json')
    const args = ['push', bundle, '--allow-unsigned', '--registry', mirror.host, '--max-nested-paths', '2', ...plainFlags(mirror.host), '--receipt', receipt]
    const dry = await runCli([...args, '--dry-run', '--json'])
    expect(dry.code, dry.stderr).toBe(0)
    const plan = jsonOf<PushDryRunResult>(dry)
    expect(await catalog(mirror.url)).toEqual([])
    await expect(readFile(receipt)).rejects.toThrow()
    expect(new Map(plan.images.map((i) => [i.source, [i.mirror, i.renamed, i.mirrorHolds]]))).toEqual(
      new Map([
        [`${src}/${prefix}/acme/app:1`, [`${mirror.host}/${prefix}/acme-app:1`, true, 'absent']],
        [`${src}/${prefix}/tool:1`, [`${mirror.host}/${prefix}/tool:1`, false, 'absent']],
      ]),
    )
    // every blob of the bundle but the manifests, each once
    const manifests = 2
    expect(plan.send.blobs).toBe(lock.blobs.count - manifests)
    expect(plan.send.manifests).toBe(manifests)
    expect(plan.send.tags).toBe(2)

    const human = await runCli([...args, '--dry-run'])
    expect(human.code, human.stderr).toBe(0)
    expect(human.stdout).toContain(`${mirror.host}/${prefix}/acme-app:1 *`)
    expect(human.stdout).toContain('* name shortened by the path rules')
    expect(human.stdout).toMatch(/Would send 5 blob\(s\) \([\d.]+ KiB\) and 2 manifest\(s\)/)
    expect(await catalog(mirror.url)).toEqual([])

    const push = await runCli([...args, '--json'])
    expect(push.code, push.stderr).toBe(0)
    const pushed = jsonOf<{stats: {blobsCopied: number; bytesCopied: number; manifestsCopied: number}}>(push)
    expect(pushed.stats.blobsCopied).toBe(plan.send.blobs)
    expect(pushed.stats.manifestsCopied).toBe(plan.send.manifests)
    expect(pushed.stats.bytesCopied).toBe(plan.send.bytes + plan.send.manifestBytes)

    // every repository within two path components
    const repos = await catalog(mirror.url)
    expect(repos).toEqual([`${prefix}/acme-app`, 'airgap-releases', `${prefix}/tool`].sort())
    for (const r of repos) expect(r.split('/').length).toBeLessThanOrEqual(2)
    const written = JSON.parse(await readFile(receipt, 'utf8')) as PushReceipt
    expect(written.pathRules).toEqual({maxNestedPaths: 2})
    expect(written.connection).toEqual({plainHttp: [mirror.host], caFiles: []})

    // a repeat dry run: everything is there
    const again = jsonOf<PushDryRunResult>(await runCli([...args, '--dry-run', '--json']))
    expect(again.send).toEqual({blobs: 0, bytes: 0, manifests: 0, manifestBytes: 0, tags: 0})
    expect(again.images.map((i) => i.mirrorHolds)).toEqual(['tagged', 'tagged'])
  }, 120_000)

  it('check reaches the plain-HTTP mirror as the receipt records, without --plain-http; a flag that disagrees is stated', async () => {
    const receipt = join(dir, 'plans.receipt.json')
    const check = await runCli(['check', receipt])
    expect(check.code, check.stdout + check.stderr).toBe(0)
    expect(check.stdout).toContain(`Reaching the mirror as the push did (per the receipt): plain HTTP to ${mirror.host}`)
    expect(check.stdout).toContain(`${mirror.host}/${prefix}/acme-app:1`)
    const overridden = await runCli(['check', receipt, '--plain-http', 'other.invalid:5000'])
    expect(overridden.code).not.toBe(0)
    expect(overridden.stderr.replace(/\s*›\s*/g, ' ')).toContain(`records that the push reached ${mirror.host} over plain HTTP, but --plain-http does not name it`)
  }, 60_000)

  it('a push over TLS with --ca-file: check trusts the same CA without being told; a CA path unreadable here is named', async () => {
    const {registries, tls, credentials} = services()
    const dockerConfig = join(dir, 'docker-tls')
    await (await import('node:fs/promises')).mkdir(dockerConfig)
    const auth = Buffer.from(`${credentials.admin.username}:${credentials.admin.password}`).toString('base64')
    await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({auths: {[registries.tls.host]: {auth}}}))
    const env = {DOCKER_CONFIG: dockerConfig, AIRGAP_CA_FILE: ''}
    const receipt = join(dir, 'tls.receipt.json')
    const push = await runCli(['push', bundle, '--allow-unsigned', '--registry', `${registries.tls.host}/${prefix}-tls`, '--ca-file', tls.caFile, '--receipt', receipt, '--quiet'], {env})
    expect(push.code, push.stderr).toBe(0)
    expect((JSON.parse(await readFile(receipt, 'utf8')) as PushReceipt).connection).toEqual({plainHttp: [], caFiles: [tls.caFile]})
    const check = await runCli(['check', receipt], {env})
    expect(check.code, check.stdout + check.stderr).toBe(0)
    expect(check.stdout).toContain(`Reaching the mirror as the push did (per the receipt): CA file(s) ${tls.caFile}`)
    const moved = JSON.parse(await readFile(receipt, 'utf8')) as PushReceipt
    moved.connection = {plainHttp: [], caFiles: [join(dir, 'gone-ca.pem')]}
    await writeFile(join(dir, 'moved.receipt.json'), JSON.stringify(moved))
    const refused = await runCli(['check', join(dir, 'moved.receipt.json')], {env})
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain(`records that the push trusted the CA file ${join(dir, 'gone-ca.pem')}, which cannot be read here (ENOENT)`)
  }, 60_000)

  it.skipIf(process.getuid?.() !== 0)('containerd pulls through the generated hosts.toml: kept names by source name, shortened ones by mirror name', async () => {
    const receipt = JSON.parse(await readFile(join(dir, 'plans.receipt.json'), 'utf8')) as PushReceipt
    const {containerdHostsTree} = await import('../../src/rewrite/node-mirrors.js')
    const {receiptToMirrorMap} = await import('../../src/mirror/receipt.js')
    const {writeFileTree} = await import('../../src/rewrite/io.js')
    const ctrd = await startContainerd()
    try {
      await writeFileTree(ctrd.hostsDir, containerdHostsTree(receiptToMirrorMap(receipt), {plainHttp: true}))
      const kept = receipt.images.find((i) => i.source.endsWith('/tool:1'))!
      const shortened = receipt.images.find((i) => i.source.endsWith('/acme/app:1'))!
      await ctrd.ctr(['-n', ctrd.namespace, 'images', 'pull', '--hosts-dir', ctrd.hostsDir, kept.source], {timeout: 60_000})
      await ctrd.ctr(['-n', ctrd.namespace, 'images', 'pull', '--hosts-dir', ctrd.hostsDir, shortened.mirror], {timeout: 60_000})
      const {stdout} = await ctrd.ctr(['-n', ctrd.namespace, 'images', 'ls'])
      const listed = new Map(
        stdout
          .split('\n')
          .slice(1)
          .map((l) => l.trim().split(/\s+/))
          .filter((cols) => cols.length >= 3)
          .map((cols) => [cols[0]!, cols[2]!]),
      )
      expect(listed.get(kept.source)).toBe(kept.digest)
      expect(listed.get(shortened.mirror)).toBe(shortened.digest)
    } finally {
      await ctrd.stop()
    }
  }, 120_000)

  it('two sources folded onto one name are refused naming both, before anything is written (dry run too)', async () => {
    const clash = join(dir, 'clash.tar')
    const pull = await runCli(['pull', join(dir, 'clash.yaml'), '-o', clash, ...plainFlags(src)])
    expect(pull.code, pull.stderr).toBe(0)
    const before = await catalog(mirror.url)
    for (const extra of [[], ['--dry-run']]) {
      const push = await runCli(['push', clash, '--allow-unsigned', '--registry', mirror.host, '--max-nested-paths', '2', ...plainFlags(mirror.host), '--receipt', join(dir, 'clash.receipt.json'), ...extra])
      expect(push.code).toBe(2)
      expect(push.stderr).toContain('Error: mirror names collide under --max-nested-paths 2: ')
      expect(push.stderr).toContain(`${src}/${prefix}/acme/app`)
      expect(push.stderr).toContain(`${src}/${prefix}/acme-app`)
      expect(push.stderr).toContain(`both map to ${mirror.host}/${prefix}/acme-app; nothing was pushed`)
      expect(push.stderr).toContain('raise --max-nested-paths or drop --flatten.')
    }
    expect(await catalog(mirror.url)).toEqual(before)
    await expect(readFile(join(dir, 'clash.receipt.json'))).rejects.toThrow()
  }, 60_000)
})
