/**
 * The hostile-input corpus harness: each case runs the spawned CLI inside a fresh sandbox
 * (`<tmp>/work` as the working folder, `<tmp>/home` as HOME) and must end with exactly one
 * `Error:` line on stderr matching the case's pattern, the documented exit code, and no file
 * created anywhere in the sandbox outside `work/`. Outcomes are appended to
 * $AIRGAP_RELIABILITY_REPORT (JSON lines) when set.
 */
import {appendFile, mkdir} from 'node:fs/promises'
import {join} from 'node:path'
import type {CliResult} from '../support/cli.js'
import {added, cli, cleanup, snapshot, workDir} from './support.js'

export interface CorpusCase {
  /** Group: bundle, spec, registry. */
  group: string
  name: string
  exit: number
  error: RegExp
}

export interface Sandbox {
  root: string
  work: string
  home: string
}

export async function sandbox(prefix: string): Promise<Sandbox> {
  const root = await workDir(prefix)
  const work = join(root, 'work')
  const home = join(root, 'home')
  await mkdir(work)
  await mkdir(home)
  return {root, work, home}
}

export interface CaseResult {
  result: CliResult
  /** Files created in the sandbox outside work/. */
  escaped: string[]
  /** The stderr lines (a clean failure prints exactly one, starting with "Error:"). */
  lines: string[]
}

/** Run `args` in the sandbox; reports files created outside `work/`. */
export async function runCase(box: Sandbox, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CaseResult> {
  const before = await snapshot(box.root)
  const result = await cli(args, {cwd: box.work, env: {HOME: box.home, DOCKER_CONFIG: join(box.home, '.docker'), ...env}, timeoutMs: 60_000})
  const after = await snapshot(box.root)
  const escaped = added(before, after).filter((p) => !p.startsWith('work/'))
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '' && !/^\s*(›\s+)?Warning:|^WARNING:/.test(l))
  return {result, escaped, lines}
}

export async function recordCase(c: CorpusCase, r: CaseResult): Promise<void> {
  const file = process.env.AIRGAP_RELIABILITY_REPORT
  if (file) await appendFile(file, `${JSON.stringify({suite: 'corpus', group: c.group, row: c.name, exit: r.result.code, error: r.lines.at(-1) ?? ''})}\n`)
}

export {cleanup}
