/**
 * `airgap serve` with TLS and htpasswd basic auth: skopeo with --creds and --cert-dir works, a
 * wrong password or no credentials get 401 with a Basic challenge (registry and Helm routes alike),
 * and an htpasswd file with a non-bcrypt hash is refused at start.
 */
import {execFileSync} from 'node:child_process'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Agent, fetch as undiciFetch} from 'undici'
import {readFileSync} from 'node:fs'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {Htpasswd, startServer, type RunningServer} from '../../src/serve/index.js'
import {BundleReader} from '../../src/bundle/index.js'
import {describeWithServices, services} from '../support/services.js'
import {buildServeBundle, skopeo, skopeoError, type ServeFixture} from './serve-support.js'

describeWithServices('airgap serve with TLS and htpasswd', () => {
  let dir: string
  let fx: ServeFixture
  let reader: BundleReader
  let server: RunningServer
  let dispatcher: Agent
  let htpasswd: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-serve-auth-'))
    fx = await buildServeBundle(join(dir, 'bundle.tar'))
    reader = await BundleReader.open(fx.path)
    htpasswd = join(dir, 'htpasswd')
    // htpasswd -B writes $2y$ hashes, as for distribution
    await writeFile(htpasswd, execFileSync('htpasswd', ['-nbB', 'admin', 's3cret']).toString().trim() + '\n' + execFileSync('htpasswd', ['-nbB', 'reader', 'readpw']).toString())
    const tls = services().tls
    server = await startServer({store: reader, addr: '127.0.0.1:0', tls: {cert: tls.serverCert, key: tls.serverKey}, htpasswd})
    dispatcher = new Agent({connect: {ca: readFileSync(tls.caFile)}})
  })

  afterAll(async () => {
    await server?.close()
    await reader?.close()
    await dispatcher?.close()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  const get = (path: string, auth?: string) =>
    undiciFetch(`${server.url}${path}`, {headers: auth ? {authorization: `Basic ${Buffer.from(auth).toString('base64')}`} : {}, dispatcher})

  it('serves HTTPS: skopeo with --creds and --cert-dir (the CA) reads the exact index', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    const certDir = services().tls.certDir
    const raw = await skopeo('inspect', '--raw', '--creds', 'admin:s3cret', '--cert-dir', certDir, `docker://${server.address}/acme/multi:v1`)
    expect(raw).toBe(fx.multi.index.bytes.toString())
    const out = join(dir, 'out')
    await skopeo('copy', '--all', '--src-creds', 'reader:readpw', '--src-cert-dir', certDir, `docker://${server.address}/docker.io/acme/legacy:2`, `oci:${out}:x`)
  })

  it('answers no credentials and a wrong password with 401 and a Basic challenge; skopeo says so', async () => {
    const none = await get('/v2/')
    expect(none.status).toBe(401)
    expect(none.headers.get('www-authenticate')).toBe('Basic realm="airgap"')
    expect(((await none.json()) as {errors: Array<{code: string}>}).errors[0]!.code).toBe('UNAUTHORIZED')
    expect((await get('/v2/', 'admin:wrong')).status).toBe(401)
    expect((await get('/v2/', 'nobody:s3cret')).status).toBe(401)
    expect((await get('/v2/', 'admin:s3cret')).status).toBe(200)
    const err = await skopeoError('inspect', '--raw', '--creds', 'admin:wrong', '--cert-dir', services().tls.certDir, `docker://${server.address}/acme/multi:v1`)
    expect(err).toMatch(/unauthorized|authentication required|401/i)
  })

  it('guards the Helm repository too', async () => {
    expect((await get('/charts/index.yaml')).status).toBe(401)
    const ok = await get('/charts/index.yaml', 'reader:readpw')
    expect(ok.status).toBe(200)
    expect(await ok.text()).toContain('operator-wandb-0.43.9.tgz')
  })

  it('refuses an htpasswd file with a non-bcrypt hash when loading, naming file, line and user', async () => {
    const bad = join(dir, 'htpasswd-md5')
    await writeFile(bad, execFileSync('htpasswd', ['-nbm', 'old', 'pw']).toString())
    await expect(Htpasswd.load(bad)).rejects.toThrow(new RegExp(`${bad}:1: the password of user "old" is not a bcrypt hash \\(Apache MD5\\)`))
    await expect(startServer({store: reader, addr: '127.0.0.1:0', htpasswd: bad})).rejects.toMatchObject({exitCode: 3})
  })
})
