/**
 * Test rig: real services on 127.0.0.1 for integration tests, without systemd or Docker.
 * Plain Node ESM (no build step) so that scripts/test-services.sh and vitest's global setup share it.
 * Facts and quirks: /work/shared/reference/test-services.md.
 *
 * Everything lives under one folder `rig` (default `$AIRGAP_RIG` or `<repo>/.rig`):
 *   registry/*.yml  data/<name>/  logs/  run/*.pid  tls/  auth/  helm/repo/  nginx/  containerd/  scratch/
 * Ports are picked at run time (bind port 0, read back, close). Processes are stopped by pid file only.
 */
import {execFile, spawn, spawnSync} from 'node:child_process'
import {existsSync, openSync, closeSync, readFileSync, readdirSync, statSync} from 'node:fs'
import {chmod, chown, mkdir, readFile, rm, writeFile, copyFile} from 'node:fs/promises'
import {request as httpRequest} from 'node:http'
import {request as httpsRequest} from 'node:https'
import {createServer} from 'node:net'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {promisify} from 'node:util'

const execFileP = promisify(execFile)

/** Repository root (the folder holding scripts/). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const TOKEN_SERVER = join(REPO_ROOT, 'test', 'support', 'token-server.mjs')
const DAV_MODULE = '/usr/lib/nginx/modules/ngx_http_dav_ext_module.so'

/** Fixed test credentials (fixtures, not secrets). */
export const CREDENTIALS = Object.freeze({
  admin: {username: 'admin', password: 's3cret'},
  reader: {username: 'reader', password: 'readpw'},
  uploader: {username: 'uploader', password: 'up-pw'},
})
export const TOKEN_SERVICE = 'test-registry'
export const TOKEN_ISSUER = 'test-token-issuer'
const READY_TIMEOUT_MS = 20_000

/** Absolute rig folder: the argument, else $AIRGAP_RIG, else <repo>/.rig. */
export function rigDir(dir) {
  return resolve(dir ?? process.env.AIRGAP_RIG ?? join(REPO_ROOT, '.rig'))
}

/** Well-known paths inside a rig. */
export function rigPaths(rig) {
  const r = rigDir(rig)
  return {
    rig: r,
    registry: join(r, 'registry'), data: join(r, 'data'), logs: join(r, 'logs'), run: join(r, 'run'),
    tls: join(r, 'tls'), auth: join(r, 'auth'), helm: join(r, 'helm'), helmRepo: join(r, 'helm', 'repo'),
    nginx: join(r, 'nginx'), containerd: join(r, 'containerd'), scratch: join(r, 'scratch'),
    caFile: join(r, 'tls', 'ca.crt'), certDir: join(r, 'tls', 'client-certs'),
    serverCert: join(r, 'tls', 'server.crt'), serverKey: join(r, 'tls', 'server.key'),
    tokenKey: join(r, 'tls', 'token.key'), tokenCert: join(r, 'tls', 'token.crt'),
    htpasswd: join(r, 'auth', 'htpasswd'), htpasswdNginx: join(r, 'auth', 'htpasswd-nginx'),
    servicesFile: join(r, 'services.json'),
  }
}

// ---------------------------------------------------------------------------------------------
// Packages

const REQUIREMENTS = [
  {bin: 'docker-registry', pkg: 'docker-registry'}, {bin: 'skopeo', pkg: 'skopeo'},
  {bin: 'nginx', pkg: 'nginx'}, {file: DAV_MODULE, pkg: 'libnginx-mod-http-dav-ext'},
  {bin: 'htpasswd', pkg: 'apache2-utils'}, {bin: 'openssl', pkg: 'openssl'},
  {bin: 'containerd', pkg: 'containerd'}, {bin: 'ctr', pkg: 'containerd'},
  {bin: 'curl', pkg: 'curl'}, {bin: 'jq', pkg: 'jq'},
]
export const APT_PACKAGES = ['docker-registry', 'skopeo', 'nginx', 'libnginx-mod-http-dav-ext', 'apache2-utils', 'openssl', 'containerd', 'curl', 'jq']

function onPath(bin) {
  const dirs = (process.env.PATH ?? '').split(':').concat(['/usr/sbin', '/sbin', '/usr/bin'])
  return dirs.some((d) => d && existsSync(join(d, bin)))
}

/** Debian packages whose binary or file is missing. */
export function missingPackages() {
  const missing = REQUIREMENTS.filter((r) => (r.bin ? !onPath(r.bin) : !existsSync(r.file))).map((r) => r.pkg)
  return [...new Set(missing)]
}

let installAttempted = false
/**
 * Install the Debian packages when something is missing (root only, at most once per process).
 * Throws with the list of missing packages when they cannot be installed.
 */
export function ensurePackages({log = () => {}} = {}) {
  let missing = missingPackages()
  if (missing.length === 0) return
  const isRoot = process.getuid?.() === 0
  if (isRoot && !installAttempted) {
    installAttempted = true
    log(`installing missing packages: ${missing.join(' ')} (apt-get)`)
    const env = {...process.env, DEBIAN_FRONTEND: 'noninteractive'}
    const opts = {env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 * 1024 * 1024}
    const update = spawnSync('apt-get', ['update', '-qq'], opts)
    const install = update.status === 0 ? spawnSync('apt-get', ['install', '-y', '-qq', ...APT_PACKAGES], opts) : update
    if (install.status !== 0) log(`apt-get failed: ${tail(`${install.stdout}\n${install.stderr}`, 10)}`)
    missing = missingPackages()
  }
  if (missing.length > 0) {
    throw new Error(`test services need Debian packages: ${missing.join(' ')}; install them with ` +
      `\`apt-get install -y ${APT_PACKAGES.join(' ')}\`${isRoot ? '' : ' (as root)'}`)
  }
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function tail(text, lines = 20) {
  return text.split('\n').filter(Boolean).slice(-lines).join('\n')
}

function logTail(file, lines = 20) {
  try {
    return tail(readFileSync(file, 'utf8'), lines)
  } catch {
    return '(no log)'
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const yamlString = (s) => JSON.stringify(s) // JSON strings are valid YAML scalars

/** A free TCP port on host (bind port 0, read it back, close). */
export function freePort(host = '127.0.0.1') {
  return new Promise((res, rej) => {
    const srv = createServer()
    srv.unref()
    srv.on('error', rej)
    srv.listen(0, host, () => {
      const {port} = srv.address()
      srv.close(() => res(port))
    })
  })
}

/** True when nothing listens on host:port (we can bind it). */
export function portFree(port, host = '127.0.0.1') {
  return new Promise((res) => {
    const srv = createServer()
    srv.unref()
    srv.once('error', () => res(false))
    srv.listen(port, host, () => srv.close(() => res(true)))
  })
}

async function run(cmd, args, opts = {}) {
  try {
    return await execFileP(cmd, args, {maxBuffer: 16 * 1024 * 1024, ...opts})
  } catch (error) {
    throw new Error(`${cmd} ${args[0] ?? ''} failed: ${tail(`${error.stderr ?? ''}${error.stdout ?? ''}` || error.message, 5)}`)
  }
}

// ---------------------------------------------------------------------------------------------
// Processes (pid files, zombies, readiness)

/** True when pid runs and is not a zombie (`ps -o stat=` = Z counts as dead). */
export function pidAlive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch (error) {
    return error.code === 'EPERM'
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z'
  } catch {
    const ps = spawnSync('ps', ['-o', 'stat=', '-p', String(pid)], {encoding: 'utf8'})
    return ps.status === 0 && !ps.stdout.trim().startsWith('Z')
  }
}

/** True when pid's command line mentions the rig folder (guards against reused pids). */
function pidBelongsTo(pid, rig) {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').includes(rig)
  } catch {
    return true // no /proc: trust the pid file
  }
}

function readPid(pidFile) {
  try {
    return Number.parseInt(readFileSync(pidFile, 'utf8').trim(), 10)
  } catch {
    return undefined
  }
}

/** Start a detached process logging to logFile; writes its pid file. */
async function spawnDaemon({cmd, args, env, logFile, pidFile, cwd}) {
  const fd = openSync(logFile, 'a')
  try {
    const child = spawn(cmd, args, {detached: true, stdio: ['ignore', fd, fd], env: {...process.env, ...env}, cwd})
    child.on('error', () => {})
    child.unref()
    if (child.pid === undefined) throw new Error(`cannot start ${cmd}: see ${logFile}`)
    await writeFile(pidFile, `${child.pid}\n`)
    return child.pid
  } finally {
    closeSync(fd)
  }
}

/**
 * Stop the process of a pid file: SIGTERM (or `signal`), wait, then SIGKILL. Only pids whose
 * command line mentions `rig` are signalled. Removes the pid file.
 */
export async function stopPidFile(pidFile, rig, {signal = 'SIGTERM', timeoutMs = 10_000} = {}) {
  const pid = readPid(pidFile)
  if (pid !== undefined && pidAlive(pid) && pidBelongsTo(pid, rigDir(rig))) {
    try {
      process.kill(pid, signal)
    } catch {}
    const deadline = Date.now() + timeoutMs
    while (pidAlive(pid) && Date.now() < deadline) await sleep(50)
    if (pidAlive(pid)) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
      while (pidAlive(pid) && Date.now() < deadline + 5000) await sleep(50)
    }
  }
  await rm(pidFile, {force: true})
}

/** GET url; resolves with the status code (or undefined on a connection error). */
export function probe(url, {ca, timeoutMs = 2000, headers} = {}) {
  return new Promise((res) => {
    const u = new URL(url)
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, {method: 'GET', ca, timeout: timeoutMs, headers}, (r) => {
      r.resume()
      r.on('end', () => res(r.statusCode))
      r.on('error', () => res(undefined))
    })
    req.on('timeout', () => req.destroy())
    req.on('error', () => res(undefined))
    req.end()
  })
}

/** Poll `ready()` until true; fails early if the process died, or after the timeout, with the log tail. */
async function waitReady({name, pid, ready, logFile, timeoutMs = READY_TIMEOUT_MS}) {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (!pidAlive(pid)) throw new Error(`${name} exited during start-up (pid ${pid}); log ${logFile}:\n${logTail(logFile)}`)
    if (await ready()) {
      if (pidAlive(pid)) return
    }
    await sleep(100)
  }
  throw new Error(`${name} not ready after ${timeoutMs / 1000}s (pid ${pid}); log ${logFile}:\n${logTail(logFile)}`)
}

/** Start a daemon and wait for it; on a port clash with a picked port, retry on a new port. */
async function startDaemonWithPort({name, rig, fixedPort, configure, ready, attempts = 3}) {
  let lastError
  for (let i = 0; i < (fixedPort ? 1 : attempts); i++) {
    const port = fixedPort ?? (await freePort())
    const spec = await configure(port)
    await stopPidFile(spec.pidFile, rig)
    if (!(await portFree(port))) {
      lastError = new Error(`${name}: port 127.0.0.1:${port} is already in use by another process`)
      if (fixedPort) break
      continue
    }
    await writeFile(spec.logFile, `--- start ${new Date().toISOString()} port ${port}\n`, {flag: 'a'})
    const pid = await spawnDaemon(spec)
    try {
      await waitReady({name, pid, logFile: spec.logFile, ready: () => ready(port)})
      return {port, pid}
    } catch (error) {
      lastError = error
      await stopPidFile(spec.pidFile, rig)
      if (!/address already in use/i.test(logTail(spec.logFile, 5))) break
    }
  }
  throw lastError
}

// ---------------------------------------------------------------------------------------------
// Rig preparation: folders, certificates, htpasswd files

async function openssl(args, cwd) {
  await run('openssl', args, {cwd})
}

async function generateTls(p) {
  if (existsSync(p.caFile) && existsSync(p.serverCert) && existsSync(p.tokenCert) && existsSync(join(p.certDir, 'ca.crt'))) return
  const rsa = ['-newkey', 'rsa:2048', '-nodes', '-sha256']
  await openssl(['req', '-x509', ...rsa, '-days', '3650', '-keyout', 'ca.key', '-out', 'ca.crt', '-subj', '/CN=airgap Test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], p.tls)
  await writeFile(join(p.tls, 'server.ext'), ['basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature, keyEncipherment',
    'extendedKeyUsage = serverAuth', 'subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1', ''].join('\n'))
  await openssl(['req', ...rsa, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost'], p.tls)
  await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '825', '-sha256',
    '-extfile', 'server.ext', '-out', 'server.crt'], p.tls)
  await openssl(['req', '-x509', ...rsa, '-days', '3650', '-keyout', 'token.key', '-out', 'token.crt', '-subj', `/CN=${TOKEN_ISSUER}`], p.tls)
  await mkdir(p.certDir, {recursive: true})
  await copyFile(p.caFile, join(p.certDir, 'ca.crt')) // CA only: a *.key here makes skopeo look for a client pair
}

async function htpasswdFile(file, users) {
  if (existsSync(file)) return
  let first = true
  for (const {username, password} of users) {
    await new Promise((res, rej) => {
      const child = execFile('htpasswd', [first ? '-ciB' : '-iB', file, username], (error, _out, stderr) =>
        error ? rej(new Error(`htpasswd failed for ${file}: ${stderr}`)) : res())
      child.stdin.end(`${password}\n`)
    })
    first = false
  }
}

const prepared = new Map() // rig → Promise<paths>, so concurrent starts do not race on certificates

/** Create the rig folders, certificates and password files (idempotent). Returns rigPaths(rig). */
export function prepareRig(rig, {log = () => {}} = {}) {
  const p = rigPaths(rig)
  const key = p.rig
  if (!prepared.has(key) || !existsSync(p.htpasswd)) {
    const promise = prepareRigOnce(p, log)
    promise.catch(() => prepared.delete(key))
    prepared.set(key, promise)
  }
  return prepared.get(key)
}

async function prepareRigOnce(p, log) {
  for (const d of [p.rig, p.registry, p.data, p.logs, p.run, p.tls, p.auth, p.helmRepo, join(p.nginx, 'temp'), p.scratch]) {
    await mkdir(d, {recursive: true})
  }
  await generateTls(p)
  await htpasswdFile(p.htpasswd, [CREDENTIALS.admin, CREDENTIALS.reader])
  await htpasswdFile(p.htpasswdNginx, [CREDENTIALS.uploader])
  // nginx workers (www-data) must reach the repo, write into it and read the nginx password file.
  for (const d of [p.rig, p.helm, p.auth, p.nginx]) await chmod(d, 0o755)
  await chmod(p.htpasswdNginx, 0o644)
  log(`rig prepared in ${p.rig}`)
  return p
}

// ---------------------------------------------------------------------------------------------
// Registry (distribution 2.8)

/** @param mode 'plain' | 'htpasswd' | 'token' | 'tls' */
function registryConfig({name, mode, port, dataDir, p, tokenRealm}) {
  const lines = [
    'version: 0.1',
    `log: {level: info, formatter: text, fields: {service: ${yamlString(`registry-${name}`)}}}`,
    'storage:',
    `  filesystem: {rootdirectory: ${yamlString(dataDir)}}`,
    '  delete: {enabled: true}',
    '  maintenance: {uploadpurging: {enabled: false}}',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    '  secret: not-a-secret',
    '  headers: {X-Content-Type-Options: [nosniff]}',
  ]
  if (mode === 'tls') lines.push(`  tls: {certificate: ${yamlString(p.serverCert)}, key: ${yamlString(p.serverKey)}}`)
  if (mode === 'htpasswd' || mode === 'tls') lines.push('auth:', `  htpasswd: {realm: basic-realm, path: ${yamlString(p.htpasswd)}}`)
  if (mode === 'token') {
    lines.push('auth:', '  token:', `    realm: ${yamlString(tokenRealm)}`, `    service: ${TOKEN_SERVICE}`,
      `    issuer: ${TOKEN_ISSUER}`, `    rootcertbundle: ${yamlString(p.tokenCert)}`)
  }
  return `${lines.join('\n')}\n`
}

const REGISTRY_MODES = ['plain', 'htpasswd', 'token', 'tls']

function registryInfo({name, mode, port, dataDir, p, tokenRealm}) {
  const scheme = mode === 'tls' ? 'https' : 'http'
  const host = `127.0.0.1:${port}`
  const info = {name, mode, host, port, url: `${scheme}://${host}`, dataDir,
    configFile: join(p.registry, `${name}.yml`), logFile: join(p.logs, `registry-${name}.log`), pidFile: join(p.run, `registry-${name}.pid`)}
  if (mode === 'htpasswd' || mode === 'tls' || mode === 'token') Object.assign(info, CREDENTIALS.admin, {reader: {...CREDENTIALS.reader}})
  if (mode === 'tls') Object.assign(info, {caFile: p.caFile, certDir: p.certDir})
  if (mode === 'token') Object.assign(info, {tokenRealm, service: TOKEN_SERVICE})
  return info
}

async function tokenRealmOf(rig, {log} = {}) {
  const state = await readJson(join(rigPaths(rig).run, 'token-server.json'))
  if (state && pidAlive(readPid(join(rigPaths(rig).run, 'token-server.pid')) ?? -1)) return state.realm
  const ts = await startTokenServer({rig, log})
  return ts.realm
}

async function readJson(file) {
  try {
    return JSON.parse(await readFile(file, 'utf8'))
  } catch {
    return undefined
  }
}

/**
 * Start a distribution registry in `mode` ('plain' | 'htpasswd' | 'token' | 'tls') on a free port
 * (or `port`), storage in `dataDir` (default <rig>/data/<name>). A token registry uses `tokenRealm`, else the
 * rig's token server (started when needed). Returns its coordinates and stop/kill/restart functions;
 * restart keeps port and storage.
 */
export async function startRegistry({rig, name, mode = 'plain', dataDir, port, tokenRealm, log = () => {}} = {}) {
  if (!name || !/^[a-z0-9][a-z0-9_.-]*$/.test(name)) throw new Error(`startRegistry: invalid name ${JSON.stringify(name)} (use [a-z0-9_.-])`)
  if (!REGISTRY_MODES.includes(mode)) throw new Error(`startRegistry: unknown mode ${mode} (use ${REGISTRY_MODES.join(', ')})`)
  const r = rigDir(rig)
  const p = await prepareRig(r)
  const data = resolve(dataDir ?? join(p.data, name))
  await mkdir(data, {recursive: true})
  const realm = mode === 'token' ? (tokenRealm ?? (await tokenRealmOf(r, {log}))) : undefined
  const ca = readFileSync(p.caFile)
  let info
  const configure = async (chosen) => {
    info = registryInfo({name, mode, port: chosen, dataDir: data, p, tokenRealm: realm})
    await writeFile(info.configFile, registryConfig({name, mode, port: chosen, dataDir: data, p, tokenRealm: realm}))
    return {cmd: 'docker-registry', args: ['serve', info.configFile], logFile: info.logFile, pidFile: info.pidFile}
  }
  const ready = async () => [200, 401].includes(await probe(`${info.url}/v2/`, {ca}))
  const start = (fixedPort) => startDaemonWithPort({name: `registry ${name} (${mode})`, rig: r, fixedPort, configure, ready})
  await start(port)
  log(`registry ${name} (${mode}) on ${info.url}`)
  return {
    ...info,
    get pid() {
      return readPid(info.pidFile)
    },
    /** Graceful stop (SIGTERM); storage stays. */
    stop: () => stopPidFile(info.pidFile, r),
    /** Hard kill (SIGKILL by default), e.g. to break a push midway. */
    kill: (signal = 'SIGKILL') => stopPidFile(info.pidFile, r, {signal}),
    /** Start again on the same port with the same storage. */
    restart: async () => {
      await stopPidFile(info.pidFile, r)
      await start(info.port)
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Token server

/** Start the Node token server (test/support/token-server.mjs) of the rig; policy admin=*, reader=pull, anonymous=pull. */
export async function startTokenServer({rig, port, log = () => {}} = {}) {
  const r = rigDir(rig)
  const p = await prepareRig(r)
  const pidFile = join(p.run, 'token-server.pid')
  const logFile = join(p.logs, 'token-server.log')
  const env = {
    TOKEN_USERS: [CREDENTIALS.admin, CREDENTIALS.reader].map((u) => `${u.username}:${u.password}:${u.username === 'admin' ? '*' : 'pull'}`).join(','),
    TOKEN_ANON: 'pull',
  }
  const configure = async (chosen) => ({
    cmd: process.execPath, cwd: p.rig, env, logFile, pidFile,
    args: [TOKEN_SERVER, '--port', String(chosen), '--key', p.tokenKey, '--service', TOKEN_SERVICE, '--issuer', TOKEN_ISSUER],
  })
  const ready = async (chosen) => (await probe(`http://127.0.0.1:${chosen}/token?service=${TOKEN_SERVICE}`)) === 200
  const {port: chosen} = await startDaemonWithPort({name: 'token server', rig: r, fixedPort: port, configure, ready})
  const url = `http://127.0.0.1:${chosen}`
  const info = {url, realm: `${url}/token`, port: chosen, service: TOKEN_SERVICE, issuer: TOKEN_ISSUER, pidFile, logFile}
  await writeFile(join(p.run, 'token-server.json'), JSON.stringify(info, null, 2))
  log(`token server on ${info.realm}`)
  return {...info, stop: () => stopPidFile(pidFile, r)}
}

// ---------------------------------------------------------------------------------------------
// nginx (classic Helm repository with WebDAV uploads)

function nginxConfig({p, port, httpsPort, isRoot}) {
  const temp = join(p.nginx, 'temp')
  return `load_module ${DAV_MODULE};
${isRoot ? 'user www-data www-data;' : ''}
worker_processes 1;
daemon off;
pid ${join(p.nginx, 'nginx.pid')};
error_log ${join(p.logs, 'nginx-error.log')} info;
events { worker_connections 256; }
http {
  include /etc/nginx/mime.types;
  types { application/x-yaml yaml yml; application/gzip tgz gz; }
  access_log ${join(p.logs, 'nginx-access.log')};
  client_body_temp_path ${temp}/body;
  proxy_temp_path ${temp}/proxy;
  fastcgi_temp_path ${temp}/fastcgi;
  uwsgi_temp_path ${temp}/uwsgi;
  scgi_temp_path ${temp}/scgi;
  server {
    listen 127.0.0.1:${port};
    listen 127.0.0.1:${httpsPort} ssl;
    ssl_certificate ${p.serverCert};
    ssl_certificate_key ${p.serverKey};
    root ${p.helmRepo};
    location / {
      autoindex on;
      dav_methods PUT DELETE MKCOL COPY MOVE;
      dav_ext_methods PROPFIND OPTIONS;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
      client_max_body_size 512m;
      limit_except GET HEAD OPTIONS PROPFIND { auth_basic "helm-upload"; auth_basic_user_file ${p.htpasswdNginx}; }
    }
  }
}
`
}

/** Start nginx serving <rig>/helm/repo over http and https (uploads need uploader:up-pw; reads are anonymous). */
export async function startNginx({rig, log = () => {}} = {}) {
  const r = rigDir(rig)
  const p = await prepareRig(r)
  const index = join(p.helmRepo, 'index.yaml')
  if (!existsSync(index)) await writeFile(index, 'apiVersion: v1\nentries: {}\n')
  const isRoot = process.getuid?.() === 0
  if (isRoot) await chownTree([p.helmRepo, join(p.nginx, 'temp')], 'www-data')
  const conf = join(p.nginx, 'nginx.conf')
  const pidFile = join(p.run, 'nginx.pid')
  const logFile = join(p.logs, 'nginx-error.log') // stdout/stderr and the error log in one file
  const ca = readFileSync(p.caFile)
  let httpsPort
  const configure = async (port) => {
    httpsPort = await freePort()
    await writeFile(conf, nginxConfig({p, port, httpsPort, isRoot}))
    await run('nginx', ['-t', '-q', '-e', join(p.logs, 'nginx-error.log'), '-p', p.nginx, '-c', conf])
    return {cmd: 'nginx', args: ['-e', join(p.logs, 'nginx-error.log'), '-p', p.nginx, '-c', conf], logFile, pidFile}
  }
  const ready = async (port) => (await probe(`http://127.0.0.1:${port}/index.yaml`)) === 200 &&
    (await probe(`https://127.0.0.1:${httpsPort}/index.yaml`, {ca})) === 200
  const {port} = await startDaemonWithPort({name: 'nginx', rig: r, configure, ready})
  const info = {url: `http://127.0.0.1:${port}`, httpsUrl: `https://127.0.0.1:${httpsPort}`, port, httpsPort,
    ...CREDENTIALS.uploader, root: p.helmRepo, caFile: p.caFile, pidFile, logFile: join(p.logs, 'nginx-error.log')}
  log(`nginx Helm repo on ${info.url} and ${info.httpsUrl}`)
  return {...info, stop: () => stopPidFile(pidFile, r)}
}

async function chownTree(roots, user) {
  const id = spawnSync('id', ['-u', user], {encoding: 'utf8'})
  const gid = spawnSync('id', ['-g', user], {encoding: 'utf8'})
  if (id.status !== 0) throw new Error(`user ${user} does not exist (nginx workers run as it); install nginx`)
  const [u, g] = [Number(id.stdout), Number(gid.stdout)]
  const walk = async (path) => {
    await chown(path, u, g)
    if (statSync(path).isDirectory()) for (const e of readdirSync(path)) await walk(join(path, e))
  }
  for (const root of roots) await walk(root)
}

// ---------------------------------------------------------------------------------------------
// containerd (node-side client), not started by default

let containerdCount = 0

/**
 * Start containerd on a private socket under <rig>/containerd/<name> (root only). Every call gets its
 * own instance (name unique per process and call unless given), so parallel test files never share
 * or stop each other's daemon. Returns {address, namespace, hostsDir, ctr(args), stop()}.
 */
export async function startContainerd({rig, log = () => {}, name} = {}) {
  const r = rigDir(rig)
  const p = await prepareRig(r)
  containerdCount += 1
  const id = name ?? `c${process.pid}-${containerdCount}`
  const base = join(p.containerd, id)
  for (const d of ['root', 'state', 'hosts']) await mkdir(join(base, d), {recursive: true})
  const address = join(base, 'containerd.sock')
  const conf = join(base, 'config.toml')
  await writeFile(conf, [
    'version = 2',
    `root = ${JSON.stringify(join(base, 'root'))}`,
    `state = ${JSON.stringify(join(base, 'state'))}`,
    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
    '[grpc]',
    `  address = ${JSON.stringify(address)}`,
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${JSON.stringify(join(base, 'opt'))}`,
    '',
  ].join('\n'))
  const pidFile = join(p.run, `containerd-${id}.pid`)
  const logFile = join(p.logs, `containerd-${id}.log`)
  await stopPidFile(pidFile, r)
  await rm(address, {force: true})
  await writeFile(logFile, `--- start ${new Date().toISOString()}\n`, {flag: 'a'})
  const pid = await spawnDaemon({cmd: 'containerd', args: ['--config', conf], logFile, pidFile})
  const ctr = (args, opts = {}) => execFileP('ctr', ['--address', address, ...args], {maxBuffer: 64 * 1024 * 1024, ...opts})
  await waitReady({name: 'containerd', pid, logFile, ready: async () => existsSync(address) && ctr(['version']).then(() => true, () => false)})
  log(`containerd on ${address}`)
  return {address, namespace: 'test', hostsDir: join(base, 'hosts'), pidFile, logFile, ctr, stop: () => stopPidFile(pidFile, r)}
}

// ---------------------------------------------------------------------------------------------
// The standard set

/**
 * Start the standard services of a rig (registries plain, htpasswd, token, tls; token server; nginx),
 * after stopping leftovers from an earlier run. Writes <rig>/services.json and returns its content.
 */
export async function startServices({rig, log = () => {}} = {}) {
  const r = rigDir(rig)
  ensurePackages({log})
  await stopServices(r)
  const p = await prepareRig(r, {log})
  const token = await startTokenServer({rig: r, log})
  const [plain, htpasswd, tokenRegistry, tls, nginx] = await Promise.all([
    startRegistry({rig: r, name: 'plain', mode: 'plain', log}),
    startRegistry({rig: r, name: 'htpasswd', mode: 'htpasswd', log}),
    startRegistry({rig: r, name: 'token', mode: 'token', tokenRealm: token.realm, log}),
    startRegistry({rig: r, name: 'tls', mode: 'tls', log}),
    startNginx({rig: r, log}),
  ])
  const strip = ({stop, kill, restart, ...rest}) => JSON.parse(JSON.stringify(rest))
  const info = {
    available: true,
    rig: r,
    registries: {plain: strip(plain), htpasswd: strip(htpasswd), token: strip(tokenRegistry), tls: strip(tls)},
    tokenServer: strip(token),
    tls: {caFile: p.caFile, certDir: p.certDir, serverCert: p.serverCert, serverKey: p.serverKey},
    nginx: strip(nginx),
    credentials: CREDENTIALS,
    startedAt: new Date().toISOString(),
  }
  await writeFile(p.servicesFile, `${JSON.stringify(info, null, 2)}\n`)
  return info
}

/** Stop every process of the rig that has a pid file in <rig>/run (registries, token server, nginx, containerd). */
export async function stopServices(rig) {
  const r = rigDir(rig)
  const run = join(r, 'run')
  if (!existsSync(run)) return []
  const pidFiles = readdirSync(run).filter((f) => f.endsWith('.pid')).map((f) => join(run, f))
  await Promise.all(pidFiles.map((f) => stopPidFile(f, r)))
  await rm(join(r, 'services.json'), {force: true})
  return pidFiles
}

/** Status of every pid file of the rig: [{name, pid, alive}]. */
export function servicesStatus(rig) {
  const run = join(rigDir(rig), 'run')
  if (!existsSync(run)) return []
  return readdirSync(run).filter((f) => f.endsWith('.pid')).map((f) => {
    const pid = readPid(join(run, f))
    return {name: f.replace(/\.pid$/, ''), pid, alive: pid !== undefined && pidAlive(pid)}
  })
}

/** Read <rig>/services.json when every service in it still runs; otherwise undefined. */
export async function runningServices(rig) {
  const file = rig?.endsWith('.json') ? rig : rigPaths(rig).servicesFile
  const info = await readJson(file)
  if (!info?.available) return undefined
  const status = servicesStatus(info.rig)
  const expected = ['registry-plain', 'registry-htpasswd', 'registry-token', 'registry-tls', 'token-server', 'nginx']
  const ok = expected.every((n) => status.some((s) => s.name === n && s.alive))
  return ok ? info : undefined
}

/** `export AIRGAP_TEST_…=…` lines for a services.json content. */
export function envLines(info) {
  const q = (v) => `'${String(v).replaceAll("'", "'\\''")}'`
  const vars = {
    AIRGAP_RIG: info.rig,
    AIRGAP_TEST_SERVICES: join(info.rig, 'services.json'),
    AIRGAP_TEST_REGISTRY_PLAIN: info.registries.plain.host,
    AIRGAP_TEST_REGISTRY_HTPASSWD: info.registries.htpasswd.host,
    AIRGAP_TEST_REGISTRY_TOKEN: info.registries.token.host,
    AIRGAP_TEST_REGISTRY_TLS: info.registries.tls.host,
    AIRGAP_TEST_TOKEN_REALM: info.tokenServer.realm,
    AIRGAP_TEST_HELM_URL: info.nginx.url,
    AIRGAP_TEST_HELM_HTTPS_URL: info.nginx.httpsUrl,
    AIRGAP_TEST_CA_FILE: info.tls.caFile,
    AIRGAP_TEST_CERT_DIR: info.tls.certDir,
    AIRGAP_TEST_USER: `${CREDENTIALS.admin.username}:${CREDENTIALS.admin.password}`,
    AIRGAP_TEST_READER: `${CREDENTIALS.reader.username}:${CREDENTIALS.reader.password}`,
    AIRGAP_TEST_HELM_UPLOADER: `${CREDENTIALS.uploader.username}:${CREDENTIALS.uploader.password}`,
  }
  return Object.entries(vars).map(([k, v]) => `export ${k}=${q(v)}`)
}

/**
 * Stop and delete per-run rigs under `<parent>` named `<prefix><pid>` whose owner pid is gone
 * (leftovers of crashed test runs). Returns the removed folders.
 */
export async function sweepStaleRigs(parent, prefix = 'vitest-') {
  if (!existsSync(parent)) return []
  const removed = []
  for (const entry of readdirSync(parent)) {
    const owner = Number.parseInt(entry.slice(prefix.length), 10)
    if (!entry.startsWith(prefix) || !Number.isInteger(owner) || pidAlive(owner)) continue
    const dir = join(parent, entry)
    await stopServices(dir)
    await rm(dir, {recursive: true, force: true})
    removed.push(dir)
  }
  return removed
}

// CLI: node scripts/rig.mjs start|stop|status|env|sweep [rig]
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [cmd, dirArg] = process.argv.slice(2)
  const rig = rigDir(dirArg)
  const log = (line) => process.stderr.write(`rig: ${line}\n`)
  const main = {
    start: async () => {
      const info = await startServices({rig, log})
      process.stdout.write(`${envLines(info).join('\n')}\n`)
    },
    stop: async () => {
      const stopped = await stopServices(rig)
      log(`stopped ${stopped.length} service(s) in ${rig}`)
      const removed = await sweepStaleRigs(join(rig, 'runs'))
      if (removed.length) log(`removed ${removed.length} stale per-run rig(s)`)
    },
    status: async () => {
      const status = servicesStatus(rig)
      for (const s of status) process.stdout.write(`${s.name.padEnd(20)} pid ${String(s.pid).padEnd(8)} ${s.alive ? 'running' : 'dead'}\n`)
      if (status.length === 0) process.stdout.write(`nothing started in ${rig}\n`)
      process.exitCode = status.length > 0 && status.every((s) => s.alive) ? 0 : 1
    },
    env: async () => {
      const info = await runningServices(rig)
      if (!info) throw new Error(`services in ${rig} are not running; run scripts/test-services.sh start`)
      process.stdout.write(`${envLines(info).join('\n')}\n`)
    },
    sweep: async () => {
      const removed = await sweepStaleRigs(join(rig, 'runs'))
      log(`removed ${removed.length} stale per-run rig(s)`)
    },
  }[cmd]
  if (!main) {
    process.stderr.write('usage: node scripts/rig.mjs start|stop|status|env|sweep [RIG_DIR]\n')
    process.exit(2)
  }
  main().catch((error) => {
    process.stderr.write(`rig: ${error.message}\n`)
    process.exit(1)
  })
}
