/**
 * Client of the Go render oracle (test/support/render-oracle/*.go): builds it once per source
 * hash into the temp folder, runs it as one long-lived process and sends it render requests
 * (JSON lines) in batches. Tests that need it fail under CI=true when Go or Sprig is missing,
 * and are skipped with the reason printed otherwise.
 */
import {execFileSync, spawn, type ChildProcessWithoutNullStreams} from 'node:child_process'
import {createHash} from 'node:crypto'
import {existsSync, mkdirSync, readFileSync, readdirSync, renameSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {dirname, join} from 'node:path'
import {fileURLToPath} from 'node:url'

const SOURCE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'render-oracle')
const GOPATH = '/usr/share/gocode'
const SPRIG = join(GOPATH, 'src/github.com/Masterminds/sprig')

export interface OracleRequest {
  /** Chart files (path -> text), or `archive`: a .tgz on disk. */
  files?: Record<string, string>
  archive?: string
  values?: Record<string, unknown>
  release?: {name: string; namespace: string; revision: number; isInstall: boolean; isUpgrade: boolean}
  kubeVersion?: string
  apiVersions?: readonly string[]
  helmVersion?: string
  seed?: number
}

export interface OracleResponse {
  manifests?: Record<string, string>
  error?: string
}

/** Why the oracle cannot run here, or undefined when it can. */
export function oracleUnavailable(): string | undefined {
  try {
    execFileSync('go', ['version'], {stdio: 'pipe'})
  } catch {
    return 'Go is not installed (apt-get install golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v2-dev)'
  }
  if (!existsSync(SPRIG)) return `Sprig is not installed at ${SPRIG} (apt-get install golang-github-masterminds-sprig-dev)`
  return undefined
}

/** Build (or reuse) the oracle binary; returns its path. */
export function buildOracle(): string {
  const hash = createHash('sha256')
  for (const f of readdirSync(SOURCE_DIR).filter((n) => n.endsWith('.go')).sort()) hash.update(f).update(readFileSync(join(SOURCE_DIR, f)))
  const root = join(tmpdir(), 'airgap-render-oracle')
  const dir = join(root, hash.digest('hex').slice(0, 16))
  const bin = join(dir, 'render-oracle')
  if (existsSync(bin)) return bin
  mkdirSync(dir, {recursive: true})
  const tmp = `${bin}.${process.pid}`
  execFileSync('go', ['build', '-o', tmp, '.'], {
    cwd: SOURCE_DIR,
    stdio: 'pipe',
    env: {...process.env, GO111MODULE: 'off', GOPATH, GOCACHE: join(root, 'gocache'), GOFLAGS: ''},
  })
  renameSync(tmp, bin)
  return bin
}

/** One running oracle process. */
export class RenderOracle {
  private readonly child: ChildProcessWithoutNullStreams
  private buffer = ''
  private nextId = 1
  private readonly pending = new Map<number, (r: OracleResponse) => void>()

  constructor(binary = buildOracle()) {
    this.child = spawn(binary, [], {env: {...process.env, TZ: 'UTC'}, stdio: 'pipe'})
    this.child.stdout.setEncoding('utf8')
    this.child.stdout.on('data', (chunk: string) => {
      this.buffer += chunk
      let nl: number
      while ((nl = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, nl)
        this.buffer = this.buffer.slice(nl + 1)
        const r = JSON.parse(line) as OracleResponse & {id: number}
        this.pending.get(r.id)?.(r)
        this.pending.delete(r.id)
      }
    })
    this.child.stderr.resume()
  }

  render(req: OracleRequest): Promise<OracleResponse> {
    const id = this.nextId++
    return new Promise((resolve) => {
      this.pending.set(id, resolve)
      this.child.stdin.write(`${JSON.stringify({id, ...req})}\n`)
    })
  }

  renderAll(reqs: OracleRequest[]): Promise<OracleResponse[]> {
    return Promise.all(reqs.map((r) => this.render(r)))
  }

  close(): void {
    this.child.stdin.end()
  }
}
