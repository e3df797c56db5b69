#!/usr/bin/env node
/**
 * A WAN stand-in for the benchmark (bench support, not product): TCP proxies on loopback that add a
 * round-trip delay, a total bandwidth limit (shared by every connection and listener of this
 * process, per direction) and a per-connection bandwidth limit.
 *
 *   node wan-proxy.mjs --profile wan --map 127.0.0.1:5000 --map 127.0.0.1:8080
 *   node wan-proxy.mjs --rtt 40 --total-mbit 500 --conn-mbit 0 --map HOST:PORT …
 *
 * Prints one JSON line `{"listen": {"HOST:PORT": "127.0.0.1:NNNN", …}}` once every listener is up.
 *
 * Model: each direction of each connection is a delay line of RTT/2 (data read at t leaves at
 * t + RTT/2) holding at most WINDOW bytes (reading pauses beyond it, like a TCP receive window), then
 * two token buckets: the connection's own and the process-wide one for that direction. Chunks are
 * cut to at most SLICE bytes so that the buckets share the link fairly. The `lan` profile is a plain
 * pipe (no delay, no limit). No slow start, no loss: a clean long fat pipe.
 */
import {createServer, connect} from 'node:net'
import {parseArgs} from 'node:util'

export const PROFILES = {
  lan: {rttMs: 0, totalMbit: 0, connMbit: 0},
  wan: {rttMs: 40, totalMbit: 500, connMbit: 0},
  cdn: {rttMs: 40, totalMbit: 1000, connMbit: 100},
  /** The shaping machinery with a delay but no limit: measures the proxy's own ceiling. */
  'delay-only': {rttMs: 40, totalMbit: 0, connMbit: 0},
}

const WINDOW = 8 * 1024 * 1024
const SLICE = 64 * 1024

class Bucket {
  constructor(mbit) {
    this.rate = (mbit * 1e6) / 8 / 1000 // bytes per ms
    this.burst = Math.max(SLICE * 2, this.rate * 4)
    this.tokens = this.burst
    this.at = performance.now()
  }
  refill(now) {
    this.tokens = Math.min(this.burst, this.tokens + (now - this.at) * this.rate)
    this.at = now
  }
  /** ms until `n` bytes may pass (0: now). */
  wait(n, now) {
    this.refill(now)
    return this.tokens >= n ? 0 : (n - this.tokens) / this.rate
  }
  take(n) {
    this.tokens -= n
  }
}

/** One direction of one connection: delay line + buckets, writing into `to`. */
class Lane {
  constructor(from, to, shaper, connMbit) {
    Object.assign(this, {from, to, shaper, queue: [], queued: 0, blocked: false, ended: false})
    this.bucket = connMbit > 0 ? new Bucket(connMbit) : undefined
    from.on('data', (chunk) => {
      const due = performance.now() + shaper.oneWayMs
      for (let i = 0; i < chunk.length; i += SLICE) this.queue.push({due, buf: chunk.subarray(i, i + SLICE)})
      this.queued += chunk.length
      if (this.queued > WINDOW) from.pause()
      shaper.schedule(0)
    })
    from.on('end', () => {
      this.ended = true
      shaper.schedule(0)
    })
    to.on('drain', () => {
      this.blocked = false
      shaper.schedule(0)
    })
  }
  /** Move what may move now; returns ms until this lane could move again (Infinity: nothing queued). */
  pump(now, total) {
    while (this.queue.length > 0 && !this.blocked) {
      const head = this.queue[0]
      if (head.due > now) return head.due - now
      const n = head.buf.length
      const wait = Math.max(this.bucket ? this.bucket.wait(n, now) : 0, total ? total.wait(n, now) : 0)
      if (wait > 0) return wait
      this.bucket?.take(n)
      total?.take(n)
      this.queue.shift()
      this.queued -= n
      if (this.queued <= WINDOW / 2 && this.from.isPaused()) this.from.resume()
      if (!this.to.write(head.buf)) this.blocked = true
    }
    if (this.queue.length === 0 && this.ended && !this.to.writableEnded && !this.to.destroyed) this.to.end()
    return Infinity
  }
}

class Shaper {
  constructor({rttMs, totalMbit, connMbit}) {
    this.oneWayMs = rttMs / 2
    this.connMbit = connMbit
    this.totals = totalMbit > 0 ? [new Bucket(totalMbit), new Bucket(totalMbit)] : [undefined, undefined]
    this.lanes = new Set()
    this.timer = undefined
    this.start = 0
  }
  add(client, upstream) {
    const up = new Lane(client, upstream, this, this.connMbit)
    const down = new Lane(upstream, client, this, this.connMbit)
    up.dir = 0
    down.dir = 1
    this.lanes.add(up)
    this.lanes.add(down)
    // A side that closes still has its bytes in the delay line: the other side ends once they are
    // delivered (Lane.pump). Only errors tear both down at once.
    const forget = () => {
      if (!client.destroyed || !upstream.destroyed) return
      this.lanes.delete(up)
      this.lanes.delete(down)
    }
    const fail = () => {
      client.destroy()
      upstream.destroy()
      forget()
    }
    client.on('close', () => {
      up.ended = true
      this.schedule(0)
      forget()
    })
    upstream.on('close', () => {
      down.ended = true
      this.schedule(0)
      forget()
    })
    client.on('error', fail)
    upstream.on('error', fail)
  }

  schedule(ms) {
    const at = performance.now() + Math.max(0, ms)
    if (this.timer !== undefined) {
      if (this.nextAt <= at) return
      if (this.isImmediate) clearImmediate(this.timer)
      else clearTimeout(this.timer)
    }
    // Only "now" runs on the next turn of the event loop. A wait under a millisecond (a 64 KiB slice
    // on a 1 Gbit/s bucket takes 0.5 ms) sleeps one timer tick instead: the buckets hold 4 ms of
    // burst, so the rate stays exact, and the proxy does not spin a core (CPU the measured client
    // and registry need on 2 cores).
    this.isImmediate = ms <= 0
    this.nextAt = this.isImmediate ? at : performance.now() + Math.max(1, Math.ceil(ms))
    this.timer = this.isImmediate ? setImmediate(() => this.run()) : setTimeout(() => this.run(), Math.max(1, Math.ceil(ms)))
  }
  run() {
    this.timer = undefined
    const now = performance.now()
    // Round robin from a rotating start so that no lane always goes first on a shared bucket.
    const lanes = [...this.lanes]
    let next = Infinity
    for (let i = 0; i < lanes.length; i++) {
      const lane = lanes[(i + this.start) % lanes.length]
      next = Math.min(next, lane.pump(now, this.totals[lane.dir]))
    }
    this.start++
    if (next < Infinity) this.schedule(next)
  }
}

/** Start one listener per `targets` entry; resolves with {target: listenHostPort}. */
export async function startProxies(targets, profile) {
  const shaper = profile.rttMs === 0 && profile.totalMbit === 0 && profile.connMbit === 0 ? undefined : new Shaper(profile)
  const listen = {}
  const servers = []
  for (const target of targets) {
    const [host, port] = target.split(':')
    const server = createServer({noDelay: true, allowHalfOpen: Boolean(shaper)}, (client) => {
      const upstream = connect({host, port: Number(port), noDelay: true, allowHalfOpen: Boolean(shaper)})
      if (!shaper) {
        client.pipe(upstream).pipe(client)
        const close = () => (client.destroy(), upstream.destroy())
        client.on('error', close)
        upstream.on('error', close)
        return
      }
      shaper.add(client, upstream)
    })
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
    listen[target] = `127.0.0.1:${server.address().port}`
    servers.push(server)
  }
  return {listen, close: () => Promise.all(servers.map((s) => new Promise((r) => (s.close(), r()))))}
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const {values} = parseArgs({
    options: {
      profile: {type: 'string'},
      rtt: {type: 'string'},
      'total-mbit': {type: 'string'},
      'conn-mbit': {type: 'string'},
      map: {type: 'string', multiple: true, default: []},
    },
  })
  const base = PROFILES[values.profile ?? 'lan']
  if (!base) throw new Error(`unknown profile ${values.profile}; one of ${Object.keys(PROFILES).join(', ')}`)
  const profile = {
    rttMs: values.rtt === undefined ? base.rttMs : Number(values.rtt),
    totalMbit: values['total-mbit'] === undefined ? base.totalMbit : Number(values['total-mbit']),
    connMbit: values['conn-mbit'] === undefined ? base.connMbit : Number(values['conn-mbit']),
  }
  const {listen} = await startProxies(values.map, profile)
  process.stdout.write(JSON.stringify({listen, profile}) + '\n')
}
