/**
 * `airgap push` and `airgap check` end to end (spawned CLI, real exit codes), the same test bodies
 * against each registry under test (test/support/registries.ts): the real distribution 2.8
 * registries and a writable `airgap serve` spawned as a process. Every auth mode (plain, htpasswd
 * and token with credentials from DOCKER_CONFIG, TLS with the rig CA; serve has no token auth),
 * charts into oci:// on the same server and into nginx with WebDAV PUT; skopeo confirms every
 * pushed digest; refusals (flipped byte, wrong key, unsigned, collision) leave the catalog alone.
 */
import {mkdtemp, mkdir, open, readFile, rm, writeFile, copyFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {BundleReader} from '../../src/bundle/index.js'
import type {PushReceipt} from '../../src/mirror/receipt.js'
import {jsonOf, runCli} from '../support/cli.js'
import {REGISTRY_KINDS, titleFor, type RegistryKindInfo, type RegistryUnderTest} from '../support/registries.js'
import {describeWithServices, services, type RegistryMode} from '../support/services.js'
import {buildFixture, skopeoDigest, type PushFixture} from './push-fixtures.js'

interface PushJson {
  receiptPath: string
  receipt: PushReceipt
  stats: {bytesCopied: number; blobsCopied: number; blobsSkipped: number; blobsMounted: number; manifestsCopied: number; manifestsSkipped: number}
  images: {total: number; pushed: number}
  verified: {blobs: number; bytes: number}
}

const SECRETS = ['s3cret', 'up-pw', 'readpw']
const AUTH_MODES = ['htpasswd', 'token', 'tls'] as const

function expectNoSecret(text: string): void {
  for (const s of SECRETS) expect(text).not.toContain(s)
}

describeWithServices('airgap push / check (CLI)', () => {
  let dir: string
  let fx: PushFixture
  const pid = process.pid

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-push-it-'))
    fx = await buildFixture({dir, seed: `push-${pid}`})
  }, 60_000)

  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  describe.each(REGISTRY_KINDS)('into $label', (kind: RegistryKindInfo) => {
    /** The registries of this kind by mode (shared ones for distribution), and a private plain one. */
    const regs = new Map<RegistryMode, RegistryUnderTest>()
    let priv: RegistryUnderTest
    let dockerConfig: string

    beforeAll(async () => {
      const modes = (['plain', ...AUTH_MODES] as RegistryMode[]).filter((m) => kind.unsupported(m) === undefined)
      for (const m of modes) regs.set(m, await kind.open(m))
      priv = await kind.open('plain', {fresh: true})
      dockerConfig = join(dir, `docker-${kind.kind}`)
      await mkdir(dockerConfig)
      const auths = Object.fromEntries([...regs.values()].filter((r) => r.credentials).map((r) => [r.host, {auth: Buffer.from(`${r.credentials!.username}:${r.credentials!.password}`).toString('base64')}]))
      await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({auths}))
    }, 60_000)

    afterAll(async () => {
      await priv?.stop()
      for (const r of regs.values()) await r.stop()
    })

    const reg = (mode: RegistryMode): RegistryUnderTest => regs.get(mode)!

    async function push(args: string[], env: Record<string, string> = {}) {
      return runCli(['push', fx.bundle, '--key', fx.pubFile, '--json', ...args], {env: {DOCKER_CONFIG: dockerConfig, ...env}})
    }

    it('pushes into the plain registry with the chart as oci://; skopeo sees every digest; check passes; a rerun sends zero bytes', async () => {
      const plain = reg('plain')
      const prefix = `push-${pid}/plain`
      const receiptFile = join(dir, `${kind.kind}-plain.receipt.json`)
      const r = await push(['--registry', `${plain.host}/${prefix}`, '--plain-http', plain.host, '--helm-repo', `oci://${plain.host}/${prefix}/charts`, '--receipt', receiptFile])
      expect(r.code, r.stderr).toBe(0)
      const out = jsonOf<PushJson>(r)
      expect(out.images).toEqual(expect.objectContaining({total: 3, pushed: 3}))
      expect(out.stats.bytesCopied).toBeGreaterThan(0)
      // The base layer shared by multi and app is sent once: distribution links it into the second
      // repository by a cross-repository mount; serve keeps one blob store for every repository, so
      // the existence check already finds it there and the push skips it.
      if (kind.kind === 'distribution') expect(out.stats.blobsMounted).toBeGreaterThan(0)
      else expect(out.stats.blobsMounted + out.stats.blobsSkipped).toBeGreaterThan(0)
      expect(out.verified.blobs).toBeGreaterThan(0) // everything it sent was hashed first
      const receipt = JSON.parse(await readFile(receiptFile, 'utf8')) as PushReceipt
      expect(receipt.complete).toBe(true)
      expect(receipt.bundle.signer).toMatch(/^sha256:/)
      for (const img of receipt.images) {
        expect(img.mirror.startsWith(`${plain.host}/${prefix}/`)).toBe(true)
        expect(skopeoDigest(img.mirror, plain.skopeoFlags())).toBe(fx.images.get(img.source))
      }
      expect(receipt.images.map((i) => i.mirror).sort()).toEqual([
        `${plain.host}/${prefix}/acme/app:2.0`,
        `${plain.host}/${prefix}/acme/multi:1.0`,
        `${plain.host}/${prefix}/legacy/tool:3`,
      ])
      expect(receipt.images.find((i) => i.source === 'docker.io/acme/app:2.0')?.discoveredBy).toEqual([{chart: 'demo', valuesPath: 'images.app', source: 'acme/app:2.0'}])
      expect(receipt.charts[0]).toEqual(expect.objectContaining({name: 'demo', ociRef: `oci://${plain.host}/${prefix}/charts/demo`, status: 'pushed'}))
      expect(skopeoDigest(`${plain.host}/${prefix}/charts/demo:0.1.0`, plain.skopeoFlags())).toBe(fx.chart.digest)

      const check = await runCli(['check', receiptFile, '--plain-http', plain.host])
      expect(check.code, check.stderr).toBe(0)
      expect(check.stdout).toMatch(/4 ok, 0 missing/)

      const again = await push(['--registry', `${plain.host}/${prefix}`, '--plain-http', plain.host, '--helm-repo', `oci://${plain.host}/${prefix}/charts`, '--receipt', receiptFile])
      expect(again.code, again.stderr).toBe(0)
      const stats = jsonOf<PushJson>(again).stats
      expect(stats.bytesCopied).toBe(0)
      expect(stats.blobsCopied).toBe(0)
      expect(stats.manifestsSkipped).toBeGreaterThanOrEqual(4)
      // Nothing is sent, so only the chart (always checked) is re-read; the images are not re-hashed.
      const verified = jsonOf<PushJson>(again).verified
      expect(verified.blobs).toBeLessThan(out.verified.blobs)
      expect(verified.bytes).toBeLessThan(out.verified.bytes / 2)
      // --full-verify hashes every blob again.
      const full = await push(['--registry', `${plain.host}/${prefix}`, '--plain-http', plain.host, '--receipt', receiptFile, '--full-verify'])
      expect(full.code, full.stderr).toBe(0)
      expect(jsonOf<PushJson>(full).verified.blobs).toBeGreaterThanOrEqual(out.verified.blobs)
      // With --json, stderr is JSON lines only: the warning about the chart left out is an event too.
      const events = full.stderr.trim().split('\n').map((line) => JSON.parse(line) as {event: string; message?: string})
      expect(events.filter((e) => e.event === 'warning').map((e) => e.message)).toEqual([expect.stringMatching(/no --helm-repo was given/)])
    })

    it('publishes the chart into nginx with WebDAV PUT (existing index entries kept; a missing index.yaml is created) and check downloads it', async () => {
      const nginx = services().nginx
      const plain = reg('plain')
      const sub = `push-${pid}-${kind.kind}-repo`
      const repoUrl = `${nginx.url}/${sub}`
      // An existing entry that the merge must keep (nginx creates the folder on PUT).
      const existing = 'apiVersion: v1\nentries:\n  other:\n    - name: other\n      version: 9.9.9\n      apiVersion: v2\n      urls: [other-9.9.9.tgz]\n'
      const put = await fetch(`${repoUrl}/index.yaml`, {method: 'PUT', body: existing, headers: {authorization: `Basic ${Buffer.from(`${nginx.username}:${nginx.password}`).toString('base64')}`}})
      expect([201, 204]).toContain(put.status)
      const receiptFile = join(dir, `${kind.kind}-nginx.receipt.json`)
      const r = await push(
        ['--registry', `${plain.host}/push-${pid}/nginx`, '--plain-http', plain.host, '--helm-repo', repoUrl, '--helm-username', nginx.username, '--receipt', receiptFile],
        {AIRGAP_HELM_PASSWORD: nginx.password},
      )
      expect(r.code, r.stderr).toBe(0)
      const index = await (await fetch(`${repoUrl}/index.yaml`)).text()
      expect(index).toContain('other:')
      expect(index).toContain(`digest: ${fx.chart.tgzDigest.slice('sha256:'.length)}`)
      const tgz = Buffer.from(await (await fetch(`${repoUrl}/demo-0.1.0.tgz`)).arrayBuffer())
      expect(`sha256:${(await import('node:crypto')).createHash('sha256').update(tgz).digest('hex')}`).toBe(fx.chart.tgzDigest)
      const text = await readFile(receiptFile, 'utf8')
      expectNoSecret(text)
      expectNoSecret(r.stdout + r.stderr)
      expect((JSON.parse(text) as PushReceipt).charts[0]?.repoUrl).toBe(repoUrl)
      const check = await runCli(['check', receiptFile, '--plain-http', plain.host])
      expect(check.code, check.stderr).toBe(0)
      // A repository without index.yaml is created.
      const fresh = `${nginx.url}/push-${pid}-${kind.kind}-fresh`
      expect((await fetch(`${fresh}/index.yaml`)).status).toBe(404)
      const created = await push(['--registry', `${plain.host}/push-${pid}/nginx`, '--plain-http', plain.host, '--helm-repo', fresh, '--receipt', receiptFile], {
        AIRGAP_HELM_USERNAME: nginx.username,
        AIRGAP_HELM_PASSWORD: nginx.password,
      })
      expect(created.code, created.stderr).toBe(0)
      expect(jsonOf<PushJson>(created).stats.bytesCopied).toBe(0)
      const freshIndex = await (await fetch(`${fresh}/index.yaml`)).text()
      expect(freshIndex).toContain('demo-0.1.0.tgz')
      // index.yaml went in atomically (PUT to a temporary name, WebDAV MOVE): no temporary file left.
      expect(await (await fetch(`${fresh}/`)).text()).not.toContain('.tmp')
    })

    // Modes a registry kind does not have (airgap serve has no token auth) are not generated at all.
    for (const mode of AUTH_MODES.filter((m) => kind.unsupported(m) === undefined)) {
      it(titleFor(`pushes into the ${mode} registry (credentials from DOCKER_CONFIG) and skopeo confirms the digests`, kind, undefined), async () => {
        const r0 = reg(mode)
        const receiptFile = join(dir, `${kind.kind}-${mode}.receipt.json`)
        const r = await push(['--registry', `${r0.host}/push-${pid}/${mode}`, ...r0.connFlags(), '--receipt', receiptFile])
        expect(r.code, r.stderr).toBe(0)
        const receipt = JSON.parse(await readFile(receiptFile, 'utf8')) as PushReceipt
        expect(receipt.images).toHaveLength(3)
        for (const img of receipt.images) expect(skopeoDigest(img.mirror, r0.skopeoFlags())).toBe(fx.images.get(img.source))
        expectNoSecret(JSON.stringify(receipt))
        expectNoSecret(r.stdout + r.stderr)
        const check = await runCli(['check', receiptFile, ...r0.connFlags()], {env: {DOCKER_CONFIG: dockerConfig}})
        expect(check.code, check.stderr).toBe(0)
        // Without credentials the push is refused (exit 4) where the registry requires them for pushing.
        if (r0.kind === 'serve' || mode !== 'token') {
          const anon = join(dir, `docker-empty-${kind.kind}`)
          await mkdir(anon, {recursive: true})
          const denied = await push(['--registry', `${r0.host}/push-${pid}/${mode}-anon`, ...r0.connFlags(), '--receipt', join(dir, 'anon.receipt.json')], {DOCKER_CONFIG: anon})
          expect(denied.code, denied.stderr).toBe(4)
          expect(await r0.catalog()).not.toContain(`push-${pid}/${mode}-anon/acme/app`)
        }
      })
    }

    it('refuses a bundle with one flipped byte, the wrong key, or no key; the catalog is unchanged', async () => {
      const before = await priv.catalog()
      const damaged = join(dir, `${kind.kind}-damaged.tar`)
      await copyFile(fx.bundle, damaged)
      const reader = await BundleReader.open(damaged)
      const blob = reader.entries().filter((e) => e.kind === 'blob').sort((a, b) => b.size - a.size)[0]!
      await reader.close()
      const fh = await open(damaged, 'r+')
      const b = Buffer.alloc(1)
      await fh.read(b, 0, 1, blob.offset + 100)
      b[0] = b[0]! ^ 0xff
      await fh.write(b, 0, 1, blob.offset + 100)
      await fh.close()
      const base = ['--registry', `${priv.host}/refuse`, '--plain-http', priv.host, '--json']
      const flipped = await runCli(['push', damaged, '--key', fx.pubFile, ...base])
      expect(flipped.code).toBe(5)
      expect(flipped.stdout).toContain(blob.name)
      const wrongKey = await runCli(['push', fx.bundle, '--key', fx.otherPubFile, ...base])
      expect(wrongKey.code).toBe(5)
      const noKey = await runCli(['push', fx.bundle, ...base])
      expect(noKey.code).toBe(2)
      expect(noKey.stdout).toContain('--allow-unsigned')
      expect(await priv.catalog()).toEqual(before)
    })

    it('refuses colliding sources before pushing anything and suggests --keep-source-host', async () => {
      const sub = join(dir, `${kind.kind}-collide`)
      await mkdir(sub)
      const clash = await buildFixture({dir: sub, seed: `collide-${pid}`, names: ['docker.io/acme/same:1', 'quay.io/acme/same:2', 'ghcr.io/acme/other:3']})
      const before = await priv.catalog()
      const r = await runCli(['push', clash.bundle, '--key', clash.pubFile, '--registry', `${priv.host}/clash`, '--plain-http', priv.host])
      expect(r.code).toBe(2)
      expect(r.stderr).toContain('docker.io/acme/same and quay.io/acme/same both map to')
      expect(r.stderr).toContain('--keep-source-host')
      expect(await priv.catalog()).toEqual(before)
      const kept = await runCli(['push', clash.bundle, '--key', clash.pubFile, '--registry', `${priv.host}/clash`, '--plain-http', priv.host, '--keep-source-host', '--json'])
      expect(kept.code, kept.stderr).toBe(0)
      expect(jsonOf<PushJson>(kept).receipt.images.map((i) => i.mirror).sort()).toEqual([
        `${priv.host}/clash/docker.io/acme/same:1`,
        `${priv.host}/clash/ghcr.io/acme/other:3`,
        `${priv.host}/clash/quay.io/acme/same:2`,
      ])
      expect(await priv.catalog()).toEqual(expect.arrayContaining(['clash/docker.io/acme/same', 'clash/quay.io/acme/same', 'clash/ghcr.io/acme/other']))
    })

    it('with --allow-unsigned pushes an unsigned bundle and says loudly that authenticity was not checked', async () => {
      const sub = join(dir, `${kind.kind}-unsigned`)
      await mkdir(sub)
      const u = await buildFixture({dir: sub, seed: `unsigned-${pid}`, unsigned: true})
      const refused = await runCli(['push', u.bundle, '--key', u.pubFile, '--registry', `${priv.host}/unsigned`, '--plain-http', priv.host])
      expect(refused.code).toBe(5)
      const r = await runCli(['push', u.bundle, '--allow-unsigned', '--registry', `${priv.host}/unsigned`, '--plain-http', priv.host])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr).toContain('AUTHENTICITY NOT CHECKED')
      const receipt = JSON.parse(await readFile(`${u.bundle}.receipt.json`, 'utf8')) as PushReceipt
      expect(receipt.bundle.authenticity).toBe('unsigned')
      expect(receipt.charts[0]?.status).toBe('skipped')
      for (const img of receipt.images) expect(skopeoDigest(img.mirror, priv.skopeoFlags())).toBe(u.images.get(img.source))
    })

    const removal = kind.kind === 'serve' ? 'its manifest file was removed from the served layout folder (serve has no DELETE)' : 'it was deleted from the mirror (DELETE)'
    it(`check fails (exit 7) when an image is missing: ${removal}`, async () => {
      const receiptFile = join(dir, `${kind.kind}-deleted.receipt.json`)
      const r = await push(['--registry', `${priv.host}/del`, '--plain-http', priv.host, '--receipt', receiptFile])
      expect(r.code, r.stderr).toBe(0)
      const ok = await runCli(['check', receiptFile, '--plain-http', priv.host])
      expect(ok.code, ok.stderr).toBe(0)
      await priv.removeManifest('del/acme/app', fx.images.get('docker.io/acme/app:2.0')!)
      const bad = await runCli(['check', receiptFile, '--plain-http', priv.host])
      expect(bad.code).toBe(7)
      expect(bad.stdout).toMatch(/MISSING\s+image\s+docker\.io\/acme\/app:2\.0/)
      expect(bad.stderr).toContain(`${priv.host}/del/acme/app:2.0`)
    })
  })
})
