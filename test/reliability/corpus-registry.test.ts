/**
 * Hostile registry responses, served by a TEST DOUBLE (hostile-registry.ts: a node:http server
 * answering like a registry, since a real one cannot be made to misbehave): oversized, malformed,
 * schema1, unknown-type and contradicting manifests, digest mismatches, redirect loops, redirects
 * to another host (credentials must not follow), a file:// token realm, corrupt and short blobs,
 * huge error bodies. Each through the spawned `airgap inspect` or `airgap copy … oci:DIR`: one
 * `Error:` line naming the host or digest, the documented exit code, nothing corrupt stored, no
 * file written outside the working folder.
 */
import {createHash} from 'node:crypto'
import {existsSync, readdirSync, readFileSync} from 'node:fs'
import {mkdir, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {type CorpusCase, cleanup, recordCase, runCase, sandbox, type Sandbox} from './corpus.js'
import {HostileRegistry} from './hostile-registry.js'

const USER = 'hostile-user'
const PASSWORD = 'hostile-Pa55word-never-forwarded'

interface RegistryCase extends CorpusCase {
  repo: string
  command: 'inspect' | 'copy'
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

  function args(c: {repo: string; command: 'inspect' | 'copy'}, dest: string): string[] {
    const ref = `${reg.host}/${c.repo}/app:v1`
    const plain = ['--plain-http', reg.host, '--plain-http', reg.otherHost]
    return c.command === 'inspect' ? ['inspect', ref, ...plain] : ['copy', ref, `oci:${dest}:v1`, ...plain]
  }

  for (const c of CASES) {
    it(`${c.name}: exit ${c.exit}, one error line matching ${c.error}`, async ({expect}) => {
      const dest = join(box.work, `layout-${c.repo}`)
      const r = await runCase(box, args(c, dest))
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

  it('redirect of a manifest to another host: credentials do not follow', async () => {
    const before = reg.otherSeen.length
    const r = await runCase(box, args({repo: 'redirect-other-host', command: 'inspect'}, ''))
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
    const r = await runCase(box, args({repo: 'blob-redirect-other-host', command: 'copy'}, dest))
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
