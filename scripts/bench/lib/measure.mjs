/**
 * Measuring processes: wall time, peak RSS (GNU time -v), disk usage, statistics, machine facts.
 * Plain Node ESM, no build step; used by scripts/bench/run.mjs.
 */
import {spawn, spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {cpus, tmpdir, totalmem} from 'node:os'
import {join} from 'node:path'

export const GNU_TIME = '/usr/bin/time'
/** Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. */
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], {encoding: 'utf8'}).stdout.trim()) || 100

/** Install GNU time with apt when it is missing and we are root; returns whether it is usable. */
export function ensureGnuTime(log = () => {}) {
  if (existsSync(GNU_TIME)) return true
  if (process.getuid?.() !== 0) return false
  log('installing GNU time (apt-get install -y time) for peak RSS …')
  const r = spawnSync('apt-get', ['install', '-y', '-q', 'time'], {stdio: 'ignore', env: {...process.env, DEBIAN_FRONTEND: 'noninteractive'}})
  return r.status === 0 && existsSync(GNU_TIME)
}

/**
 * Run one process to completion. Resolves {seconds, rssKiB, stdout, stderr, code}; rejects when it
 * exits non-zero (the message carries the tail of stderr) unless `allowFail`.
 */
export async function timed(cmd, args, {cwd, env, allowFail = false, label} = {}) {
  const useTime = existsSync(GNU_TIME)
  const dir = useTime ? await mkdtemp(join(tmpdir(), 'airgap-bench-time-')) : undefined
  const timeFile = dir ? join(dir, 'time.txt') : undefined
  const argv = useTime ? [GNU_TIME, ['-v', '-o', timeFile, cmd, ...args]] : [cmd, args]
  const started = process.hrtime.bigint()
  const result = await new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv[1], {cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe']})
    const out = []
    const err = []
    child.stdout.on('data', (c) => out.push(c))
    child.stderr.on('data', (c) => err.push(c))
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString()}))
  })
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  let rssKiB
  let cpuSeconds
  if (timeFile) {
    const text = await readFile(timeFile, 'utf8').catch(() => '')
    const m = /Maximum resident set size \(kbytes\): (\d+)/.exec(text)
    rssKiB = m ? Number(m[1]) : undefined
    const user = /User time \(seconds\): ([\d.]+)/.exec(text)
    const sys = /System time \(seconds\): ([\d.]+)/.exec(text)
    cpuSeconds = user && sys ? Number(user[1]) + Number(sys[1]) : undefined
    await rm(dir, {recursive: true, force: true})
  }
  if (result.code !== 0 && !allowFail) {
    const what = label ?? `${cmd} ${args.join(' ')}`
    throw new Error(`${what} exited ${result.code ?? result.signal}: ${(result.stderr || result.stdout).trim().slice(-1500)}`)
  }
  return {seconds, rssKiB, cpuSeconds, ...result}
}

/** CPU seconds (user + system) a running process has used so far, from /proc (Linux). */
export function processCpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS
  } catch {
    return undefined
  }
}

/**
 * Flush dirty pages (`sync`) before a timed run, untimed: each run writes a GiB or more (bundle,
 * extracted layout, registry storage), and without this the kernel's write-back of one run lands
 * in the next one, whichever approach that is.
 */
export function settle() {
  spawnSync('sync', [], {stdio: 'ignore'})
}

/** Several processes one after another: total wall time and CPU time, max peak RSS over all of them. */
export async function timedSequence(steps, opts = {}) {
  const started = process.hrtime.bigint()
  let rssKiB
  let cpuSeconds = 0
  for (const [cmd, args, stepOpts] of steps) {
    const r = await timed(cmd, args, {...opts, ...stepOpts})
    if (r.rssKiB !== undefined) rssKiB = Math.max(rssKiB ?? 0, r.rssKiB)
    cpuSeconds = r.cpuSeconds === undefined || cpuSeconds === undefined ? undefined : cpuSeconds + r.cpuSeconds
  }
  return {seconds: Number(process.hrtime.bigint() - started) / 1e9, rssKiB, cpuSeconds, processes: steps.length}
}

/** Run `items` through `fn` with at most `n` at once (for the parallel skopeo variant). */
export async function parallel(items, n, fn) {
  const queue = [...items]
  const results = []
  await Promise.all(
    Array.from({length: Math.min(n, queue.length)}, async () => {
      while (queue.length) results.push(await fn(queue.shift()))
    }),
  )
  return results
}

/** Bytes on disk under `path` (du -sb; 0 when missing). */
export function diskBytes(path) {
  if (!existsSync(path)) return 0
  const r = spawnSync('du', ['-sb', path], {encoding: 'utf8'})
  return r.status === 0 ? Number(r.stdout.split(/\s/)[0]) : 0
}

/** Median, min, max and spread (max-min as % of median) of numbers. */
export function stats(xs) {
  const s = [...xs].filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (!s.length) return undefined
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
  return {n: s.length, median, min: s[0], max: s[s.length - 1], spreadPct: median ? ((s[s.length - 1] - s[0]) / median) * 100 : 0}
}

/** 1-, 5- and 15-minute load averages. */
export function loadAverage() {
  const [a, b, c] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number)
  return [a, b, c]
}

function versionOf(cmd, args, re = /.*/) {
  const r = spawnSync(cmd, args, {encoding: 'utf8'})
  if (r.status !== 0) return undefined
  const m = re.exec(`${r.stdout}${r.stderr}`.trim())
  return m ? (m[1] ?? m[0]).trim() : undefined
}

/** Facts about this machine and the tools measured. */
export function machineInfo() {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8')
  const model = /model name\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown'
  const flags = /flags\s*:\s*(.*)/.exec(cpuinfo)?.[1]?.split(' ') ?? []
  const os = /PRETTY_NAME="([^"]*)"/.exec(existsSync('/etc/os-release') ? readFileSync('/etc/os-release', 'utf8') : '')?.[1]
  return {
    cpu: model,
    cores: cpus().length,
    shaNi: flags.includes('sha_ni'),
    ramGiB: Number((totalmem() / 2 ** 30).toFixed(1)),
    os: os ?? process.platform,
    node: process.version,
    skopeo: versionOf('skopeo', ['--version'], /skopeo version (\S+)/),
    openssl: versionOf('openssl', ['version'], /OpenSSL (\S+)/),
    registry: versionOf('docker-registry', ['--version'], /(v?\d+\.\d+\.\d+)/),
    tar: versionOf('tar', ['--version'], /tar \(GNU tar\) (\S+)/),
  }
}
