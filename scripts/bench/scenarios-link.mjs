/**
 * Scenarios over a WAN stand-in (issue 20) and the full-release scale set. Called by run.mjs with
 * its helpers (`h`); they spawn the same commands as the loopback scenarios, with the registry and
 * the Helm repository behind scripts/bench/lib/wan-proxy.mjs.
 *
 *   wan      40 ms RTT, 500 Mbit/s total: airgap pull vs the serial skopeo way; % of the profile bandwidth
 *   cdn      40 ms RTT, 1 Gbit/s total, 100 Mbit/s per connection: the whole set (% of bandwidth) and
 *            a single 1 GiB layer (airgap vs one stream, curl)
 *   release  (--large) a set shaped like a full W&B release, ~8 GiB: pull, verify, push, repeat
 *            push, each against linear in bytes from the 1 GiB set of the same run; peak RSS
 */
import {existsSync} from 'node:fs'
import {readdir, stat, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {largeDefinition, releaseDefinition, specYaml} from './lib/dataset.mjs'
import {PROFILES, mbitPerSecond, startWanProxy} from './lib/link.mjs'
import {diskBytes, loadAverage, settle, timed} from './lib/measure.mjs'
import {RSS_LIMIT_BYTES, fmtRatio, fmtRss, fmtS, summarize} from './lib/report.mjs'

const MiB = 2 ** 20

/** The largest blob of a registry's storage and a repository that links it. */
async function largestBlob(dataDir) {
  const repos = join(dataDir, 'docker', 'registry', 'v2', 'repositories')
  let best
  const walk = async (dir, name) => {
    for (const e of await readdir(dir, {withFileTypes: true})) {
      if (!e.isDirectory()) continue
      if (e.name === '_layers') {
        for (const hex of await readdir(join(dir, '_layers', 'sha256')).catch(() => [])) {
          const file = join(dataDir, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data')
          const size = existsSync(file) ? (await stat(file)).size : 0
          if (!best || size > best.size) best = {digest: `sha256:${hex}`, size, repo: name}
        }
      } else if (!e.name.startsWith('_')) await walk(join(dir, e.name), name ? `${name}/${e.name}` : e.name)
    }
  }
  await walk(repos, '')
  return best
}

/** One stream through the proxy: curl of the first `bytes` of a blob; its rate in bytes/s. */
async function oneStream(host, blob, bytes) {
  const n = Math.min(bytes, blob.size)
  const r = await timed('curl', ['-sSf', '-o', '/dev/null', '-r', `0-${n - 1}`, `http://${host}/v2/${blob.repo}/blobs/${blob.digest}`])
  return {seconds: r.seconds, bytes: n, rate: n / r.seconds}
}

/** The proxy's own ceiling on loopback: one curl of the largest blob through the shaping path with the delay and no limit, and through the plain pipe. */
export async function proxyCeiling(h, registry) {
  const blob = await largestBlob(registry.dataDir)
  const out = {}
  for (const profile of ['delay-only', 'lan']) {
    const proxy = await startWanProxy(profile, [registry.host])
    try {
      const s = await oneStream(proxy.listen[registry.host], blob, blob.size)
      out[profile] = {mbit: mbitPerSecond(s.bytes, s.seconds), bytes: s.bytes, load: loadAverage()[0]}
    } finally {
      await proxy.stop()
    }
  }
  return out
}

/**
 * The main set's spec with the registry behind the proxy. Charts are left out over the WAN (their
 * values name the registry's direct address, which would bypass the proxy); they are a few KiB.
 */
async function proxiedSpec(h, ctx, proxy, name) {
  const host = proxy.listen[ctx.registry.host]
  const spec = join(await h.fresh(join(h.WORK, name)), 'airgap.yaml')
  await writeFile(spec, specYaml({def: {...ctx.def, charts: []}, summary: ctx.summary, host}))
  return {spec, host, charts: []}
}

export async function scenarioWan(h) {
  const title = 'wan: pull over 40 ms RTT, 500 Mbit/s (no per-connection cap)'
  const ctx = await h.mainContext()
  const profile = PROFILES.wan
  const bytes = ctx.summary.uniqueBytes
  const floor = (bytes * 8) / (profile.totalMbit * 1e6)
  const ceiling = await proxyCeiling(h, ctx.registry)
  const proxy = await startWanProxy('wan', [ctx.registry.host])
  const ours = []
  const theirs = []
  const before = loadAverage()
  try {
    const {spec, host, charts} = await proxiedSpec(h, ctx, proxy, 'wan')
    for (let i = 0; i < h.RUNS; i++) {
      settle()
      const a = await h.airgapPullRun(ctx, spec, host, `wan-${i}`)
      ours.push({...a, load: loadAverage()[0]})
      await h.rm(a.dir)
      settle()
      const b = await h.skopeoPullRun(ctx.summary.images, host, charts, `wan-${i}`)
      theirs.push({...b, load: loadAverage()[0]})
      await h.rm(b.dir)
      h.log(`  wan run ${i + 1}/${h.RUNS}: airgap ${fmtS(a.seconds)} (${mbitPerSecond(bytes, a.seconds).toFixed(0)} Mbit/s), skopeo ${fmtS(b.seconds)}; load ${loadAverage()[0]}`)
    }
  } finally {
    await proxy.stop()
  }
  const A = summarize(ours, bytes)
  const B = summarize(theirs, bytes)
  const ratio = B.median / A.median
  const share = mbitPerSecond(bytes, A.median) / profile.totalMbit
  return {
    title, status: 'done', bytes, ratio, share, ceiling, floorSeconds: floor,
    description: `The main data set (${(bytes / 2 ** 30).toFixed(2)} GiB unique) pulled through the WAN stand-in (scripts/bench/lib/wan-proxy.mjs, profile \`wan\`) in front of the registry (images only; the charts, a few KiB, are pulled on loopback in the pull scenario): \`airgap pull\` vs the serial skopeo way (skopeo copy per image into one layout + tar) through the same proxy.`,
    approaches: [{label: 'airgap pull (wan)', summary: A}, {label: 'skopeo copy (serial) + tar (wan)', summary: B}],
    checks: [
      {text: `airgap is ${fmtRatio(ratio)} the speed of the serial skopeo way over wan (goal >= 4x)`, pass: ratio >= 4},
      {text: `airgap moves ${mbitPerSecond(bytes, A.median).toFixed(0)} Mbit/s = ${(share * 100).toFixed(0)} % of the profile's 500 Mbit/s (goal >= 85 %)`, pass: share >= 0.85},
      {text: `bound: no client can pull these bytes over 500 Mbit/s in less than ${fmtS(floor)}; so the skopeo way at ${fmtS(B.median)} bounds the ratio at ${(B.median / floor).toFixed(2)}x`},
      {text: `proxy's own ceiling on loopback (one curl of a ${(ceiling['delay-only'].bytes / MiB).toFixed(0)} MiB blob): shaping path with 40 ms delay and no limit ${ceiling['delay-only'].mbit.toFixed(0)} Mbit/s (load ${ceiling['delay-only'].load}), plain pipe ${ceiling.lan.mbit.toFixed(0)} Mbit/s (load ${ceiling.lan.load}); one stream, so several streams together go higher`},
      {text: `airgap peak RSS ${fmtRss(A.peakRssKiB)} (goal <= 150 MB)`, pass: A.peakRssKiB * 1024 <= RSS_LIMIT_BYTES},
    ],
    notes: [`Load average (1 min) after each run: airgap ${ours.map((r) => r.load).join(', ')}; skopeo ${theirs.map((r) => r.load).join(', ')}.`],
    loadAverage: {before, after: loadAverage()},
  }
}

export async function scenarioCdn(h) {
  const title = 'cdn: pull over 40 ms RTT, 1 Gbit/s total, 100 Mbit/s per connection'
  const ctx = await h.mainContext()
  const profile = PROFILES.cdn
  const bytes = ctx.summary.uniqueBytes
  const before = loadAverage()
  const whole = []
  let proxy = await startWanProxy('cdn', [ctx.registry.host])
  try {
    const {spec, host} = await proxiedSpec(h, ctx, proxy, 'cdn')
    for (let i = 0; i < h.RUNS; i++) {
      settle()
      const a = await h.airgapPullRun(ctx, spec, host, `cdn-${i}`)
      whole.push({...a, load: loadAverage()[0]})
      await h.rm(a.dir)
      h.log(`  cdn set run ${i + 1}/${h.RUNS}: airgap ${fmtS(a.seconds)} (${mbitPerSecond(bytes, a.seconds).toFixed(0)} Mbit/s); load ${loadAverage()[0]}`)
    }
  } finally {
    await proxy.stop()
  }
  // A single 1 GiB layer: airgap vs one stream (curl through the same proxy).
  const def = largeDefinition([1])
  const {registry, summary} = await h.openDataset(def)
  const img = summary.images[0]
  const layer = await largestBlob(registry.dataDir)
  const single = []
  let stream
  proxy = await startWanProxy('cdn', [registry.host])
  try {
    const host = proxy.listen[registry.host]
    const dir = await h.fresh(join(h.WORK, 'cdn-1g'))
    const spec = join(dir, 'airgap.yaml')
    await writeFile(spec, specYaml({def, summary: {images: [img]}, host}))
    for (let i = 0; i < h.RUNS; i++) {
      settle()
      const a = await h.airgapPullRun({keys: ctx.keys}, spec, host, `cdn-1g-${i}`)
      single.push({...a, load: loadAverage()[0]})
      await h.rm(a.dir)
      h.log(`  cdn 1 GiB layer run ${i + 1}/${h.RUNS}: airgap ${fmtS(a.seconds)} (${mbitPerSecond(img.bytes, a.seconds).toFixed(0)} Mbit/s)`)
    }
    settle()
    stream = await oneStream(host, layer, h.LARGE ? layer.size : 256 * MiB)
    stream.load = loadAverage()[0]
    h.log(`  cdn one stream: ${(stream.bytes / MiB).toFixed(0)} MiB in ${fmtS(stream.seconds)} (${mbitPerSecond(stream.bytes, stream.seconds).toFixed(0)} Mbit/s)`)
  } finally {
    await proxy.stop()
    await h.stopRegistry(registry, {removeData: false})
  }
  const W = summarize(whole, bytes)
  const S = summarize(single, img.bytes)
  const oneStreamSeconds = layer.size / stream.rate
  const share = mbitPerSecond(bytes, W.median) / profile.totalMbit
  const speedup = oneStreamSeconds / S.median
  return {
    title, status: 'done', bytes, share, speedup,
    description: `Profile \`cdn\` of the WAN stand-in. The main data set (${(bytes / 2 ** 30).toFixed(2)} GiB) and an image with a single 1 GiB layer, pulled by \`airgap pull\`; the one-stream reference is \`curl\` of that layer through the same proxy (${stream.bytes === layer.size ? 'the whole layer' : `its first ${(stream.bytes / MiB).toFixed(0)} MiB, the time for 1 GiB extrapolated at that rate; the whole layer with --large`}).`,
    approaches: [
      {label: 'airgap pull, main set (cdn)', summary: W},
      {label: 'airgap pull, one 1 GiB layer (cdn)', summary: S},
      {label: `curl, one stream (${(stream.bytes / MiB).toFixed(0)} MiB of the layer)`, summary: summarize([{seconds: stream.seconds}], stream.bytes)},
    ],
    checks: [
      {text: `the single 1 GiB layer pulls ${speedup.toFixed(1)}x faster than one stream (${fmtS(S.median)} vs ${fmtS(oneStreamSeconds)} for 1 GiB at ${mbitPerSecond(stream.bytes, stream.seconds).toFixed(0)} Mbit/s) (goal >= 5x)`, pass: speedup >= 5},
      {text: `the whole set moves ${mbitPerSecond(bytes, W.median).toFixed(0)} Mbit/s = ${(share * 100).toFixed(0)} % of the profile's 1 Gbit/s (goal >= 85 %)`, pass: share >= 0.85},
      {text: `airgap peak RSS ${fmtRss(Math.max(W.peakRssKiB, S.peakRssKiB))} (goal <= 150 MB)`, pass: Math.max(W.peakRssKiB, S.peakRssKiB) * 1024 <= RSS_LIMIT_BYTES},
    ],
    notes: [`Load average (1 min) after each run: set ${whole.map((r) => r.load).join(', ')}; 1 GiB layer ${single.map((r) => r.load).join(', ')}; one stream ${stream.load}.`],
    loadAverage: {before, after: loadAverage()},
  }
}

/** The full-release set (--large): pull, verify, push, repeat push, once each, against linear from the main set's medians of this run. */
export async function scenarioRelease(h, base) {
  const title = 'release: a full W&B-release-shaped set (~8 GiB), linear in bytes, flat memory'
  const def = releaseDefinition()
  const {registry, summary} = await h.openDataset(def)
  const ctx = await h.mainContext()
  const before = loadAverage()
  const dir = await h.fresh(join(h.WORK, 'release'))
  const spec = join(dir, 'airgap.yaml')
  await writeFile(spec, specYaml({def, summary, host: registry.host}))
  const rows = {}
  const bytes = summary.uniqueBytes
  // The disk's own floor for a pull of each set, same run: the source registry's blob files read
  // and written into one file, fsync'd (no network, no hashing), as the pull writes its bundle.
  const floor = {}
  for (const [name, dataDir] of [['main', ctx.registry.dataDir], ['release', registry.dataDir]]) {
    const out = join(dir, `floor-${name}.bin`)
    settle()
    const r = await timed('sh', ['-c', 'find "$1" -type f -name data -path "*/blobs/*" -exec cat {} + > "$2" && sync "$2"', 'sh', dataDir, out], {label: `disk floor (${name})`})
    floor[name] = {seconds: r.seconds, bytes: diskBytes(out)}
    await h.rm(out)
    h.log(`  disk floor ${name}: ${fmtS(r.seconds)} for ${(floor[name].bytes / 2 ** 30).toFixed(2)} GiB`)
  }
  try {
    settle()
    const pull = await h.airgapPullRun({keys: ctx.keys}, spec, registry.host, 'release')
    rows.pull = {...pull, load: loadAverage()[0]}
    h.log(`  release pull ${fmtS(pull.seconds)} ${fmtRss(pull.rssKiB)}`)
    const v = await h.airgap(['verify', pull.out, '--key', ctx.keys.pub, '--json'])
    rows.verify = {...v, diskBytes: 0, load: loadAverage()[0]}
    h.log(`  release verify ${fmtS(v.seconds)} ${fmtRss(v.rssKiB)}`)
    const reg = await h.startRegistry('push-release', join(h.WORK, 'release', 'registry'))
    const argv = ['push', pull.out, '--registry', reg.host, '--plain-http', reg.host, '--key', ctx.keys.pub, '--receipt', join(dir, 'receipt.json'), '--json']
    settle()
    const p = await h.airgap(argv)
    rows.push = {...p, diskBytes: 0, load: loadAverage()[0]}
    settle()
    const again = await h.airgap(argv)
    rows.repeat = {...again, diskBytes: 0, load: loadAverage()[0]}
    h.log(`  release push ${fmtS(p.seconds)} ${fmtRss(p.rssKiB)}, repeat ${fmtS(again.seconds)}`)
    await h.stopRegistry(reg)
    await h.rm(pull.dir)
  } finally {
    await h.stopRegistry(registry, {removeData: false})
    await h.rm(dir)
  }
  const checks = []
  for (const op of ['pull', 'verify', 'push']) {
    const b = base[op]
    if (!b) continue
    const expected = b.seconds * (bytes / b.bytes)
    const ratio = rows[op].seconds / expected
    checks.push({text: `${op}: ${fmtS(rows[op].seconds)} for ${(bytes / 2 ** 30).toFixed(2)} GiB vs ${fmtS(expected)} linear from ${fmtS(b.seconds)} for ${(b.bytes / 2 ** 30).toFixed(2)} GiB: ${(ratio * 100).toFixed(0)} % of linear (goal <= 110 %)`, pass: ratio <= 1.1})
  }
  if (floor.main && floor.release) {
    const floorLinear = floor.release.seconds / (floor.main.seconds * (floor.release.bytes / floor.main.bytes))
    const pullOfFloor = (r, f) => (r.seconds / f.seconds) * 100
    checks.push({
      text:
        `disk floor (the source registry's blob files copied into one file and fsync'd, no network, no hashing): ${fmtS(floor.main.seconds)} for the main set, ${fmtS(floor.release.seconds)} for the release set, itself ${(floorLinear * 100).toFixed(0)} % of linear` +
        (base.pull ? `; airgap pull takes ${pullOfFloor(base.pull, floor.main).toFixed(0)} % of the floor on the main set and ${pullOfFloor(rows.pull, floor.release).toFixed(0)} % on the release set` : ''),
    })
  }
  const peak = Math.max(...Object.values(rows).map((r) => r.rssKiB ?? 0))
  checks.push({text: `peak RSS ${fmtRss(peak)} over pull, verify, push and repeat push (goal <= 150 MB)`, pass: peak * 1024 <= RSS_LIMIT_BYTES})
  checks.push({text: `repeat push ${fmtS(rows.repeat.seconds)} with ${summary.images.length} images (goal <= 0.3 s)`, pass: rows.repeat.seconds <= 0.3})
  return {
    title, status: 'done', bytes, runs: 1, checks, rows, floor,
    description: `${summary.images.length} images (${summary.images.filter((i) => i.multiPlatform).length} multi-platform indexes), ${summary.uniqueLayers} unique layers, ${(bytes / 2 ** 30).toFixed(2)} GiB unique (${(summary.totalImageBytes / 2 ** 30).toFixed(2)} GiB if every image were stored separately), layers from ${(summary.smallestLayer / 1024).toFixed(0)} KiB to ${(summary.largestLayer / 2 ** 30).toFixed(2)} GiB; loopback, one run each (opt-in with --large). Linear = the main set's median of this run scaled by bytes.`,
    approaches: Object.entries(rows).map(([op, r]) => ({label: `airgap ${op === 'repeat' ? 'push again' : op} (release set)`, summary: summarize([{...r, diskBytes: r.diskBytes ?? diskBytes(dir)}], op === 'repeat' ? undefined : bytes)})),
    notes: [`Load average (1 min) after each step: ${Object.entries(rows).map(([op, r]) => `${op} ${r.load}`).join(', ')}.`],
    loadAverage: {before, after: loadAverage()},
  }
}

export {timed}
