/**
 * The real test services answer the way the rest of the suite relies on: registry auth modes,
 * token server policy, TLS with the generated CA, skopeo interop, nginx WebDAV Helm repo, private
 * registries that survive stop/restart, and containerd on a private socket.
 */
import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {gzipSync} from 'node:zlib'
import {pack} from 'tar-stream'
import {Agent, request} from 'undici'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {basicAuth, describeWithServices, probe, services, startContainerd, startRegistry, uniqueName} from '../support/services.js'

const execFileP = promisify(execFile)

const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
const MANIFEST_ACCEPT = [
  'application/vnd.oci.image.index.v1+json', OCI_MANIFEST,
  'application/vnd.docker.distribution.manifest.list.v2+json', 'application/vnd.docker.distribution.manifest.v2+json',
].join(', ')

const sha256 = (b: Uint8Array): string => `sha256:${createHash('sha256').update(b).digest('hex')}`

interface TinyImage {
  dir: string
  tag: string
  manifest: Buffer
  manifestDigest: string
  layerDigest: string
}

async function tarGz(files: Record<string, string>): Promise<Buffer> {
  const p = pack()
  for (const [name, content] of Object.entries(files)) p.entry({name, mtime: new Date(0), uid: 0, gid: 0, mode: 0o644}, content)
  p.finalize()
  const chunks: Buffer[] = []
  for await (const c of p) chunks.push(c as Buffer)
  return gzipSync(Buffer.concat(chunks), {level: 9})
}

/** Build a one-layer OCI image layout (deterministic) in a new folder. */
async function buildTinyImage(root: string, tag = 'v1'): Promise<TinyImage> {
  const dir = await mkdtemp(join(root, 'tiny-'))
  const blobs = join(dir, 'blobs', 'sha256')
  await mkdir(blobs, {recursive: true})
  const put = async (bytes: Buffer): Promise<string> => {
    const d = sha256(bytes)
    await writeFile(join(blobs, d.slice(7)), bytes)
    return d
  }
  const layer = await tarGz({'hello.txt': `hello from ${tag}\n`})
  const layerDigest = await put(layer)
  const diffId = sha256(Buffer.from(await new Response(new Blob([layer]).stream().pipeThrough(new DecompressionStream('gzip'))).arrayBuffer()))
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: {Cmd: ['/bin/true']},
    rootfs: {type: 'layers', diff_ids: [diffId]}, history: [{created_by: 'airgap test'}],
  }))
  const configDigest = await put(config)
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: {mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length},
    layers: [{mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length}],
  }))
  const manifestDigest = await put(manifest)
  await writeFile(join(dir, 'oci-layout'), JSON.stringify({imageLayoutVersion: '1.0.0'}))
  await writeFile(join(dir, 'index.json'), JSON.stringify({
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{mediaType: OCI_MANIFEST, digest: manifestDigest, size: manifest.length, annotations: {'org.opencontainers.image.ref.name': tag}}],
  }))
  return {dir, tag, manifest, manifestDigest, layerDigest}
}

async function skopeo(args: string[]): Promise<{ok: boolean; out: string}> {
  try {
    const {stdout, stderr} = await execFileP('skopeo', ['--insecure-policy', ...args], {timeout: 60_000})
    return {ok: true, out: `${stdout}${stderr}`}
  } catch (error) {
    const e = error as {stdout?: string; stderr?: string; message: string}
    return {ok: false, out: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message}
  }
}

async function get(url: string, headers: Record<string, string> = {}, dispatcher?: Agent) {
  const res = await request(url, {headers, ...(dispatcher ? {dispatcher} : {})})
  const body = await res.body.text()
  return {status: res.statusCode, headers: res.headers, body}
}

/** Upload one blob monolithically (POST + PUT ?digest=). Returns the final status. */
async function pushBlob(base: string, repo: string, bytes: Buffer, auth?: string): Promise<{status: number; body: string}> {
  const headers: Record<string, string> = auth ? {authorization: auth} : {}
  const start = await request(`${base}/v2/${repo}/blobs/uploads/`, {method: 'POST', headers})
  const startBody = await start.body.text()
  if (start.statusCode !== 202) return {status: start.statusCode, body: startBody}
  const location = new URL(String(start.headers.location), base)
  location.searchParams.set('digest', sha256(bytes))
  const put = await request(location, {method: 'PUT', body: bytes, headers: {...headers, 'content-type': 'application/octet-stream'}})
  return {status: put.statusCode, body: await put.body.text()}
}

interface TokenReply {token: string; access_token: string; expires_in: number; issued_at: string}

async function token(scopes: string[], creds?: {username: string; password: string}): Promise<{status: number; reply?: TokenReply}> {
  const {tokenServer} = services()
  const url = new URL(tokenServer.realm)
  url.searchParams.set('service', tokenServer.service)
  for (const s of scopes) url.searchParams.append('scope', s)
  const res = await get(url.toString(), creds ? {authorization: basicAuth(creds)} : {})
  return {status: res.status, reply: res.status === 200 ? (JSON.parse(res.body) as TokenReply) : undefined}
}

function jwtParts(t: string): {header: Record<string, unknown>; claims: {sub: string; aud: string; access: {type: string; name: string; actions: string[]}[]}} {
  const [h, c] = t.split('.')
  return {header: JSON.parse(Buffer.from(h!, 'base64url').toString()), claims: JSON.parse(Buffer.from(c!, 'base64url').toString())}
}

describeWithServices('test services', () => {
  let scratch: string

  beforeAll(async () => {
    scratch = await mkdtemp(join(services().rig, 'scratch', 'services-test-'))
  })
  afterAll(async () => {
    if (scratch) await rm(scratch, {recursive: true, force: true})
  })

  it('plain registry answers /v2/ with 200 and the distribution API header', async () => {
    const res = await get(`${services().registries.plain.url}/v2/`)
    expect(res.status).toBe(200)
    expect(res.headers['docker-distribution-api-version']).toBe('registry/2.0')
  })

  it('htpasswd registry challenges with Basic, rejects a wrong password, accepts admin and reader', async () => {
    const reg = services().registries.htpasswd
    const anon = await get(`${reg.url}/v2/`)
    expect(anon.status).toBe(401)
    expect(anon.headers['www-authenticate']).toBe('Basic realm="basic-realm"')
    expect((await get(`${reg.url}/v2/`, {authorization: basicAuth({username: 'admin', password: 'wrong'})})).status).toBe(401)
    expect((await get(`${reg.url}/v2/`, {authorization: basicAuth({username: reg.username!, password: reg.password!})})).status).toBe(200)
    expect((await get(`${reg.url}/v2/`, {authorization: basicAuth(reg.reader!)})).status).toBe(200)
  })

  it('token registry challenges with Bearer pointing at the token server', async () => {
    const {registries, tokenServer} = services()
    const res = await get(`${registries.token.url}/v2/`)
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe(`Bearer realm="${tokenServer.realm}",service="${tokenServer.service}"`)
  })

  it('token server: 401 on a wrong password, 400 on a wrong service, 404 elsewhere', async () => {
    const {tokenServer} = services()
    expect((await token(['repository:a/b:pull'], {username: 'admin', password: 'nope'})).status).toBe(401)
    expect((await token(['repository:a/b:pull'], {username: 'ghost', password: 'x'})).status).toBe(401)
    expect((await get(`${tokenServer.realm}?service=other&scope=repository:a/b:pull`)).status).toBe(400)
    expect((await get(`${tokenServer.url}/other`)).status).toBe(404)
  })

  it('token server grants the intersection of requested and allowed actions, parsing scopes by first and last colon', async () => {
    const {credentials} = services()
    const scopes = ['repository:ns/app:pull,push,delete', 'repository:127.0.0.1:5000/x/y:pull registry:catalog:*']
    const admin = jwtParts((await token(scopes, credentials.admin)).reply!.token)
    expect(admin.header).toMatchObject({alg: 'RS256', typ: 'JWT'})
    expect(String(admin.header.kid)).toMatch(/^([A-Z2-7]{4}:){11}[A-Z2-7]{4}$/)
    expect(admin.claims.sub).toBe('admin')
    expect(admin.claims.aud).toBe('test-registry')
    expect(admin.claims.access).toEqual([
      {type: 'repository', name: 'ns/app', actions: ['pull', 'push', 'delete']},
      {type: 'repository', name: '127.0.0.1:5000/x/y', actions: ['pull']},
      {type: 'registry', name: 'catalog', actions: ['*']},
    ])
    const reader = jwtParts((await token(scopes, credentials.reader)).reply!.token)
    expect(reader.claims.access.map((a) => a.actions)).toEqual([['pull'], ['pull'], []])
    const anon = await token(['repository:ns/app:pull,push'])
    expect(anon.reply).toMatchObject({expires_in: 300})
    expect(anon.reply!.token).toBe(anon.reply!.access_token)
    expect(jwtParts(anon.reply!.token).claims.access).toEqual([{type: 'repository', name: 'ns/app', actions: ['pull']}])
  })

  it('token server accepts the OAuth2 password grant (POST) and its refresh token', async () => {
    const {tokenServer, credentials} = services()
    const form = (fields: Record<string, string>) => ({method: 'POST' as const, body: new URLSearchParams(fields).toString(),
      headers: {'content-type': 'application/x-www-form-urlencoded'}})
    const res = await request(tokenServer.realm, form({grant_type: 'password', service: tokenServer.service, client_id: 'airgap',
      username: credentials.admin.username, password: credentials.admin.password, scope: 'repository:ns/app:push'}))
    expect(res.statusCode).toBe(200)
    const body = (await res.body.json()) as TokenReply & {refresh_token: string}
    expect(jwtParts(body.access_token).claims.access).toEqual([{type: 'repository', name: 'ns/app', actions: ['push']}])
    const again = await request(tokenServer.realm, form({grant_type: 'refresh_token', service: tokenServer.service, refresh_token: body.refresh_token}))
    expect(again.statusCode).toBe(200)
    expect(jwtParts(((await again.body.json()) as TokenReply).token).claims.sub).toBe('admin')
    const bad = await request(tokenServer.realm, form({grant_type: 'password', service: tokenServer.service, username: 'admin', password: 'x'}))
    expect(bad.statusCode).toBe(401)
    await bad.body.dump()
  })

  it('token registry: admin token lists the catalog and pushes; reader and anonymous pushes are denied; reader pulls', async () => {
    const {registries, credentials} = services()
    const base = registries.token.url
    const repo = `ns/${uniqueName('tok')}`
    const scope = `repository:${repo}:pull,push`
    const bytes = Buffer.from(`blob for ${repo}`)

    const catalogToken = (await token(['registry:catalog:*'], credentials.admin)).reply!.token
    expect((await get(`${base}/v2/_catalog`, {authorization: `Bearer ${catalogToken}`})).status).toBe(200)

    const readerPush = await pushBlob(base, repo, bytes, `Bearer ${(await token([scope], credentials.reader)).reply!.token}`)
    expect([401, 403]).toContain(readerPush.status)
    expect(readerPush.body).toMatch(/DENIED|UNAUTHORIZED/)
    const anonPush = await pushBlob(base, repo, bytes, `Bearer ${(await token([scope])).reply!.token}`)
    expect([401, 403]).toContain(anonPush.status)

    const adminPush = await pushBlob(base, repo, bytes, `Bearer ${(await token([scope], credentials.admin)).reply!.token}`)
    expect(adminPush.status).toBe(201)

    const readerToken = (await token([`repository:${repo}:pull`], credentials.reader)).reply!.token
    const pulled = await get(`${base}/v2/${repo}/blobs/${sha256(bytes)}`, {authorization: `Bearer ${readerToken}`})
    expect(pulled.status).toBe(200)
    expect(pulled.body).toBe(bytes.toString())
  })

  it('TLS registry works with the generated CA (also for the name localhost) and fails without it', async () => {
    const {registries, tls, credentials} = services()
    const ca = await readFile(tls.caFile)
    const trusted = new Agent({connect: {ca}})
    const byName = new Agent({connect: {ca, servername: 'localhost'}})
    const untrusted = new Agent()
    try {
      const auth = {authorization: basicAuth(credentials.admin)}
      expect(registries.tls.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
      expect((await get(`${registries.tls.url}/v2/`, auth, trusted)).status).toBe(200)
      expect((await get(`${registries.tls.url}/v2/`, {}, trusted)).status).toBe(401)
      expect((await get(`${registries.tls.url}/v2/`, auth, byName)).status).toBe(200)
      const failure = await get(`${registries.tls.url}/v2/`, auth, untrusted).then(() => undefined, (e: Error & {code?: string}) => e)
      expect(failure).toBeInstanceOf(Error)
      expect(`${failure!.code} ${failure!.message}`).toMatch(/CERT|certificate/i)
    } finally {
      await Promise.all([trusted.close(), byName.close(), untrusted.close()])
    }
  })

  it('skopeo copies a tiny OCI image into the plain registry with its digest preserved and lists the tag', async () => {
    const {plain} = services().registries
    const img = await buildTinyImage(scratch)
    const repo = `ns/${uniqueName('tiny')}`
    const copy = await skopeo(['copy', '--dest-tls-verify=false', `oci:${img.dir}:${img.tag}`, `docker://${plain.host}/${repo}:${img.tag}`])
    expect(copy.ok, copy.out).toBe(true)
    const tags = await skopeo(['list-tags', '--tls-verify=false', `docker://${plain.host}/${repo}`])
    expect(tags.ok, tags.out).toBe(true)
    expect(JSON.parse(tags.out).Tags).toEqual([img.tag])
    const manifest = await get(`${plain.url}/v2/${repo}/manifests/${img.tag}`, {accept: MANIFEST_ACCEPT})
    expect(manifest.status).toBe(200)
    expect(manifest.headers['docker-content-digest']).toBe(img.manifestDigest)
    expect(manifest.body).toBe(img.manifest.toString())
  })

  it('a missing repository: registry answers NAME_UNKNOWN, skopeo list-tags fails with 404', async () => {
    const {plain} = services().registries
    const repo = `ns/${uniqueName('missing')}`
    const direct = await get(`${plain.url}/v2/${repo}/tags/list`)
    expect(direct.status).toBe(404)
    expect(JSON.parse(direct.body).errors[0].code).toBe('NAME_UNKNOWN')
    const res = await skopeo(['list-tags', '--tls-verify=false', `docker://${plain.host}/${repo}`])
    expect(res.ok).toBe(false)
    expect(res.out).toMatch(/404/)
  })

  it('skopeo pushes to the TLS registry with --dest-cert-dir and fails with an x509 error without it', async () => {
    const {registries, tls, credentials} = services()
    const img = await buildTinyImage(scratch, 'tls')
    const dest = `docker://${registries.tls.host}/ns/${uniqueName('tls')}:tls`
    const creds = `${credentials.admin.username}:${credentials.admin.password}`
    const noCa = await skopeo(['copy', '--dest-creds', creds, `oci:${img.dir}:tls`, dest])
    expect(noCa.ok).toBe(false)
    expect(noCa.out).toMatch(/x509/)
    const ok = await skopeo(['copy', '--dest-creds', creds, '--dest-cert-dir', tls.certDir, `oci:${img.dir}:tls`, dest])
    expect(ok.ok, ok.out).toBe(true)
  })

  it('skopeo through the token server: admin can push, reader is denied', async () => {
    const {registries, credentials} = services()
    const img = await buildTinyImage(scratch, 'tok')
    const dest = `docker://${registries.token.host}/ns/${uniqueName('sktok')}:tok`
    const asReader = await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `${credentials.reader.username}:${credentials.reader.password}`, `oci:${img.dir}:tok`, dest])
    expect(asReader.ok).toBe(false)
    expect(asReader.out).toMatch(/denied|unauthorized/i)
    const asAdmin = await skopeo(['copy', '--dest-tls-verify=false', '--dest-creds', `${credentials.admin.username}:${credentials.admin.password}`, `oci:${img.dir}:tok`, dest])
    expect(asAdmin.ok, asAdmin.out).toBe(true)
  })

  it('nginx Helm repo: anonymous GET of index.yaml, PUT needs auth (401 / 201 new / 204 overwrite), HTTPS with the CA', async () => {
    const {nginx, tls} = services()
    const index = await get(`${nginx.url}/index.yaml`)
    expect(index.status).toBe(200)
    expect(index.headers['content-type']).toBe('application/x-yaml')
    expect(index.body).toContain('apiVersion: v1')

    const name = `${uniqueName('chart')}-0.1.0.tgz`
    const chart = gzipSync(Buffer.from('not really a chart'))
    const put = (auth?: string) => request(`${nginx.url}/charts/${name}`, {method: 'PUT', body: chart, headers: auth ? {authorization: auth} : {}})
    const anon = await put()
    expect(anon.statusCode).toBe(401)
    await anon.body.dump()
    const wrong = await put(basicAuth({username: nginx.username, password: 'wrong'}))
    expect(wrong.statusCode).toBe(401)
    await wrong.body.dump()
    const created = await put(basicAuth(nginx))
    expect(created.statusCode).toBe(201)
    await created.body.dump()
    const overwritten = await put(basicAuth(nginx))
    expect(overwritten.statusCode).toBe(204)
    await overwritten.body.dump()
    expect(await readFile(join(nginx.root, 'charts', name))).toEqual(chart)

    const agent = new Agent({connect: {ca: await readFile(tls.caFile)}})
    try {
      const viaHttps = await request(`${nginx.httpsUrl}/charts/${name}`, {dispatcher: agent})
      expect(viaHttps.statusCode).toBe(200)
      expect(viaHttps.headers['content-type']).toBe('application/gzip')
      expect(Buffer.from(await viaHttps.body.arrayBuffer())).toEqual(chart)
    } finally {
      await agent.close()
    }
  })

  it('a private registry can be stopped, killed and restarted on the same port with its data kept', async () => {
    const reg = await startRegistry({name: uniqueName('restart')})
    try {
      expect(reg.url).not.toBe(services().registries.plain.url)
      const bytes = Buffer.from('survives restarts')
      expect((await pushBlob(reg.url, 'ns/keep', bytes)).status).toBe(201)
      const blobUrl = `${reg.url}/v2/ns/keep/blobs/${sha256(bytes)}`

      await reg.stop()
      expect(await probe(`${reg.url}/v2/`)).toBeUndefined()
      await reg.restart()
      expect((await get(blobUrl)).body).toBe(bytes.toString())

      await reg.kill()
      expect(await probe(`${reg.url}/v2/`)).toBeUndefined()
      await reg.restart()
      expect((await get(blobUrl)).status).toBe(200)
    } finally {
      await reg.stop()
    }
  })

  it('a private token registry uses the run token server', async () => {
    const reg = await startRegistry({mode: 'token'})
    try {
      const res = await get(`${reg.url}/v2/`)
      expect(res.status).toBe(401)
      expect(res.headers['www-authenticate']).toContain(`realm="${services().tokenServer.realm}"`)
    } finally {
      await reg.stop()
    }
  })

  it.skipIf(process.getuid?.() !== 0)('containerd on a private socket pulls a tiny image from the plain registry through hosts.toml', async () => {
    const {plain} = services().registries
    const img = await buildTinyImage(scratch, 'ctr')
    const repo = `ns/${uniqueName('ctr')}`
    const copy = await skopeo(['copy', '--dest-tls-verify=false', `oci:${img.dir}:ctr`, `docker://${plain.host}/${repo}:ctr`])
    expect(copy.ok, copy.out).toBe(true)

    const containerd = await startContainerd()
    try {
      const hostDir = join(containerd.hostsDir, plain.host)
      await mkdir(hostDir, {recursive: true})
      await writeFile(join(hostDir, 'hosts.toml'), `server = "${plain.url}"\n[host."${plain.url}"]\n  capabilities = ["pull", "resolve"]\n`)
      const ref = `${plain.host}/${repo}:ctr`
      await containerd.ctr(['-n', containerd.namespace, 'images', 'pull', '--hosts-dir', containerd.hostsDir, ref], {timeout: 60_000})
      const {stdout} = await containerd.ctr(['-n', containerd.namespace, 'images', 'ls'])
      expect(stdout).toContain(ref)
      expect(stdout).toContain(img.manifestDigest)
    } finally {
      await containerd.stop()
    }
  })
})
