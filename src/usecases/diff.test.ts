/**
 * airgap diff: two real bundles written by writeBundle (as two pulls of consecutive releases
 * would), their locks, and a receipt; the diff names exactly what changed, and the CLI prints it
 * as a table, as Markdown and as JSON.
 */
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {MemoryTarget} from '../content/memory.js'
import {BundleReader, LOCK_JSON} from '../bundle/index.js'
import {loadInto, makeHelmChart, makeImage} from '../../test/support/images.js'
import {runCli} from '../../test/support/cli.js'
import {diffMarkdown, diffTable} from '../cli/diff-text.js'
import {writeBundle} from './write-bundle.js'
import {diffReleases} from './diff.js'

let dir: string
let before: string
let after: string
const spec = (tag: string, replicas: number) =>
  Buffer.from(
    `apiVersion: airgap.dev/v1alpha1\nkind: ReleaseSpec\nmetadata: {name: wandb}\nspec:\n  charts:\n    - name: operator-wandb\n      repo: https://charts.example\n      version: 0.1.0\n      set:\n        app: {image: {tag: "${tag}"}}\n        weave: {replicas: ${replicas}, enabled: true}\n${replicas === 1 ? '        legacy: {on: true}\n' : ''}`,
  )

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-diff-'))
  const src = new MemoryTarget()
  const base = await makeImage({seed: 'diff-base', layers: 1})
  const app1 = await makeImage({seed: 'diff-app-1', layers: 1, baseLayers: [base.layers[0]!]})
  const app2 = await makeImage({seed: 'diff-app-2', layers: 1, baseLayers: [base.layers[0]!]})
  const redis = await makeImage({seed: 'diff-redis', layers: 1})
  const old = await makeImage({seed: 'diff-old', layers: 1})
  const fresh = await makeImage({seed: 'diff-fresh', layers: 1})
  const chart1 = await makeHelmChart({name: 'operator-wandb', version: '0.1.0'})
  const chart2 = await makeHelmChart({name: 'operator-wandb', version: '0.2.0'})
  for (const [g, ref] of [[app1, 'app1'], [app2, 'app2'], [redis, 'redis'], [old, 'old'], [fresh, 'fresh'], [chart1, 'c1'], [chart2, 'c2']] as const) await loadInto(src, g, ref)
  const chart = (ref: string, version: string, g: typeof chart1) => ({source: src, ref, name: `charts.example/operator-wandb:${version}`, chart: {name: 'operator-wandb', version, source: 'https://charts.example', tgzDigest: g.blobs[0]!.descriptor.digest}})
  before = join(dir, 'wandb-1.tar')
  after = join(dir, 'wandb-2.tar')
  await writeBundle({
    images: [
      {source: src, ref: 'app1', name: 'docker.io/wandb/local:0.74.1'},
      {source: src, ref: 'redis', name: 'docker.io/library/redis:7'},
      {source: src, ref: 'old', name: 'docker.io/wandb/legacy:1'},
    ],
    charts: [chart('c1', '0.1.0', chart1)],
    out: before,
    epoch: 0,
    specBytes: spec('0.74.1', 1),
  })
  await writeBundle({
    images: [
      {source: src, ref: 'app2', name: 'docker.io/wandb/local:0.75.0'},
      {source: src, ref: 'redis', name: 'docker.io/library/redis:7'},
      {source: src, ref: 'fresh', name: 'docker.io/wandb/weave:2'},
    ],
    charts: [chart('c2', '0.2.0', chart2)],
    out: after,
    epoch: 0,
    specBytes: spec('0.75.0', 3),
  })
})
afterAll(async () => {
  if (dir) await rm(dir, {recursive: true, force: true})
})

describe('airgap diff', () => {
  it('two bundles: exactly the changed images, charts and values, and the new bytes blob by blob', async () => {
    const d = await diffReleases(before, after)
    expect(d.images.added.map((i) => i.source)).toEqual(['docker.io/wandb/weave:2'])
    expect(d.images.removed.map((i) => i.source)).toEqual(['docker.io/wandb/legacy:1'])
    expect(d.images.moved.map((m) => [m.from, m.to])).toEqual([['docker.io/wandb/local:0.74.1', 'docker.io/wandb/local:0.75.0']])
    expect(d.images.unchanged).toBe(1)
    expect(d.charts.changed).toEqual([{name: 'operator-wandb', from: {version: '0.1.0', digest: expect.any(String)}, to: {version: '0.2.0', digest: expect.any(String)}}])
    expect(d.values).toEqual([
      {chart: 'operator-wandb', path: 'app.image.tag', change: 'changed', from: '0.74.1', to: '0.75.0'},
      {chart: 'operator-wandb', path: 'legacy', change: 'removed', from: {on: true}},
      {chart: 'operator-wandb', path: 'weave.replicas', change: 'changed', from: 1, to: 3},
    ])
    // New bytes: every blob of the second bundle the first does not hold (the shared base layer and redis are not new).
    const blobs = async (file: string) => {
      const r = await BundleReader.open(file)
      try {
        return new Map(r.entries().filter((e) => e.kind === 'blob').map((e) => [e.name, e.size]))
      } finally {
        await r.close()
      }
    }
    const [a, b] = [await blobs(before), await blobs(after)]
    const expected = [...b].filter(([name]) => !a.has(name)).reduce((n, [, size]) => n + size, 0)
    expect(d.newBytes).toEqual({bytes: expected, exact: true})
    expect(expected).toBeGreaterThan(0)
    expect(d.same).toBe(false)
  })

  it('a bundle against itself: no difference', async () => {
    const d = await diffReleases(before, before)
    expect(d.same).toBe(true)
    expect(d.newBytes).toEqual({bytes: 0, exact: true})
    expect(diffTable(d).at(-1)).toBe('no difference')
  })

  it('a lock and a receipt: images and charts compared, values not (neither carries them), sizes from the lock or unknown', async () => {
    const r = await BundleReader.open(before)
    const lockFile = join(dir, 'lock-1.json')
    try {
      await writeFile(lockFile, await r.readFile(LOCK_JSON))
    } finally {
      await r.close()
    }
    const d = await diffReleases(lockFile, after)
    expect(d.values).toBeUndefined()
    expect(d.images.moved).toHaveLength(1)
    expect(d.newBytes?.exact).toBe(false)
    const lock = JSON.parse(await readFile(lockFile, 'utf8')) as {images: Array<{source: string; digest: string; mediaType: string; platforms: string[]}>; charts: Array<{name: string; version: string; digest: string; tgzDigest: string}>}
    const receipt = {
      apiVersion: 'airgap.dev/v1alpha1',
      kind: 'PushReceipt',
      complete: true,
      bundle: {path: before, lockDigest: `sha256:${'a'.repeat(64)}`, authenticity: 'unsigned'},
      registry: 'registry.corp:5000/mirror',
      keepSourceHost: false,
      images: lock.images.map((i) => ({source: i.source, mirror: `registry.corp:5000/mirror/${i.source.replace(/^docker\.io\//, '')}`, digest: i.digest, mediaType: i.mediaType, platforms: i.platforms, status: 'pushed', discoveredBy: []})),
      charts: lock.charts.map((c) => ({name: c.name, version: c.version, digest: c.digest, tgzDigest: c.tgzDigest, status: 'skipped', error: 'no --helm-repo given'})),
      stats: {blobsCopied: 0, blobsSkipped: 0, blobsMounted: 0, bytesCopied: 0, manifestsCopied: 0},
      started: '2026-01-01T00:00:00.000Z',
      finished: '2026-01-01T00:00:01.000Z',
      seconds: 1,
    }
    const receiptFile = join(dir, 'wandb-1.tar.receipt.json')
    await writeFile(receiptFile, JSON.stringify(receipt))
    const fromReceipt = await diffReleases(receiptFile, after)
    expect(fromReceipt.images.added.map((i) => i.source)).toEqual(['docker.io/wandb/weave:2'])
    expect(fromReceipt.images.removed.map((i) => i.source)).toEqual(['docker.io/wandb/legacy:1'])
    expect(fromReceipt.charts.changed).toHaveLength(1)
    expect(fromReceipt.newBytes?.exact).toBe(false)
  })

  it('Markdown names every change with full digests', async () => {
    const md = diffMarkdown(await diffReleases(before, after))
    expect(md).toMatch(/^## Release change/)
    expect(md).toContain('| `docker.io/wandb/local:0.74.1` | `docker.io/wandb/local:0.75.0` | `sha256:')
    expect(md).toContain('| operator-wandb | `app.image.tag` | changed | `"0.74.1"` | `"0.75.0"` |')
    expect(md).toContain('| changed | operator-wandb | 0.1.0 | 0.2.0 |')
  })

  it('the CLI: table, --markdown, --json, and one clear error for a file that is neither', async () => {
    const table = await runCli(['diff', before, after])
    expect(table.code, table.stderr).toBe(0)
    expect(table.stdout).toMatch(/^~\s+image\s+docker\.io\/wandb\/local:0\.74\.1 -> docker\.io\/wandb\/local:0\.75\.0/m)
    expect(table.stdout).toMatch(/^~\s+value\s+operator-wandb: weave\.replicas\s+1\s+3$/m)
    const md = await runCli(['diff', before, after, '--markdown'])
    expect(md.stdout).toContain('### Images moved')
    const json = await runCli(['diff', before, after, '--json'])
    const parsed = JSON.parse(json.stdout) as {images: {added: Array<{source: string}>}}
    expect(parsed.images.added[0]!.source).toBe('docker.io/wandb/weave:2')
    const notes = join(dir, 'notes.json')
    await writeFile(notes, '{"kind": "Notes"}')
    const bad = await runCli(['diff', notes, after])
    expect(bad.code).toBe(3)
    expect(bad.stderr.trim().split('\n')).toHaveLength(1)
    expect(bad.stderr).toMatch(/notes\.json: kind "Notes" is not a bundle lock or a push receipt/)
  })
})
