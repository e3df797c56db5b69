/** Retry policy helpers: which failures are worth another attempt and how long to wait. */

export interface RetryOptions {
  /** Attempts after the first one (default 3). */
  retries?: number
  /** First backoff delay in ms (default 200). */
  baseDelayMs?: number
  /** Largest backoff delay in ms (default 5000). */
  maxDelayMs?: number
  /** Largest wait honoured from a Retry-After header in ms (default 60000). */
  maxRetryAfterMs?: number
}

export const DEFAULT_RETRY: Required<RetryOptions> = {
  retries: 3,
  baseDelayMs: 200,
  maxDelayMs: 5000,
  maxRetryAfterMs: 60_000,
}

/** HTTP statuses that are retried: 408, 429 and 5xx except 501/505 (which will not change). */
export function isRetryableStatus(status: number): boolean {
  if (status === 408 || status === 429) return true
  return status >= 500 && status !== 501 && status !== 505
}

/**
 * Parse a Retry-After value (delta seconds or an HTTP date) into milliseconds, capped at `capMs`.
 * Returns undefined for a missing or unparsable value.
 */
export function parseRetryAfter(value: string | undefined, capMs: number, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined
  const v = value.trim()
  if (v === '') return undefined
  let ms: number
  if (/^\d+$/.test(v)) {
    ms = Number(v) * 1000
  } else {
    // an HTTP-date starts with the day name ("Wed, 21 Oct 2015 07:28:00 GMT")
    if (!/^[A-Za-z]/.test(v)) return undefined
    const at = Date.parse(v)
    if (Number.isNaN(at)) return undefined
    ms = at - now
  }
  return Math.min(Math.max(0, ms), capMs)
}

/**
 * Exponential backoff with full jitter: a random delay in [d/2, d] where d = base * 2^attempt,
 * capped at maxDelayMs. `attempt` counts from 0. `random` is injectable for tests.
 */
export function backoffDelay(attempt: number, options: RetryOptions = {}, random: () => number = Math.random): number {
  const base = options.baseDelayMs ?? DEFAULT_RETRY.baseDelayMs
  const cap = options.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs
  const d = Math.min(cap, base * 2 ** attempt)
  return Math.round(d / 2 + random() * (d / 2))
}

/** Sleep that ends early (rejecting with the signal's reason) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason)
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    signal?.addEventListener('abort', onAbort, {once: true})
  })
}
