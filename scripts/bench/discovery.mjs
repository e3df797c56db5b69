#!/usr/bin/env node
/**
 * Discovery benchmark (issue 16, discovery by rendering): what rendering adds to image discovery
 * on operator-wandb 0.43.8 with its default values, each measure in a fresh process:
 *   - values walk only (no render),
 *   - values walk + the render as given (`airgap images --only-enabled`),
 *   - values walk + as given + every disabled component on + fallbacks (`airgap images`),
 *   - with --per-switch: one render per switch instead (the design not taken), for comparison.
 * Not a timed test: run it by hand after `npm run build`.
 *
 *   node scripts/bench/discovery.mjs [chart.tgz] [--per-switch]
 */
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const {values: flags, positionals} = parseArgs({allowPositionals: true, options: {'per-switch': {type: 'boolean', default: false}, child: {type: 'string'}}})
const chartPath = positionals[0] ?? join(ROOT, '../shared/fixtures/charts/operator-wandb-0.43.8.tgz')

if (flags.child) {
  const {loadChartArchive} = await import(join(ROOT, 'dist/src/helm/index.js'))
  const {discoverImages, chartTree} = await import(join(ROOT, 'dist/src/discover/index.js'))
  const {componentSwitches, withSwitchesOn} = await import(join(ROOT, 'dist/src/discover/switches.js'))
  const {renderChart, parseManifests} = await import(join(ROOT, 'dist/src/render/index.js'))
  const chart = await loadChartArchive(readFileSync(chartPath), chartPath)
  const t0 = performance.now()
  const cpu0 = process.cpuUsage()
  let count = 0
  let renders = 0
  if (flags.child === 'walk') count = discoverImages(chart, {includeDisabled: true, render: false}).length
  else if (flags.child === 'as-given') count = discoverImages(chart, {includeDisabled: false, onWarning: () => {}}).length
  else if (flags.child === 'full') count = discoverImages(chart, {includeDisabled: true, onWarning: () => {}}).length
  else {
    for (const s of componentSwitches(chartTree(chart, {}, () => {}))) {
      renders++
      count += parseManifests(renderChart(chart, {values: withSwitchesOn({}, [s]), onFileError: () => {}})).length
    }
  }
  const cpu = process.cpuUsage(cpu0)
  process.stdout.write(JSON.stringify({seconds: (performance.now() - t0) / 1000, cpu: (cpu.user + cpu.system) / 1e6, count, renders, maxRssMB: process.resourceUsage().maxRSS / 1024}))
  process.exit(0)
}

if (!existsSync(join(ROOT, 'dist/src/discover/rendering.js'))) {
  process.stderr.write('dist/ has no discovery by rendering: run `npm run build` first\n')
  process.exit(2)
}
if (!existsSync(chartPath)) {
  process.stderr.write(`${chartPath} not found (the shared chart fixtures are not mounted)\n`)
  process.exit(2)
}
const modes = [
  ['walk', 'values walk only'],
  ['as-given', 'walk + render as given (--only-enabled)'],
  ['full', 'walk + as given + disabled components on'],
  ...(flags['per-switch'] ? [['per-switch', 'one render per switch (not used)']] : []),
]
for (const [mode, label] of modes) {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), chartPath, '--child', mode], {encoding: 'utf8'})
  if (child.status !== 0) {
    process.stderr.write(child.stderr)
    process.exit(1)
  }
  const r = JSON.parse(child.stdout)
  process.stdout.write(`${label.padEnd(44)} ${r.seconds.toFixed(2)} s (CPU ${r.cpu.toFixed(2)} s), peak RSS ${r.maxRssMB.toFixed(0)} MB${r.renders ? `, ${r.renders} renders` : ''}\n`)
}
