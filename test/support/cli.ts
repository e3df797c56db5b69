/** Run the built CLI (`bin/run.js` over dist/, built by `npm test`) as a user would. */
import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

export const REPO = fileURLToPath(new URL('../../', import.meta.url))
const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

export function runCli(args: string[], opts: {env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number} = {}): Promise<CliResult> {
  if (!existsSync(new URL('../../dist/commands', import.meta.url))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does it)')
  }
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? REPO,
      env: {...process.env, AIRGAP_DEBUG: '', ...opts.env},
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr})
    })
  })
}

/** Parse the JSON a `--json` run printed on stdout. */
export function jsonOf<T = Record<string, unknown>>(r: CliResult): T {
  try {
    return JSON.parse(r.stdout) as T
  } catch {
    throw new Error(`not JSON (exit ${r.code}): stdout=${r.stdout.slice(0, 500)} stderr=${r.stderr.slice(0, 500)}`)
  }
}
