/**
 * Unit tests of the benchmark harness helpers (not part of the product suite: run with
 *   npx vitest run --root . --config scripts/bench/vitest.bench.config.mjs
 * ). Real processes and real streams, no mocks.
 */
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {gunzipSync, gzipSync} from 'node:zlib'
import {describe, expect, it} from 'vitest'
import {definitionHash, layerStream, mainDefinition, smallDefinition, specYaml} from './dataset.mjs'
import {stats, timed, timedSequence} from './measure.mjs'
import {summariseProfiles} from './profile.mjs'
import {documentMarkdown, ratioOf, summarize} from './report.mjs'

async function bytesOf(stream) {
  const parts = []
  for await (const c of stream) parts.push(c)
  return Buffer.concat(parts)
}

describe('dataset', () => {
  it('layer bytes are deterministic, valid gzip, incompressible and of the requested payload size', async () => {
    const layer = {id: 'x', size: 3 * 1024 * 1024 + 17}
    const a = await bytesOf(layerStream('seed', layer))
    const b = await bytesOf(layerStream('seed', layer))
    expect(createHash('sha256').update(a).digest('hex')).toBe(createHash('sha256').update(b).digest('hex'))
    expect(a.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]))
    const payload = gunzipSync(a)
    expect(payload.length).toBe(layer.size)
    expect(gzipSync(payload, {level: 6}).length).toBeGreaterThan(payload.length * 0.99)
    const other = await bytesOf(layerStream('seed', {id: 'y', size: layer.size}))
    expect(other.equals(a)).toBe(false)
  })

  it('the main data set meets issue 8: >= 10 images, >= 1 GiB unique, shared layers, one multi-platform index, 2 charts', () => {
    const def = mainDefinition()
    const layers = new Map()
    let uses = 0
    for (const img of def.images) for (const l of img.layers ?? img.platforms.flatMap((p) => p.layers)) {
      layers.set(l.id, l.size)
      uses++
    }
    const unique = [...layers.values()].reduce((a, b) => a + b, 0)
    expect(def.images.length).toBeGreaterThanOrEqual(10)
    expect(unique).toBeGreaterThanOrEqual(2 ** 30)
    expect(uses).toBeGreaterThan(layers.size)
    expect(def.images.filter((i) => i.platforms?.length === 2)).toHaveLength(1)
    expect(Math.min(...layers.values())).toBeLessThan(64 * 1024)
    expect(def.charts).toHaveLength(2)
    expect(definitionHash(def)).toBe(definitionHash(mainDefinition()))
    expect(definitionHash(def)).not.toBe(definitionHash(smallDefinition()))
  })

  it('writes a spec naming every image at the given host and the charts of the HTTP repository', () => {
    const def = mainDefinition()
    const summary = {images: def.images.map((i) => ({repo: i.repo, tag: i.tag}))}
    const yaml = specYaml({def, summary, host: '127.0.0.1:5999', chartRepoUrl: 'http://127.0.0.1:8099'})
    expect(yaml).toContain('apiVersion: airgap.dev/v1alpha1')
    expect(yaml).toContain('- "127.0.0.1:5999/bench/multi:1.0"')
    expect(yaml).toContain('{name: bench-operator, repo: "http://127.0.0.1:8099", version: "0.4.0"}')
    expect(yaml.match(/127\.0\.0\.1:5999\//g)).toHaveLength(def.images.length)
  })
})

describe('measure', () => {
  it('median, min, max and spread', () => {
    expect(stats([3, 1, 2])).toEqual({n: 3, median: 2, min: 1, max: 3, spreadPct: 100})
    expect(stats([4, 1, 2, 3]).median).toBe(2.5)
    expect(stats([])).toBeUndefined()
  })

  it('times a real process and reads its peak RSS; a failure names the command', async () => {
    const r = await timed(process.execPath, ['-e', 'globalThis.b = Buffer.alloc(64 * 1024 * 1024, 1); console.log("ok")'])
    expect(r.stdout.trim()).toBe('ok')
    expect(r.seconds).toBeGreaterThan(0)
    if (r.rssKiB !== undefined) expect(r.rssKiB).toBeGreaterThan(64 * 1024)
    await expect(timed('sh', ['-c', 'echo broken >&2; exit 3'], {label: 'the step'})).rejects.toThrow(/the step exited 3: broken/)
    const seq = await timedSequence([['true', []], ['true', []]])
    expect(seq.processes).toBe(2)
  })
})

describe('report', () => {
  it('summarises runs and computes the ratio of medians', () => {
    const a = summarize([{seconds: 2, rssKiB: 100, diskBytes: 5}, {seconds: 4, rssKiB: 300, diskBytes: 7}, {seconds: 3, rssKiB: 200, diskBytes: 6}], 3e6)
    expect(a).toMatchObject({median: 3, min: 2, max: 4, peakRssKiB: 300, extraDiskBytes: 7, mbPerSecond: 1})
    const b = summarize([{seconds: 9}, {seconds: 6}, {seconds: 12}])
    expect(ratioOf(a, b)).toBe(3)
  })

  it('renders goals, scenario tables and skipped scenarios', () => {
    const summary = summarize([{seconds: 1, rssKiB: 1024, diskBytes: 0}])
    const md = documentMarkdown({
      date: '2026-01-01T00:00:00Z', argv: [], commit: 'abc', runs: 1,
      machine: {cpu: 'CPU', cores: 2, ramGiB: 4, os: 'Linux', node: 'v20', skopeo: '1.9.3', openssl: '3'},
      load: {start: [1, 1, 1], end: [2, 2, 2]},
      goals: [{goal: 'verify >= 0.8x', result: '0.9x', pass: true}],
      scenarios: {
        verify: {title: 'verify', status: 'done', approaches: [{label: 'airgap verify', summary}], checks: [{text: 'fast', pass: true}]},
        push: {title: 'push', status: 'skipped', reason: '`airgap push` is not built yet'},
      },
    })
    expect(md).toContain('| verify >= 0.8x | 0.9x | PASS |')
    expect(md).toContain('| airgap verify | 1.00 s | 1.00 s – 1.00 s (0 %) | 1 MiB |')
    expect(md).toContain('Skipped: `airgap push` is not built yet')
  })
})

describe('profile', () => {
  it('summarises a real V8 CPU profile by frame and area', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-prof-'))
    try {
      execFileSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', dir, '-e',
        'const c = require("node:crypto"); const b = Buffer.alloc(1 << 20); const t = Date.now(); while (Date.now() - t < 300) c.createHash("sha256").update(b).digest()'])
      const s = await summariseProfiles(dir, process.cwd())
      expect(s.threads).toBe(1)
      expect(s.totalMs).toBeGreaterThan(100)
      expect(s.top.length).toBeGreaterThan(0)
      expect(s.areas.some((a) => a.area.startsWith('Node internals'))).toBe(true)
      expect(s.areas.reduce((x, a) => x + a.pct, 0)).toBeCloseTo(100, 0)
    } finally {
      rmSync(dir, {recursive: true, force: true})
    }
  })
})
