/**
 * Interrupted push, against each registry under test (test/support/registries.ts): the registry
 * process (distribution 2.8, or a writable `airgap serve`) is killed with SIGKILL while
 * `airgap push` is uploading a bundle of multi-MiB layers; the push fails with a partial receipt;
 * after the registry restarts (a new process on the same port and storage), the same push
 * completes, skipping what already went through, and `airgap check` passes.
 */
import {spawn} from 'node:child_process'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import type {PushReceipt} from '../../src/mirror/receipt.js'
import {jsonOf, REPO, runCli} from '../support/cli.js'
import {REGISTRY_KINDS, type RegistryKindInfo, type RegistryUnderTest} from '../support/registries.js'
import {describeWithServices} from '../support/services.js'
import {buildFixture, skopeoDigest, type PushFixture} from './push-fixtures.js'

describeWithServices('airgap push resumes after the registry died mid-push', () => {
  let dir: string
  let fx: PushFixture

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-push-resume-'))
    fx = await buildFixture({dir, seed: `resume-${process.pid}`, fileSize: 3 * 1024 * 1024})
  }, 90_000)

  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  describe.each(REGISTRY_KINDS)('into $label', (kind: RegistryKindInfo) => {
    let reg: RegistryUnderTest

    beforeAll(async () => {
      reg = await kind.open('plain', {fresh: true})
    }, 60_000)

    afterAll(async () => {
      await reg?.stop()
    })

    /** Run push; kill the registry as soon as the first large blob is done. */
    function pushAndKill(args: string[]): Promise<{code: number | null; stdout: string; stderr: string; killed: boolean}> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [join(REPO, 'bin/run.js'), ...args], {cwd: REPO, stdio: ['ignore', 'pipe', 'pipe']})
        let stdout = ''
        let stderr = ''
        let killed = false
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
        child.stderr.on('data', (c: Buffer) => {
          stderr += c.toString()
          if (!killed && /"event":"done","digest":"sha256:[0-9a-f]{64}","size":[0-9]{7,}/.test(stderr)) {
            killed = true
            void reg.kill()
          }
        })
        child.on('error', reject)
        child.on('close', (code) => resolve({code, stdout, stderr, killed}))
      })
    }

    it('fails with a partial receipt after a kill -9 of the registry process, then the rerun (registry restarted on the same port and storage) completes and check passes', async () => {
      const receiptFile = join(dir, `${kind.kind}-resume.receipt.json`)
      const args = ['push', fx.bundle, '--key', fx.pubFile, '--registry', `${reg.host}/resume`, ...reg.connFlags(), '--receipt', receiptFile, '--concurrency', '1', '--json']
      const first = await pushAndKill(args)
      expect(first.killed, first.stderr.slice(-2000)).toBe(true)
      expect([6, 9]).toContain(first.code)
      const partial = JSON.parse(await readFile(receiptFile, 'utf8')) as PushReceipt
      expect(partial.complete).toBe(false)
      expect(partial.images.some((i) => i.status === 'failed')).toBe(true)

      await reg.restart()
      const second = await runCli(args)
      expect(second.code, second.stderr.slice(-2000)).toBe(0)
      const out = jsonOf<{stats: {blobsSkipped: number; bytesCopied: number}; receipt: PushReceipt}>(second)
      expect(out.stats.blobsSkipped).toBeGreaterThan(0) // what went through before the kill is not sent again
      expect(out.receipt.complete).toBe(true)
      for (const img of out.receipt.images) expect(skopeoDigest(img.mirror, reg.skopeoFlags())).toBe(fx.images.get(img.source))

      const check = await runCli(['check', receiptFile, ...reg.connFlags()])
      expect(check.code, check.stderr).toBe(0)
    })
  })
})
