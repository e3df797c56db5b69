#!/usr/bin/env node
/**
 * Render benchmark (issue 16): renders all of operator-wandb 0.43.8 with every component on
 * (test/render/everything-on.yaml) in a fresh process and prints the seconds and the peak RSS.
 * Target: under 2 s and under 200 MB. Not a timed test: `npm run bench` runs it (scenario render,
 * scripts/bench/run.mjs), or by hand after `npm run build`.
 *
 *   node scripts/bench/render.mjs [chart.tgz] [values.yaml] [--runs N]
 *
 * Loading the chart (src/helm) is timed apart from rendering (src/render). Each run is a new
 * process, so the first-render cost (parsing every template, JIT warm-up) is what is measured.
 */
import {spawnSync} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const {values: flags, positionals} = parseArgs({allowPositionals: true, options: {runs: {type: 'string', default: '3'}, child: {type: 'boolean', default: false}}})
const chartPath = positionals[0] ?? join(ROOT, '../shared/fixtures/charts/operator-wandb-0.43.8.tgz')
const valuesPath = positionals[1] ?? join(ROOT, 'test/render/everything-on.yaml')

if (flags.child) {
  // The V8 setting the CLI runs with (bin/run.js), so that these figures are those of `airgap`.
  ;(await import('node:v8')).setFlagsFromString('--semi-space-growth-factor=1')
  const {loadChartArchive} = await import(join(ROOT, 'dist/src/helm/index.js'))
  const {renderChart, parseManifests} = await import(join(ROOT, 'dist/src/render/index.js'))
  const {parse} = await import('yaml')
  const values = parse(readFileSync(valuesPath, 'utf8')) ?? {}
  const cpuSeconds = (since) => {
    const c = process.cpuUsage(since)
    return (c.user + c.system) / 1e6
  }
  const t0 = performance.now()
  const cpuStart = process.cpuUsage()
  const chart = await loadChartArchive(readFileSync(chartPath), chartPath)
  const t1 = performance.now()
  const cpu0 = process.cpuUsage()
  const rendered = renderChart(chart, {values})
  const renderCpu = cpuSeconds(cpu0)
  const t2 = performance.now()
  const objects = parseManifests(rendered)
  const t3 = performance.now()
  const totalCpu = cpuSeconds(cpuStart)
  const maxRssMB = process.resourceUsage().maxRSS / 1024
  process.stdout.write(JSON.stringify({load: (t1 - t0) / 1000, render: (t2 - t1) / 1000, renderCpu, parse: (t3 - t2) / 1000, totalCpu, files: rendered.size, objects: objects.length, maxRssMB}))
  process.exit(0)
}

if (!existsSync(join(ROOT, 'dist/src/render/index.js'))) {
  process.stderr.write('dist/ has no renderer: run `npm run build` first\n')
  process.exit(2)
}
if (!existsSync(chartPath)) {
  process.stderr.write(`${chartPath} not found (the shared chart fixtures are not mounted)\n`)
  process.exit(2)
}
const runs = Number(flags.runs)
const results = []
for (let i = 0; i < runs; i++) {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), chartPath, valuesPath, '--child'], {encoding: 'utf8'})
  if (child.status !== 0) {
    process.stderr.write(child.stderr)
    process.exit(1)
  }
  results.push(JSON.parse(child.stdout))
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const r = results[0]
process.stdout.write(`operator-wandb, everything on: ${r.files} files, ${r.objects} objects\n`)
process.stdout.write(`  load chart   ${median(results.map((x) => x.load)).toFixed(2)} s (median of ${runs})\n`)
process.stdout.write(`  render       ${median(results.map((x) => x.render)).toFixed(2)} s (CPU ${median(results.map((x) => x.renderCpu)).toFixed(2)} s)\n`)
process.stdout.write(`  all phases   CPU ${median(results.map((x) => x.totalCpu)).toFixed(2)} s\n`)
process.stdout.write(`  parse YAML   ${median(results.map((x) => x.parse)).toFixed(2)} s\n`)
process.stdout.write(`  peak RSS     ${Math.max(...results.map((x) => x.maxRssMB)).toFixed(0)} MB (largest child)\n`)
