/** Types for scripts/rig.mjs (the test-services rig; plain JS so shell scripts can use it too). */

export type RegistryMode = 'plain' | 'htpasswd' | 'token' | 'tls'
type Log = (line: string) => void

export interface Credentials {
  username: string
  password: string
}

export const REPO_ROOT: string
export const CREDENTIALS: Readonly<{admin: Credentials; reader: Credentials; uploader: Credentials}>
export const TOKEN_SERVICE: string
export const TOKEN_ISSUER: string
export const APT_PACKAGES: string[]

export interface RigPaths {
  rig: string
  registry: string
  data: string
  logs: string
  run: string
  tls: string
  auth: string
  helm: string
  helmRepo: string
  nginx: string
  containerd: string
  scratch: string
  caFile: string
  certDir: string
  serverCert: string
  serverKey: string
  tokenKey: string
  tokenCert: string
  htpasswd: string
  htpasswdNginx: string
  servicesFile: string
}

/** Serializable coordinates of one registry. */
export interface RegistryInfo {
  name: string
  mode: RegistryMode
  /** `127.0.0.1:PORT` */
  host: string
  port: number
  /** `http://127.0.0.1:PORT` or `https://…` for tls */
  url: string
  dataDir: string
  configFile: string
  logFile: string
  pidFile: string
  /** admin (full access) for htpasswd, tls and token modes */
  username?: string
  password?: string
  /** pull-only user for htpasswd, tls and token modes */
  reader?: Credentials
  caFile?: string
  certDir?: string
  tokenRealm?: string
  service?: string
}

export interface RegistryHandle extends RegistryInfo {
  readonly pid: number | undefined
  /** Graceful stop (SIGTERM); storage stays. */
  stop(): Promise<void>
  /** Hard kill (SIGKILL by default), e.g. to break a push midway. */
  kill(signal?: NodeJS.Signals): Promise<void>
  /** Start again on the same port with the same storage. */
  restart(): Promise<void>
}

export interface TokenServerInfo {
  url: string
  realm: string
  port: number
  service: string
  issuer: string
  pidFile: string
  logFile: string
}

export interface NginxInfo {
  url: string
  httpsUrl: string
  port: number
  httpsPort: number
  username: string
  password: string
  /** folder served as the repository root (holds index.yaml) */
  root: string
  caFile: string
  pidFile: string
  logFile: string
}

export interface ServicesInfo {
  available: true
  rig: string
  registries: Record<RegistryMode, RegistryInfo>
  tokenServer: TokenServerInfo
  tls: {caFile: string; certDir: string; serverCert: string; serverKey: string}
  nginx: NginxInfo
  credentials: {admin: Credentials; reader: Credentials; uploader: Credentials}
  startedAt: string
}

export interface ContainerdHandle {
  /** the containerd socket (pass to `ctr --address`) */
  address: string
  namespace: string
  /** an empty folder for hosts.toml trees */
  hostsDir: string
  pidFile: string
  logFile: string
  /** run `ctr --address <socket> ...args` */
  ctr(args: string[], opts?: {timeout?: number; env?: NodeJS.ProcessEnv}): Promise<{stdout: string; stderr: string}>
  stop(): Promise<void>
}

export function rigDir(dir?: string): string
export function rigPaths(rig?: string): RigPaths
export function missingPackages(): string[]
export function ensurePackages(opts?: {log?: Log}): void
export function freePort(host?: string): Promise<number>
export function pidAlive(pid: number): boolean
export function stopPidFile(pidFile: string, rig: string | undefined, opts?: {signal?: NodeJS.Signals; timeoutMs?: number}): Promise<void>
export function portFree(port: number, host?: string): Promise<boolean>
export function probe(url: string, opts?: {ca?: string | Buffer; timeoutMs?: number; headers?: Record<string, string>}): Promise<number | undefined>
export function prepareRig(rig?: string, opts?: {log?: Log}): Promise<RigPaths>
export function startRegistry(opts: {
  rig?: string
  name: string
  mode?: RegistryMode
  dataDir?: string
  port?: number
  tokenRealm?: string
  log?: Log
}): Promise<RegistryHandle>
export function startTokenServer(opts?: {rig?: string; port?: number; log?: Log}): Promise<TokenServerInfo & {stop(): Promise<void>}>
export function startNginx(opts?: {rig?: string; log?: Log}): Promise<NginxInfo & {stop(): Promise<void>}>
export function startContainerd(opts?: {rig?: string; log?: Log; name?: string}): Promise<ContainerdHandle>
export function startServices(opts?: {rig?: string; log?: Log}): Promise<ServicesInfo>
export function stopServices(rig?: string): Promise<string[]>
export function servicesStatus(rig?: string): {name: string; pid: number | undefined; alive: boolean}[]
export function runningServices(rigOrServicesJson?: string): Promise<ServicesInfo | undefined>
export function envLines(info: ServicesInfo): string[]
export function sweepStaleRigs(parent: string, prefix?: string): Promise<string[]>
