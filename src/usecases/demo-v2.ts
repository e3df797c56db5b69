/**
 * runDemoV2() (`airgap demo --v2`): the W&B v2 operator's flow on this machine, offline, on
 * made-up images (src/demo/v2.ts), with the same seven steps as the v1 demo:
 *
 *  1. upstream  — an OCI layout holding the server manifest, every image it names and the v2
 *                 operator chart, served as a registry on 127.0.0.1 (reached through
 *                 --registry-mirror, so every name stays the real one);
 *  2. key, 3. pull --wandb-version (the operator chart: the newest satisfying the manifest),
 *  4. verify, 5. push (the v2 layout: each manifest image at MIRROR/<registry/repository>, the
 *  manifest at MIRROR/wandb/server-manifest:<version>, same digest), 6. check,
 *  7. rewrite: the v2 WeightsAndBiases and operator chart values. The demo mirror speaks plain
 *     HTTP, which the v2 operator never uses for the manifest, so the manifest takes the file://
 *     route (a ConfigMap), as `airgap rewrite --manifest-route file` writes it.
 */
import {randomBytes} from 'node:crypto'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {baseLayer, storeArtifacts} from '../demo/fixtures.js'
import {DEMO_V2_MANIFEST, DEMO_V2_OPERATOR_CHART, DEMO_V2_VERSION, demoV2Artifacts} from '../demo/v2.js'
import {OciLayout} from '../layout/index.js'
import {parseMirrorRegistry} from '../mirror/mapping.js'
import {readReceipt} from '../mirror/receipt.js'
import {startServer, type RunningServer} from '../serve/index.js'
import {generateKeyPair, keyFingerprint, loadPrivateKey, loadPublicKey} from '../signing/index.js'
import {checkReceipt} from './check.js'
import type {DemoOptions, DemoResult, DemoStepRunner} from './demo.js'
import {pullBundle} from './pull.js'
import {pushBundle} from './push/index.js'
import {rewriteRelease} from './rewrite.js'
import {verifyBundleFile} from './verify.js'

const REGISTRIES = ['docker.io', 'quay.io', 'ghcr.io', 'us-docker.pkg.dev']

/** The v2 demo in `workDir`; servers go into `servers` (the caller closes them). See the module comment. */
export async function runDemoV2(opts: DemoOptions, workDir: string, servers: RunningServer[], step: DemoStepRunner, warn: (m: string) => void): Promise<Omit<DemoResult, 'workDir' | 'kept' | 'steps' | 'totalSeconds' | 'warnings'>> {
  const signal = opts.signal
  const concurrency = opts.concurrency ?? 8
  const upstream = await step('upstream', async () => {
    const layout = await OciLayout.open(join(workDir, 'upstream'), {create: true})
    const artifacts = await demoV2Artifacts(await baseLayer())
    const stored = await storeArtifacts(layout, artifacts, signal)
    const server = await startServer({store: layout, addr: '127.0.0.1:0', fixedTime: new Date(0)})
    servers.push(server)
    return {
      result: server,
      details: [
        `registry at ${server.url} with the W&B server manifest ${DEMO_V2_MANIFEST} (an OCI artifact), the ${artifacts.length - 2} made-up images it and the operator chart name, and the v2 operator chart (${stored.blobs} blobs)`,
        `every name is the real one (us-docker.pkg.dev/…, docker.io/…, quay.io/…): the pull reaches them through --registry-mirror`,
      ],
    }
  })
  const upstreamHost = upstream.address

  const keys = await step('key', async () => {
    const password = randomBytes(24).toString('base64url')
    const pem = generateKeyPair(password)
    await writeFile(join(workDir, 'cosign.key'), pem.privateKeyPem, {mode: 0o600})
    await writeFile(join(workDir, 'cosign.pub'), pem.publicKeyPem)
    const publicKey = loadPublicKey(pem.publicKeyPem, 'cosign.pub')
    return {result: {privateKey: loadPrivateKey(pem.privateKeyPem, password, 'cosign.key'), publicKey}, details: [`ECDSA P-256 key pair cosign.key / cosign.pub (fingerprint ${keyFingerprint(publicKey)})`]}
  })

  const bundleFile = join(workDir, 'wandb-v2.tar')
  const pulled = await step('pull', async () => {
    const result = await pullBundle({
      wandb: {version: DEMO_V2_VERSION, operatorChart: `oci://${upstreamHost}/${DEMO_V2_OPERATOR_CHART}`},
      out: bundleFile,
      plainHttp: [upstreamHost],
      registryMirrors: REGISTRIES.map((r) => `${r}=${upstreamHost}/${r}`),
      signKey: keys,
      epoch: 1_700_000_000,
      concurrency,
      hooks: {onWarning: warn},
      signal,
    })
    const m = result.serverManifest!
    return {
      result,
      details: [
        `read the server manifest ${m.source} (${m.digest}): ${m.images} image entries; requiredOperatorVersion ${m.requiredOperatorVersion ?? '(none)'}`,
        `chose the operator chart ${result.charts.map((c) => `${c.name} ${c.version}`).join(', ')} (${m.operatorCheck ?? 'no range to check'})`,
        `resolved ${result.images.length} images to digests, each with the manifest key or chart value that names it`,
        `wrote ${bundleFile} (${mib(result.size)}): the manifest artifact carried unchanged and pinned in the signed lock`,
      ],
    }
  })

  const verified = await step('verify', async () => {
    const report = await verifyBundleFile(bundleFile, {publicKey: keys.publicKey, signal})
    return {result: report, details: [`signature ${report.authenticity}; ${report.images.length} images, ${report.charts.length} chart(s) and the server manifest listed in the lock; ${report.blobs} blobs re-hashed`]}
  })

  const receiptFile = `${bundleFile}.receipt.json`
  const mirror = await step('push', async () => {
    const layout = await OciLayout.open(join(workDir, 'mirror'), {create: true})
    const server = await startServer({store: layout, writable: true, addr: '127.0.0.1:0', fixedTime: new Date(0)})
    servers.push(server)
    const helmRepo = `oci://${server.address}/charts`
    const result = await pushBundle({bundle: bundleFile, registry: parseMirrorRegistry(server.address), publicKey: keys.publicKey, helmRepo, plainHttp: [server.address], receipt: receiptFile, concurrency, hooks: {onWarning: warn}, signal})
    const v2 = result.receipt.serverManifest!
    const example = v2.images.find((i) => i.source.startsWith('docker.io/')) ?? v2.images[0]!
    return {
      result: {server, helmRepo},
      details: [
        `pushed ${result.images.pushed - 1}/${result.images.total - 1} images and the server manifest into the empty mirror ${server.address}, in the v2 operator's layout:`,
        `  the operator pulls imageRegistry + "/" + the manifest's registry/repository, e.g. ${example.keys[0]} -> ${example.mirror}`,
        `  the manifest at ${v2.mirror}, the same digest as upstream (${v2.digest})`,
        `published the operator chart to ${helmRepo}; receipt ${receiptFile}`,
      ],
    }
  })

  await step('check', async () => {
    const result = await checkReceipt({receipt: receiptFile, plainHttp: [mirror.server.address], concurrency, signal})
    if (!result.ok) warn(`the mirror check found ${result.rows.length - result.counts.ok} problem(s)`)
    return {result, details: [`asked the mirror for every image, chart and the manifest of the receipt: ${result.counts.ok} ok, ${result.rows.length - result.counts.ok} not ok`]}
  })

  const rewritten = await step('rewrite', async () => {
    const operatorYaml = join(workDir, 'operator.yaml')
    const operatorValues = join(workDir, 'operator-values.yaml')
    const result = await rewriteRelease({
      receipt: receiptFile,
      operator: 'v2',
      hostname: 'https://wandb.demo.example',
      manifestRoute: 'file',
      plainHttp: [mirror.server.address],
      operatorYaml,
      operatorValues,
      hooks: {onWarning: warn},
    })
    const receipt = await readReceipt(receiptFile)
    return {
      result: {operatorYaml: await readFile(operatorYaml, 'utf8'), operatorValuesYaml: await readFile(operatorValues, 'utf8')},
      details: [
        `operator.yaml: the apps.wandb.com/v2 WeightsAndBiases, W&B ${DEMO_V2_VERSION}, spec.global.imageRegistry ${receipt.serverManifest!.imageRegistry} (validated against the v2 schema)`,
        `the demo mirror speaks plain HTTP, which the v2 operator never uses for the manifest: it goes the file:// route, ${result.files.find((f) => f.kind === 'server-manifest-configmap')?.path ?? ''} (with an HTTPS mirror: oci://…/wandb/server-manifest)`,
        `operator-values.yaml: the v2 operator chart's images from the mirror, wandb.install: false, the manifest ConfigMap mounted`,
        result.operator === 'v2'
          ? `proven: the operator chart rendered with operator-values.yaml, ${result.rendering.objects} object(s) whose ${result.rendering.containers} container(s) all pull from the mirror`
          : 'rewritten for the v1 operator',
      ],
    }
  })

  return {
    upstream: {registry: upstreamHost, helmRepo: `oci://${upstreamHost}/${DEMO_V2_OPERATOR_CHART}`},
    mirror: {registry: mirror.server.address, helmRepo: mirror.helmRepo},
    bundle: {file: bundleFile, size: pulled.size, images: verified.images.length, charts: verified.charts.length, blobs: verified.blobs, signer: pulled.signer ?? ''},
    operatorYaml: rewritten.operatorYaml,
    operatorValuesYaml: rewritten.operatorValuesYaml,
    crProblems: [],
  }
}

function mib(n: number): string {
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}
