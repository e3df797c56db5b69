/**
 * runDemo() (`airgap demo`): the whole air-gap flow on this machine, offline, with nothing but the
 * package installed.
 *
 *  1. upstream  — an OCI layout seeded with W&B-shaped images and charts (src/demo/fixtures.ts),
 *                 served by `airgap serve` code as a registry + Helm repository on 127.0.0.1;
 *                 a W&B channel response naming that Helm repository;
 *  2. key       — a fresh cosign-compatible signing key;
 *  3. pull      — the channel → one signed bundle (images fetched through --registry-mirror, so
 *                 their names stay docker.io/…, quay.io/…);
 *  4. verify    — signature, lock, graph, every blob digest;
 *  5. push      — into a second, empty, writable registry (the "enclave"), charts as OCI artifacts;
 *  6. check     — the mirror holds every image and chart of the push receipt, digests equal;
 *  7. rewrite   — the push receipt → operator.yaml (WeightsAndBiases CR) + operator chart values.
 *
 * `v2`: the same steps for W&B on the v2 operator (a server manifest release), in demo-v2.ts.
 * Servers and the temporary folder are always cleaned up (also when `signal` aborts), unless a
 * folder to keep was given. Reports only through hooks; never prints.
 */
import {randomBytes} from 'node:crypto'
import {mkdir, mkdtemp, readdir, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join, resolve} from 'node:path'
import {UsageError} from '../errors.js'
import {parseMirrorRegistry} from '../mirror/mapping.js'
import {receiptToMirrorMap, readReceipt} from '../mirror/receipt.js'
import {buildOperatorCr, buildOperatorValues, validateCr} from '../rewrite/index.js'
import {startServer, type RunningServer} from '../serve/index.js'
import {DEMO_RELEASE, channelResponse, seedUpstream} from '../demo/fixtures.js'
import {generateKeyPair, keyFingerprint, loadPrivateKey, loadPublicKey} from '../signing/index.js'
import {OciLayout} from '../layout/index.js'
import {checkReceipt} from './check.js'
import {pullBundle} from './pull.js'
import {pushBundle} from './push/index.js'
import {verifyBundleFile} from './verify.js'
import {runDemoV2} from './demo-v2.js'

export type DemoStepId = 'upstream' | 'key' | 'pull' | 'verify' | 'push' | 'check' | 'rewrite'

/** One finished step: what it did, in plain words, and how long it took. */
export interface DemoStep {
  id: DemoStepId
  title: string
  /** One line per fact, for a newcomer. */
  details: string[]
  seconds: number
}

export interface DemoHooks {
  onStepStart?(id: DemoStepId, title: string): void
  onStepDone?(step: DemoStep): void
  onWarning?(message: string): void
}

export interface DemoOptions {
  /** Keep every file (bundle, keys, receipt, operator.yaml, both registries' storage) in this folder. */
  keep?: string
  hooks?: DemoHooks
  signal?: AbortSignal
  /** Blob transfers in flight (default 8). */
  concurrency?: number
  /** W&B for the v2 operator: a server manifest release instead of the v1 channel (demo-v2.ts). */
  v2?: boolean
}

/** Runs one step: reports its start and its details, records its time. */
export type DemoStepRunner = <T>(id: DemoStepId, body: () => Promise<{result: T; details: string[]}>) => Promise<T>

export interface DemoResult {
  /** The folder everything was written to (deleted at the end unless kept). */
  workDir: string
  kept: boolean
  steps: DemoStep[]
  totalSeconds: number
  upstream: {registry: string; helmRepo: string}
  mirror: {registry: string; helmRepo: string}
  bundle: {file: string; size: number; images: number; charts: number; blobs: number; signer: string}
  /** The WeightsAndBiases custom resource for the air-gapped cluster. */
  operatorYaml: string
  /** Values for the operator chart (`airgapped: true`, mirrored controller image). */
  operatorValuesYaml: string
  /** Problems the CRD schema finds in operator.yaml (expected: none). */
  crProblems: string[]
  warnings: string[]
}

const TITLES: Record<DemoStepId, string> = {
  upstream: 'Start a stand-in for the internet',
  key: 'Create a signing key',
  pull: 'Pull the release into one signed bundle',
  verify: 'Verify the bundle',
  push: 'Push the bundle into the private mirror',
  check: 'Check the mirror against the push receipt',
  rewrite: 'Write the cluster configuration',
}

/** Run the demo; see the module comment. */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoResult> {
  const started = performance.now()
  const workDir = opts.keep ? await keptFolder(opts.keep) : await mkdtemp(join(tmpdir(), 'airgap-demo-'))
  const servers: RunningServer[] = []
  const steps: DemoStep[] = []
  const warnings: string[] = []
  const warn = (m: string): void => {
    warnings.push(m)
    opts.hooks?.onWarning?.(m)
  }
  const step: DemoStepRunner = async <T>(id: DemoStepId, body: () => Promise<{result: T; details: string[]}>): Promise<T> => {
    opts.signal?.throwIfAborted()
    opts.hooks?.onStepStart?.(id, TITLES[id])
    const t0 = performance.now()
    const {result, details} = await body()
    const done: DemoStep = {id, title: TITLES[id], details, seconds: (performance.now() - t0) / 1000}
    steps.push(done)
    opts.hooks?.onStepDone?.(done)
    return result
  }
  const signal = opts.signal
  const concurrency = opts.concurrency ?? 8

  try {
    if (opts.v2) {
      const v2 = await runDemoV2(opts, workDir, servers, step, warn)
      return {workDir, kept: opts.keep !== undefined, steps, totalSeconds: (performance.now() - started) / 1000, ...v2, warnings}
    }
    // 1. Upstream registry + Helm repository + channel file.
    const upstream = await step('upstream', async () => {
      const layout = await OciLayout.open(join(workDir, 'upstream'), {create: true})
      const seeded = await seedUpstream(layout, signal)
      const server = await startServer({store: layout, addr: '127.0.0.1:0', fixedTime: new Date(0)})
      servers.push(server)
      const channelFile = join(workDir, 'channel.json')
      await writeFile(channelFile, `${JSON.stringify(channelResponse(server.helmUrl), null, 2)}\n`)
      const multi = seeded.images.filter((i) => i.root.mediaType.includes('index')).length
      return {
        result: {server, channelFile, seeded},
        details: [
          `registry at ${server.url} with ${seeded.images.length} W&B-shaped images (${multi} multi-platform), e.g. ${seeded.images[0]!.name}`,
          `Helm repository at ${server.helmUrl} with the charts ${seeded.charts.map((c) => c.name.replace('charts/', '').replace(':', ' ')).join(' and ')}`,
          `W&B release channel ${DEMO_RELEASE} saved as ${channelFile} (what deploy.wandb.ai would answer)`,
        ],
      }
    })
    const upstreamHost = upstream.server.address

    // 2. Signing key (password random, kept in memory only).
    const keys = await step('key', async () => {
      const password = randomBytes(24).toString('base64url')
      const pem = generateKeyPair(password)
      await writeFile(join(workDir, 'cosign.key'), pem.privateKeyPem, {mode: 0o600})
      await writeFile(join(workDir, 'cosign.pub'), pem.publicKeyPem)
      const privateKey = loadPrivateKey(pem.privateKeyPem, password, 'cosign.key')
      const publicKey = loadPublicKey(pem.publicKeyPem, 'cosign.pub')
      return {
        result: {privateKey, publicKey},
        details: [`ECDSA P-256 key pair cosign.key / cosign.pub (fingerprint ${keyFingerprint(publicKey)}), as \`airgap key generate\` makes`],
      }
    })

    // 3. Pull.
    const bundleFile = join(workDir, 'wandb.tar')
    const pulled = await step('pull', async () => {
      const result = await pullBundle({
        spec: upstream.channelFile,
        out: bundleFile,
        plainHttp: [upstreamHost],
        registryMirrors: [`docker.io=${upstreamHost}/docker.io`, `quay.io=${upstreamHost}/quay.io`],
        signKey: keys,
        epoch: 1_700_000_000,
        concurrency,
        hooks: {onWarning: warn},
        signal,
      })
      return {
        result,
        details: [
          `read the channel: ${result.charts.map((c) => `${c.name} ${c.version}`).join(', ')}; found ${result.images.length} images in the charts' values and templates`,
          `resolved every image to a digest and stored ${result.blobs} unique blobs (${mib(result.uniqueBytes)}; ${mib(result.savedBySharing)} not stored twice thanks to shared layers)`,
          `images keep their real names (docker.io/…, quay.io/…): they were fetched through --registry-mirror ${upstreamHost}`,
          `wrote ${bundleFile} (${mib(result.size)}), signed by ${result.signer ?? 'nobody'}`,
        ],
      }
    })

    // 4. Verify.
    const verified = await step('verify', async () => {
      const report = await verifyBundleFile(bundleFile, {publicKey: keys.publicKey, signal})
      return {
        result: report,
        details: [
          `signature over the lock checked with cosign.pub: ${report.authenticity}`,
          `${report.images.length} images and ${report.charts.length} charts listed identically in the lock and index.json`,
          `all ${report.blobs} blobs re-hashed (${mib(report.bytes)}): every digest matches`,
        ],
      }
    })

    // 5. Push into an empty private mirror.
    const receiptFile = join(workDir, 'wandb.tar.receipt.json')
    const mirror = await step('push', async () => {
      const layout = await OciLayout.open(join(workDir, 'mirror'), {create: true})
      const server = await startServer({store: layout, writable: true, addr: '127.0.0.1:0', fixedTime: new Date(0)})
      servers.push(server)
      const helmRepo = `oci://${server.address}/charts`
      const result = await pushBundle({
        bundle: bundleFile,
        registry: parseMirrorRegistry(server.address),
        publicKey: keys.publicKey,
        helmRepo,
        plainHttp: [server.address],
        receipt: receiptFile,
        concurrency,
        hooks: {onWarning: warn},
        signal,
      })
      return {
        result: {server, helmRepo},
        details: [
          `started an empty registry at ${server.url} (the enclave's mirror)`,
          `verified the bundle again before the first write, then pushed ${result.images.pushed}/${result.images.total} images (${mib(result.stats.bytesCopied)} sent${result.stats.blobsMounted > 0 ? `, ${result.stats.blobsMounted} shared blobs mounted instead of sent again` : ''}; tags and digests kept)`,
          `published ${result.charts.pushed}/${result.charts.total} charts to ${helmRepo}; also listed at ${server.helmUrl}/index.yaml`,
          `receipt: ${receiptFile}`,
        ],
      }
    })

    // 6. Check the mirror.
    await step('check', async () => {
      const result = await checkReceipt({receipt: receiptFile, plainHttp: [mirror.server.address], concurrency, signal})
      if (!result.ok) {
        const bad = result.rows.filter((r) => r.state !== 'ok' && r.state !== 'skipped')
        warn(`the mirror check found ${bad.length} problem(s): ${bad.map((r) => `${r.name}: ${r.state}`).join('; ')}`)
      }
      return {
        result,
        details: [`asked the mirror for every image and chart of the receipt: ${result.counts.ok} ok, ${result.rows.length - result.counts.ok} not ok`],
      }
    })

    // 7. Rewrite.
    const rewritten = await step('rewrite', async () => {
      const map = receiptToMirrorMap(await readReceipt(receiptFile))
      const channel = channelResponse(upstream.server.helmUrl)
      const cr = buildOperatorCr({map, channelValues: channel.values as Record<string, unknown>, chartSource: 'oci', ociPlainHttp: true})
      const operatorValuesYaml = buildOperatorValues({map, airgapped: true})
      warnings.push(...cr.warnings)
      const problems = crProblems(cr.operatorYaml, warn)
      await writeFile(join(workDir, 'operator.yaml'), cr.operatorYaml)
      await writeFile(join(workDir, 'operator-values.yaml'), operatorValuesYaml)
      return {
        result: {operatorYaml: cr.operatorYaml, operatorValuesYaml, problems},
        details: [
          `operator.yaml: the WeightsAndBiases resource, chart from ${mirror.helmRepo}, every image pointing at ${mirror.server.address}`,
          `operator-values.yaml: values for the operator chart (airgapped: true, controller image from the mirror)`,
          problems === undefined ? 'CRD schema check skipped (the CRD file is not installed)' : `checked against the WeightsAndBiases CRD schema: ${problems.length === 0 ? 'valid' : `${problems.length} problem(s)`}`,
        ],
      }
    })

    return {
      workDir,
      kept: opts.keep !== undefined,
      steps,
      totalSeconds: (performance.now() - started) / 1000,
      upstream: {registry: upstreamHost, helmRepo: upstream.server.helmUrl},
      mirror: {registry: mirror.server.address, helmRepo: mirror.helmRepo},
      bundle: {file: bundleFile, size: pulled.size, images: verified.images.length, charts: verified.charts.length, blobs: verified.blobs, signer: pulled.signer ?? ''},
      operatorYaml: rewritten.operatorYaml,
      operatorValuesYaml: rewritten.operatorValuesYaml,
      crProblems: rewritten.problems ?? [],
      warnings,
    }
  } finally {
    await Promise.allSettled(servers.map((s) => s.close()))
    if (opts.keep === undefined) await rm(workDir, {recursive: true, force: true})
  }
}

/** CRD schema problems as lines; undefined when the CRD file cannot be found (e.g. not installed). */
function crProblems(operatorYaml: string, warn: (m: string) => void): string[] | undefined {
  try {
    return validateCr(operatorYaml).map((p) => `${p.path}: ${p.message}`)
  } catch (err) {
    warn(`operator.yaml was not checked against the CRD: ${(err as Error).message}`)
    return undefined
  }
}

/** The folder given with --keep: created when missing; refused when it holds anything. */
async function keptFolder(dir: string): Promise<string> {
  const abs = resolve(dir)
  await mkdir(abs, {recursive: true})
  const entries = await readdir(abs)
  if (entries.length > 0) {
    throw new UsageError(`the demo folder ${abs} is not empty (${entries.length} entries)`, {hint: 'give --keep a new or empty folder'})
  }
  return abs
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}
