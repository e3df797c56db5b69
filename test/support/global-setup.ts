/**
 * vitest global setup: starts the real test services once per run (scripts/rig.mjs) and provides
 * their coordinates as `services` (see test/support/services.ts).
 *
 * - Services live in a per-run rig `<AIRGAP_RIG or .rig>/runs/vitest-<pid>`, removed at teardown
 *   (kept with AIRGAP_KEEP_RIG=1). Leftovers of crashed runs are swept first.
 * - AIRGAP_TEST_SERVICES=<rig>/services.json (printed by `scripts/test-services.sh env`) reuses
 *   services that are already running; they are left running.
 * - AIRGAP_SERVICES=0 skips starting them (not allowed with CI=true).
 * - If they cannot start: with CI=true the run fails; otherwise tests needing them are skipped and
 *   the reason is printed once.
 */
import {rm} from 'node:fs/promises'
import {join} from 'node:path'
import type {TestProject} from 'vitest/node'
import {rigDir, runningServices, startServices, stopServices, sweepStaleRigs} from '../../scripts/rig.mjs'
import type {ServicesContext} from './services.js'

const isCI = process.env.CI === 'true'
const verbose = process.env.AIRGAP_RIG_VERBOSE === '1'

function say(line: string): void {
  process.stderr.write(`[test services] ${line}\n`)
}

function unavailable(project: TestProject, reason: string): undefined {
  if (isCI) throw new Error(`test services are required in CI (CI=true) but unavailable: ${reason}`)
  say(`unavailable, tests that need them are skipped: ${reason}`)
  const ctx: ServicesContext = {available: false, reason}
  project.provide('services', ctx)
  return undefined
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (process.env.AIRGAP_SERVICES === '0') return unavailable(project, 'disabled by AIRGAP_SERVICES=0')

  const reuse = process.env.AIRGAP_TEST_SERVICES
  if (reuse) {
    const running = await runningServices(reuse)
    if (running) {
      say(`reusing services of ${running.rig}`)
      project.provide('services', {...running, owned: false})
      return undefined
    }
    say(`AIRGAP_TEST_SERVICES=${reuse} is not running; starting services for this run`)
  }

  const runs = join(rigDir(), 'runs')
  await sweepStaleRigs(runs)
  const rig = join(runs, `vitest-${process.pid}`)
  const started = Date.now()
  try {
    const info = await startServices({rig, log: verbose ? say : () => {}})
    if (verbose) say(`started in ${Date.now() - started} ms in ${rig}`)
    project.provide('services', {...info, owned: true})
  } catch (error) {
    await stopServices(rig).catch(() => [])
    return unavailable(project, (error as Error).message)
  }

  return async function teardown() {
    await stopServices(rig)
    if (process.env.AIRGAP_KEEP_RIG !== '1') await rm(rig, {recursive: true, force: true})
  }
}
