/**
 * Secrets never leak. One full flow with three secrets set:
 * - a registry password (the real htpasswd registry, credentials through DOCKER_CONFIG),
 * - a Helm repository password (the real nginx WebDAV repo, `push --helm-password`),
 * - a W&B licence (`pull --channel-url --license` against a TEST DOUBLE of the W&B deploy server,
 *   which cannot be reached from here; it checks the licence arrives as HTTP Basic).
 * pull → verify → list → push, all spawned, human and --json output. Then every byte the flow
 * produced (the whole bundle tar, the receipt, every file in the work folder, captured stdout and
 * stderr) is scanned for each secret in plain, base64 and `user:password` base64 forms: none appears.
 */
import {createHash, randomBytes} from 'node:crypto'
import {createServer, type Server} from 'node:http'
import type {AddressInfo} from 'node:net'
import {mkdir, readdir, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {buildChartArchive} from '../../src/helm/index.js'
import type {CliResult} from '../support/cli.js'
import {makeImage} from '../support/images.js'
import {describeWithServices, services} from '../support/services.js'
import {cleanup, cli, keyPair, seed, workDir} from './support.js'

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  for (const name of await readdir(dir)) {
    const p = join(dir, name)
    if ((await stat(p)).isDirectory()) out.push(...(await filesUnder(p)))
    else out.push(p)
  }
  return out
}

describeWithServices('secrets never appear in bundles, receipts, outputs or logs', () => {
  let dir: string
  let deploy: Server
  let helmDir: string
  const license = `wandb-license-${randomBytes(12).toString('hex')}`
  const licenseSeen: string[] = []

  beforeAll(async () => {
    dir = await workDir('secrets')
    const {htpasswd} = services().registries
    const nginx = services().nginx
    const cred = {username: htpasswd.username!, password: htpasswd.password!}
    // images behind the password: the app (named in the chart values) and the operator's controller
    await seed(htpasswd.host, `sec${process.pid}/app`, await makeImage({seed: 'secrets-app', layers: 1}), '1.0', cred)
    await seed(htpasswd.host, 'wandb/controller', await makeImage({seed: 'secrets-controller', layers: 1}), 'latest', cred)
    // the channel's chart and the operator chart beside it, in the real nginx Helm repo
    helmDir = join(nginx.root, `sec-${process.pid}`)
    await mkdir(helmDir, {recursive: true})
    const entries: string[] = []
    for (const [name, values] of [
      ['operator-wandb', `app:\n  image:\n    repository: ${htpasswd.host}/sec${process.pid}/app\n    tag: "0.0"\n`],
      ['operator', 'replicaCount: 1\n'],
    ] as const) {
      const tgz = await buildChartArchive({'Chart.yaml': `apiVersion: v2\nname: ${name}\nversion: 0.1.0\n`, 'values.yaml': values, 'templates/a.yaml': 'kind: ConfigMap\n'}, name)
      await writeFile(join(helmDir, `${name}-0.1.0.tgz`), tgz)
      const digest = createHash('sha256').update(tgz).digest('hex')
      entries.push(`  ${name}:\n    - {apiVersion: v2, name: ${name}, version: 0.1.0, digest: ${digest}, urls: [${name}-0.1.0.tgz], created: "2026-01-01T00:00:00Z"}`)
    }
    await writeFile(join(helmDir, 'index.yaml'), `apiVersion: v1\nentries:\n${entries.join('\n')}\ngenerated: "2026-01-01T00:00:00Z"\n`)
    // TEST DOUBLE of the W&B deploy server
    deploy = createServer((req, res) => {
      const auth = req.headers.authorization ?? ''
      licenseSeen.push(auth)
      if (req.url !== '/api/v1/operator/channel' || auth !== `Basic ${Buffer.from(`license:${license}`).toString('base64')}`) {
        res.writeHead(401, {'content-type': 'application/json'})
        return void res.end('{"error":"unauthorized"}')
      }
      res.writeHead(200, {'content-type': 'application/json'})
      res.end(JSON.stringify({metadata: {version: '0.1.0'}, chart: {url: `${nginx.url}/sec-${process.pid}`, name: 'operator-wandb', version: '0.1.0'}, values: {app: {image: {tag: '1.0'}}}}))
    })
    await new Promise<void>((r) => deploy.listen(0, '127.0.0.1', r))
    // registry credentials only through DOCKER_CONFIG
    await mkdir(join(dir, 'docker'))
    await writeFile(join(dir, 'docker', 'config.json'), JSON.stringify({auths: {[htpasswd.host]: {auth: Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}}}))
  })
  afterAll(async () => {
    await new Promise<void>((r) => (deploy ? deploy.close(() => r()) : r()))
    await rm(helmDir, {recursive: true, force: true})
    await cleanup(dir)
  })

  it('TLS verification is on: an unknown CA fails with exit 8 unless the CA is given', async () => {
    const tls = services().registries.tls
    const ref = `${tls.host}/tls-check/none:1`
    const plain = await cli(['inspect', ref], {env: {DOCKER_CONFIG: join(dir, 'docker'), NODE_EXTRA_CA_CERTS: ''}})
    expect(plain.code, plain.stderr).toBe(8)
    expect(plain.stderr).toMatch(/certificate|TLS/i)
    expect(plain.stderr).toContain(tls.host)
    const withCa = await cli(['inspect', ref, '--ca-file', tls.caFile!], {env: {DOCKER_CONFIG: join(dir, 'docker')}})
    expect(withCa.code, withCa.stderr).not.toBe(8)
  })

  it('pull, verify, list and push with a registry password, a Helm password and a licence: no secret in any output', async () => {
    const {htpasswd} = services().registries
    const nginx = services().nginx
    const regPw = htpasswd.password!
    const helmPw = nginx.password
    const work = join(dir, 'work')
    await mkdir(work)
    const {key, pub} = await keyPair(work)
    const env = {DOCKER_CONFIG: join(dir, 'docker'), HOME: dir}
    const bundle = join(work, 'bundle.tar')
    const runs: Array<[string, CliResult]> = []
    const run = async (label: string, args: string[]): Promise<CliResult> => {
      const r = await cli(args, {env, cwd: work})
      runs.push([label, r])
      return r
    }
    const deployUrl = `http://127.0.0.1:${(deploy.address() as AddressInfo).port}`
    const pullArgs = ['pull', '--channel-url', deployUrl, '--license', license, '-o', bundle, '--plain-http', htpasswd.host, '--registry-mirror', `docker.io=${htpasswd.host}`, '--sign-key', key]
    const pulled = await run('pull --json', [...pullArgs, '--json'])
    expect(pulled.code, pulled.stdout + pulled.stderr).toBe(0)
    expect(licenseSeen.length).toBeGreaterThan(0)
    expect((await run('pull again (human)', [...pullArgs, '--force'])).code).toBe(0)
    expect((await run('verify', ['verify', bundle, '--key', pub])).code).toBe(0)
    expect((await run('verify --json', ['verify', bundle, '--key', pub, '--json'])).code).toBe(0)
    expect((await run('list --json', ['list', bundle, '--json'])).code).toBe(0)
    const pushArgs = [
      'push', bundle, '--key', pub, '--registry', `${htpasswd.host}/sec-mirror-${process.pid}`, '--plain-http', htpasswd.host,
      '--helm-repo', `${nginx.url}/sec-up-${process.pid}`, '--helm-username', nginx.username, '--helm-password', helmPw,
    ]
    const pushed = await run('push --json', [...pushArgs, '--json'])
    expect(pushed.code, pushed.stdout + pushed.stderr).toBe(0)
    expect((await run('push again (human)', pushArgs)).code).toBe(0)
    // a failing run must not leak either: wrong licence
    const denied = await run('pull with a wrong licence', ['pull', '--channel-url', deployUrl, '--license', `${license}-wrong`, '-o', join(work, 'x.tar')])
    expect(denied.code).toBe(4)

    const secrets: Array<[string, string]> = [
      ['registry password', regPw],
      ['registry user:password (base64)', Buffer.from(`${htpasswd.username}:${regPw}`).toString('base64')],
      ['registry password (base64)', Buffer.from(regPw).toString('base64')],
      ['Helm password', helmPw],
      ['Helm user:password (base64)', Buffer.from(`${nginx.username}:${helmPw}`).toString('base64')],
      ['Helm password (base64)', Buffer.from(helmPw).toString('base64')],
      ['licence', license],
      ['licence (base64)', Buffer.from(license).toString('base64')],
      ['licence Basic (base64)', Buffer.from(`license:${license}`).toString('base64')],
    ]
    const haystacks: Array<[string, Buffer]> = []
    for (const [label, r] of runs) haystacks.push([`${label} stdout`, Buffer.from(r.stdout)], [`${label} stderr`, Buffer.from(r.stderr)])
    for (const f of await filesUnder(work)) haystacks.push([f, await readFile(f)])
    const helmUploads = join(nginx.root, `sec-up-${process.pid}`)
    for (const f of await filesUnder(helmUploads).catch(() => [])) haystacks.push([f, await readFile(f)])
    expect(haystacks.some(([n]) => n.endsWith('bundle.tar'))).toBe(true)
    expect(haystacks.some(([n]) => n.endsWith('bundle.tar.receipt.json'))).toBe(true)
    const leaks: string[] = []
    for (const [what, secret] of secrets) {
      for (const [where, bytes] of haystacks) if (bytes.includes(secret)) leaks.push(`${what} in ${where}`)
    }
    expect(leaks).toEqual([])
    // control: the scanner does find the secret where it legitimately is (the Docker config)
    const config = await readFile(join(dir, 'docker', 'config.json'))
    expect(config.includes(secrets[1]![1])).toBe(true)
    await rm(helmUploads, {recursive: true, force: true})
    const file = process.env.AIRGAP_RELIABILITY_REPORT
    if (file) {
      const {appendFile} = await import('node:fs/promises')
      await appendFile(file, `${JSON.stringify({suite: 'secrets', secrets: secrets.length, haystacks: haystacks.length, bytes: haystacks.reduce((n, [, b]) => n + b.length, 0), leaks: leaks.length})}\n`)
    }
  })
})
