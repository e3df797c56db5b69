/** Fixtures for the `airgap serve` integration tests: a bundle of generated content and small clients. */
import {execFile, spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {connect} from 'node:net'
import {Readable} from 'node:stream'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'
import {BundleWriter, buildIndexJson, type IndexEntry} from '../../src/bundle/index.js'
import {makeHelmChart, makeImage, makeIndex, type Generated, type GeneratedChart, type GeneratedImage, type GeneratedIndex} from '../support/images.js'

const run = promisify(execFile)

/** Run skopeo (no policy file needed); returns stdout. */
export async function skopeo(...args: string[]): Promise<string> {
  const {stdout} = await run('skopeo', ['--insecure-policy', ...args], {maxBuffer: 64 * 1024 * 1024})
  return stdout
}

/** skopeo's failure text (stderr), or '' when it succeeded. */
export async function skopeoError(...args: string[]): Promise<string> {
  try {
    await skopeo(...args)
    return ''
  } catch (err) {
    return String((err as {stderr?: string}).stderr ?? err)
  }
}

export interface ServeFixture {
  path: string
  /** docker.io/acme/multi:v1: OCI index, amd64 + arm64/v8 sharing a base layer. */
  multi: GeneratedIndex
  /** docker.io/acme/app:1: a single OCI image. */
  app: GeneratedImage
  /** quay.io/acme/app:1: another image whose short name collides with docker.io/acme/app. */
  quayApp: GeneratedImage
  /** docker.io/acme/legacy:2: a Docker schema 2 image. */
  legacy: GeneratedImage
  /** charts.wandb.ai/operator-wandb:0.43.8 and :0.43.9 (Helm OCI artifacts). */
  charts: GeneratedChart[]
}

export const REFS = {
  multi: 'docker.io/acme/multi:v1',
  app: 'docker.io/acme/app:1',
  quayApp: 'quay.io/acme/app:1',
  legacy: 'docker.io/acme/legacy:2',
  chartOld: 'charts.wandb.ai/operator-wandb:0.43.8',
  chartNew: 'charts.wandb.ai/operator-wandb:0.43.9',
} as const

/** Write a bundle (BundleWriter + buildIndexJson, as `airgap pull` does) of generated content. */
export async function buildServeBundle(path: string): Promise<ServeFixture> {
  const multi = await makeIndex({seed: 'serve-multi', sharedLayers: 1, layers: 1, fileSize: 30_000})
  const app = await makeImage({seed: 'serve-app', layers: 2})
  const quayApp = await makeImage({seed: 'serve-quay-app', layers: 1})
  const legacy = await makeImage({seed: 'serve-legacy', format: 'docker', layers: 1})
  const charts = [await makeHelmChart({name: 'operator-wandb', version: '0.43.8'}), await makeHelmChart({name: 'operator-wandb', version: '0.43.9', appVersion: '1.1.0'})]
  const named: Array<[string, Generated]> = [
    [REFS.multi, multi],
    [REFS.app, app],
    [REFS.quayApp, quayApp],
    [REFS.legacy, legacy],
    [REFS.chartOld, charts[0]!],
    [REFS.chartNew, charts[1]!],
  ]
  const all = named.flatMap(([, g]) => g.blobs)
  const writer = await BundleWriter.open({out: path, blobs: all.map((b) => b.descriptor)})
  for (const b of all) await writer.push(b.descriptor, Readable.from([b.bytes]))
  const entries: IndexEntry[] = named.map(([ref, g]) => ({ref, desc: g.root}))
  await writer.finish({indexJson: buildIndexJson(entries), files: {'airgap/lock.json': Buffer.from('{}\n')}})
  return {path, multi, app, quayApp, legacy, charts}
}

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))

export interface ServeProcess {
  child: ChildProcessWithoutNullStreams
  /** The registry URL the banner printed. */
  url: string
  out: () => string
  err: () => string
  exited: Promise<number | null>
}

/** Start the built `airgap serve …` and resolve once it printed the registry URL. */
export function spawnServe(args: string[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {stdio: ['pipe', 'pipe', 'pipe']})
  let out = ''
  let err = ''
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${out} ${err}`)), 30_000)
    child.stderr.on('data', (c: Buffer) => (err += c.toString()))
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString()
      const m = out.match(/registry\s+(http\S+)/)
      if (m && out.includes('Ctrl-C')) {
        clearTimeout(timer)
        resolve({child, url: m[1]!, out: () => out, err: () => err, exited})
      }
    })
    void exited.then((code) => reject(new Error(`serve exited ${code}: ${out} ${err}`)))
  })
}

/**
 * Send `head` (request line and headers, CRLF-separated, without the blank line) and `body` as
 * raw bytes, exactly as written (no client normalises the target), with `Connection: close`, and
 * resolve with the status code of the answer once the server closed the connection (0 when it
 * closed without answering).
 */
export function rawStatus(address: string, head: string, body = ''): Promise<number> {
  const colon = address.lastIndexOf(':')
  return new Promise((resolve) => {
    const socket = connect(Number(address.slice(colon + 1)), address.slice(0, colon))
    let answer = ''
    const timer = setTimeout(() => socket.destroy(), 20_000)
    const done = (): void => {
      clearTimeout(timer)
      const m = answer.match(/^HTTP\/1\.1 (\d{3})/)
      resolve(m ? Number(m[1]) : 0)
    }
    socket.on('data', (c: Buffer) => (answer += c.toString('latin1', 0, Math.min(c.length, 4096))))
    socket.on('close', done)
    socket.on('error', () => undefined) // 'close' follows
    socket.write(`${head}\r\nConnection: close\r\n\r\n${body}`)
  })
}
