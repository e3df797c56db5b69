import {describe, expect, it} from 'vitest'
import {LinkGovernor} from './link.js'

/**
 * A modelled link, no clock: streams each move `perStream` bytes/ms, all together at most `total`.
 * More work than streams is always waiting; every 100 ms (model time) the governor samples.
 */
function drive(governor: LinkGovernor, perStream: number, total: number): number {
  const held: Array<Promise<() => void>> = []
  for (let i = 0; i < 64; i++) held.push(governor.acquire())
  for (let t = 100; t <= 5000; t += 100) {
    governor.record(Math.min(total, governor.streams * perStream) * 100)
    governor.sample(t)
  }
  return governor.streams
}

describe('LinkGovernor', () => {
  it('adds streams while throughput grows with them (a per-connection cap)', () => {
    const streams = drive(new LinkGovernor({initial: 2, max: 32, sampleMs: 0}), 100, 1000)
    expect(streams).toBeGreaterThanOrEqual(10) // 10 streams fill the link
    expect(streams).toBeLessThan(32) // and it stopped once more brought nothing
  })

  it('holds where one more step brings nothing (the link is full already), trying one step again only after a while', () => {
    // 4 -> 6 (no gain: hold), 25 samples later one more try: 9 (no gain: hold)
    expect(drive(new LinkGovernor({initial: 4, max: 32, sampleMs: 0}), 1000, 1000)).toBe(9)
  })
})
