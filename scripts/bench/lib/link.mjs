/**
 * Bench support for links (not product): the WAN stand-in (wan-proxy.mjs, run as its own process so
 * that its CPU is not the measured process's) and the minimal ingest client (ingest.mjs).
 */
import {spawn} from 'node:child_process'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {PROFILES} from './wan-proxy.mjs'

const HERE = dirname(fileURLToPath(import.meta.url))
export const PROXY_SCRIPT = join(HERE, 'wan-proxy.mjs')
export const INGEST_SCRIPT = join(HERE, 'ingest.mjs')
export {PROFILES}

/** Start the proxy for `profile` in front of `targets` (host:port); resolves {listen: {target: host:port}, stop()}. */
export function startWanProxy(profile, targets) {
  const child = spawn(process.execPath, [PROXY_SCRIPT, '--profile', profile, ...targets.flatMap((t) => ['--map', t])], {stdio: ['ignore', 'pipe', 'inherit']})
  return new Promise((resolve, reject) => {
    let out = ''
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`wan proxy exited (${code}) before listening`)))
    child.stdout.on('data', (d) => {
      out += d
      const line = out.split('\n')[0]
      if (!out.includes('\n')) return
      child.removeAllListeners('exit')
      const {listen} = JSON.parse(line)
      resolve({
        listen,
        pid: child.pid,
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done()
            child.once('exit', () => done())
            child.kill('SIGTERM')
          }),
      })
    })
  })
}

/** Mbit/s of `bytes` in `seconds`. */
export const mbitPerSecond = (bytes, seconds) => (bytes * 8) / seconds / 1e6
