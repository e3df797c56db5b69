/**
 * `airgap push` and `airgap check` end to end (spawned CLI, real exit codes) against the real
 * services: every registry mode (plain, htpasswd and token with credentials from DOCKER_CONFIG,
 * TLS with the rig CA), charts into oci:// and into nginx with WebDAV PUT; skopeo confirms every
 * pushed digest; refusals (flipped byte, wrong key, unsigned, collision) leave the catalog alone.
 */
import {mkdtemp, mkdir, open, readFile, rm, writeFile, copyFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {BundleReader} from '../../src/targets/bundle/index.js'
import type {PushReceipt} from '../../src/push/receipt.js'
import {jsonOf, runCli} from '../support/cli.js'
import {describeWithServices, services, startRegistry, type RegistryHandle, type RegistryInfo} from '../support/services.js'
import {buildFixture, catalog, skopeoDigest, type PushFixture} from './push-fixtures.js'

interface PushJson {
  receiptPath: string
  receipt: PushReceipt
  stats: {bytesCopied: number; blobsCopied: number; blobsSkipped: number; blobsMounted: number; manifestsCopied: number; manifestsSkipped: number}
  images: {total: number; pushed: number}
  verified: {blobs: number; bytes: number}
}

const SECRETS = ['s3cret', 'up-pw', 'readpw']

describeWithServices('airgap push / check (CLI, real registries)', () => {
  let dir: string
  let fx: PushFixture
  let dockerConfig: string
  let priv: RegistryHandle
  const pid = process.pid

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-push-it-'))
    fx = await buildFixture({dir, seed: `push-${pid}`})
    const s = services()
    dockerConfig = join(dir, 'docker')
    await mkdir(dockerConfig)
    const auth = Buffer.from(`${s.credentials.admin.username}:${s.credentials.admin.password}`).toString('base64')
    const auths = Object.fromEntries([s.registries.htpasswd, s.registries.token, s.registries.tls].map((r) => [r.host, {auth}]))
    await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({auths}))
    priv = await startRegistry({mode: 'plain'})
  }, 60_000)

  afterAll(async () => {
    await priv?.stop()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  function connFlags(r: RegistryInfo): string[] {
    return r.url.startsWith('https:') ? ['--ca-file', services().tls.caFile] : ['--plain-http', r.host]
  }

  function skopeoFlags(r: RegistryInfo): string[] {
    const creds = r.mode === 'plain' ? [] : ['--creds', `${services().credentials.admin.username}:${services().credentials.admin.password}`]
    return [...(r.url.startsWith('https:') ? ['--cert-dir', services().tls.certDir] : ['--tls-verify=false']), ...creds]
  }

  async function push(args: string[], env: Record<string, string> = {}) {
    return runCli(['push', fx.bundle, '--key', fx.pubFile, '--json', ...args], {env: {DOCKER_CONFIG: dockerConfig, ...env}})
  }

  function expectNoSecret(text: string): void {
    for (const s of SECRETS) expect(text).not.toContain(s)
  }

  it('pushes into the plain registry with the chart as oci://; skopeo sees every digest; check passes; a rerun sends zero bytes', async () => {
    const plain = services().registries.plain
    const prefix = `push-${pid}/plain`
    const receiptFile = join(dir, 'plain.receipt.json')
    const r = await push(['--registry', `${plain.host}/${prefix}`, '--plain-http', plain.host, '--helm-repo', `oci://${plain.host}/${prefix}/charts`, '--receipt', receiptFile])
    expect(r.code, r.stderr).toBe(0)
    const out = jsonOf<PushJson>(r)
    expect(out.images).toEqual(expect.objectContaining({total: 3, pushed: 3}))
    expect(out.stats.bytesCopied).toBeGreaterThan(0)
    expect(out.stats.blobsMounted).toBeGreaterThan(0) // the base layer shared by multi and app
    expect(out.verified.blobs).toBeGreaterThan(0) // everything it sent was hashed first
    const receipt = JSON.parse(await readFile(receiptFile, 'utf8')) as PushReceipt
    expect(receipt.complete).toBe(true)
    expect(receipt.bundle.signer).toMatch(/^sha256:/)
    for (const img of receipt.images) {
      expect(img.mirror.startsWith(`${plain.host}/${prefix}/`)).toBe(true)
      expect(skopeoDigest(img.mirror, skopeoFlags(plain))).toBe(fx.images.get(img.source))
    }
    expect(receipt.images.map((i) => i.mirror).sort()).toEqual([
      `${plain.host}/${prefix}/acme/app:2.0`,
      `${plain.host}/${prefix}/acme/multi:1.0`,
      `${plain.host}/${prefix}/legacy/tool:3`,
    ])
    expect(receipt.images.find((i) => i.source === 'docker.io/acme/app:2.0')?.discoveredBy).toEqual([{chart: 'demo', valuesPath: 'images.app', source: 'acme/app:2.0'}])
    expect(receipt.charts[0]).toEqual(expect.objectContaining({name: 'demo', ociRef: `oci://${plain.host}/${prefix}/charts/demo`, status: 'pushed'}))
    expect(skopeoDigest(`${plain.host}/${prefix}/charts/demo:0.1.0`, skopeoFlags(plain))).toBe(fx.chart.digest)

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
  })

  it('publishes the chart into nginx with WebDAV PUT (existing index entries kept; a missing index.yaml is created) and check downloads it', async () => {
    const s = services()
    const nginx = s.nginx
    const sub = `push-${pid}-repo`
    const repoUrl = `${nginx.url}/${sub}`
    // An existing entry that the merge must keep (nginx creates the folder on PUT).
    const existing = 'apiVersion: v1\nentries:\n  other:\n    - name: other\n      version: 9.9.9\n      apiVersion: v2\n      urls: [other-9.9.9.tgz]\n'
    const put = await fetch(`${repoUrl}/index.yaml`, {method: 'PUT', body: existing, headers: {authorization: `Basic ${Buffer.from(`${nginx.username}:${nginx.password}`).toString('base64')}`}})
    expect([201, 204]).toContain(put.status)
    const receiptFile = join(dir, 'nginx.receipt.json')
    const r = await push(
      ['--registry', `${s.registries.plain.host}/push-${pid}/nginx`, '--plain-http', s.registries.plain.host, '--helm-repo', repoUrl, '--helm-username', nginx.username, '--receipt', receiptFile],
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
    const check = await runCli(['check', receiptFile, '--plain-http', s.registries.plain.host])
    expect(check.code, check.stderr).toBe(0)
    // A repository without index.yaml is created.
    const fresh = `${nginx.url}/push-${pid}-fresh`
    expect((await fetch(`${fresh}/index.yaml`)).status).toBe(404)
    const created = await push(['--registry', `${s.registries.plain.host}/push-${pid}/nginx`, '--plain-http', s.registries.plain.host, '--helm-repo', fresh, '--receipt', receiptFile], {
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

  for (const mode of ['htpasswd', 'token', 'tls'] as const) {
    it(`pushes into the ${mode} registry (credentials from DOCKER_CONFIG) and skopeo confirms the digests`, async () => {
      const reg = services().registries[mode]
      const receiptFile = join(dir, `${mode}.receipt.json`)
      const r = await push(['--registry', `${reg.host}/push-${pid}/${mode}`, ...connFlags(reg), '--receipt', receiptFile])
      expect(r.code, r.stderr).toBe(0)
      const receipt = JSON.parse(await readFile(receiptFile, 'utf8')) as PushReceipt
      expect(receipt.images).toHaveLength(3)
      for (const img of receipt.images) expect(skopeoDigest(img.mirror, skopeoFlags(reg))).toBe(fx.images.get(img.source))
      expectNoSecret(JSON.stringify(receipt))
      const check = await runCli(['check', receiptFile, ...connFlags(reg)], {env: {DOCKER_CONFIG: dockerConfig}})
      expect(check.code, check.stderr).toBe(0)
    })
  }

  it('refuses a bundle with one flipped byte, the wrong key, or no key; the catalog is unchanged', async () => {
    const before = await catalog(priv.url)
    const damaged = join(dir, 'damaged.tar')
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
    expect(await catalog(priv.url)).toEqual(before)
  })

  it('refuses colliding sources before pushing anything and suggests --keep-source-host', async () => {
    const sub = join(dir, 'collide')
    await mkdir(sub)
    const clash = await buildFixture({dir: sub, seed: `collide-${pid}`, names: ['docker.io/acme/same:1', 'quay.io/acme/same:2', 'ghcr.io/acme/other:3']})
    const before = await catalog(priv.url)
    const r = await runCli(['push', clash.bundle, '--key', clash.pubFile, '--registry', `${priv.host}/clash`, '--plain-http', priv.host])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('docker.io/acme/same and quay.io/acme/same both map to')
    expect(r.stderr).toContain('--keep-source-host')
    expect(await catalog(priv.url)).toEqual(before)
    const kept = await runCli(['push', clash.bundle, '--key', clash.pubFile, '--registry', `${priv.host}/clash`, '--plain-http', priv.host, '--keep-source-host', '--json'])
    expect(kept.code, kept.stderr).toBe(0)
    expect(jsonOf<PushJson>(kept).receipt.images.map((i) => i.mirror).sort()).toEqual([
      `${priv.host}/clash/docker.io/acme/same:1`,
      `${priv.host}/clash/ghcr.io/acme/other:3`,
      `${priv.host}/clash/quay.io/acme/same:2`,
    ])
  })

  it('with --allow-unsigned pushes an unsigned bundle and says loudly that authenticity was not checked', async () => {
    const sub = join(dir, 'unsigned')
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
  })

  it('check fails (exit 7) when an image was deleted from the mirror', async () => {
    const receiptFile = join(dir, 'deleted.receipt.json')
    const r = await push(['--registry', `${priv.host}/del`, '--plain-http', priv.host, '--receipt', receiptFile])
    expect(r.code, r.stderr).toBe(0)
    const ok = await runCli(['check', receiptFile, '--plain-http', priv.host])
    expect(ok.code, ok.stderr).toBe(0)
    const digest = fx.images.get('docker.io/acme/app:2.0')!
    const del = await fetch(`${priv.url}/v2/del/acme/app/manifests/${digest}`, {method: 'DELETE'})
    expect(del.status).toBe(202)
    const bad = await runCli(['check', receiptFile, '--plain-http', priv.host])
    expect(bad.code).toBe(7)
    expect(bad.stdout).toMatch(/MISSING\s+image\s+docker\.io\/acme\/app:2\.0/)
    expect(bad.stderr).toContain(`${priv.host}/del/acme/app:2.0`)
  })
})
