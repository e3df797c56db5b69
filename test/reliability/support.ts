/**
 * Shared helpers for the reliability suite: temp work folders, file-tree snapshots (to prove a
 * run wrote nothing outside its folder), seeding generated images into a real registry, specs,
 * keys, and the CLI wrapper with the environment the suite needs.
 */
import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtemp, readdir, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {RegistryClient} from '../../src/registry/index.js'
import {StaticCredentialStore} from '../../src/auth/store.js'
import {generateKeyPair} from '../../src/signing/index.js'
import {loadInto, makeImage, makeIndex, type Generated} from '../support/images.js'
import {runCli, type CliResult} from '../support/cli.js'

export const KEY_PASSWORD = 'reliability-key-pw'

/** A fresh temp folder; remove it with `cleanup()`. */
export async function workDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `airgap-rel-${prefix}-`))
}

export async function cleanup(...dirs: string[]): Promise<void> {
  await Promise.all(dirs.map((d) => rm(d, {recursive: true, force: true})))
}

/** Every path under `dir` with its size (directories end in `/`). */
export async function snapshot(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  async function walk(d: string, rel: string): Promise<void> {
    let names: string[]
    try {
      names = await readdir(d)
    } catch {
      return
    }
    for (const name of names.sort()) {
      const p = join(d, name)
      const r = rel ? `${rel}/${name}` : name
      const s = await stat(p).catch(() => undefined)
      if (!s) continue
      if (s.isDirectory()) {
        out.set(`${r}/`, 0)
        await walk(p, r)
      } else out.set(r, s.size)
    }
  }
  await walk(dir, '')
  return out
}

/** Paths added between two snapshots. */
export function added(before: Map<string, number>, after: Map<string, number>): string[] {
  return [...after.keys()].filter((k) => !before.has(k))
}

/** A RegistryClient on a plain-HTTP registry host (optionally with credentials). */
export function plainClient(host: string, cred?: {username: string; password: string}): RegistryClient {
  return new RegistryClient(host, {
    httpOptions: {plainHttp: [host], retry: {retries: 1, baseDelayMs: 20}},
    credentials: new StaticCredentialStore(cred ? {[host]: cred} : {}),
  })
}

/** Push a generated graph to `host/repo:tag`. */
export async function seed(host: string, repo: string, g: Generated, tag: string, cred?: {username: string; password: string}): Promise<void> {
  const client = plainClient(host, cred)
  try {
    await loadInto(client.repository(repo), g, tag)
  } finally {
    await client.close()
  }
}

/** The small image set pulled by the fault and crash tests: an index and two images sharing a layer. */
export async function smallImages(seedName: string, fileSize = 64 * 1024): Promise<Array<{repo: string; tag: string; g: Generated}>> {
  const multi = await makeIndex({seed: `${seedName}-multi`, sharedLayers: 1, layers: 1, fileSize})
  const app = await makeImage({seed: `${seedName}-app`, layers: 2, fileSize, baseLayers: [multi.images[0]!.layers[0]!]})
  const tool = await makeImage({seed: `${seedName}-tool`, layers: 1, fileSize, platform: 'linux/arm64'})
  return [
    {repo: `rel/${seedName}/multi`, tag: 'v1', g: multi},
    {repo: `rel/${seedName}/app`, tag: '1.0', g: app},
    {repo: `rel/${seedName}/tool`, tag: '2', g: tool},
  ]
}

/** An airgap.yaml that carries exactly `images`. */
export function imagesSpec(name: string, images: readonly string[]): string {
  return [
    'apiVersion: airgap.dev/v1alpha1',
    'kind: ReleaseSpec',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  images:',
    ...images.map((i) => `    - ${i}`),
    '',
  ].join('\n')
}

export async function writeSpec(dir: string, name: string, images: readonly string[]): Promise<string> {
  const file = join(dir, 'airgap.yaml')
  await writeFile(file, imagesSpec(name, images))
  return file
}

/** A cosign key pair in `dir` (cosign.key encrypted with KEY_PASSWORD, cosign.pub). */
export async function keyPair(dir: string, name = 'cosign'): Promise<{key: string; pub: string}> {
  const {privateKeyPem: priv, publicKeyPem: pub} = generateKeyPair(KEY_PASSWORD, {scryptN: 32768})
  const key = join(dir, `${name}.key`)
  const pubFile = join(dir, `${name}.pub`)
  await writeFile(key, priv, {mode: 0o600})
  await writeFile(pubFile, pub)
  return {key, pub: pubFile}
}

/**
 * The pull time these runs record (SOURCE_DATE_EPOCH): they compare the bundle of an interrupted or
 * faulted pull with an undisturbed one, so the lock's `created` must not follow the clock.
 */
export const PULL_EPOCH = '1700000000'

/** Run the CLI with the key password set, the pull time fixed and colours off. */
export function cli(args: string[], opts: {env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number} = {}): Promise<CliResult> {
  return runCli(args, {...opts, env: {AIRGAP_KEY_PASSWORD: KEY_PASSWORD, SOURCE_DATE_EPOCH: PULL_EPOCH, NO_COLOR: '1', FORCE_COLOR: '0', ...opts.env}})
}

/** The one error line a failed run printed (the last line starting with "Error"). */
export function errorLine(r: CliResult): string {
  const lines = r.stderr.split('\n').filter((l) => /^\s*(Error|›\s+Error)/.test(l))
  return lines.at(-1)?.trim() ?? r.stderr.trim().split('\n').at(-1) ?? ''
}

/** `skopeo inspect --raw` digest of a manifest in a plain-HTTP registry. */
export function skopeoDigest(ref: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('skopeo', ['--insecure-policy', 'inspect', '--tls-verify=false', '--raw', `docker://${ref}`], {maxBuffer: 16 << 20, encoding: 'buffer'}, (err, stdout) => {
      if (err) reject(err)
      else resolve(`sha256:${createHashHex(stdout)}`)
    })
  })
}

function createHashHex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex')
}

const ACCEPT = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
].join(', ')

/**
 * Walk an image graph in a real registry with plain fetch (independent of airgap's client): every
 * manifest and blob is downloaded and hashed. Returns the number of nodes checked; throws on the
 * first missing or corrupt one.
 */
export async function checkStoredGraph(host: string, repo: string, digest: string, mediaType: string): Promise<number> {
  const {successors} = await import('../../src/oci/manifest.js')
  let checked = 0
  const seen = new Set<string>()
  async function visit(d: {digest: string; mediaType: string; size?: number}): Promise<void> {
    if (seen.has(d.digest)) return
    seen.add(d.digest)
    const graph = /manifest|index/.test(d.mediaType) && !/layer|config/.test(d.mediaType)
    const url = `http://${host}/v2/${repo}/${graph ? 'manifests' : 'blobs'}/${d.digest}`
    const res = await fetch(url, {headers: {accept: ACCEPT}})
    if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`)
    const bytes = Buffer.from(await res.arrayBuffer())
    const got = `sha256:${createHashHex(bytes)}`
    if (got !== d.digest) throw new Error(`${url}: stored content hashes to ${got}`)
    if (d.size !== undefined && d.size !== bytes.length) throw new Error(`${url}: stored size ${bytes.length}, expected ${d.size}`)
    checked += 1
    if (graph) for (const child of successors(bytes, {mediaType: d.mediaType, digest: d.digest, size: bytes.length})) await visit(child)
  }
  await visit({digest, mediaType})
  return checked
}
