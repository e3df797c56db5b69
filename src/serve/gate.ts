/**
 * CpuGate: runs CPU-heavy work on the main thread (bcrypt in `airgap serve`'s htpasswd checks)
 * `concurrency` at a time, first come first served, with at most `maxQueue` waiting and at most
 * `maxPerKey` running or waiting for one key (the user name): more is refused at once with 429
 * TOOMANYREQUESTS. After each task the slot rests for as long as the task ran (times `restRatio`),
 * so that the gated work takes at most about half of the event loop and every other request
 * (reads, uploads, requests with already verified credentials) keeps flowing during a flood of
 * password guesses; the per-key bound keeps one guessed (or misconfigured) user from filling the
 * queue, so that other users still log in.
 */
import {fail} from './http.js'

export interface CpuGateOptions {
  concurrency?: number
  maxQueue?: number
  /** Rest after a task, as a multiple of its running time. */
  restRatio?: number
  /** Most tasks of one key running or waiting. */
  maxPerKey?: number
}

export class CpuGate {
  private active = 0
  private readonly waiting: Array<() => void> = []
  private readonly concurrency: number
  private readonly maxQueue: number
  private readonly restRatio: number
  private readonly maxPerKey: number
  private readonly perKey = new Map<string, number>()

  constructor(opts: CpuGateOptions = {}) {
    this.concurrency = Math.max(1, opts.concurrency ?? 1)
    this.maxQueue = Math.max(0, opts.maxQueue ?? 16)
    this.restRatio = Math.max(0, opts.restRatio ?? 1)
    this.maxPerKey = Math.max(1, opts.maxPerKey ?? 2)
  }

  /** Tasks running or resting, and tasks waiting. */
  get load(): {active: number; waiting: number} {
    return {active: this.active, waiting: this.waiting.length}
  }

  /** Run `task` when a slot is free; a DistributionError 429 when too many already wait (for `key`). */
  async run<T>(what: string, task: () => Promise<T>, key = ''): Promise<T> {
    const mine = this.perKey.get(key) ?? 0
    const busy = this.active >= this.concurrency
    if (mine >= this.maxPerKey || (busy && this.waiting.length >= this.maxQueue)) {
      throw fail.tooManyRequests(`too many ${what} at once: try again in a second`)
    }
    this.perKey.set(key, mine + 1)
    try {
      if (busy) await new Promise<void>((resolve) => this.waiting.push(resolve))
      else this.active++
      const started = performance.now()
      try {
        return await task()
      } finally {
        const rest = (performance.now() - started) * this.restRatio
        setTimeout(() => this.release(), rest).unref()
      }
    } finally {
      const left = (this.perKey.get(key) ?? 1) - 1
      if (left > 0) this.perKey.set(key, left)
      else this.perKey.delete(key)
    }
  }

  /** Hand the slot to the next waiting task, or free it. */
  private release(): void {
    const next = this.waiting.shift()
    if (next) next()
    else this.active--
  }
}
