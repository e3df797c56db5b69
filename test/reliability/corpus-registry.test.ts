/**
 * Hostile registry responses, served by a TEST DOUBLE (hostile-registry.ts: a node:http server
 * answering like a registry, since a real one cannot be made to misbehave): oversized, malformed,
 * schema1, unknown-type and contradicting manifests, digest mismatches, redirect loops, redirects
 * to another host (credentials must not follow), a file:// token realm, corrupt and short blobs,
 * huge error bodies; trust boundaries and bounds: Link and upload Location headers naming another
 * origin (credentials must not follow), an http:// token realm of an HTTPS registry, pagination
 * loops, a trickled and a cut manifest, 1,500 nested indexes, a layer declaring 512 TiB, a 3 MiB
 * token response, a file:// chart URL. Each through the spawned CLI (`inspect`, `copy`, `pull`,
 * `inventory`): one `Error:` line naming the host or digest, the documented exit code, nothing
 * corrupt stored, no file written outside the working folder.
 */
import {createHash} from 'node:crypto'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {type CorpusCase, cleanup, recordCase, runCase, sandbox, type Sandbox} from './corpus.js'
import {HostileRegistry} from './hostile-registry.js'
import {rigPaths} from '../../scripts/rig.mjs'
import {services, servicesAvailable} from '../support/services.js'

const USER = 'hostile-user'
const PASSWORD = 'hostile-Pa55word-never-forwarded'

interface RegistryCase extends CorpusCase {
  repo: string
  command: 'inspect' | 'copy' | 'pull'
  env?: NodeJS.ProcessEnv
}

const CASES: RegistryCase[] = [
  {group: 'registry', name: 'oversized manifest (5 MiB, Content-Length)', repo: 'oversized-manifest', command: 'inspect', exit: 5, error: /4194304|limit|too large|over/},
  {group: 'registry', name: 'oversized manifest (chunked, no length)', repo: 'oversized-chunked', command: 'inspect', exit: 5, error: /4194304|limit|too large|over/},
  {group: 'registry', name: 'malformed manifest JSON', repo: 'malformed-manifest', command: 'inspect', exit: 5, error: /JSON/},
  {group: 'registry', name: 'Docker schema 1 manifest', repo: 'schema1', command: 'inspect', exit: 1, error: /schema ?1/i},
  {group: 'registry', name: 'unknown manifest media type', repo: 'unknown-media-type', command: 'inspect', exit: 1, error: /unknown-media-type\/app:v1 has schemaVersion undefined/},
  {group: 'registry', name: 'HTML captive portal instead of a manifest', repo: 'html-portal', command: 'inspect', exit: 5, error: /html-portal\/app:v1 is not valid JSON/},
  {group: 'registry', name: 'body mediaType contradicts Content-Type', repo: 'contradicting-media-type', command: 'inspect', exit: 5, error: /mediaType|media type/},
  {group: 'registry', name: 'Docker-Content-Digest header mismatch', repo: 'digest-header-mismatch', command: 'inspect', exit: 5, error: /sha256:0{64}|digest/},
  {group: 'registry', name: 'redirect loop', repo: 'redirect-loop', command: 'inspect', exit: 1, error: /redirect/},
  {group: 'registry', name: 'Bearer realm file:///etc/passwd', repo: 'file-realm', command: 'inspect', exit: 4, error: /file-realm.*realm is not an http\(s\) URL \("file:\/\/\/etc\/passwd"\)/},
  {group: 'registry', name: 'blob content corrupt (copy)', repo: 'corrupt-blob', command: 'copy', exit: 5, error: /sha256:[0-9a-f]{64}/},
  {group: 'registry', name: 'blob shorter than its descriptor (copy)', repo: 'short-blob', command: 'copy', exit: 5, error: /sha256:[0-9a-f]{64}/},
  {group: 'registry', name: '8 MiB error body', repo: 'huge-error-body', command: 'inspect', exit: 1, error: /HTTP 500/},
  {group: 'registry', name: 'error body that is broken JSON', repo: 'bad-json-error-body', command: 'inspect', exit: 4, error: /403|denied/i},
  {group: 'registry', name: 'connection cut mid-manifest, every time', repo: 'cut-manifest', command: 'inspect', exit: 9, error: /network error talking to 127\.0\.0\.1:\d+ \(source\) \(GET manifest 127\.0\.0\.1:\d+\/cut-manifest\/app@sha256:[0-9a-f]{64}\): .* after 3 attempts/},
  {
    group: 'registry',
    name: 'manifest trickled 1 byte per 20 s (deadline 1.5 s)',
    repo: 'trickle-manifest',
    command: 'inspect',
    env: {AIRGAP_HTTP_TIMEOUTS: 'deadline=1500,rate=4194304'},
    exit: 9,
    error: /GET http:\/\/127\.0\.0\.1:\d+\/v2\/trickle-manifest\/app\/manifests\/sha256:[0-9a-f]{64} did not finish within 1\.5 s/,
  },
  {group: 'registry', name: '1,500 nested indexes (copy)', repo: 'deep-index', command: 'copy', exit: 1, error: /deep-index\/app:v1.*nested more than 16 levels deep/},
  {group: 'registry', name: '1,500 nested indexes (pull plan)', repo: 'deep-index', command: 'pull', exit: 1, error: /deep-index\/app:v1.*nested more than 16 levels deep/},
  {group: 'registry', name: 'layer declaring 2^49 bytes (pull, before the disk preflight)', repo: 'huge-layer', command: 'pull', exit: 5, error: /huge-layer\/app:v1.*layer sha256:[0-9a-f]{64} declares 562949953421312 bytes \(512 TiB\), more than the 1 TiB airgap accepts for one blob/},
  {group: 'registry', name: '3 MiB token response', repo: 'huge-token', command: 'inspect', exit: 4, error: /huge-token.*token server 127\.0\.0\.1:\d+ answered with more than 1048576 bytes, the limit for a token response/},
]

describe.concurrent('hostile registry responses (test double for hostile registries; spawned CLI)', () => {
  let box: Sandbox
  let reg: HostileRegistry

  beforeAll(async () => {
    box = await sandbox('corpus-registry')
    reg = await HostileRegistry.start()
    await mkdir(join(box.home, '.docker'), {recursive: true})
    const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64')
    await writeFile(join(box.home, '.docker', 'config.json'), JSON.stringify({auths: {[reg.host]: {auth}}}))
  })
  afterAll(async () => {
    await reg?.close()
    await cleanup(box.root)
  })

  async function args(c: {repo: string; command: 'inspect' | 'copy' | 'pull'}, dest: string): Promise<string[]> {
    const ref = `${reg.host}/${c.repo}/app:v1`
    const plain = ['--plain-http', reg.host, '--plain-http', reg.otherHost]
    if (c.command === 'pull') return ['pull', await specFor(c.repo, [`  images:`, `    - ${ref}`]), '-o', `${dest}.tar`, ...plain]
    return c.command === 'inspect' ? ['inspect', ref, ...plain] : ['copy', ref, `oci:${dest}:v1`, ...plain]
  }

  async function specFor(name: string, body: string[]): Promise<string> {
    const file = join(box.work, `${name}.yaml`)
    await writeFile(file, ['apiVersion: airgap.dev/v1alpha1', 'kind: ReleaseSpec', 'metadata:', `  name: ${name}`, 'spec:', ...body, ''].join('\n'))
    return file
  }

  for (const c of CASES) {
    it(`${c.name}: exit ${c.exit}, one error line matching ${c.error}`, async ({expect}) => {
      const dest = join(box.work, `layout-${c.repo}-${c.command}`)
      const r = await runCase(box, await args(c, dest), c.env)
      expect(r.result.code, r.result.stderr).toBe(c.exit)
      expect(r.lines, r.result.stderr).toHaveLength(1)
      expect(r.lines[0]).toMatch(/^Error: /)
      expect(r.lines[0]).toMatch(c.error)
      expect(r.lines[0]!.length).toBeLessThan(2000)
      expect(r.lines[0]).not.toContain(PASSWORD)
      expect(r.escaped).toEqual([])
      if (c.command === 'copy') expect(corruptBlobs(dest), 'nothing corrupt stored').toEqual([])
      await recordCase(c, r)
    })
  }

  it('a chart whose index.yaml URL is file:///etc/passwd: exit 2, a usage error naming the URL', async ({expect}) => {
    const spec = await specFor('file-chart', ['  charts:', '    - name: evil', `      repo: http://${reg.host}/charts`, '      version: 1.0.0'])
    const r = await runCase(box, ['pull', spec, '-o', join(box.work, 'file-chart.tar'), '--plain-http', reg.host])
    expect(r.result.code, r.result.stderr).toBe(2)
    expect(r.lines, r.result.stderr).toHaveLength(1)
    expect(r.lines[0]).toMatch(/chart evil@1\.0\.0 in http:\/\/127\.0\.0\.1:\d+\/charts has the download URL file:\/\/\/etc\/passwd; airgap downloads charts only over http\(s\)/)
    expect(r.escaped).toEqual([])
    await recordCase({group: 'registry', name: 'chart download URL file:///etc/passwd in index.yaml (pull)', exit: 2, error: /file:/}, r)
  })

  it('a manifest whose connection is cut once is fetched again: exit 0', async ({expect}) => {
    const r = await runCase(box, await args({repo: 'cut-manifest-once', command: 'inspect'}, ''))
    expect(r.result.code, r.result.stderr).toBe(0)
    const gets = reg.seen.filter((s) => s.method === 'GET' && /cut-manifest-once\/app\/manifests\//.test(s.url))
    expect(gets.length).toBe(2)
    await recordCase({group: 'registry', name: 'connection cut mid-manifest once (fetched again)', exit: 0, error: /./}, r)
  })

  it('upload Location on another origin: the blob goes there without credentials', async ({expect}) => {
    const layout = join(box.work, 'layout-location-source')
    const seed = await runCase(box, ['copy', `${reg.host}/honest/app:v1`, `oci:${layout}:v1`, '--plain-http', reg.host])
    expect(seed.result.code, seed.result.stderr).toBe(0)
    const before = reg.otherSeen.length
    const r = await runCase(box, ['copy', `oci:${layout}:v1`, `${reg.host}/location-other-host/app:v1`, '--plain-http', reg.host, '--plain-http', reg.otherHost])
    const toOther = reg.otherSeen.slice(before).filter((s) => s.url.startsWith('/upload/'))
    expect(r.result.code, r.result.stderr).toBe(0)
    expect(reg.seen.some((s) => s.url.includes('location-other-host') && s.authorization), 'the registry itself got credentials').toBe(true)
    expect(toOther.length, 'both blobs went to the Location').toBe(2)
    expect(toOther.filter((s) => s.authorization)).toEqual([])
    await recordCase({group: 'registry', name: 'upload Location on another origin (no Authorization sent there)', exit: 0, error: /./}, r)
  })

  it('redirect of a manifest to another host: credentials do not follow', async () => {
    const before = reg.otherSeen.length
    const r = await runCase(box, await args({repo: 'redirect-other-host', command: 'inspect'}, ''))
    const toOther = reg.otherSeen.slice(before)
    expect(reg.seen.some((s) => s.url.includes('redirect-other-host') && s.authorization), 'the registry itself got credentials').toBe(true)
    expect(toOther.length, r.result.stderr).toBeGreaterThan(0)
    expect(toOther.filter((s) => s.authorization)).toEqual([])
    expect(r.result.code, r.result.stderr).toBe(0)
    await recordCase({group: 'registry', name: 'manifest redirect to another host (no Authorization sent there)', exit: 0, error: /./}, r)
  })

  it('redirect of a blob to another host (S3 style): credentials do not follow, content verified', async () => {
    const before = reg.otherSeen.length
    const dest = join(box.work, 'layout-blob-redirect')
    const r = await runCase(box, await args({repo: 'blob-redirect-other-host', command: 'copy'}, dest))
    const toOther = reg.otherSeen.slice(before)
    expect(toOther.length, r.result.stderr).toBeGreaterThan(0)
    expect(toOther.filter((s) => s.authorization)).toEqual([])
    expect(r.result.code, r.result.stderr).toBe(0)
    expect(corruptBlobs(dest)).toEqual([])
    await recordCase({group: 'registry', name: 'blob redirect to another host (no Authorization sent there)', exit: 0, error: /./}, r)
  })

  it('the credentials never reached the other host in any case', () => {
    expect(reg.otherSeen.filter((s) => s.authorization)).toEqual([])
  })
})

describe.concurrent('hostile registry listings: pagination Links (test double; spawned airgap inventory)', () => {
  let box: Sandbox
  const regs: HostileRegistry[] = []

  beforeAll(async () => {
    box = await sandbox('corpus-registry-pages')
  })
  afterAll(async () => {
    await Promise.all(regs.map((r) => r.close()))
    await cleanup(box.root)
  })

  async function inventory(catalog: string, withCredentials = false) {
    const reg = await HostileRegistry.start({catalog})
    regs.push(reg)
    const env: NodeJS.ProcessEnv = {}
    if (withCredentials) {
      const dir = join(box.work, `docker-${catalog}`)
      await mkdir(dir, {recursive: true})
      await writeFile(join(dir, 'config.json'), JSON.stringify({auths: {[reg.host]: {auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}}}))
      env.DOCKER_CONFIG = dir
    }
    const args = ['inventory', '--registry', reg.host, '-o', join(box.work, `${catalog}.json`), '--plain-http', reg.host, '--plain-http', reg.otherHost]
    return {reg, r: await runCase(box, args, env)}
  }

  const LOOPS = [
    {catalog: 'self-link', name: 'catalog Link to the page itself', error: /catalog of 127\.0\.0\.1:\d+: page 2 links back to a page already fetched \(http:\/\/127\.0\.0\.1:\d+\/v2\/_catalog\?n=1000\)/},
    {catalog: 'tags-loop', name: 'tag list Link to the page itself', error: /repository tags-link-loop\/app of 127\.0\.0\.1:\d+\/tags-link-loop\/app: page 2 links back to a page already fetched/},
  ]
  for (const c of LOOPS) {
    it(`${c.name}: exit 1, one error line matching ${c.error}`, async ({expect}) => {
      const {r} = await inventory(c.catalog)
      expect(r.result.code, r.result.stderr).toBe(1)
      expect(r.lines, r.result.stderr).toHaveLength(1)
      expect(r.lines[0]).toMatch(c.error)
      expect(r.escaped).toEqual([])
      await recordCase({group: 'registry', name: `${c.name} (inventory)`, exit: 1, error: c.error}, r)
    })
  }

  it('catalog Link to another origin: followed without credentials', async ({expect}) => {
    const {reg, r} = await inventory('other-origin', true)
    expect(r.result.code, r.result.stderr).toBe(0)
    expect(reg.seen.some((s) => s.url.startsWith('/v2/_catalog') && s.authorization), 'the registry itself got credentials').toBe(true)
    const toOther = reg.otherSeen.filter((s) => s.url.startsWith('/v2/_catalog'))
    expect(toOther.length).toBe(1)
    expect(toOther.filter((s) => s.authorization)).toEqual([])
    await recordCase({group: 'registry', name: 'catalog Link to another origin (no Authorization sent there)', exit: 0, error: /./}, r)
  })
})

describe.skipIf(!servicesAvailable())('HTTPS hostile registry: an http:// token realm (test double; the rig\'s TLS certificate)', () => {
  let box: Sandbox
  let reg: HostileRegistry
  let ca: string

  beforeAll(async () => {
    box = await sandbox('corpus-registry-tls')
    const p = rigPaths(services().rig)
    ca = p.caFile
    reg = await HostileRegistry.start({tls: {cert: readFileSync(p.serverCert, 'utf8'), key: readFileSync(p.serverKey, 'utf8')}})
    await mkdir(join(box.home, '.docker'), {recursive: true})
    await writeFile(join(box.home, '.docker', 'config.json'), JSON.stringify({auths: {[reg.host]: {auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}}}))
  })
  afterAll(async () => {
    await reg?.close()
    await cleanup(box.root)
  })

  it('credentials are not sent in clear text to the realm: exit 4, naming the realm and --plain-http', async ({expect}) => {
    const r = await runCase(box, ['inspect', `${reg.host}/http-realm/app:v1`, '--ca-file', ca])
    expect(r.result.code, r.result.stderr).toBe(4)
    expect(r.lines, r.result.stderr).toHaveLength(1)
    expect(r.lines[0]).toMatch(/token server http:\/\/localhost:\d+\/token is plain HTTP; airgap does not send the credentials of an HTTPS registry there in clear text/)
    expect(r.result.stderr).toMatch(/--plain-http localhost:\d+/)
    expect(reg.otherSeen.filter((s) => s.authorization)).toEqual([])
    await recordCase({group: 'registry', name: 'http:// token realm of an HTTPS registry (credentials withheld)', exit: 4, error: /plain HTTP/}, r)
  })

  it('with the realm host named in --plain-http the token flow runs (control)', async ({expect}) => {
    const r = await runCase(box, ['inspect', `${reg.host}/http-realm/app:v1`, '--ca-file', ca, '--plain-http', reg.otherHost])
    expect(r.result.code, r.result.stderr).toBe(0)
    expect(reg.otherSeen.filter((s) => s.url.startsWith('/token') && s.authorization?.startsWith('Basic ')).length).toBeGreaterThan(0)
  })
})

/** Blobs in an OCI layout whose bytes do not hash to their file name. */
function corruptBlobs(layout: string): string[] {
  const dir = join(layout, 'blobs', 'sha256')
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => /^[0-9a-f]{64}$/.test(f))
    .filter((f) => createHash('sha256').update(readFileSync(join(dir, f))).digest('hex') !== f)
}

// keep `expect` referenced for the non-concurrent helpers above
void expect
