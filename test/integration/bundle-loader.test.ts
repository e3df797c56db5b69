/**
 * bin/run.js starts the CLI from dist/airgap.cjs (the whole CLI in one file) with the V8 code cache
 * `npm run build` made for it (scripts/single-file/build.mjs). Checks: the build wrote both, the cache is
 * bound to the bundle's bytes, every command's help is the same as from the compiled module tree
 * (AIRGAP_NO_BUNDLE=1: the embedded manifest and the lazily loaded commands miss nothing), the
 * document schemas' validators are precompiled and judge as the ones compiled at run time, and a
 * cache made for other bytes of the same length is not used.
 */
import {createHash} from 'node:crypto'
import {copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {spawnSync} from 'node:child_process'
import {afterAll, describe, expect, it} from 'vitest'
import {REPO, runCli} from '../support/cli.js'

const BUNDLE = join(REPO, 'dist', 'airgap.cjs')
const CACHE = `${BUNDLE}.v8cache`
const manifest = JSON.parse(readFileSync(join(REPO, 'oclif.manifest.json'), 'utf8')) as {commands: Record<string, unknown>}
const commandIds = Object.keys(manifest.commands).sort()

describe('bin/run.js: the one-file CLI and its code cache', () => {
  const temp: string[] = []
  afterAll(() => {
    for (const d of temp) rmSync(d, {recursive: true, force: true})
  })

  it('npm run build wrote an ASCII bundle and a code cache made from exactly its bytes', () => {
    const bytes = readFileSync(BUNDLE)
    expect(bytes.every((b) => b < 0x80)).toBe(true)
    const cache = readFileSync(CACHE)
    expect(cache.subarray(0, 32).equals(createHash('sha256').update(bytes).digest())).toBe(true)
    expect(cache.length).toBeGreaterThan(100 * 1024)
  })

  it('every command has the same help from the bundle as from the module tree', async () => {
    expect(commandIds.length).toBeGreaterThan(10)
    for (const id of ['', ...commandIds]) {
      const args = id ? [...id.split(':'), '--help'] : ['--help']
      const [bundled, tree] = await Promise.all([runCli(args), runCli(args, {env: {AIRGAP_NO_BUNDLE: '1'}})])
      expect(bundled.code, `${id}: ${bundled.stderr}`).toBe(0)
      expect(bundled.stdout.length).toBeGreaterThan(100)
      expect(bundled.stdout, `airgap ${args.join(' ')}`).toBe(tree.stdout)
    }
    const help = await runCli(['help', 'push'])
    expect(help.stdout).toBe((await runCli(['push', '--help'])).stdout)
  })

  it('carries every document schema precompiled, judging a spec exactly as the module tree compiling it at run time', async () => {
    const source = readFileSync(BUNDLE, 'latin1')
    const table = /PRECOMPILED\s*=\s*\{([^}]*)\}/.exec(source)?.[1] ?? ''
    expect([...table.matchAll(/"([\w-]+)":\s*\w+/g)].map((m) => m[1]).sort()).toEqual(['bundle-lock', 'channel-response', 'mirror-inventory', 'openshift-mirror-set', 'push-receipt', 'release-spec', 'sigstore-trusted-root', 'upstream-policy'])
    expect(source.includes('a JSON Schema was not precompiled'), 'the run-time compiler is replaced by a stub').toBe(true)
    const dir = mkdtempSync(join(tmpdir(), 'airgap-schemas-'))
    temp.push(dir)
    const spec = join(dir, 'airgap.yaml')
    writeFileSync(spec, 'apiVersion: airgap.dev/v1alpha1\nkind: ReleaseSpec\nmetadata: {name: Bad}\nspec:\n  includeDisabled: "yes"\n  charts: [{name: a, repo: https://x.example, versoin: 1}, {path: ., oci: "oci://a/b"}, 5]\n')
    const args = ['pull', spec, '-o', join(dir, 'out.tar'), '--json']
    const [bundled, tree] = await Promise.all([runCli(args), runCli(args, {env: {AIRGAP_NO_BUNDLE: '1'}})])
    expect(bundled.code).toBe(3)
    expect(bundled.stdout).toContain('spec.charts[0].versoin: unknown field')
    expect(bundled.stdout).toBe(tree.stdout)
  })

  /** A copy of bin/, package.json, the cache and `source` as the bundle in a new folder; runs it with `args`. */
  function runCopy(source: string, args: string[]): {status: number | null; stdout: string; stderr: string} {
    const dir = mkdtempSync(join(tmpdir(), 'airgap-loader-'))
    temp.push(dir)
    mkdirSync(join(dir, 'bin'))
    mkdirSync(join(dir, 'dist'))
    for (const f of ['bin/run.js', 'bin/package.json', 'package.json']) copyFileSync(join(REPO, f), join(dir, f))
    copyFileSync(CACHE, join(dir, 'dist', 'airgap.cjs.v8cache'))
    writeFileSync(join(dir, 'dist', 'airgap.cjs'), source, 'latin1')
    return spawnSync(process.execPath, [join(dir, 'bin', 'run.js'), ...args], {cwd: dir, encoding: 'utf8', env: {...process.env, AIRGAP_NO_BUNDLE: ''}})
  }

  it('a cache made for other bytes of the same length is not used', () => {
    const source = readFileSync(BUNDLE, 'latin1')
    const version = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version as string
    const other = `${version.slice(0, -1)}${version.endsWith('9') ? '8' : '9'}`
    // The package.json embedded in the bundle (PJSON = {name: "airgap", version: …}).
    const changed = source.replace(`name:"airgap",version:"${version}"`, `name:"airgap",version:"${other}"`)
    expect(changed.length).toBe(source.length)
    expect(changed).not.toBe(source)
    const run = runCopy(changed, ['--version'])
    expect(run.stderr).toBe('')
    expect(run.stdout).toContain(`airgap/${other} `)
  })

  it("warns when Node is older than package.json's engines asks (checked by the bundle, not by oclif)", () => {
    const engines = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).engines.node as string
    const source = readFileSync(BUNDLE, 'latin1')
    const [major] = /\d+/.exec(engines)!
    const pinned = `{range:${JSON.stringify(engines)},version:[${major},`
    expect(source).toContain(pinned)
    const future = '9'.repeat(major.length) // same length: the cache does not matter here
    expect(Number(future)).toBeGreaterThan(Number(major))
    const run = runCopy(source.replace(pinned, `{range:${JSON.stringify(engines)},version:[${future},`), ['--version'])
    expect(run.stderr).toContain(`Node version must be ${engines} to use this CLI. Current node version: ${process.versions.node}`)
    expect(runCopy(source, ['--version']).stderr).toBe('')
  })

  it('a damaged bundle ends in one clear line and exit 70, not a stack trace', () => {
    const source = readFileSync(BUNDLE, 'latin1')
    const run = runCopy(source.slice(0, 100_000), ['--version'])
    expect(run.status).toBe(70)
    expect(run.stdout).toBe('')
    expect(run.stderr.trim().split('\n')).toHaveLength(1)
    expect(run.stderr).toMatch(/^airgap: cannot load .*airgap\.cjs \(SyntaxError: .*\); the installation is damaged\. Install airgap again .*AIRGAP_NO_BUNDLE=1\.\n$/)
  })
})
