/**
 * Crashes: `kill -9` of the spawned `airgap pull` / `airgap push` at several points (timed by its
 * --json progress events on stderr; downloads and uploads slowed by the fault proxy so that
 * "mid-blob" really is mid-blob), then a rerun must complete and verify, reusing what was done.
 * The registry process killed and restarted mid-push (a private real registry); disk full while
 * pulling (a real 8 MiB tmpfs, filled up while the pull runs): a clear error naming the folder,
 * no final bundle left, and a rerun into a bigger folder completes.
 */
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdir, readdir, readFile, rm, statfs, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {readPublicKeyFile} from '../../src/cli/keys.js'
import {verifyBundleFile} from '../../src/usecases/verify.js'
import {makeImage} from '../support/images.js'
import {jsonOf} from '../support/cli.js'
import {describeWithServices, services, startRegistry, type RegistryHandle} from '../support/services.js'
import {FaultProxy} from './fault-proxy.js'
import {jsonError} from './matrix.js'
import {KEY_PASSWORD, PULL_EPOCH, checkStoredGraph, cleanup, cli, keyPair, seed, smallImages, workDir, writeSpec} from './support.js'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

interface Event {
  event: string
  digest?: string
  mediaType?: string
  size?: number
}

interface Killed {
  /** true when SIGKILL hit the process (false: it finished before the kill point). */
  killed: boolean
  events: Event[]
  code: number | null
}

/** Spawn the CLI and SIGKILL it when `killAt` says so for an event (after `delayMs`). */
function runAndKill(args: string[], killAt: (e: Event, seen: Event[]) => boolean, delayMs = 0): Promise<Killed> {
  return new Promise((resolve) => {
    const child: ChildProcess = spawn(process.execPath, [BIN, ...args], {env: {...process.env, AIRGAP_KEY_PASSWORD: KEY_PASSWORD, SOURCE_DATE_EPOCH: PULL_EPOCH}, stdio: ['ignore', 'pipe', 'pipe']})
    const events: Event[] = []
    let buf = ''
    let armed = true
    let killed = false
    child.stdout!.resume()
    child.stderr!.on('data', (c: Buffer) => {
      buf += c.toString()
      let nl: number
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        let e: Event
        try {
          e = JSON.parse(line) as Event
        } catch {
          continue
        }
        events.push(e)
        if (armed && killAt(e, events)) {
          armed = false
          setTimeout(() => {
            killed = child.exitCode === null && child.kill('SIGKILL')
          }, delayMs)
        }
      }
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({killed, events, code})
    })
  })
}

const isManifest = (e: Event): boolean => /manifest|index/.test(e.mediaType ?? '') && !/layer|config/.test(e.mediaType ?? '')
const isLayer = (e: Event): boolean => /layer/.test(e.mediaType ?? '')

interface CrashPoint {
  name: string
  killAt: (e: Event, seen: Event[]) => boolean
  delayMs?: number
}

/** The same points for pull and push. `total` is the number of blobs (known from a clean run). */
function crashPoints(total: () => number): CrashPoint[] {
  return [
    {name: 'early (first transfer starts)', killAt: (e) => e.event === 'start'},
    {name: 'mid-blob (a layer half transferred)', killAt: (e) => e.event === 'start' && isLayer(e), delayMs: 250},
    {name: 'between manifests (first manifest done)', killAt: (e) => e.event === 'done' && (e.size ?? 0) < 4096 && isManifestDone(e)},
    {name: 'writing metadata (last blob done)', killAt: (_e, seen) => seen.filter((x) => x.event === 'done').length >= total()},
  ]
  function isManifestDone(e: Event): boolean {
    return e.event === 'done' && manifestDigests.has(e.digest ?? '')
  }
}
const manifestDigests = new Set<string>()

/** Every `link` file below `root` (distribution's per-repository pointers to blobs and manifests). */
async function linkFiles(root: string): Promise<string[]> {
  const found: string[] = []
  for (const entry of await readdir(root, {recursive: true, withFileTypes: true})) {
    if (entry.isFile() && entry.name === 'link' && !/[/\\]_uploads[/\\]|[/\\]tags[/\\]/.test(entry.parentPath)) found.push(join(entry.parentPath, entry.name))
  }
  return found
}

describeWithServices('crashes and restarts', () => {
  let dir: string
  let proxy: FaultProxy
  let registry: string
  let spec: string
  let key: string
  let pub: string
  let baselineLock: string
  let blobTotal = 0
  const outcomes: string[] = []

  beforeAll(async () => {
    registry = services().registries.plain.host
    dir = await workDir('crash')
    const images = await smallImages(`cr-${process.pid}`, 96 * 1024)
    for (const i of images) await seed(registry, i.repo, i.g, i.tag)
    for (const i of images) for (const b of i.g.blobs) if (isManifest({event: '', mediaType: b.descriptor.mediaType})) manifestDigests.add(b.descriptor.digest)
    proxy = await FaultProxy.start(registry)
    spec = await writeSpec(dir, 'crash', images.map((i) => `${proxy.host}/${i.repo}:${i.tag}`))
    ;({key, pub} = await keyPair(dir))
    const r = await cli(['pull', spec, '-o', join(dir, 'baseline.tar'), '--plain-http', proxy.host, '--sign-key', key, '--json'])
    expect(r.code, r.stderr).toBe(0)
    const res = jsonOf<{lockDigest: string; blobs: number}>(r)
    baselineLock = res.lockDigest
    blobTotal = res.blobs
  })
  afterAll(async () => {
    await proxy?.close()
    await cleanup(dir)
    if (process.env.AIRGAP_RELIABILITY_REPORT) {
      const {appendFile} = await import('node:fs/promises')
      await appendFile(process.env.AIRGAP_RELIABILITY_REPORT, outcomes.join(''))
    }
  })

  const pullArgs = (out: string): string[] => ['pull', spec, '-o', join(dir, out), '--plain-http', proxy.host, '--sign-key', key, '--concurrency', '2', '--json']

  for (const point of crashPoints(() => blobTotal)) {
    it(`kill -9 of pull, ${point.name}: the rerun completes, verified`, async () => {
      const out = `pull-${point.name.replace(/\W+/g, '-')}.tar`
      proxy.clear()
      proxy.add({method: 'GET', path: /\/blobs\/sha256:/, times: 1000, fault: {kind: 'trickle', chunk: 16 * 1024, intervalMs: 40}})
      const k = await runAndKill(pullArgs(out), point.killAt, point.delayMs)
      proxy.clear()
      if (k.killed) expect(existsSync(join(dir, out)), 'no final bundle from a killed pull').toBe(false)
      const rerun = await cli(pullArgs(out))
      expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0)
      const res = jsonOf<{lockDigest: string; stats: {blobsSkipped: number}}>(rerun)
      expect(res.lockDigest).toBe(baselineLock)
      const report = await verifyBundleFile(join(dir, out), {publicKey: await readPublicKeyFile(pub)})
      expect(report.authenticity).toBe('verified')
      expect(existsSync(join(dir, `${out}.partial`))).toBe(false)
      outcomes.push(`${JSON.stringify({suite: 'crash', row: `pull: ${point.name}`, killed: k.killed, eventsBeforeKill: k.events.length, resumedBlobs: res.stats.blobsSkipped, verified: true})}\n`)
    })
  }

  for (const point of crashPoints(() => blobTotal)) {
    it(`kill -9 of push, ${point.name}: the rerun completes, every node stored intact`, async () => {
      const prefix = `crash${process.pid}-${point.name.replace(/\W+/g, '-').slice(0, 20).toLowerCase()}`
      const receipt = join(dir, `${prefix}.receipt.json`)
      const args = ['push', join(dir, 'baseline.tar'), '--key', pub, '--registry', `${proxy.host}/${prefix}`, '--plain-http', proxy.host, '--receipt', receipt, '--concurrency', '2', '--json']
      proxy.clear()
      proxy.add({method: 'PUT', path: /\/blobs\/uploads\/./, times: 1000, fault: {kind: 'trickle', delayMs: 400}})
      const k = await runAndKill(args, point.killAt, point.delayMs)
      proxy.clear()
      const rerun = await cli(args)
      expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0)
      const r = JSON.parse(await readFile(receipt, 'utf8')) as {complete: boolean; images: Array<{mirror: string; digest: string; mediaType: string}>}
      expect(r.complete).toBe(true)
      for (const img of r.images) {
        const direct = img.mirror.replace(proxy.host, registry)
        await checkStoredGraph(registry, direct.slice(registry.length + 1).replace(/[:@].*$/, ''), img.digest, img.mediaType)
      }
      outcomes.push(`${JSON.stringify({suite: 'crash', row: `push: ${point.name}`, killed: k.killed, eventsBeforeKill: k.events.length, verified: true})}\n`)
    })
  }

  it('registry killed and restarted mid-push: the push fails cleanly, the rerun completes', async () => {
    let handle: RegistryHandle | undefined
    try {
      handle = await startRegistry({name: `crash-reg-${process.pid}`})
      const target = await FaultProxy.start(handle.host)
      try {
        target.add({method: 'PUT', path: /\/blobs\/uploads\/./, times: 1000, fault: {kind: 'trickle', delayMs: 300}})
        const receipt = join(dir, 'regkill.receipt.json')
        const args = ['push', join(dir, 'baseline.tar'), '--key', pub, '--registry', `${target.host}/mirror`, '--plain-http', target.host, '--receipt', receipt, '--json']
        const h = handle
        let killedRegistry: Promise<void> | undefined
        const first = await runAndKill(args, (e) => {
          if (e.event === 'done' && !killedRegistry) killedRegistry = h.kill()
          return false
        })
        await killedRegistry
        expect(first.code, 'the push cannot succeed without its registry').not.toBe(0)
        await handle.restart()
        target.clear()
        const rerun = await cli(args)
        expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0)
        const r = JSON.parse(await readFile(receipt, 'utf8')) as {complete: boolean; images: Array<{mirror: string; digest: string; mediaType: string}>}
        expect(r.complete).toBe(true)
        for (const img of r.images) {
          const repo = img.mirror.slice(target.host.length + 1).replace(/[:@].*$/, '')
          await checkStoredGraph(handle.host, repo, img.digest, img.mediaType)
        }
        outcomes.push(`${JSON.stringify({suite: 'crash', row: 'registry killed and restarted mid-push', firstExit: first.code, verified: true})}\n`)
      } finally {
        await target.close()
      }
    } finally {
      await handle?.stop().catch(() => undefined)
    }
  })

  it('half-written registry entries (link files cut short, as a kill mid-commit leaves them): the push sends them again and the mirror is repaired', async () => {
    const data = join(dir, 'half-written-registry')
    const handle = await startRegistry({name: `half-reg-${process.pid}`, dataDir: data})
    try {
      const receipt = join(dir, 'half.receipt.json')
      const args = ['push', join(dir, 'baseline.tar'), '--key', pub, '--registry', `${handle.host}/mirror`, '--plain-http', handle.host, '--receipt', receipt, '--json']
      const first = await cli(args)
      expect(first.code, first.stdout + first.stderr).toBe(0)
      await handle.stop()
      const links = await linkFiles(join(data, 'docker/registry/v2/repositories/mirror'))
      expect(links.length, 'layer and manifest links in the stored repositories').toBeGreaterThan(blobTotal)
      for (const link of links) await writeFile(link, '')
      await handle.restart()
      const r = JSON.parse(await readFile(receipt, 'utf8')) as {images: Array<{mirror: string; digest: string; mediaType: string}>}
      const repoOf = (mirror: string): string => mirror.slice(handle.host.length + 1).replace(/[:@].*$/, '')
      const probe = await fetch(`http://${handle.host}/v2/${repoOf(r.images[0]!.mirror)}/manifests/${r.images[0]!.digest}`, {method: 'HEAD', headers: {accept: r.images[0]!.mediaType}})
      expect(probe.status, 'distribution cannot answer for an entry whose link file is empty').toBe(500)

      // --no-rollback promises no tag moves back; a tag the mirror cannot read cannot be checked.
      const strict = await cli([...args, '--no-rollback'])
      expect(strict.code, strict.stdout + strict.stderr).toBe(2)
      expect(jsonError(strict)?.message).toMatch(/cannot tell what \d+ tag\(s\) name now \(the mirror answered with a server error\)/)

      const rerun = await cli(args)
      expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0)
      expect(rerun.stderr).toMatch(/pushing them again without the rollback check/)
      const res = jsonOf<{stats: {manifestsCopied: number; existenceUnanswered: number}}>(rerun)
      expect(res.stats.existenceUnanswered, 'existence checks the mirror answered with HTTP 500').toBeGreaterThan(0)
      expect(res.stats.manifestsCopied, 'the manifests were pushed again').toBeGreaterThan(0)
      for (const img of r.images) await checkStoredGraph(handle.host, repoOf(img.mirror), img.digest, img.mediaType)
      outcomes.push(`${JSON.stringify({suite: 'crash', row: 'half-written registry entries', links: links.length, verified: true})}\n`)
    } finally {
      await handle.stop().catch(() => undefined)
    }
  })

  it('disk full while pulling (8 MiB tmpfs filled up mid-pull): clear error, no bundle left, rerun elsewhere completes', async (ctx) => {
    const mnt = join(dir, 'small-disk')
    await mkdir(mnt)
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt], {stdio: 'pipe'})
    } catch (err) {
      process.stdout.write(`disk-full test skipped: cannot mount a tmpfs (${(err as Error).message.split('\n')[0]}); CI runs as root\n`)
      ctx.skip()
      return
    }
    try {
      // about 3 MiB of incompressible layers: fits the empty disk (the pre-check passes), not once it is filled
      const big = await makeImage({seed: `disk-${process.pid}`, layers: 3, files: 1, fileSize: 1024 * 1024})
      await seed(registry, `rel/disk-${process.pid}/big`, big, '1')
      const bigSpec = join(dir, 'big.yaml')
      await writeFile(bigSpec, (await readFile(spec, 'utf8')).replace(/ {4}- .*\n/g, '').replace('images:\n', `images:\n    - ${proxy.host}/rel/disk-${process.pid}/big:1\n`))
      const out = join(mnt, 'bundle.tar')
      const args = ['pull', bigSpec, '-o', out, '--plain-http', proxy.host, '--json']
      proxy.clear()
      proxy.add({method: 'GET', path: /\/blobs\/sha256:/, times: 1000, fault: {kind: 'trickle', chunk: 64 * 1024, intervalMs: 30}})
      let filled: Promise<void> | undefined
      const first = await new Promise<{code: number | null; stdout: string}>((resolve) => {
        const child = spawn(process.execPath, [BIN, ...args], {stdio: ['ignore', 'pipe', 'pipe']})
        let stdout = ''
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
        child.stderr.on('data', (c: Buffer) => {
          if (!filled && c.toString().includes('"event":"start"')) filled = fillDisk(mnt)
        })
        child.on('close', (code) => resolve({code, stdout}))
      })
      await filled
      proxy.clear()
      const err = jsonError({code: first.code, stdout: first.stdout, stderr: ''})
      expect(first.code, first.stdout).not.toBe(0)
      expect(first.code).not.toBe(70)
      expect(err?.message).toMatch(/ENOSPC|no space|disk|full/i)
      expect(err?.message).toContain(mnt)
      expect(existsSync(out), 'no final bundle on a full disk').toBe(false)
      const bigger = join(dir, 'bigger.tar')
      const rerun = await cli(['pull', bigSpec, '-o', bigger, '--plain-http', proxy.host, '--json'])
      expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0)
      await verifyBundleFile(bigger)
      outcomes.push(`${JSON.stringify({suite: 'crash', row: 'disk full while pulling', firstExit: first.code, error: err?.message, verified: true})}\n`)
    } finally {
      execFileSync('umount', ['-l', mnt], {stdio: 'pipe'})
      await rm(mnt, {recursive: true, force: true})
    }
  })
})

/** Fill the file system of `dir` up to the last few KiB. */
async function fillDisk(dir: string): Promise<void> {
  const fs = await statfs(dir)
  const free = fs.bavail * fs.bsize
  await writeFile(join(dir, 'filler'), Buffer.alloc(Math.max(0, free - 8 * 1024))).catch(() => undefined)
}
