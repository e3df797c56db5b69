/**
 * Hash file ranges on worker threads so that verifying a bundle uses every core: Node's hashing
 * runs on the calling thread, and one thread is slower than `openssl dgst` on a single core.
 * Reads are 1 MiB: the chunk is still in the core's cache when it is hashed (4 MiB reads hash
 * about 7 % slower on this machine).
 * The worker is plain JavaScript given as a string (no separate file to locate after compilation
 * or under the test runner); it only reads and hashes, and never writes.
 * Workers read through the caller's open file descriptor (threads share the process's descriptor
 * table), never by path: what they hash is the file the caller opened and checked, even when
 * another file was renamed over its path since. The caller keeps the descriptor open until every
 * job it started has settled or the pool is closed (BundleReader closes its pool first).
 */
import {availableParallelism} from 'node:os'
import {Worker} from 'node:worker_threads'

const WORKER_SOURCE = `
const {parentPort} = require('node:worker_threads')
const {readSync} = require('node:fs')
const {createHash} = require('node:crypto')
const CHUNK = 1024 * 1024
const REPORT = 16 * 1024 * 1024
const buf = Buffer.allocUnsafe(CHUNK)
parentPort.on('message', (job) => {
  try {
    const hash = createHash(job.algorithm)
    let done = 0, unreported = 0
    while (done < job.size) {
      const n = readSync(job.fd, buf, 0, Math.min(CHUNK, job.size - done), job.offset + done)
      if (n === 0) throw new Error('the file ends early (it shrank while reading)')
      hash.update(buf.subarray(0, n))
      done += n
      unreported += n
      if (unreported >= REPORT) { parentPort.postMessage({id: job.id, progress: unreported}); unreported = 0 }
    }
    parentPort.postMessage({id: job.id, progress: unreported, digest: job.algorithm + ':' + hash.digest('hex')})
  } catch (err) {
    parentPort.postMessage({id: job.id, error: String(err && err.message || err)})
  }
})
`

interface Job {
  id: number
  resolve: (digest: string) => void
  reject: (err: Error) => void
  onBytes?: ((n: number) => void) | undefined
}

interface Reply {
  id: number
  progress?: number
  digest?: string
  error?: string
}

/** A fixed pool of hashing workers; each worker takes one range at a time. */
export class HashPool {
  private readonly workers: Worker[] = []
  private readonly idle: Worker[] = []
  private readonly waiting: Array<() => void> = []
  private readonly jobs = new Map<number, Job>()
  private nextId = 1

  constructor(size = Math.min(availableParallelism(), 4)) {
    for (let i = 0; i < Math.max(1, size); i++) {
      const worker = new Worker(WORKER_SOURCE, {eval: true})
      worker.on('message', (reply: Reply) => this.onReply(worker, reply))
      worker.on('error', (err) => this.failAll(err))
      this.workers.push(worker)
      this.idle.push(worker)
    }
  }

  get size(): number {
    return this.workers.length
  }

  /** sha256/sha512 of `size` bytes at `offset` of the open file descriptor `fd`, as `alg:hex`. */
  async hashRange(fd: number, offset: number, size: number, algorithm: string, onBytes?: (n: number) => void): Promise<string> {
    const worker = await this.acquire()
    const id = this.nextId++
    return new Promise<string>((resolve, reject) => {
      this.jobs.set(id, {id, resolve, reject, onBytes})
      worker.postMessage({id, fd, offset, size, algorithm})
    })
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()))
    this.workers.length = 0
    this.idle.length = 0
  }

  private acquire(): Promise<Worker> {
    const worker = this.idle.pop()
    if (worker) return Promise.resolve(worker)
    return new Promise((resolve) => this.waiting.push(() => resolve(this.idle.pop() as Worker)))
  }

  private onReply(worker: Worker, reply: Reply): void {
    const job = this.jobs.get(reply.id)
    if (!job) return
    if (reply.progress) job.onBytes?.(reply.progress)
    if (reply.digest === undefined && reply.error === undefined) return
    this.jobs.delete(reply.id)
    this.idle.push(worker)
    this.waiting.shift()?.()
    if (reply.error !== undefined) job.reject(new Error(reply.error))
    else job.resolve(reply.digest as string)
  }

  private failAll(err: Error): void {
    for (const job of this.jobs.values()) job.reject(err)
    this.jobs.clear()
  }
}
