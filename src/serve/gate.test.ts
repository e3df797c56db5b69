import {describe, expect, it} from 'vitest'
import {CpuGate} from './gate.js'
import {DistributionError} from './http.js'

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('CpuGate', () => {
  it('runs one task at a time in arrival order, resting after each as long as it ran', async () => {
    const gate = new CpuGate({concurrency: 1, maxQueue: 4, restRatio: 1})
    const order: string[] = []
    const task = (name: string) => async () => {
      order.push(`start ${name}`)
      await sleep(30)
      order.push(`end ${name}`)
    }
    const t0 = performance.now()
    await Promise.all(['a', 'b', 'c'].map((n) => gate.run('tasks', task(n), n)))
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
    expect(performance.now() - t0).toBeGreaterThanOrEqual(30 * 3 + 30 * 2 - 5) // two rests between three tasks
  })

  it('refuses with 429 past the queue, and past maxPerKey for one key while other keys still get in', async () => {
    const gate = new CpuGate({concurrency: 1, maxQueue: 2, restRatio: 0, maxPerKey: 2})
    const slow = (): Promise<void> => sleep(40)
    const first = [gate.run('checks', slow, 'admin'), gate.run('checks', slow, 'admin')]
    await expect(gate.run('checks', slow, 'admin')).rejects.toMatchObject({status: 429, code: 'TOOMANYREQUESTS'})
    const other = gate.run('checks', slow, 'reader')
    await expect(gate.run('checks', slow, 'third')).rejects.toBeInstanceOf(DistributionError) // queue of 2 is full
    await Promise.all([...first, other])
    await sleep(5) // the last slot is released after its (zero) rest
    expect(gate.load).toEqual({active: 0, waiting: 0})
    await gate.run('checks', slow, 'admin') // free again
  })
})
