/**
 * Fault matrix, download side: the spawned `airgap pull` fetches a few generated images from the
 * real plain registry through the fault proxy. Every run either completes with a bundle that
 * verifies (signature, lock, every digest) and has the same lock as a clean pull, or fails with a
 * one-line error and a documented exit code, leaving no final bundle; the rerun then completes.
 */
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {readPublicKeyFile} from '../../src/cli/keys.js'
import {verifyBundleFile} from '../../src/usecases/verify.js'
import {jsonOf} from '../support/cli.js'
import {describeWithServices, services} from '../support/services.js'
import {FaultProxy} from './fault-proxy.js'
import {FAULT_EXIT_CODES, PULL_MATRIX, jsonError, recordVerifiedRun} from './matrix.js'
import {cleanup, cli, keyPair, seed, smallImages, workDir, writeSpec} from './support.js'

describeWithServices('fault matrix: airgap pull through a fault-injecting proxy', () => {
  let dir: string
  let proxy: FaultProxy
  let spec: string
  let key: string
  let pub: string
  let baselineLock: string

  beforeAll(async () => {
    const reg = services().registries.plain
    dir = await workDir('faults-pull')
    const images = await smallImages(`fp-${process.pid}`, 48 * 1024)
    for (const i of images) await seed(reg.host, i.repo, i.g, i.tag)
    proxy = await FaultProxy.start(reg.host)
    spec = await writeSpec(dir, 'faults', images.map((i) => `${proxy.host}/${i.repo}:${i.tag}`))
    ;({key, pub} = await keyPair(dir))
    const r = await pull('baseline.tar')
    expect(r.code, r.stdout + r.stderr).toBe(0)
    baselineLock = jsonOf<{lockDigest: string}>(r).lockDigest
    expect(baselineLock).toMatch(/^sha256:/)
  })
  afterAll(async () => {
    await proxy?.close()
    await cleanup(dir)
  })

  function pull(out: string): ReturnType<typeof cli> {
    return cli(['pull', spec, '-o', join(dir, out), '--plain-http', proxy.host, '--sign-key', key, '--concurrency', '2', '--json'], {timeoutMs: 90_000})
  }

  async function verified(out: string): Promise<string> {
    const report = await verifyBundleFile(join(dir, out), {publicKey: await readPublicKeyFile(pub)})
    expect(report.authenticity).toBe('verified')
    return report.lockDigest
  }

  for (const row of PULL_MATRIX) {
    it(`${row.name}: completes verified, or fails cleanly and the rerun completes`, async () => {
      const started = Date.now()
      const out = `${row.name.replace(/\W+/g, '-')}.tar`
      proxy.clear()
      const rule = proxy.add(row.rule)
      const first = await pull(out)
      expect(rule.hits, 'the fault was injected').toBeGreaterThan(0)
      let rerunExit: number | null | undefined
      const err = jsonError(first)
      if (first.code === 0) {
        expect(row.persistent, `a persistent fault cannot be survived: ${first.stdout.slice(0, 300)}`).not.toBe(true)
      } else {
        expect(FAULT_EXIT_CODES, first.stdout + first.stderr).toContain(first.code)
        expect(err?.message, 'one clear error line').toBeTruthy()
        expect(err!.message).not.toMatch(/\n/)
        expect(err!.message).toMatch(new RegExp(`${proxy.host.replace(/\./g, '\\.')}|sha256:`))
        expect(err!.code).not.toBe('INTERNAL')
        expect(existsSync(join(dir, out)), 'no final bundle after a failed pull').toBe(false)
        proxy.clear()
        const rerun = await pull(out)
        rerunExit = rerun.code
        expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0)
      }
      expect(await verified(out)).toBe(baselineLock)
      await recordVerifiedRun('pull', row, rule.hits, first, rerunExit, started)
    })
  }
})
