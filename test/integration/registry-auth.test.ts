/**
 * Token flows against the real token server + registry: OAuth2 refresh tokens (config.json
 * `identitytoken`), registry tokens sent as is, token caching, and credentials from a Docker
 * config.json found through DOCKER_CONFIG.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Readable} from 'node:stream'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {StaticCredentialStore, defaultCredentialStore} from '../../src/auth/store.js'
import {AuthError} from '../../src/errors.js'
import {RegistryClient} from '../../src/registry/index.js'
import {describeWithServices, services} from '../support/services.js'
import {randomBlob, recordRequests, repoName} from './registry-support.js'

describeWithServices('registry token authentication (real token server)', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-regauth-'))
  })
  afterAll(async () => rm(dir, {recursive: true, force: true}))

  async function passwordGrant(): Promise<string> {
    const {tokenServer, credentials} = services()
    const form = new URLSearchParams({grant_type: 'password', username: credentials.admin.username, password: credentials.admin.password, service: tokenServer.service, client_id: 'test'})
    const res = await fetch(tokenServer.realm, {method: 'POST', body: form})
    expect(res.status).toBe(200)
    return ((await res.json()) as {refresh_token: string}).refresh_token
  }

  it('uses an identity token (OAuth2 refresh_token POST) to push and pull', async () => {
    const info = services().registries.token
    const refresh = await passwordGrant()
    const client = new RegistryClient(info.host, {
      httpOptions: {plainHttp: [info.host]},
      credentials: new StaticCredentialStore({[info.host]: {identityToken: refresh}}),
    })
    const rec = recordRequests(new URL(services().tokenServer.realm).host)
    const repo = client.repository(repoName('identity'))
    const b = randomBlob(2048)
    await repo.push(b.descriptor, Readable.from(b.bytes))
    expect(await repo.exists(b.descriptor)).toBe(true)
    rec.stop()
    expect(rec.requests.length).toBeGreaterThan(0)
    expect(rec.requests.every((r) => r.method === 'POST')).toBe(true)
    await client.close()
  })

  it('a bad identity token -> AuthError from the token server', async () => {
    const info = services().registries.token
    const client = new RegistryClient(info.host, {
      httpOptions: {plainHttp: [info.host]},
      credentials: new StaticCredentialStore({[info.host]: {identityToken: 'not-a-refresh-token'}}),
    })
    const err = await client.ping().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthError)
    expect((err as Error).message).not.toContain('not-a-refresh-token')
    await client.close()
  })

  it('sends a registry token directly, without asking the token server', async () => {
    const {registries, tokenServer, credentials} = services()
    const info = registries.token
    const name = repoName('regtoken')
    const url = `${tokenServer.realm}?service=${tokenServer.service}&scope=repository:${name}:pull,push`
    const auth = Buffer.from(`${credentials.admin.username}:${credentials.admin.password}`).toString('base64')
    const token = ((await (await fetch(url, {headers: {authorization: `Basic ${auth}`}})).json()) as {token: string}).token
    const client = new RegistryClient(info.host, {
      httpOptions: {plainHttp: [info.host]},
      credentials: new StaticCredentialStore({[info.host]: {registryToken: token}}),
    })
    const rec = recordRequests(new URL(tokenServer.realm).host)
    const b = randomBlob(512)
    await client.repository(name).push(b.descriptor, Readable.from(b.bytes))
    rec.stop()
    expect(rec.requests).toEqual([])
    expect(await client.repository(name).exists(b.descriptor)).toBe(true)
    await client.close()
  })

  it('reads credentials from a Docker config.json (DOCKER_CONFIG) and caches tokens per scope set', async () => {
    const {registries, credentials, tokenServer} = services()
    const info = registries.token
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({auths: {[`http://${info.host}/v2/`]: {auth: Buffer.from(`${credentials.admin.username}:${credentials.admin.password}`).toString('base64')}}}),
    )
    const client = new RegistryClient(info.host, {
      httpOptions: {plainHttp: [info.host]},
      credentials: defaultCredentialStore({env: {DOCKER_CONFIG: dir, HOME: dir}}),
    })
    const repo = client.repository(repoName('config'))
    const rec = recordRequests(new URL(tokenServer.realm).host)
    for (let i = 0; i < 3; i++) {
      const b = randomBlob(100 + i)
      await repo.push(b.descriptor, Readable.from(b.bytes))
    }
    rec.stop()
    // one token for pull (HEAD) and one for pull,push (uploads), then cache hits
    expect(rec.requests.length).toBeLessThanOrEqual(2)
    await client.close()
  })
})
