/**
 * Summarise V8 .cpuprofile files (written by `node --cpu-prof`): self time per frame and per area
 * (airgap code, undici, tar-stream, Node internals, GC, idle), across every thread's profile.
 */
import {readdir, readFile} from 'node:fs/promises'
import {join, relative} from 'node:path'

function frameName(cf, root) {
  const fn = cf.functionName || '(anonymous)'
  if (!cf.url) return fn
  let url = cf.url.replace(/^file:\/\//, '')
  if (url.startsWith(root)) url = relative(root, url)
  return `${fn} ${url}:${cf.lineNumber + 1}`
}

function areaOf(cf) {
  const url = cf.url ?? ''
  const fn = cf.functionName
  if (fn === '(garbage collector)') return 'GC'
  if (fn === '(idle)') return 'idle'
  if (fn === '(program)') return 'program (native/VM)'
  if (url.includes('/node_modules/undici/')) return 'undici (HTTP)'
  if (url.includes('/node_modules/tar-stream/') || url.includes('/node_modules/streamx/') || url.includes('/node_modules/b4a/')) return 'tar-stream/streamx'
  if (url.includes('/node_modules/@oclif/')) return 'oclif (startup)'
  if (url.includes('/node_modules/')) return 'other packages'
  if (url.includes('/dist/')) return 'airgap code'
  if (url.startsWith('node:')) return 'Node internals (streams, fs, crypto)'
  if (!url) return fn === 'update' || fn === 'digest' ? 'Node internals (streams, fs, crypto)' : 'native'
  return 'other'
}

/** Summarise every .cpuprofile in `dir`; `root` is stripped from file URLs. */
export async function summariseProfiles(dir, root, top = 15) {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'))
  const selfMs = new Map()
  const areas = new Map()
  let totalMs = 0
  for (const f of files) {
    const prof = JSON.parse(await readFile(join(dir, f), 'utf8'))
    const byId = new Map(prof.nodes.map((n) => [n.id, n]))
    const deltas = prof.timeDeltas ?? []
    prof.samples.forEach((id, i) => {
      const node = byId.get(id)
      if (!node) return
      const ms = (deltas[i + 1] ?? deltas[i] ?? 0) / 1000
      const name = frameName(node.callFrame, root)
      selfMs.set(name, (selfMs.get(name) ?? 0) + ms)
      const area = areaOf(node.callFrame)
      areas.set(area, (areas.get(area) ?? 0) + ms)
      totalMs += ms
    })
  }
  const pct = (ms) => (totalMs ? (ms / totalMs) * 100 : 0)
  return {
    threads: files.length,
    totalMs,
    top: [...selfMs.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([frame, ms]) => ({frame, ms, pct: pct(ms)})),
    areas: [...areas.entries()].sort((a, b) => b[1] - a[1]).map(([area, ms]) => ({area, ms, pct: pct(ms)})),
  }
}
