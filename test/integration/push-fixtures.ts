/**
 * Fixtures for the `airgap push` / `airgap check` integration tests: signed bundles built with
 * writeBundle from generated images (a two-platform OCI index with a shared base layer, an image
 * sharing that layer, a Docker schema 2 image) and a Helm chart artifact (buildChartArchive +
 * chartToOciArtifact, recorded in the lock's charts), plus small HTTP and skopeo helpers.
 */
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {writeBundle, type BundleChartInput, type BundleImageInput} from '../../src/usecases/write-bundle.js'
import {MemoryTarget} from '../../src/content/memory.js'
import {buildChartArchive, chartToOciArtifact} from '../../src/helm/index.js'
import {digestOf} from '../../src/oci/digest.js'
import {generateKeyPair, loadPrivateKey, loadPublicKey} from '../../src/signing/index.js'
import {loadInto, makeImage, makeIndex, type Generated} from '../support/images.js'

export const KEY_PASSWORD = 'push-fixture-key-pw'

export interface PushFixture {
  bundle: string
  pubFile: string
  otherPubFile: string
  /** Source name -> root digest of every image. */
  images: Map<string, string>
  chart: {name: string; version: string; digest: string; tgzDigest: string}
  /** The signing key pair (password KEY_PASSWORD). */
  keyPair: {privateKeyPem: string; publicKeyPem: string}
}

export interface FixtureOptions {
  dir: string
  seed: string
  /** Bytes per random file in each layer (default 8 KiB); a few MiB makes a slow push. */
  fileSize?: number
  /** Override the source names (default docker.io/acme/multi:1.0, docker.io/acme/app:2.0, quay.io/legacy/tool:3). */
  names?: [string, string, string]
  /** Build without a signature. */
  unsigned?: boolean
  /** Sign with this key pair (password KEY_PASSWORD) instead of a new one. */
  keyPair?: {privateKeyPem: string; publicKeyPem: string}
}

/** Build and sign a bundle with three images and one chart. */
export async function buildFixture(opts: FixtureOptions): Promise<PushFixture> {
  const fileSize = opts.fileSize ?? 8 * 1024
  const src = new MemoryTarget()
  const multi = await makeIndex({seed: `${opts.seed}-multi`, sharedLayers: 1, layers: 1, fileSize})
  const app = await makeImage({seed: `${opts.seed}-app`, layers: 1, fileSize, baseLayers: [multi.images[0]!.layers[0]!]})
  const legacy = await makeImage({seed: `${opts.seed}-legacy`, layers: 1, fileSize, format: 'docker'})
  const [n1, n2, n3] = opts.names ?? ['docker.io/acme/multi:1.0', 'docker.io/acme/app:2.0', 'quay.io/legacy/tool:3']
  const images: BundleImageInput[] = []
  const roots = new Map<string, string>()
  for (const [name, g, tag] of [
    [n1, multi, 'multi'],
    [n2, app, 'app'],
    [n3, legacy, 'legacy'],
  ] as const) {
    await loadInto(src, g, tag)
    roots.set(name, g.root.digest)
    images.push({source: src, ref: tag, name, discoveredBy: [{chart: 'demo', valuesPath: `images.${tag}`, source: name.replace(/^docker\.io\//, '')}]})
  }

  const chartYaml = 'apiVersion: v2\nname: demo\nversion: 0.1.0\nappVersion: "2.0"\ndescription: push fixture\n'
  const tgz = await buildChartArchive({'Chart.yaml': chartYaml, 'values.yaml': `image: ${n2}\n`}, 'demo')
  const artifact = chartToOciArtifact(tgz, {apiVersion: 'v2', name: 'demo', version: '0.1.0', appVersion: '2.0', description: 'push fixture'})
  const chartGraph: Generated = {root: artifact.manifest.descriptor, blobs: [artifact.config, ...artifact.layers, artifact.manifest]}
  await loadInto(src, chartGraph, 'chart')
  const chart = {name: 'demo', version: '0.1.0', source: 'https://charts.example/demo', tgzDigest: digestOf(tgz)}
  const charts: BundleChartInput[] = [{source: src, ref: 'chart', name: 'charts.example/demo:0.1.0', chart}]

  const pair = opts.keyPair ?? generateKeyPair(KEY_PASSWORD)
  const other = generateKeyPair(KEY_PASSWORD)
  const pubFile = join(opts.dir, `${opts.seed}.pub`)
  const otherPubFile = join(opts.dir, `${opts.seed}-other.pub`)
  await writeFile(pubFile, pair.publicKeyPem)
  await writeFile(otherPubFile, other.publicKeyPem)
  const bundle = join(opts.dir, `${opts.seed}.tar`)
  await writeBundle({
    images,
    charts,
    out: bundle,
    epoch: 1_700_000_000,
    ...(opts.unsigned ? {} : {signKey: {privateKey: loadPrivateKey(pair.privateKeyPem, KEY_PASSWORD), publicKey: loadPublicKey(pair.publicKeyPem)}}),
  })
  return {bundle, pubFile, otherPubFile, images: roots, chart: {name: 'demo', version: '0.1.0', digest: artifact.manifest.descriptor.digest, tgzDigest: chart.tgzDigest}, keyPair: pair}
}

/** skopeo with the insecure policy; throws with stderr on failure. */
export function skopeo(...args: string[]): string {
  return execFileSync('skopeo', ['--insecure-policy', ...args], {encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe']})
}

/** Digest of what `skopeo inspect --raw` returns for a reference (the stored manifest bytes). */
export function skopeoDigest(ref: string, flags: string[]): string {
  const raw = execFileSync('skopeo', ['--insecure-policy', 'inspect', '--raw', ...flags, `docker://${ref}`], {maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe']})
  return `sha256:${createHash('sha256').update(raw).digest('hex')}`
}

/** GET /v2/_catalog of a plain-HTTP registry (sorted repository names). */
export async function catalog(url: string): Promise<string[]> {
  const res = await fetch(`${url}/v2/_catalog?n=1000`)
  const body = (await res.json()) as {repositories?: string[]}
  return [...(body.repositories ?? [])].sort()
}
