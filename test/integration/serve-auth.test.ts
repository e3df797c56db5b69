/**
 * `airgap serve` with TLS and htpasswd basic auth: skopeo with --creds and --cert-dir works, a
 * wrong password or no credentials get 401 with a Basic challenge (registry and Helm routes alike),
 * and an htpasswd file with a non-bcrypt hash is refused at start. Against the built CLI with
 * cost-10 hashes: an unknown user takes as long to refuse as a wrong password, and a flood of
 * wrong passwords neither stalls an authenticated pull nor keeps a new user from logging in.
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
import {buildServeBundle, skopeo, skopeoError, spawnServe, type ServeFixture, type ServeProcess} from './serve-support.js'

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

describeWithServices('airgap serve with htpasswd under password guessing (built CLI)', () => {
  let dir: string
  let fx: ServeFixture
  let s: ServeProcess
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
  const basic = (auth: string): Record<string, string> => ({authorization: `Basic ${Buffer.from(auth).toString('base64')}`})
  const status = async (auth: string): Promise<number> => {
    const res = await fetch(`${s.url}/v2/`, {headers: basic(auth)})
    await res.arrayBuffer()
    return res.status
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-serve-guess-'))
    fx = await buildServeBundle(join(dir, 'bundle.tar'))
    const file = join(dir, 'htpasswd')
    const line = (u: string, p: string): string => execFileSync('htpasswd', ['-nbB', '-C', '10', u, p]).toString().trim()
    await writeFile(file, `${line('admin', 's3cret')}\n${line('reader', 'readpw')}\n`)
    s = await spawnServe([fx.path, '--addr', '127.0.0.1:0', '--htpasswd', file])
  })

  afterAll(async () => {
    s?.child.kill('SIGTERM')
    await s?.exited
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('takes as long to refuse an unknown user as a wrong password (both compare against a bcrypt hash)', async () => {
    const unknown: number[] = []
    const wrong: number[] = []
    for (let i = 0; i < 6; i++) {
      for (const [auth, times] of [[`nobody${i}:s3cret`, unknown], [`admin:wrong${i}`, wrong]] as const) {
        const t0 = performance.now()
        expect(await status(auth)).toBe(401)
        times.push(performance.now() - t0)
      }
    }
    const ratio = median(unknown) / median(wrong)
    expect(ratio, `unknown user ${median(unknown).toFixed(1)} ms, wrong password ${median(wrong).toFixed(1)} ms`).toBeGreaterThan(0.5)
    expect(ratio).toBeLessThan(2)
  })

  it('while 24 clients flood it with wrong passwords, an authenticated skopeo pull completes in bounded time and a new user still logs in', async () => {
    const certless = ['--src-tls-verify=false', '--src-creds', 'admin:s3cret', `docker://${new URL(s.url).host}/acme/multi:v1`]
    const t0 = performance.now()
    await skopeo('copy', '--all', ...certless, `oci:${join(dir, 'baseline')}:x`)
    const baseline = performance.now() - t0

    let flooding = true
    const statuses = new Map<number, number>()
    const flood = Promise.all(
      Array.from({length: 24}, async (_, w) => {
        for (let i = 0; flooding; i++) {
          const code = await status(`admin:guess-${w}-${i}`).catch(() => 0)
          statuses.set(code, (statuses.get(code) ?? 0) + 1)
          await sleep(20)
        }
      }),
    )
    try {
      await sleep(500) // the flood is under way
      const t1 = performance.now()
      await skopeo('copy', '--all', ...certless, `oci:${join(dir, 'flooded')}:x`)
      const flooded = performance.now() - t1
      expect(flooded, `pull took ${flooded.toFixed(0)} ms under the flood, ${baseline.toFixed(0)} ms without`).toBeLessThan(baseline + 8000)
      // a user whose credentials were never verified gets in (waiting its turn, or after a 429 and a retry)
      const t2 = performance.now()
      let login = 0
      while (login !== 200 && performance.now() - t2 < 15_000) {
        login = await status('reader:readpw')
        if (login === 429) await sleep(250)
      }
      expect(login, `a new user still could not log in after ${(performance.now() - t2).toFixed(0)} ms`).toBe(200)
    } finally {
      flooding = false
      await flood
    }
    expect(statuses.get(401) ?? 0).toBeGreaterThan(0)
    expect(statuses.get(429) ?? 0, JSON.stringify([...statuses])).toBeGreaterThan(0) // excess guesses are turned away at once
    expect([...statuses.keys()].filter((c) => c !== 401 && c !== 429)).toEqual([])
  })
})
