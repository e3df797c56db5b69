/**
 * Writes everything-on.yaml from the chart (run with SKIP="redis.tls.enabled,kafka.install,*.helmHook.enabled,redis.sentinel.enabled,bufstream.install";
 * the header of the committed file was then edited by hand to explain the skipped switches).
 */
import {readFileSync, writeFileSync} from 'node:fs'
import {stringify} from 'yaml'
import {loadChartArchive} from '../../src/helm/load.js'
import type {LoadedChart} from '../../src/helm/types.js'
const chart = await loadChartArchive(readFileSync(new URL('../../../shared/fixtures/charts/operator-wandb-0.43.8.tgz', import.meta.url)), 'owb')
const out: Record<string, unknown> = {}
const setPath = (path: string[]) => {
  let cur = out as Record<string, unknown>
  for (const p of path.slice(0, -1)) cur = (cur[p] ??= {}) as Record<string, unknown>
  cur[path[path.length - 1]!] = true
}
const SKIP_LIST = (process.env.SKIP ?? '').split(',').filter(Boolean)
const SKIP = {has: (p: string) => SKIP_LIST.some((s) => (s.startsWith('*.') ? p.endsWith(s.slice(1)) || p === s.slice(2) : p === s))}
const flags = (v: unknown, prefix: string[], depth = 0) => {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || depth > 1) return
  for (const [k, x] of Object.entries(v)) {
    if ((k === 'enabled' || k === 'install') && typeof x === 'boolean') { if (!SKIP.has([...prefix, k].join('.'))) setPath([...prefix, k]) }
    else flags(x, [...prefix, k], depth + 1)
  }
}
const visit = (c: LoadedChart, prefix: string[]) => {
  flags(c.values, prefix)
  for (const dep of c.metadata.dependencies ?? []) {
    for (const cond of (dep.condition ?? '').split(',').map((s) => s.trim()).filter(Boolean)) if (!SKIP.has([...prefix, cond].join('.'))) setPath([...prefix, ...cond.split('.')])
    const sub = c.subcharts.find((s) => s.metadata.name === dep.name)
    if (sub) visit(sub, [...prefix, dep.alias ?? dep.name])
  }
}
visit(chart, [])
for (const skipped of SKIP_LIST.filter((s) => !s.startsWith('*.'))) {
  const path = skipped.split('.')
  let cur = out as Record<string, unknown>
  for (const p of path.slice(0, -1)) cur = (cur[p] ??= {}) as Record<string, unknown>
  cur[path[path.length - 1]!] = false
}
writeFileSync(new URL('everything-on.yaml', import.meta.url), `# Left off (they make the charts themselves fail): ${SKIP_LIST.join(', ')}\n# operator-wandb 0.43.8 with every component on: every dependency condition and every\n# boolean \`enabled\` / \`install\` flag of every chart's values set to true (generated from the chart).\n${stringify(out, {sortMapEntries: true})}`)
