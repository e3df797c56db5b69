#!/usr/bin/env node
/**
 * Benchmark `airgap verify` against `openssl dgst -sha256` over the same ~1 GiB bundle.
 *
 *   npm run build && node scripts/bench/verify.mjs [--layers 8] [--layer-mib 128] [--runs 3] [--keep]
 *
 * 1. Writes (fixed seed, AES-CTR key stream: incompressible) a signed bundle of N random layers
 *    straight through BundleWriter from dist/, reusing it when a previous run left the same one.
 * 2. Alternates `node bin/run.js verify B --key K --json` and `openssl dgst -sha256 B`, RUNS times
 *    each, under /usr/bin/time -v for peak RSS (falls back to wall time only).
 * 3. Prints median, spread and the throughput ratio ours/openssl, writes bench-out/verify.json and
 *    prints a Markdown table row.
 */
import {spawn} from 'node:child_process'
import {createHash, generateKeyPairSync} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdir, rm, stat, writeFile} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {Readable} from 'node:stream'
import {fileURLToPath} from 'node:url'
import {parseArgs} from 'node:util'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const dist = (p) => join(ROOT, 'dist', p)
const {BundleWriter, buildIndexJson} = await import(dist('src/bundle/index.js'))
const {randomStream} = await import('./lib/dataset.mjs')
const {createLock, serializeLock} = await import(dist('src/bundle/lock.js'))
const {exportPublicKeyPem, serializeBundle, signBlob} = await import(dist('src/signing/index.js'))

const {values: args} = parseArgs({
  options: {
    layers: {type: 'string', default: '8'},
    'layer-mib': {type: 'string', default: '128'},
    runs: {type: 'string', default: '3'},
    keep: {type: 'boolean', default: false},
    out: {type: 'string', default: join(ROOT, 'bench-out')},
  },
})
const LAYERS = Number(args.layers)
const LAYER_BYTES = Number(args['layer-mib']) * 1024 * 1024
const RUNS = Number(args.runs)
const OUT = args.out
const SEED = 'airgap-bench-verify-v1'

/** Deterministic incompressible bytes for layer `i` (the same generator as the main benchmark's data set). */
function layerStream(i) {
  return randomStream(SEED, {id: i, size: LAYER_BYTES})
}

async function layerDigest(i) {
  const h = createHash('sha256')
  for await (const chunk of layerStream(i)) h.update(chunk)
  return `sha256:${h.digest('hex')}`
}

const json = (v) => Buffer.from(JSON.stringify(v))
const desc = (mediaType, bytes) => ({mediaType, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length})

/** Write the bundle (signed with a fresh key whose public half goes next to it). */
async function writeBenchBundle(path, pubPath) {
  const layers = []
  for (let i = 0; i < LAYERS; i++) layers.push({mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: await layerDigest(i), size: LAYER_BYTES})
  const config = json({architecture: 'amd64', os: 'linux', rootfs: {type: 'layers', diff_ids: layers.map((l) => l.digest)}})
  const configDesc = desc('application/vnd.oci.image.config.v1+json', config)
  const manifest = json({schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: configDesc, layers})
  const manifestDesc = desc('application/vnd.oci.image.manifest.v1+json', manifest)
  const writer = await BundleWriter.open({out: path, epoch: 0, blobs: [...layers, configDesc, manifestDesc]})
  try {
    for (let i = 0; i < LAYERS; i++) await writer.push(layers[i], layerStream(i))
    await writer.push(configDesc, Readable.from([config]))
    await writer.push(manifestDesc, Readable.from([manifest]))
    const name = 'bench.invalid/airgap/verify:1g'
    const indexJson = buildIndexJson([{ref: name, desc: manifestDesc}])
    const total = LAYERS * LAYER_BYTES + config.length + manifest.length
    const lock = serializeLock(
      createLock({
        createdBy: 'airgap/bench',
        epoch: 0,
        indexJson,
        images: [{source: name, digest: manifestDesc.digest, mediaType: manifestDesc.mediaType, size: manifestDesc.size, platforms: ['linux/amd64'], bytes: total}],
        blobs: {count: LAYERS + 2, bytes: total},
      }),
    )
    const keys = generateKeyPairSync('ec', {namedCurve: 'P-256'})
    await writeFile(pubPath, exportPublicKeyPem(keys.publicKey))
    await writer.finish({indexJson, files: {'airgap/lock.json': lock}, sign: async (bytes) => Buffer.from(serializeBundle(signBlob(bytes, keys.privateKey)))})
  } finally {
    await writer.close()
  }
}

const HAVE_TIME = existsSync('/usr/bin/time')

/** Run a command; wall seconds, peak RSS (KiB, from /usr/bin/time -v) and stdout. */
function timed(cmd, cmdArgs) {
  return new Promise((resolve, reject) => {
    const argv = HAVE_TIME ? ['/usr/bin/time', ['-v', cmd, ...cmdArgs]] : [cmd, cmdArgs]
    const started = process.hrtime.bigint()
    const child = spawn(argv[0], argv[1], {cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe']})
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c) => (stdout += c))
    child.stderr.on('data', (c) => (stderr += c))
    child.on('error', reject)
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9
      if (code !== 0) return reject(new Error(`${cmd} ${cmdArgs.join(' ')} exited ${code}: ${stderr.slice(-2000)}`))
      const rss = /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)
      resolve({seconds, rssKiB: rss ? Number(rss[1]) : undefined, stdout})
    })
  })
}

function stats(xs) {
  const s = [...xs].sort((a, b) => a - b)
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
  return {median, min: s[0], max: s[s.length - 1], spreadPct: median ? ((s[s.length - 1] - s[0]) / median) * 100 : 0}
}

async function main() {
  await mkdir(OUT, {recursive: true})
  const bundle = join(OUT, 'verify-bundle.tar')
  const pub = join(OUT, 'verify-bundle.pub')
  const expectedMin = LAYERS * LAYER_BYTES
  const reuse = existsSync(bundle) && existsSync(pub) && (await stat(bundle)).size > expectedMin && (await stat(bundle)).size < expectedMin + 1024 * 1024
  if (!reuse) {
    process.stderr.write(`writing a ${LAYERS} x ${LAYER_BYTES / 1024 / 1024} MiB bundle to ${bundle} …\n`)
    const t = Date.now()
    await writeBenchBundle(bundle, pub)
    process.stderr.write(`  written in ${((Date.now() - t) / 1000).toFixed(1)} s\n`)
  }
  const size = (await stat(bundle)).size
  // Warm the page cache once so that both tools read from memory.
  await timed('sh', ['-c', 'cat "$1" > /dev/null', 'sh', bundle])

  const ours = []
  const openssl = []
  for (let i = 0; i < RUNS; i++) {
    const a = await timed(process.execPath, [join(ROOT, 'bin/run.js'), 'verify', bundle, '--key', pub, '--json'])
    const report = JSON.parse(a.stdout)
    if (report.authenticity !== 'verified') throw new Error(`verify did not verify the signature: ${a.stdout.slice(0, 500)}`)
    ours.push(a)
    openssl.push(await timed('openssl', ['dgst', '-sha256', bundle]))
    process.stderr.write(`  run ${i + 1}: airgap verify ${a.seconds.toFixed(2)} s, openssl ${openssl[i].seconds.toFixed(2)} s\n`)
  }
  const o = stats(ours.map((r) => r.seconds))
  const s = stats(openssl.map((r) => r.seconds))
  const rss = (rs) => (rs.every((r) => r.rssKiB !== undefined) ? Math.max(...rs.map((r) => r.rssKiB)) : undefined)
  const figures = {
    date: new Date().toISOString(),
    node: process.version,
    bundleBytes: size,
    layers: LAYERS,
    layerBytes: LAYER_BYTES,
    runs: RUNS,
    airgapVerify: {...o, mbPerSecond: size / 1e6 / o.median, peakRssKiB: rss(ours)},
    opensslSha256: {...s, mbPerSecond: size / 1e6 / s.median, peakRssKiB: rss(openssl)},
    ratio: s.median / o.median,
  }
  await writeFile(join(OUT, 'verify.json'), JSON.stringify(figures, null, 2) + '\n')
  const mb = (x) => x.toFixed(0)
  const rssText = (k) => (k === undefined ? 'n/a' : `${(k / 1024).toFixed(0)} MiB`)
  console.log(`airgap verify: median ${o.median.toFixed(2)} s (spread ${o.spreadPct.toFixed(0)} %), ${mb(figures.airgapVerify.mbPerSecond)} MB/s, peak RSS ${rssText(figures.airgapVerify.peakRssKiB)}`)
  console.log(`openssl dgst:  median ${s.median.toFixed(2)} s (spread ${s.spreadPct.toFixed(0)} %), ${mb(figures.opensslSha256.mbPerSecond)} MB/s, peak RSS ${rssText(figures.opensslSha256.peakRssKiB)}`)
  console.log(`ratio (throughput ours / openssl): ${figures.ratio.toFixed(2)}`)
  console.log('')
  console.log('| bundle | airgap verify | openssl dgst -sha256 | ratio | airgap peak RSS | openssl peak RSS |')
  console.log('|---|---|---|---|---|---|')
  console.log(
    `| ${(size / 2 ** 30).toFixed(2)} GiB | ${o.median.toFixed(2)} s (${mb(figures.airgapVerify.mbPerSecond)} MB/s, ±${o.spreadPct.toFixed(0)} %) | ${s.median.toFixed(2)} s (${mb(figures.opensslSha256.mbPerSecond)} MB/s, ±${s.spreadPct.toFixed(0)} %) | ${figures.ratio.toFixed(2)} | ${rssText(figures.airgapVerify.peakRssKiB)} | ${rssText(figures.opensslSha256.peakRssKiB)} |`,
  )
  if (!args.keep) await Promise.all([rm(bundle, {force: true}), rm(pub, {force: true})])
}

await main()
