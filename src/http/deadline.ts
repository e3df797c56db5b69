/**
 * The total deadline of one HTTP request, next to undici's idle timeouts (connect, headers, the
 * longest pause between two body chunks). A server that trickles one byte every few seconds never
 * trips an idle timeout; the deadline ends it. It grows with the bytes the request may
 * legitimately move, at a minimum throughput, so a large blob over a slow link still finishes:
 *
 *   deadline = baseMs + bytes / minBytesPerSecond
 *
 * `bytes` is what the caller expects (a blob's size, a manifest's size or cap) or, when it does not
 * say, the response's Content-Length, capped at UNDECLARED_CAP (a server cannot buy itself hours
 * by declaring a huge length on a small metadata request).
 */
import type {Readable} from 'node:stream'
import {TimeoutError, UsageError} from '../errors.js'

export interface DeadlineSettings {
  /** Time every request gets, whatever its size (ms). */
  baseMs: number
  /** Slowest average throughput accepted (bytes per second). */
  minBytesPerSecond: number
}

/** 60 s, plus 1 s per 64 KiB: a 4 MiB manifest gets about 2 minutes, a 4 GiB layer about 18 hours. */
export const DEFAULT_DEADLINE: DeadlineSettings = {baseMs: 60_000, minBytesPerSecond: 64 * 1024}

/** Largest Content-Length that extends the deadline of a request whose caller gave no size. */
export const UNDECLARED_CAP = 64 * 1024 * 1024

/** setTimeout fires at once for delays above this (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1

/** Milliseconds a request moving `bytes` may take under `s`. */
export function deadlineMs(s: DeadlineSettings, bytes: number): number {
  return Math.round(s.baseMs + (Math.max(0, bytes) / s.minBytesPerSecond) * 1000)
}

function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`
}

/**
 * One request's deadline: a signal that aborts (with a TimeoutError naming the request) when the
 * time is up, or when `outer` aborts (with its reason). Cleared when the response body closes.
 */
export class Deadline {
  private readonly controller = new AbortController()
  private readonly started = Date.now()
  private timer: NodeJS.Timeout | undefined
  private limitMs = 0
  private done = false
  private readonly onOuterAbort: () => void

  constructor(
    private readonly settings: DeadlineSettings,
    bytes: number,
    /** `GET https://host/path`, for the message. */
    private readonly what: string,
    private readonly host: string,
    private readonly outer: AbortSignal | undefined,
  ) {
    this.onOuterAbort = () => this.abort(this.outer?.reason)
    if (outer?.aborted) this.abort(outer.reason)
    else outer?.addEventListener('abort', this.onOuterAbort, {once: true})
    this.setBytes(bytes)
  }

  get signal(): AbortSignal {
    return this.controller.signal
  }

  /** Re-arm for a request that moves `bytes` (from the start of the request). */
  setBytes(bytes: number): void {
    if (this.done) return
    clearTimeout(this.timer)
    this.limitMs = deadlineMs(this.settings, bytes)
    const left = Math.min(MAX_TIMER_MS, Math.max(0, this.started + this.limitMs - Date.now()))
    this.timer = setTimeout(() => this.abort(this.timeoutError()), left)
    this.timer.unref()
  }

  /** Clear the deadline once `body` closes (read to its end, dumped or destroyed). */
  watch(body: Readable): void {
    if (body.destroyed || body.closed) this.clear()
    else body.once('close', () => this.clear())
  }

  clear(): void {
    if (this.done) return
    this.done = true
    clearTimeout(this.timer)
    this.outer?.removeEventListener('abort', this.onOuterAbort)
  }

  private abort(reason: unknown): void {
    this.clear()
    this.controller.abort(reason)
  }

  private timeoutError(): TimeoutError {
    const rate = `${Math.round(this.settings.minBytesPerSecond / 1024)} KiB/s`
    return new TimeoutError(`${this.what} did not finish within ${formatSeconds(this.limitMs)}: ${this.host} sends far too slowly (less than ${rate} on average)`, {
      hint: `check the network path to ${this.host}; a server that trickles its answer is overloaded, broken or hostile (a rerun resumes what was finished)`,
    })
  }
}

/** Keys of AIRGAP_HTTP_TIMEOUTS and the HttpTimeouts field each sets. */
const ENV_KEYS = {connect: 'connectMs', headers: 'headersMs', idle: 'bodyIdleMs', deadline: 'deadlineMs', rate: 'minBytesPerSecond'} as const

/**
 * Timeouts from AIRGAP_HTTP_TIMEOUTS (`connect=MS,headers=MS,idle=MS,deadline=MS,rate=BYTES_PER_S`,
 * any subset): an internal setting, for tests and for links that need other bounds.
 */
export function timeoutsFromEnv(value: string | undefined): Partial<Record<(typeof ENV_KEYS)[keyof typeof ENV_KEYS], number>> {
  const out: Partial<Record<(typeof ENV_KEYS)[keyof typeof ENV_KEYS], number>> = {}
  for (const part of (value ?? '').split(',')) {
    if (part.trim() === '') continue
    const m = /^\s*([a-z]+)\s*=\s*(\d+)\s*$/.exec(part)
    const key = m ? ENV_KEYS[m[1] as keyof typeof ENV_KEYS] : undefined
    if (!m || !key || Number(m[2]) <= 0) {
      throw new UsageError(`AIRGAP_HTTP_TIMEOUTS: cannot read "${part.trim()}"`, {
        hint: `write it as NAME=NUMBER[,…] with NAME one of ${Object.keys(ENV_KEYS).join(', ')} (milliseconds; rate in bytes per second)`,
      })
    }
    out[key] = Number(m[2])
  }
  return out
}
