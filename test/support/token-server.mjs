#!/usr/bin/env node
/**
 * A Docker/OCI registry token server for tests (distribution `auth.token`), using only node:http and
 * node:crypto. See /work/shared/reference/test-services.md §4.
 *
 *   node token-server.mjs --port 5556 --key token.key [--service test-registry] \
 *     [--issuer test-token-issuer] [--host 127.0.0.1] [--port-file F] [--x5c-cert token.crt]
 *
 * The JWT header carries `kid` (libtrust key id of the public key); with --x5c-cert also `x5c`.
 *
 * Policy from env: TOKEN_USERS="admin:s3cret:*,reader:readpw:pull" (actions joined by `+` or `;`),
 * TOKEN_ANON="pull" (empty = nothing), TOKEN_TTL=300 (seconds).
 *
 * GET  /token?service=S&scope=A[&scope=B]   optional Basic auth; no credentials = anonymous policy
 * POST /token  form grant_type=password|refresh_token (OAuth2 path used by `docker login`)
 * Wrong service → 400, unknown user / wrong password → 401, other paths → 404. Missing rights are
 * never an error: the token carries fewer actions and the registry answers `denied`.
 * Passwords are never logged.
 */
import {createHash, createPrivateKey, createPublicKey, randomUUID, sign, timingSafeEqual, X509Certificate} from 'node:crypto'
import {readFileSync, writeFileSync} from 'node:fs'
import {createServer} from 'node:http'

const args = parseArgs(process.argv.slice(2))
const SERVICE = args.service ?? 'test-registry'
const ISSUER = args.issuer ?? 'test-token-issuer'
const TTL = Number(process.env.TOKEN_TTL ?? 300)
const USERS = parseUsers(process.env.TOKEN_USERS ?? 'admin:s3cret:*,reader:readpw:pull')
const ANON = (process.env.TOKEN_ANON ?? 'pull').split(/[+;,]/).filter(Boolean)
const privateKey = createPrivateKey(readFileSync(required(args, 'key')))
const certDer = args['x5c-cert'] ? new X509Certificate(readFileSync(args['x5c-cert'])).raw : undefined
const KID = libtrustKeyId(createPublicKey(privateKey).export({type: 'spki', format: 'der'}))
const refreshTokens = new Map() // refresh token → user name

function parseArgs(argv) {
  const out = {}
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1]
  return out
}

function required(a, name) {
  if (!a[name]) throw new Error(`token-server: missing --${name}`)
  return a[name]
}

/** "admin:s3cret:*,reader:readpw:pull" → Map(name → {password, actions}) */
function parseUsers(spec) {
  const users = new Map()
  for (const entry of spec.split(',').filter(Boolean)) {
    const first = entry.indexOf(':')
    const last = entry.lastIndexOf(':')
    if (first < 0 || last === first) throw new Error(`token-server: bad TOKEN_USERS entry for ${entry.slice(0, first)}`)
    users.set(entry.slice(0, first), {
      password: entry.slice(first + 1, last),
      actions: entry.slice(last + 1).split(/[+;]/).filter(Boolean),
    })
  }
  return users
}

/** libtrust key id: sha256(SPKI DER), first 30 bytes, base32 without padding, 12 groups of 4. */
function libtrustKeyId(spkiDer) {
  const bytes = createHash('sha256').update(spkiDer).digest().subarray(0, 30)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  return out.match(/.{4}/g).join(':')
}

const b64url = (buf) => Buffer.from(buf).toString('base64url')

function jwt(subject, access, now) {
  const header = {typ: 'JWT', alg: 'RS256', kid: KID}
  if (certDer) header.x5c = [certDer.toString('base64')]
  const claims = {
    iss: ISSUER, aud: SERVICE, sub: subject,
    iat: now, nbf: now - 10, exp: now + TTL,
    jti: randomUUID(), access,
  }
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`
  return `${input}.${b64url(sign('sha256', Buffer.from(input), privateKey))}`
}

/** Split scopes ("type:name:actions", names may hold ':' and scopes may be space separated). */
function parseScopes(values) {
  const scopes = []
  for (const value of values) {
    for (const s of value.split(' ').filter(Boolean)) {
      const first = s.indexOf(':')
      const last = s.lastIndexOf(':')
      if (first < 0 || last === first) continue
      scopes.push({type: s.slice(0, first), name: s.slice(first + 1, last), actions: s.slice(last + 1).split(',').filter(Boolean)})
    }
  }
  return scopes
}

/** Intersection of requested and allowed actions; `*` allows everything. Catalog only for full access. */
function grant(scopes, allowed) {
  const all = allowed.includes('*')
  return scopes.map((s) => {
    if (s.type !== 'repository' && !all) return {...s, actions: []}
    return {...s, actions: all ? s.actions : s.actions.filter((a) => allowed.includes(a))}
  })
}

function safeEqual(a, b) {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}

/** Returns {user, actions} | 'bad' for wrong credentials; anonymous when no credentials given. */
function authenticate(username, password) {
  if (username === undefined) return {user: '', actions: ANON}
  const u = USERS.get(username)
  if (!u || !safeEqual(u.password, password ?? '')) return 'bad'
  return {user: username, actions: u.actions}
}

function basicCredentials(req) {
  const h = req.headers.authorization
  if (!h || !/^basic /i.test(h)) return [undefined, undefined]
  const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8')
  const i = decoded.indexOf(':')
  return i < 0 ? [decoded, ''] : [decoded.slice(0, i), decoded.slice(i + 1)]
}

function send(res, status, body) {
  res.writeHead(status, {'content-type': 'application/json'})
  res.end(JSON.stringify(body))
}

function issue(res, who, scopeValues, extra = {}) {
  const now = Math.floor(Date.now() / 1000)
  const access = grant(parseScopes(scopeValues), who.actions)
  const token = jwt(who.user, access, now)
  log(`issued sub=${who.user || '<anonymous>'} access=${JSON.stringify(access)}`)
  send(res, 200, {token, access_token: token, expires_in: TTL, issued_at: new Date(now * 1000).toISOString(), ...extra})
}

function log(line) {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`)
}

async function readBody(req) {
  const chunks = []
  let size = 0
  for await (const c of req) {
    size += c.length
    if (size > 65536) throw new Error('body too large')
    chunks.push(c)
  }
  return Buffer.concat(chunks).toString('utf8')
}

function handleGet(req, res, url) {
  if (url.searchParams.get('service') !== SERVICE) return send(res, 400, {errors: [{code: 'UNSUPPORTED', message: `unknown service, expected ${SERVICE}`}]})
  const [username, password] = basicCredentials(req)
  const who = authenticate(username, password)
  if (who === 'bad') {
    log(`401 GET user=${username}`)
    return send(res, 401, {errors: [{code: 'UNAUTHORIZED', message: 'invalid username or password'}]})
  }
  issue(res, who, url.searchParams.getAll('scope'))
}

async function handlePost(req, res) {
  const form = new URLSearchParams(await readBody(req))
  if (form.get('service') !== null && form.get('service') !== SERVICE) return send(res, 400, {error: 'invalid_request', error_description: `unknown service, expected ${SERVICE}`})
  const scopes = form.getAll('scope')
  const grantType = form.get('grant_type')
  let who
  if (grantType === 'password') {
    who = authenticate(form.get('username') ?? '', form.get('password') ?? '')
  } else if (grantType === 'refresh_token') {
    const name = refreshTokens.get(form.get('refresh_token') ?? '')
    who = name === undefined ? 'bad' : {user: name, actions: USERS.get(name)?.actions ?? []}
  } else {
    return send(res, 400, {error: 'unsupported_grant_type'})
  }
  if (who === 'bad') {
    log(`401 POST grant_type=${grantType}`)
    return send(res, 401, {error: 'invalid_grant', error_description: 'invalid username, password or refresh token'})
  }
  const refresh = randomUUID()
  refreshTokens.set(refresh, who.user)
  issue(res, who, scopes, {refresh_token: refresh, scope: scopes.join(' ')})
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost')
  if (url.pathname !== '/token') return send(res, 404, {errors: [{code: 'NOT_FOUND', message: 'not found'}]})
  if (req.method === 'GET') return handleGet(req, res, url)
  if (req.method === 'POST') return handlePost(req, res).catch((e) => send(res, 400, {error: 'invalid_request', error_description: String(e.message)}))
  send(res, 405, {errors: [{code: 'UNSUPPORTED', message: 'method not allowed'}]})
})

server.listen(Number(args.port ?? 0), args.host ?? '127.0.0.1', () => {
  const {port} = server.address()
  if (args['port-file']) writeFileSync(args['port-file'], String(port))
  log(`token server listening on http://${args.host ?? '127.0.0.1'}:${port}/token service=${SERVICE} kid=${KID}`)
})

for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    server.close(() => process.exit(0))
    server.closeAllConnections()
  })
}
