/**
 * LinkGovernor: how many range streams (parts of large blobs) run at once, adapted to what the link
 * gives. It starts with a few streams and, while there is more work than streams, adds streams as
 * long as throughput grows with them (a per-connection cap, a long round trip); once a step brings
 * no real gain it holds there, and tries one step again after a while (the link, or the load on
 * the machine, may have changed). One governor per copy session (CopyTracker), shared by every blob.
 */

export interface LinkGovernorOptions {
  /** Streams at first (default 8). */
  initial?: number
  /** Most streams (default 28; the HTTP client keeps 32 connections per origin). */
  max?: number
  /** How often throughput is sampled, ms (default 250); 0: only when sample() is called (tests). */
  sampleMs?: number
}

/** A step up counts when throughput grew by at least this factor. */
const GAIN = 1.1

/** Samples spent holding before one more step is tried (the link, or the load on it, may have changed). */
const REPROBE = 25

export class LinkGovernor {
  private limit: number
  private readonly max: number
  private readonly sampleMs: number
  private active = 0
  private readonly waiters: Array<() => void> = []
  private bytes = 0
  private timer: NodeJS.Timeout | undefined
  private lastSample = 0
  private lastBytes = 0
  /** Throughput measured at the limit before the last step up (bytes/s). */
  private before = 0
  private holding = false
  private samplesAtLimit = 0
  private held = 0

  constructor(opts: LinkGovernorOptions = {}) {
    this.max = Math.max(1, opts.max ?? 28)
    this.limit = Math.min(this.max, Math.max(1, opts.initial ?? 8))
    this.sampleMs = opts.sampleMs ?? 250
  }

  /** Streams allowed now. */
  get streams(): number {
    return this.limit
  }

  /** Wait for a stream slot; call the returned function when the stream ends. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted()
    // A waiter is handed its slot by wake() (counted there), so no other caller can take it.
    if (this.active < this.limit) this.active++
    else await new Promise<void>((resolve) => this.waiters.push(resolve))
    this.startSampling()
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      this.active--
      this.wake()
    }
    if (signal?.aborted) {
      release()
      signal.throwIfAborted()
    }
    return release
  }

  /** `n` bytes arrived on a governed stream. */
  record(n: number): void {
    this.bytes += n
  }

  private wake(): void {
    while (this.active < this.limit && this.waiters.length > 0) {
      this.active++
      this.waiters.shift()!()
    }
    if (this.active === 0 && this.waiters.length === 0) this.stopSampling()
  }

  private startSampling(): void {
    if (this.timer || this.sampleMs === 0) return
    this.lastSample = performance.now()
    this.lastBytes = this.bytes
    this.timer = setInterval(() => this.sample(), this.sampleMs)
    this.timer.unref()
  }

  private stopSampling(): void {
    if (!this.timer) return
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** Measure the throughput since the last sample and decide the limit (`now` in ms). */
  sample(now = performance.now()): void {
    const rate = ((this.bytes - this.lastBytes) * 1000) / Math.max(1, now - this.lastSample)
    this.lastSample = now
    this.lastBytes = this.bytes
    // Only a link that is kept busy at the current limit tells whether more streams would help.
    const saturated = this.waiters.length > 0 && this.active >= this.limit
    if (!saturated || this.limit >= this.max) return
    if (this.holding) {
      if (++this.held < REPROBE) return
      this.holding = false
      this.held = 0
      this.before = 0
    }
    // The first sample after a step up still holds the ramp of the new streams: judge the second.
    if (++this.samplesAtLimit < 2) return
    this.samplesAtLimit = 0
    if (this.before > 0 && rate < this.before * GAIN) {
      this.holding = true
      return
    }
    this.before = rate
    this.limit = Math.min(this.max, Math.ceil(this.limit * 1.5))
    this.wake()
  }
}
