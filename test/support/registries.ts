/**
 * The registry under test: one interface over the two registries the push suites run against,
 *
 *  - `distribution`: the real distribution 2.8 registries of the rig (shared ones, or a private
 *    instance of its own when a test must stop, kill or restart it), and
 *  - `serve`: `airgap serve DIR --writable` spawned from the built CLI (bin/run.js) as a real
 *    process on a fresh OCI layout folder, with `--htpasswd` and `--tls-cert/--tls-key` (the rig's
 *    certificate) for the auth modes it supports (plain, htpasswd, TLS + htpasswd; no token auth).
 *
 *   describe.each(REGISTRY_KINDS)('push into $label', (kind) => {
 *     it('…', async () => { const reg = await kind.open('plain', {fresh: true}); … await reg.stop() })
 *   })
 */
import {execFileSync, spawn, type ChildProcess} from 'node:child_process'
import {readFileSync} from 'node:fs'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {Agent, fetch as undiciFetch} from 'undici'
import {basicAuth, services, startRegistry, type Credentials, type RegistryHandle, type RegistryInfo, type RegistryMode} from './services.js'

const BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url))
const START_TIMEOUT_MS = 30_000

export type RegistryKind = 'distribution' | 'serve'

/** One running registry, whatever implements it. */
export interface RegistryUnderTest {
  kind: RegistryKind
  mode: RegistryMode
  /** `127.0.0.1:PORT` */
  host: string
  /** `http://127.0.0.1:PORT` or `https://…` */
  url: string
  /** Full-access user when the mode requires authentication. */
  credentials?: Credentials
  /** Flags that let the airgap CLI reach it (`--plain-http HOST` or `--ca-file CA`). */
  connFlags(): string[]
  /** Flags that let skopeo read it (TLS and credentials). */
  skopeoFlags(): string[]
  /** `GET /v2/_catalog`: sorted repository names (with credentials and CA as needed). */
  catalog(): Promise<string[]>
  /**
   * Make a manifest disappear as a client sees it: distribution deletes it through the API
   * (`DELETE /v2/<repo>/manifests/<digest>`, 202); serve has no DELETE, so the manifest's blob
   * file is removed from the layout folder.
   */
  removeManifest(repository: string, digest: string): Promise<void>
  /** Hard kill (SIGKILL) of the registry process, e.g. to break a push midway. */
  kill(): Promise<void>
  /** Start it again on the same port with the same storage. */
  restart(): Promise<void>
  /** Stop it (a shared rig registry is left running). */
  stop(): Promise<void>
}

export interface OpenOptions {
  /** A private instance that this test may kill, restart and stop (default: a shared one when there is one). */
  fresh?: boolean
}

/** A kind of registry the push suites run against. */
export interface RegistryKindInfo {
  kind: RegistryKind
  /** For test titles. */
  label: string
  /** Why `mode` is not supported by this kind, or undefined when it is. */
  unsupported(mode: RegistryMode): string | undefined
  /** A running registry in `mode`. */
  open(mode: RegistryMode, opts?: OpenOptions): Promise<RegistryUnderTest>
}

// ---------------------------------------------------------------------------------------------
// Shared helpers

function connFlagsFor(url: string, host: string): string[] {
  return url.startsWith('https:') ? ['--ca-file', services().tls.caFile] : ['--plain-http', host]
}

function skopeoFlagsFor(url: string, creds: Credentials | undefined): string[] {
  const tls = url.startsWith('https:') ? ['--cert-dir', services().tls.certDir] : ['--tls-verify=false']
  return [...tls, ...(creds ? ['--creds', `${creds.username}:${creds.password}`] : [])]
}

let tlsAgent: Agent | undefined
/** GET /v2/_catalog (every page) with basic credentials and the rig CA (not for token auth). */
async function basicCatalog(url: string, mode: RegistryMode, creds: Credentials | undefined): Promise<string[]> {
  if (mode === 'token') throw new Error('catalog(): a token-auth registry needs the token flow; use a plain, htpasswd or tls registry')
  tlsAgent ??= new Agent({connect: {ca: readFileSync(services().tls.caFile)}})
  const names: string[] = []
  let next: string | undefined = '/v2/_catalog?n=1000'
  while (next) {
    const res = await undiciFetch(new URL(next, url), {
      headers: creds ? {authorization: basicAuth(creds)} : {},
      ...(url.startsWith('https:') ? {dispatcher: tlsAgent} : {}),
    })
    if (res.status !== 200) throw new Error(`GET ${url}${next}: HTTP ${res.status} ${await res.text()}`)
    names.push(...(((await res.json()) as {repositories?: string[]}).repositories ?? []))
    next = res.headers.get('link')?.match(/<([^>]+)>;\s*rel="next"/)?.[1]
  }
  return names.sort()
}

// ---------------------------------------------------------------------------------------------
// distribution 2.8 (the rig)

function distribution(info: RegistryInfo, handle: RegistryHandle | undefined): RegistryUnderTest {
  const creds = info.mode === 'plain' ? undefined : services().credentials.admin
  const own = (what: string): RegistryHandle => {
    if (!handle) throw new Error(`${what}: ${info.name} is a shared rig registry; open one with {fresh: true}`)
    return handle
  }
  return {
    kind: 'distribution',
    mode: info.mode,
    host: info.host,
    url: info.url,
    ...(creds ? {credentials: creds} : {}),
    connFlags: () => connFlagsFor(info.url, info.host),
    skopeoFlags: () => skopeoFlagsFor(info.url, creds),
    catalog: () => basicCatalog(info.url, info.mode, creds),
    async removeManifest(repository, digest) {
      if (info.mode !== 'plain') throw new Error('removeManifest(): implemented for a plain registry only')
      const res = await fetch(`${info.url}/v2/${repository}/manifests/${digest}`, {method: 'DELETE'})
      if (res.status !== 202) throw new Error(`DELETE ${repository}@${digest}: HTTP ${res.status} ${await res.text()}`)
    },
    kill: () => own('kill()').kill(),
    restart: () => own('restart()').restart(),
    stop: async () => handle?.stop(),
  }
}

const DISTRIBUTION: RegistryKindInfo = {
  kind: 'distribution',
  label: 'distribution 2.8',
  unsupported: () => undefined,
  async open(mode, opts = {}) {
    if (!opts.fresh) return distribution(services().registries[mode], undefined)
    const handle = await startRegistry({mode})
    return distribution(handle, handle)
  },
}

// ---------------------------------------------------------------------------------------------
// airgap serve --writable (spawned CLI)

const live = new Set<ChildProcess>()
let exitHook = false
/** Kill every serve process this worker started when it exits without stopping them. */
function track(child: ChildProcess): void {
  live.add(child)
  child.once('exit', () => live.delete(child))
  if (!exitHook) {
    exitHook = true
    process.once('exit', () => {
      for (const c of live) c.kill('SIGKILL')
    })
  }
}

interface Started {
  child: ChildProcess
  url: string
  exited: Promise<void>
}

/** Spawn `airgap serve` and resolve once it printed its registry URL and is ready. */
function spawnServe(args: string[]): Promise<Started> {
  const child = spawn(process.execPath, [BIN, 'serve', ...args], {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, AIRGAP_DEBUG: ''}})
  track(child)
  let out = ''
  let err = ''
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`airgap serve ${args.join(' ')} did not start in ${START_TIMEOUT_MS} ms: ${out} ${err}`))
    }, START_TIMEOUT_MS)
    child.stderr!.on('data', (c: Buffer) => {
      err = (err + c.toString()).slice(-4000)
    })
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString()
      const m = out.match(/registry\s+(https?:\/\/\S+)/)
      if (m && out.includes('Ctrl-C')) {
        clearTimeout(timer)
        out = ''
        resolve({child, url: m[1]!, exited})
      }
    })
    void exited.then(() => {
      clearTimeout(timer)
      reject(new Error(`airgap serve ${args.join(' ')} exited (${child.exitCode ?? child.signalCode}): ${out} ${err}`))
    })
  })
}

async function htpasswdFile(dir: string): Promise<string> {
  const {admin, reader} = services().credentials
  const line = (c: Credentials): string => execFileSync('htpasswd', ['-Bbn', c.username, c.password], {encoding: 'utf8'}).trim()
  const file = join(dir, 'htpasswd')
  await writeFile(file, `${line(admin)}\n${line(reader)}\n`)
  return file
}

/** `airgap serve DIR --writable` in `mode` on a fresh layout folder (and a free port). */
async function openServe(mode: RegistryMode): Promise<RegistryUnderTest> {
  const reason = SERVE.unsupported(mode)
  if (reason) throw new Error(`airgap serve cannot run in ${mode} mode: ${reason}`)
  const root = await mkdtemp(join(tmpdir(), `airgap-serve-${mode}-`))
  const layout = join(root, 'layout')
  const extra: string[] = []
  if (mode !== 'plain') extra.push('--htpasswd', await htpasswdFile(root))
  if (mode === 'tls') extra.push('--tls-cert', services().tls.serverCert, '--tls-key', services().tls.serverKey)
  const argsFor = (addr: string): string[] => [layout, '--writable', '--addr', addr, ...extra]
  let current: Started | undefined = await spawnServe(argsFor('127.0.0.1:0'))
  const url = current.url
  const host = new URL(url).host
  const creds = mode === 'plain' ? undefined : services().credentials.admin

  const halt = async (signal: NodeJS.Signals): Promise<void> => {
    const c = current
    current = undefined
    if (!c || c.child.exitCode !== null || c.child.signalCode !== null) return
    c.child.kill(signal)
    await c.exited
  }
  return {
    kind: 'serve',
    mode,
    host,
    url,
    ...(creds ? {credentials: creds} : {}),
    connFlags: () => connFlagsFor(url, host),
    skopeoFlags: () => skopeoFlagsFor(url, creds),
    catalog: () => basicCatalog(url, mode, creds),
    async removeManifest(_repository, digest) {
      const [alg, hex] = digest.split(':')
      await rm(join(layout, 'blobs', alg!, hex!))
    },
    kill: () => halt('SIGKILL'),
    async restart() {
      await halt('SIGTERM')
      current = await spawnServe(argsFor(host))
      if (current.url !== url) throw new Error(`airgap serve restarted on ${current.url}, not ${url}`)
    },
    async stop() {
      await halt('SIGTERM')
      await rm(root, {recursive: true, force: true})
    },
  }
}

const SERVE: RegistryKindInfo = {
  kind: 'serve',
  label: 'airgap serve --writable',
  unsupported: (mode) => (mode === 'token' ? 'airgap serve has no token auth (only htpasswd basic auth)' : undefined),
  open: (mode) => openServe(mode),
}

/** Every kind of registry the push suites run against. */
export const REGISTRY_KINDS: RegistryKindInfo[] = [DISTRIBUTION, SERVE]

/** A test title that says why the test is skipped for `kind` (unchanged when it runs). */
export function titleFor(title: string, kind: RegistryKindInfo, skipReason: string | undefined): string {
  return skipReason ? `${title} [skipped for ${kind.label}: ${skipReason}]` : title
}
