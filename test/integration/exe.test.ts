/**
 * The single-file executable (dist/airgap-linux-x64, `npm run build:exe`) runs with no
 * node_modules, no package.json and no network: it is copied alone into an empty folder and run
 * there. It is rebuilt when any source is newer than it (the build takes ~20 s).
 * Checks: --version, --help, key generate, verify of a bundle written here and signed with the key
 * the executable generated (large blob → hashing worker threads), a tampered bundle (exit 5), and a
 * pull from the real plain registry followed by verify, and the whole `airgap demo`, all through
 * the executable.
 */
import {execFileSync, spawn} from 'node:child_process'
import {existsSync, readdirSync, statSync} from 'node:fs'
import {copyFile, mkdtemp, readFile, rm, writeFile, open} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {writeBundle} from '../../src/usecases/write-bundle.js'
import {MemoryTarget} from '../../src/content/memory.js'
import {loadPrivateKey, loadPublicKey} from '../../src/signing/index.js'
import {REPO} from '../support/cli.js'
import {loadInto, makeImage, type GeneratedImage} from '../support/images.js'
import {describeWithServices, services} from '../support/services.js'
import {clientFor} from './registry-support.js'

const EXE_NAME = `airgap-${process.platform}-${process.arch}`
const BUILT_EXE = join(REPO, 'dist', EXE_NAME)
const PASSWORD = 'exe-test-pw'

/** Newest mtime of the files the executable is built from. */
function newestSource(): number {
  let newest = statSync(join(REPO, 'package.json')).mtimeMs
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, {withFileTypes: true})) {
      const p = join(dir, e.name)
      if (e.isDirectory()) walk(p)
      else if (!e.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs)
    }
  }
  for (const d of ['src', 'commands', 'scripts/single-file']) walk(join(REPO, d))
  return Math.max(newest, statSync(join(REPO, 'scripts', 'build-exe.mjs')).mtimeMs)
}

function ensureExecutable(): void {
  if (existsSync(BUILT_EXE) && statSync(BUILT_EXE).mtimeMs > newestSource()) return
  execFileSync(process.execPath, [join(REPO, 'scripts', 'build-exe.mjs')], {cwd: REPO, stdio: 'pipe', timeout: 180_000})
}

interface ExeResult {
  code: number | null
  stdout: string
  stderr: string
}

let dir: string
let exe: string

/** Run the copied executable in its empty folder, with a minimal environment (no NODE_PATH, no npm). */
function runExe(args: string[], env: Record<string, string> = {}): Promise<ExeResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(exe, args, {
      cwd: dir,
      env: {PATH: '/usr/bin:/bin', HOME: dir, AIRGAP_KEY_PASSWORD: PASSWORD, ...env},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr})
    })
  })
}

const jsonOf = <T>(r: ExeResult): T => {
  try {
    return JSON.parse(r.stdout) as T
  } catch {
    throw new Error(`not JSON (exit ${r.code}): ${r.stdout.slice(0, 400)} ${r.stderr.slice(0, 400)}`)
  }
}

beforeAll(async () => {
  ensureExecutable()
  dir = await mkdtemp(join(tmpdir(), 'airgap-exe-'))
  exe = join(dir, EXE_NAME)
  await copyFile(BUILT_EXE, exe)
  execFileSync('chmod', ['755', exe])
}, 240_000)

afterAll(async () => {
  if (dir) await rm(dir, {recursive: true, force: true})
})

describe('single-file executable, alone in an empty folder', () => {
  it('is alone: no node_modules or package.json next to it or above it', () => {
    expect(readdirSync(dir)).toEqual([EXE_NAME])
    expect(existsSync(join(tmpdir(), 'node_modules'))).toBe(false)
    expect(existsSync(join(tmpdir(), 'package.json'))).toBe(false)
  })

  it('--version names airgap, its version and the embedded Node 20', async () => {
    const pkg = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as {version: string}
    const r = await runExe(['--version'])
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toMatch(new RegExp(`^airgap/${pkg.version.replaceAll('.', '\\.')} linux-x64 node-v20\\.`))
    expect(r.stderr).toBe('')
  })

  it('--help lists every command of commands/ (the embedded map is generated, not hand-kept)', async () => {
    const r = await runExe(['--help'])
    expect(r.code).toBe(0)
    const ids = readdirSync(join(REPO, 'commands')).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => f.replace(/\.ts$/, ''))
    expect(ids.length).toBeGreaterThan(3)
    for (const id of ids) expect(r.stdout).toMatch(new RegExp(`^  ${id}\\s`, 'm'))
    expect(r.stdout).toMatch(/^ {2}key\s/m)
    expect(r.stderr).toBe('')
  })

  it('reports an unknown command with exit 2 like bin/run.js, not a crash', async () => {
    const r = await runExe(['no-such-command'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/command no-such-command not found/)
    expect(r.stderr).not.toMatch(/at .*\(node:internal|Cannot find module/)
  })

  describe('key generate, then verify of a bundle signed with that key', () => {
    let image: GeneratedImage
    let bundle: string

    beforeAll(async () => {
      const r = await runExe(['key', 'generate', '--output-key-prefix', 'exe', '--json'])
      expect(r.code, r.stderr).toBe(0)
      expect(jsonOf<{fingerprint: string}>(r).fingerprint).toMatch(/^[0-9a-f]{64}$|^sha256:/)
      const privateKey = loadPrivateKey(await readFile(join(dir, 'exe.key'), 'utf8'), PASSWORD, 'exe.key')
      const publicKey = loadPublicKey(await readFile(join(dir, 'exe.pub'), 'utf8'), 'exe.pub')
      // One 5 MiB layer: large enough for verify to hash it on a worker thread.
      image = await makeImage({seed: 'exe-verify', layers: 1, files: 1, fileSize: 5 * 1024 * 1024, compress: false})
      const src = new MemoryTarget()
      await loadInto(src, image, 'app')
      bundle = join(dir, 'small.tar')
      await writeBundle({
        images: [{source: src, ref: 'app', name: 'docker.io/acme/app:1.0'}],
        out: bundle,
        epoch: 1_700_000_000,
        signKey: {privateKey, publicKey},
        specBytes: Buffer.from('apiVersion: airgap.dev/v1alpha1\nkind: ReleaseSpec\n'),
        createdBy: 'airgap/exe-test',
      })
    }, 60_000)

    afterAll(async () => {
      for (const f of ['exe.key', 'exe.pub', 'small.tar', 'bad.tar']) await rm(join(dir, f), {force: true})
    })

    it('wrote a 0600 private key and a public key', () => {
      expect(statSync(join(dir, 'exe.key')).mode & 0o777).toBe(0o600)
      expect(existsSync(join(dir, 'exe.pub'))).toBe(true)
    })

    it('verify --key accepts the bundle: signature, every blob (incl. the worker-hashed layer)', async () => {
      const r = await runExe(['verify', 'small.tar', '--key', 'exe.pub', '--json'])
      expect(r.code, r.stderr).toBe(0)
      const report = jsonOf<{authenticity: string; blobs: number; images: unknown[]}>(r)
      expect(report.authenticity).toBe('verified')
      expect(report.blobs).toBe(image.blobs.length)
    })

    it('verify prints a readable summary without --json', async () => {
      const r = await runExe(['verify', 'small.tar', '--key', 'exe.pub'])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toMatch(/^Verified small\.tar .*\n\s+1 image\(s\), 0 chart\(s\), 3 blobs.*every digest matches\n\s+signed by key sha256:[0-9a-f]{64}/)
    })

    it('verify fails with exit 5 (integrity) when one byte of the large layer changed', async () => {
      const bad = join(dir, 'bad.tar')
      await copyFile(bundle, bad)
      const layer = image.blobs.find((b) => b.descriptor.size > 4 * 1024 * 1024)!
      const bytes = await readFile(bad)
      const at = bytes.indexOf(layer.bytes.subarray(0, 4096))
      expect(at).toBeGreaterThan(0)
      const fh = await open(bad, 'r+')
      const pos = at + 1024 * 1024
      await fh.write(Buffer.from([bytes[pos]! ^ 0xff]), 0, 1, pos)
      await fh.close()
      const r = await runExe(['verify', 'bad.tar', '--key', 'exe.pub'])
      expect(r.code).toBe(5)
      expect(r.stderr).toContain(layer.descriptor.digest.replace('sha256:', 'sha256/'))
      expect(r.stderr).toMatch(/do not match their digest/)
    })
  })
})

describe('single-file executable runs the whole demo offline', () => {
  it('demo --json: pull, verify, push, check, rewrite; the CRD schema check runs on the embedded CRD', async () => {
    const r = await runExe(['demo', '--json'], {TMPDIR: dir})
    expect(r.code, r.stderr).toBe(0)
    const result = jsonOf<{steps: Array<{id: string}>; crProblems: string[]; warnings: string[]; operatorYaml: string}>(r)
    expect(result.steps.map((s) => s.id)).toEqual(['upstream', 'key', 'pull', 'verify', 'push', 'check', 'rewrite'])
    expect(result.crProblems).toEqual([])
    expect(result.warnings.filter((w) => /CRD/.test(w))).toEqual([])
    expect(result.operatorYaml).toMatch(/^kind: WeightsAndBiases$/m)
    expect(readdirSync(dir).filter((f) => f.startsWith('airgap-demo-'))).toEqual([])
  }, 60_000)
})

describeWithServices('single-file executable pulls from the real plain registry, then verifies', () => {
  it('pull (images-only spec, --plain-http) writes a bundle that verify accepts', async () => {
    const plain = services().registries.plain
    const repoName = `exe-${process.pid}-${Date.now()}/tool`
    const image = await makeImage({seed: 'exe-pull', layers: 2, files: 2, fileSize: 2048})
    await loadInto(clientFor(plain).repository(repoName), image, '1.0')
    const ref = `${plain.host}/${repoName}:1.0`
    await writeFile(join(dir, 'spec.yaml'), `apiVersion: airgap.dev/v1alpha1\nkind: ReleaseSpec\nmetadata:\n  name: exe\nspec:\n  images:\n    - ${ref}\n`)

    const pulled = await runExe(['pull', 'spec.yaml', '-o', 'pulled.tar', '--plain-http', plain.host, '--json'], {SOURCE_DATE_EPOCH: '1700000000'})
    expect(pulled.code, pulled.stderr).toBe(0)
    const verified = await runExe(['verify', 'pulled.tar', '--json'])
    expect(verified.code, verified.stderr).toBe(0)
    const report = jsonOf<{images: Array<{source: string; digest: string}>; blobs: number}>(verified)
    expect(report.images).toEqual([expect.objectContaining({source: ref, digest: image.root.digest})])
    expect(report.blobs).toBe(image.blobs.length)
  }, 60_000)
})
