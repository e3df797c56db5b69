/**
 * The `airgap serve` command as a user runs it: the built CLI serves a bundle on a free port,
 * prints the registry and Helm URLs and the counts, answers requests, and on SIGTERM closes
 * cleanly with exit code 0. Wrong input gets one error line and its exit code. With --key, what
 * was verified is what is served, even after another signed bundle is renamed over the path.
 */
import {generateKeyPairSync} from 'node:crypto'
import bcrypt from 'bcryptjs'
import {mkdtemp, rename, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {writeBundle} from '../../src/usecases/write-bundle.js'
import {MemoryTarget} from '../../src/content/memory.js'
import {runCli} from '../support/cli.js'
import {loadInto, makeImage} from '../support/images.js'
import {OciLayout} from '../../src/layout/index.js'
import {buildServeBundle, skopeo, skopeoError, spawnServe, type ServeFixture} from './serve-support.js'

let dir: string
let fx: ServeFixture

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-serve-cli-'))
  fx = await buildServeBundle(join(dir, 'bundle.tar'))
})
afterAll(async () => {
  if (dir) await rm(dir, {recursive: true, force: true})
})

const serve = spawnServe

describe('airgap serve (CLI)', () => {
  it('serves a bundle on a free port, prints URLs and counts, and stops cleanly on SIGTERM', async () => {
    const s = await serve([fx.path, '--addr', '127.0.0.1:0'])
    expect(s.out()).toMatch(/Serving 4 image\(s\) and 2 chart\(s\) \(read-only\)/)
    expect(s.out()).toContain(`helm repo  ${s.url}/charts`)
    const res = await fetch(`${s.url}/v2/acme/multi/manifests/v1`)
    expect(res.headers.get('docker-content-digest')).toBe(fx.multi.root.digest)
    expect((await fetch(`${s.url}/charts/index.yaml`)).status).toBe(200)
    s.child.kill('SIGTERM')
    expect(await s.exited).toBe(0)
    expect(s.out()).toContain('Stopped.')
  })

  it('creates and serves a writable layout folder', async () => {
    const s = await serve([join(dir, 'new-layout'), '--writable', '--addr', '127.0.0.1:0'])
    expect(s.out()).toMatch(/Serving 0 image\(s\) and 0 chart\(s\) \(writable\)/)
    expect((await fetch(`${s.url}/v2/x/blobs/uploads/`, {method: 'POST'})).status).toBe(202)
    s.child.kill('SIGINT')
    expect(await s.exited).toBe(0)
  })

  it('refuses --writable on a bundle file and a missing path, with one error line and exit codes 2 and 7', async () => {
    const writable = await runCli(['serve', fx.path, '--writable', '--addr', '127.0.0.1:0'])
    expect(writable.code).toBe(2)
    expect(writable.stderr.trim()).toMatch(/^Error: .*bundle file, which is served read-only\. Drop --writable/)
    const missing = await runCli(['serve', join(dir, 'nope'), '--addr', '127.0.0.1:0'])
    expect(missing.code).toBe(7)
    expect(missing.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('refuses an invalid listen address (exit 2)', async () => {
    const r = await runCli(['serve', fx.path, '--addr', 'nonsense'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/invalid listen address "nonsense"/)
  })

  it('with --key verifies a signed bundle before serving, and refuses one signed by another key (exit 5)', async () => {
    const keys = generateKeyPairSync('ec', {namedCurve: 'P-256'})
    const other = generateKeyPairSync('ec', {namedCurve: 'P-256'})
    const pub = join(dir, 'cosign.pub')
    const wrong = join(dir, 'other.pub')
    await writeFile(pub, keys.publicKey.export({type: 'spki', format: 'pem'}))
    await writeFile(wrong, other.publicKey.export({type: 'spki', format: 'pem'}))
    const src = new MemoryTarget()
    const img = await makeImage({seed: 'serve-cli-signed', layers: 1})
    await loadInto(src, img, 'app')
    const signed = join(dir, 'signed.tar')
    await writeBundle({images: [{source: src, ref: 'app', name: 'docker.io/acme/signed:1'}], out: signed, signKey: keys})
    const s = await serve([signed, '--key', pub, '--addr', '127.0.0.1:0'])
    expect(s.out()).toMatch(/Serving 1 image\(s\) and 0 chart\(s\) \(read-only\), bundle verified/)
    expect((await fetch(`${s.url}/v2/acme/signed/manifests/1`)).headers.get('docker-content-digest')).toBe(img.root.digest)
    s.child.kill('SIGTERM')
    expect(await s.exited).toBe(0)
    const refused = await runCli(['serve', signed, '--key', wrong, '--addr', '127.0.0.1:0'])
    expect(refused.code).toBe(5)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
  })

  it('refuses --writable on an address beyond loopback without --htpasswd (exit 2); --allow-anonymous-writes opens it, with a warning', async () => {
    const layout = join(dir, 'open-layout')
    const refused = await runCli(['serve', layout, '--writable', '--addr', '0.0.0.0:0'], {timeoutMs: 20_000})
    expect(refused.code).toBe(2)
    expect(refused.stderr.trim().split('\n')).toHaveLength(1)
    expect(refused.stderr).toMatch(/^Error: refusing to accept pushes from anyone on 0\.0\.0\.0:0: .*no --htpasswd.*htpasswd -cB FILE USER/)
    const open = await serve([layout, '--writable', '--addr', '0.0.0.0:0', '--allow-anonymous-writes'])
    for (let i = 0; i < 50 && !open.err().includes('anyone'); i++) await new Promise((r) => setTimeout(r, 20))
    expect(open.err()).toMatch(/anyone who can reach 0\.0\.0\.0:0 can push and overwrite tags/)
    expect((await fetch(`${open.url}/v2/x/blobs/uploads/`, {method: 'POST'})).status).toBe(202)
    open.child.kill('SIGTERM')
    expect(await open.exited).toBe(0)
  })

  it('with --htpasswd on 0.0.0.0, only a valid user can push: skopeo without or with wrong credentials is refused (401), with them it pushes', async () => {
    const src = await OciLayout.open(join(dir, 'push-src'), {create: true})
    const img = await makeImage({seed: 'serve-cli-authed-push', layers: 1})
    await loadInto(src, img, 'app')
    const file = join(dir, 'htpasswd-push')
    await writeFile(file, `pusher:${bcrypt.hashSync('push-pw', 5)}\n`)
    const s = await serve([join(dir, 'authed-layout'), '--writable', '--addr', '0.0.0.0:0', '--htpasswd', file])
    try {
      const host = new URL(s.url).host
      expect((await fetch(`${s.url}/v2/x/blobs/uploads/`, {method: 'POST'})).status).toBe(401)
      const anonymous = await skopeoError('copy', '--dest-tls-verify=false', `oci:${src.dir}:app`, `docker://${host}/team/app:1`)
      expect(anonymous).toMatch(/401|unauthorized|authentication required/i)
      const wrong = await skopeoError('copy', '--dest-tls-verify=false', '--dest-creds', 'pusher:nope', `oci:${src.dir}:app`, `docker://${host}/team/app:1`)
      expect(wrong).toMatch(/401|unauthorized|authentication required/i)
      await skopeo('copy', '--dest-tls-verify=false', '--dest-creds', 'pusher:push-pw', `oci:${src.dir}:app`, `docker://${host}/team/app:1`)
      const raw = await skopeo('inspect', '--raw', '--tls-verify=false', '--creds', 'pusher:push-pw', `docker://${host}/team/app:1`)
      expect(raw).toBe(img.manifest.bytes.toString())
    } finally {
      s.child.kill('SIGTERM')
      await s.exited
    }
  })

  it('with --key keeps serving the bundle it verified when another signed bundle is renamed over the path', async () => {
    const keys = generateKeyPairSync('ec', {namedCurve: 'P-256'})
    const pub = join(dir, 'swap.pub')
    await writeFile(pub, keys.publicKey.export({type: 'spki', format: 'pem'}))
    const [verified, other] = [await makeImage({seed: 'serve-cli-verified', layers: 1}), await makeImage({seed: 'serve-cli-other', layers: 1})]
    const [path, replacement] = [join(dir, 'swap.tar'), join(dir, 'swap-other.tar')]
    for (const [img, out] of [
      [verified, path],
      [other, replacement],
    ] as const) {
      const src = new MemoryTarget()
      await loadInto(src, img, 'app')
      await writeBundle({images: [{source: src, ref: 'app', name: 'docker.io/acme/swap:1'}], out, signKey: keys})
    }
    const s = await serve([path, '--key', pub, '--addr', '127.0.0.1:0'])
    expect(s.out()).toMatch(/bundle verified/)
    await rename(replacement, path)
    expect((await fetch(`${s.url}/v2/acme/swap/manifests/1`)).headers.get('docker-content-digest')).toBe(verified.root.digest)
    const layer = verified.layers[0]!
    const part = await fetch(`${s.url}/v2/acme/swap/blobs/${layer.descriptor.digest}`, {headers: {range: 'bytes=10-99'}})
    expect(part.status).toBe(206)
    expect(Buffer.from(await part.arrayBuffer()).equals(layer.bytes.subarray(10, 100))).toBe(true)
    expect((await fetch(`${s.url}/v2/acme/swap/manifests/${other.root.digest}`)).status).toBe(404)
    s.child.kill('SIGTERM')
    expect(await s.exited).toBe(0)
  })
})
