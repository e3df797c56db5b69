import {describe, expect, it} from 'vitest'
import {backoffDelay, isRetryableStatus, parseRetryAfter, sleep} from './retry.js'

describe('parseRetryAfter', () => {
  const now = Date.parse('2026-01-01T00:00:00Z')
  it('reads delta seconds', () => {
    expect(parseRetryAfter('3', 60_000, now)).toBe(3000)
    expect(parseRetryAfter(' 0 ', 60_000, now)).toBe(0)
  })
  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', 60_000, now)).toBe(5000)
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:00 GMT', 60_000, now)).toBe(0)
  })
  it('caps long waits', () => {
    expect(parseRetryAfter('3600', 10_000, now)).toBe(10_000)
  })
  it('ignores missing and unparsable values', () => {
    expect(parseRetryAfter(undefined, 1000, now)).toBeUndefined()
    expect(parseRetryAfter('soon', 1000, now)).toBeUndefined()
    expect(parseRetryAfter('-5', 1000, now)).toBeUndefined()
  })
})

describe('backoffDelay', () => {
  it('doubles per attempt with jitter in [d/2, d]', () => {
    const opts = {baseDelayMs: 100, maxDelayMs: 10_000}
    expect(backoffDelay(0, opts, () => 0)).toBe(50)
    expect(backoffDelay(0, opts, () => 1)).toBe(100)
    expect(backoffDelay(3, opts, () => 0)).toBe(400)
    expect(backoffDelay(3, opts, () => 1)).toBe(800)
  })
  it('is capped at maxDelayMs', () => {
    expect(backoffDelay(30, {baseDelayMs: 100, maxDelayMs: 2000}, () => 1)).toBe(2000)
  })
  it('stays within bounds for random jitter', () => {
    for (let i = 0; i < 100; i++) {
      const d = backoffDelay(2, {baseDelayMs: 100})
      expect(d).toBeGreaterThanOrEqual(200)
      expect(d).toBeLessThanOrEqual(400)
    }
  })
})

describe('isRetryableStatus', () => {
  it('retries 408, 429 and 5xx but not 501/505 or 4xx', () => {
    expect([408, 429, 500, 502, 503, 504].map(isRetryableStatus)).toEqual([true, true, true, true, true, true])
    expect([400, 401, 403, 404, 501, 505].map(isRetryableStatus)).toEqual([false, false, false, false, false, false])
  })
})

describe('sleep', () => {
  it('rejects with the abort reason', async () => {
    const ac = new AbortController()
    const p = sleep(10_000, ac.signal)
    ac.abort(new Error('stop'))
    await expect(p).rejects.toThrow('stop')
  })
})
