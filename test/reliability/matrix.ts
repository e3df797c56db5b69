/**
 * The fault matrix: which fault hits which request for `airgap pull` and `airgap push`, and the
 * checks every run must pass (complete and verified, or a clear one-line error with a documented
 * exit code and a rerun that completes). Results are appended to $AIRGAP_RELIABILITY_REPORT
 * (JSON lines) when set, for docs/RELIABILITY.md.
 */
import {appendFile} from 'node:fs/promises'
import type {CliResult} from '../support/cli.js'
import type {FaultRule} from './fault-proxy.js'

export interface MatrixRow {
  name: string
  rule: FaultRule
  /** true: the run must fail (persistent fault); false: it may survive through retries. */
  persistent?: boolean
}

const BLOB_GET = /\/blobs\/sha256:/
const MANIFEST = /\/manifests\//
const UPLOAD = /\/blobs\/uploads\/./

/** Faults on the download side (pull). */
export const PULL_MATRIX: MatrixRow[] = [
  {name: 'reset mid-blob', rule: {method: 'GET', path: BLOB_GET, fault: {kind: 'reset', afterBytes: 5000}}},
  {name: 'HTTP 500 on manifest', rule: {method: 'GET', path: MANIFEST, fault: {kind: 'status', status: 500}}},
  {name: 'HTTP 502 on blob', rule: {method: 'GET', path: BLOB_GET, fault: {kind: 'status', status: 502}}},
  {name: 'HTTP 503 twice on blob', rule: {method: 'GET', path: BLOB_GET, times: 2, fault: {kind: 'status', status: 503}}},
  {name: '429 Retry-After on manifest', rule: {path: MANIFEST, fault: {kind: 'retry-after', retryAfter: 1}}},
  {name: 'truncated blob body', rule: {method: 'GET', path: BLOB_GET, fault: {kind: 'truncate', afterBytes: 3000}}},
  {name: 'slow trickle', rule: {method: 'GET', path: BLOB_GET, times: 2, fault: {kind: 'trickle', chunk: 16 * 1024, intervalMs: 60}}},
  {name: 'one corrupted byte', rule: {method: 'GET', path: BLOB_GET, fault: {kind: 'corrupt', afterBytes: 777}}},
  {name: 'Content-Length too large', rule: {method: 'GET', path: BLOB_GET, fault: {kind: 'length-more', delta: 10}}},
  {name: 'Content-Length too small', rule: {method: 'GET', path: BLOB_GET, fault: {kind: 'length-less', delta: 10}}},
  {name: 'persistent resets', persistent: true, rule: {method: 'GET', path: BLOB_GET, times: 1000, fault: {kind: 'reset', afterBytes: 2000}}},
  {name: 'persistent corruption', persistent: true, rule: {method: 'GET', path: BLOB_GET, times: 1000, fault: {kind: 'corrupt', afterBytes: 10}}},
  {name: 'reset mid-manifest', rule: {method: 'GET', path: MANIFEST, fault: {kind: 'reset', afterBytes: 100}}},
  {name: 'persistent resets mid-manifest', persistent: true, rule: {method: 'GET', path: MANIFEST, times: 1000, fault: {kind: 'reset', afterBytes: 100}}},
]

/** Faults on the upload side (push). */
export const PUSH_MATRIX: MatrixRow[] = [
  {name: 'reset mid-upload', rule: {method: 'PUT', path: UPLOAD, fault: {kind: 'reset', afterBytes: 5000}}},
  {name: 'HTTP 500 on manifest PUT', rule: {method: 'PUT', path: MANIFEST, fault: {kind: 'status', status: 500}}},
  {name: 'HTTP 502 on upload start', rule: {method: 'POST', path: /\/blobs\/uploads\//, fault: {kind: 'status', status: 502}}},
  {name: 'HTTP 503 twice on blob HEAD', rule: {method: 'HEAD', path: BLOB_GET, times: 2, fault: {kind: 'status', status: 503}}},
  {name: '429 Retry-After on manifest PUT', rule: {method: 'PUT', path: MANIFEST, fault: {kind: 'retry-after', retryAfter: 1}}},
  {name: 'upload cut short', rule: {method: 'PUT', path: UPLOAD, fault: {kind: 'truncate', afterBytes: 3000}}},
  {name: 'slow answer to upload', rule: {method: 'PUT', path: UPLOAD, fault: {kind: 'trickle', delayMs: 1500}}},
  {name: 'one corrupted byte in upload', rule: {method: 'PUT', path: UPLOAD, fault: {kind: 'corrupt', afterBytes: 777}}},
  {name: 'upload Content-Length too large', rule: {method: 'PUT', path: UPLOAD, fault: {kind: 'length-more', delta: 10}}},
  {name: 'upload Content-Length too small', rule: {method: 'PUT', path: UPLOAD, fault: {kind: 'length-less', delta: 10}}},
  {name: 'persistent 503 on manifest PUT', persistent: true, rule: {method: 'PUT', path: MANIFEST, times: 1000, fault: {kind: 'status', status: 503}}},
  {name: 'persistent upload corruption', persistent: true, rule: {method: 'PUT', path: UPLOAD, times: 1000, fault: {kind: 'corrupt', afterBytes: 10}}},
]

/** Exit codes a fault may end a run with (docs/RELIABILITY.md): general, integrity, partial, network. */
export const FAULT_EXIT_CODES = [1, 5, 6, 9]

export interface RunOutcome {
  suite: string
  row: string
  kind: string
  injected: number
  firstExit: number | null
  error?: string
  rerunExit?: number | null
  verified: boolean
  seconds: number
}

/** The `{error}` a --json run printed on stdout, if any. */
export function jsonError(r: CliResult): {code: string; message: string; hint?: string; exitCode: number} | undefined {
  try {
    const v = JSON.parse(r.stdout) as {error?: {code: string; message: string; hint?: string; exitCode: number}}
    return v.error
  } catch {
    return undefined
  }
}

async function record(outcome: RunOutcome): Promise<void> {
  const file = process.env.AIRGAP_RELIABILITY_REPORT
  if (file) await appendFile(file, `${JSON.stringify(outcome)}\n`)
}

/** Record one verified row of a fault matrix: how the first run ended, and the rerun if one was needed. */
export async function recordVerifiedRun(suite: string, row: MatrixRow, injected: number, first: CliResult, rerunExit: number | null | undefined, started: number): Promise<void> {
  const err = jsonError(first)
  await record({
    suite,
    row: row.name,
    kind: row.rule.fault.kind,
    injected,
    firstExit: first.code,
    ...(err ? {error: err.message} : {}),
    ...(rerunExit !== undefined ? {rerunExit} : {}),
    verified: true,
    seconds: (Date.now() - started) / 1000,
  })
}
