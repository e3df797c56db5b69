/**
 * Credential stores: explicit credentials given in code, Docker `config.json` / containers
 * `auth.json` files (auths, credHelpers, credsStore) and docker-credential-* helpers.
 */
import {spawn} from 'node:child_process'
import {homedir} from 'node:os'
import {join} from 'node:path'
import {AuthError, SpecError} from '../errors.js'
import {readInputFile, readOptionalInputFile, type InputFileKind} from '../files/input-file.js'
import type {Credential, CredentialStore} from './types.js'

/** The key Docker uses for Docker Hub credentials. */
export const DOCKER_HUB_KEY = 'https://index.docker.io/v1/'
const DOCKER_HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io'])

/**
 * Normalise a registry name or config.json key to `host[:port]`: strip scheme and path, lower-case,
 * and fold Docker Hub's aliases to `docker.io`.
 */
export function normalizeRegistryKey(key: string): string {
  const host = key
    .trim()
    .replace(/^[a-z][a-z0-9+.-]*:\/\//i, '')
    .replace(/\/.*$/, '')
    .toLowerCase()
  return DOCKER_HUB_ALIASES.has(host) ? 'docker.io' : host
}

/** The server URL a credential helper is asked about for `registry`. */
export function helperServerUrl(registry: string): string {
  const host = normalizeRegistryKey(registry)
  return host === 'docker.io' ? DOCKER_HUB_KEY : host
}

/** Credentials passed in code (e.g. from a --creds option), keyed by registry. */
export class StaticCredentialStore implements CredentialStore {
  private readonly map = new Map<string, Credential>()
  constructor(entries: Record<string, Credential> = {}) {
    for (const [k, v] of Object.entries(entries)) this.map.set(normalizeRegistryKey(k), v)
  }
  set(registry: string, credential: Credential): void {
    this.map.set(normalizeRegistryKey(registry), credential)
  }
  async get(registry: string): Promise<Credential | undefined> {
    return this.map.get(normalizeRegistryKey(registry))
  }
}

/** Tries each store in order; the first that knows the registry wins. */
export class ChainCredentialStore implements CredentialStore {
  constructor(private readonly stores: readonly CredentialStore[]) {}
  async get(registry: string): Promise<Credential | undefined> {
    for (const store of this.stores) {
      const c = await store.get(registry)
      if (c) return c
    }
    return undefined
  }
}

interface AuthEntry {
  auth?: string
  username?: string
  password?: string
  identitytoken?: string
  registrytoken?: string
}

interface ConfigFile {
  auths?: Record<string, AuthEntry>
  credHelpers?: Record<string, string>
  credsStore?: string
}

/** Decode one `auths` entry; undefined when it holds nothing usable (e.g. `{}` next to a credsStore). */
export function credentialFromEntry(entry: AuthEntry, file: string, key: string): Credential | undefined {
  const c: Credential = {}
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8')
    const i = decoded.indexOf(':')
    if (i < 0) throw new SpecError(`the "auth" value for ${key} is not base64 of user:password`, file, `auths.${key}.auth`, {
      hint: `run docker login ${key} again, or fix ${file}`,
    })
    c.username = decoded.slice(0, i)
    c.password = decoded.slice(i + 1)
  }
  if (entry.username) c.username = entry.username
  if (entry.password) c.password = entry.password
  if (entry.identitytoken) c.identityToken = entry.identitytoken
  if (entry.registrytoken) c.registryToken = entry.registrytoken
  return Object.keys(c).length ? c : undefined
}

/** Options for finding the credential file(s). */
export interface ConfigLocation {
  /** An explicit config.json / auth.json path; when set, nothing else is read. */
  file?: string
  /** Environment to read DOCKER_CONFIG / REGISTRY_AUTH_FILE / HOME from (default process.env). */
  env?: NodeJS.ProcessEnv
}

/**
 * Files to consult, in order: the explicit file; else `$REGISTRY_AUTH_FILE` (containers auth.json)
 * and then `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
 */
export function configFiles(location: ConfigLocation = {}): string[] {
  if (location.file) return [location.file]
  const env = location.env ?? process.env
  const files: string[] = []
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE)
  const dockerDir = env.DOCKER_CONFIG ?? join(env.HOME ?? homedir(), '.docker')
  files.push(join(dockerDir, 'config.json'))
  return files
}

/** A Docker config.json / containers auth.json file. */
const CREDENTIAL_FILE: InputFileKind = {what: 'credential file', maxBytes: 16 * 1024 * 1024, refusal: 'input', hint: 'pass a readable Docker config.json / auth.json file'}

/** One Docker config.json / containers auth.json file. A missing file means "no credentials". */
export class DockerConfigStore implements CredentialStore {
  private config: Promise<ConfigFile | undefined> | undefined
  constructor(
    readonly file: string,
    private readonly required = false,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  private load(): Promise<ConfigFile | undefined> {
    this.config ??= (this.required ? readInputFile(this.file, CREDENTIAL_FILE) : readOptionalInputFile(this.file, CREDENTIAL_FILE)).then((bytes) => {
      if (bytes === undefined) return undefined
      try {
        return JSON.parse(bytes.toString('utf8')) as ConfigFile
      } catch (err) {
        throw new SpecError(`credential file ${this.file} is not valid JSON: ${(err as Error).message}`, this.file, undefined, {
          hint: 'fix or remove the file, or run docker login again',
        })
      }
    })
    return this.config
  }

  async get(registry: string): Promise<Credential | undefined> {
    const config = await this.load()
    if (!config) return undefined
    const host = normalizeRegistryKey(registry)
    const helper = findByHost(config.credHelpers, host)
    if (helper) return runCredentialHelper(helper, registry, this.env)
    if (config.credsStore) {
      const fromStore = await runCredentialHelper(config.credsStore, registry, this.env)
      if (fromStore) return fromStore
    }
    const entry = config.auths && findEntry(config.auths, host)
    return entry ? credentialFromEntry(entry[1], this.file, entry[0]) : undefined
  }
}

function findByHost(map: Record<string, string> | undefined, host: string): string | undefined {
  if (!map) return undefined
  for (const [k, v] of Object.entries(map)) if (normalizeRegistryKey(k) === host) return v
  return undefined
}

function findEntry(auths: Record<string, AuthEntry>, host: string): [string, AuthEntry] | undefined {
  // an exact key wins over a normalised one (e.g. both "reg" and "https://reg/v1/")
  if (auths[host]) return [host, auths[host]]
  for (const [k, v] of Object.entries(auths)) if (normalizeRegistryKey(k) === host) return [k, v]
  return undefined
}

/**
 * Ask `docker-credential-<name> get` for `registry`'s credentials (server URL on stdin, JSON on
 * stdout). "credentials not found" means anonymous; Username `<token>` marks an identity token.
 */
export async function runCredentialHelper(
  name: string,
  registry: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Credential | undefined> {
  const program = `docker-credential-${name}`
  const serverUrl = helperServerUrl(registry)
  const ctx = {registry}
  const {code, stdout, stderr, spawnError} = await new Promise<{
    code: number | null
    stdout: string
    stderr: string
    spawnError?: NodeJS.ErrnoException
  }>((resolve) => {
    const child = spawn(program, ['get'], {env, stdio: ['pipe', 'pipe', 'pipe']})
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d))
    child.on('error', (e: NodeJS.ErrnoException) => resolve({code: null, stdout: out, stderr: err, spawnError: e}))
    child.on('close', (c) => resolve({code: c, stdout: out, stderr: err}))
    child.stdin.on('error', () => undefined)
    child.stdin.end(serverUrl)
  })
  if (spawnError) {
    throw new AuthError(ctx, `credential helper ${program} could not be run (${spawnError.code ?? spawnError.message})`, {
      hint: `install ${program} on PATH, or remove it from credHelpers/credsStore in the Docker config`,
    })
  }
  if (code !== 0) {
    if (/credentials not found/i.test(stdout + stderr)) return undefined
    // the helper's output may echo secrets; report only the first line of stderr, trimmed
    const reason = (stderr || stdout).split('\n')[0]?.trim().slice(0, 200) || `exit code ${code}`
    throw new AuthError(ctx, `credential helper ${program} failed: ${reason}`, {
      hint: `run "echo ${serverUrl} | ${program} get" to check the helper, or log in again`,
    })
  }
  let parsed: {Username?: string; Secret?: string}
  try {
    parsed = JSON.parse(stdout) as {Username?: string; Secret?: string}
  } catch {
    throw new AuthError(ctx, `credential helper ${program} printed something that is not JSON`, {
      hint: `run "echo ${serverUrl} | ${program} get" to check the helper`,
    })
  }
  if (!parsed.Secret) return undefined
  if (parsed.Username === '<token>') return {identityToken: parsed.Secret}
  return {username: parsed.Username ?? '', password: parsed.Secret}
}

/** What a caller knows about credentials: explicit ones, a config file, or the default lookup. */
export interface CredentialStoreOptions extends ConfigLocation {
  /** Explicit credentials by registry; they win over files. */
  credentials?: Record<string, Credential>
}

/** The default store: explicit credentials, then the config files of `configFiles()`. */
export function defaultCredentialStore(options: CredentialStoreOptions = {}): CredentialStore {
  const env = options.env ?? process.env
  const stores: CredentialStore[] = []
  if (options.credentials) stores.push(new StaticCredentialStore(options.credentials))
  for (const file of configFiles(options)) stores.push(new DockerConfigStore(file, Boolean(options.file), env))
  return new ChainCredentialStore(stores)
}
