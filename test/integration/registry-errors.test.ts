/**
 * Failures against the real registries map to the error taxonomy with the right exit codes and
 * messages that say what and where, without leaking secrets.
 */
import {Readable} from 'node:stream'
import {expect, it} from 'vitest'
import {AuthError, NetworkError, NotFoundError, RegistryError, TlsError} from '../../src/errors.js'
import {makeImage} from '../support/images.js'
import {RegistryClient, openRegistryTarget} from '../../src/registry/index.js'
import {StaticCredentialStore} from '../../src/auth/store.js'
import {describeWithServices, freePort, services} from '../support/services.js'
import {clientFor, randomBlob, repoName} from './registry-support.js'

describeWithServices('registry client errors', () => {
  it('wrong password on an htpasswd registry -> AuthError (exit 4) that names the registry, not the password', async () => {
    const info = services().registries.htpasswd
    const client = new RegistryClient(info.host, {
      httpOptions: {plainHttp: [info.host]},
      credentials: new StaticCredentialStore({[info.host]: {username: 'admin', password: 'not-the-password'}}),
      side: 'destination',
    })
    const err = await client.repository(repoName('wrongpw')).resolve('v1').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthError)
    expect((err as AuthError).exitCode).toBe(4)
    expect((err as Error).message).toMatch(/wrong username or password/)
    expect((err as Error).message).toContain(info.host)
    expect((err as Error).message).toContain('(destination)')
    expect((err as Error).message).not.toContain('not-the-password')
    await client.close()
  })

  it('wrong password on a token registry -> AuthError from the token server (exit 4)', async () => {
    const info = services().registries.token
    const client = new RegistryClient(info.host, {
      httpOptions: {plainHttp: [info.host]},
      credentials: new StaticCredentialStore({[info.host]: {username: 'admin', password: 'nope-nope'}}),
    })
    const err = await client.ping().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthError)
    expect((err as Error).message).toMatch(/token server .* refused the credentials/)
    expect((err as Error).message).not.toContain('nope-nope')
    await client.close()
  })

  it('anonymous access to an htpasswd registry -> AuthError asking for credentials', async () => {
    const info = services().registries.htpasswd
    const client = clientFor(info, 'anonymous')
    const err = await client.ping().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthError)
    expect((err as Error).message).toMatch(/requires credentials/)
    await client.close()
  })

  it('a pull-only user pushing to the token registry -> AuthError "access denied" naming push', async () => {
    const info = services().registries.token
    const client = clientFor(info, 'reader')
    const b = randomBlob(100)
    const err = await client.repository(repoName('denied')).push(b.descriptor, Readable.from(b.bytes)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthError)
    expect((err as AuthError).exitCode).toBe(4)
    expect((err as Error).message).toMatch(/access denied: not allowed to push airgap-test\/denied-/)
    await client.close()
  })

  it('the reader can still pull from the token registry', async () => {
    const info = services().registries.token
    const admin = clientFor(info, 'admin')
    const reader = clientFor(info, 'reader')
    const name = repoName('readable')
    const b = randomBlob(300)
    await admin.repository(name).push(b.descriptor, Readable.from(b.bytes))
    expect(await reader.repository(name).exists(b.descriptor)).toBe(true)
    await Promise.all([admin.close(), reader.close()])
  })

  it('a missing manifest -> NotFoundError (exit 7) naming the reference', async () => {
    const client = clientFor(services().registries.plain)
    const name = repoName('missing')
    const err = await client.repository(name).resolve('nope').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NotFoundError)
    expect((err as NotFoundError).exitCode).toBe(7)
    expect((err as Error).message).toContain(`${services().registries.plain.host}/${name}:nope`)
    await client.close()
  })

  it('a missing blob -> NotFoundError from fetch()', async () => {
    const client = clientFor(services().registries.plain)
    const b = randomBlob(10)
    await expect(client.repository(repoName('missingblob')).fetch(b.descriptor)).rejects.toBeInstanceOf(NotFoundError)
    await client.close()
  })

  it('TLS registry without its CA -> TlsError (exit 8) with the --ca-file hint', async () => {
    const info = services().registries.tls
    const client = new RegistryClient(info.host, {
      credentials: new StaticCredentialStore({[info.host]: {username: info.username!, password: info.password!}}),
    })
    const err = await client.ping().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TlsError)
    expect((err as TlsError).exitCode).toBe(8)
    expect((err as TlsError).hint).toMatch(/--ca-file/)
    expect((err as Error).message).toContain(info.host)
    await client.close()
  })

  it('TLS registry with verification skipped for its host works without the CA', async () => {
    const info = services().registries.tls
    const client = new RegistryClient(info.host, {
      httpOptions: {insecureSkipVerify: [info.host]},
      credentials: new StaticCredentialStore({[info.host]: {username: info.username!, password: info.password!}}),
    })
    await expect(client.ping()).resolves.toBeUndefined()
    await client.close()
  })

  it('HTTPS spoken to a plain-HTTP registry -> TlsError with the --plain-http hint', async () => {
    const info = services().registries.plain
    const {repository, client} = openRegistryTarget(`${info.host}/ns/app:v1`, {side: 'source'})
    const err = await repository.resolve('v1').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TlsError)
    expect((err as TlsError).hint).toBe(`if the registry really serves plain HTTP, pass --plain-http ${info.host}`)
    expect((err as Error).message).toContain('(source)')
    await client.close()
  })

  it('plain HTTP spoken to the TLS registry -> TlsError telling to drop --plain-http', async () => {
    const info = services().registries.tls
    const client = new RegistryClient(info.host, {httpOptions: {plainHttp: [info.host]}})
    const err = await client.ping().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(TlsError)
    expect((err as TlsError).hint).toMatch(/--plain-http/)
    await client.close()
  })

  it('connection refused -> NetworkError (exit 9) after the retries, naming host and side', async () => {
    const port = await freePort()
    const host = `127.0.0.1:${port}`
    const client = new RegistryClient(host, {
      httpOptions: {plainHttp: [host], retry: {retries: 2, baseDelayMs: 10}},
      side: 'destination',
    })
    const err = await client.ping().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NetworkError)
    expect((err as NetworkError).exitCode).toBe(9)
    expect((err as Error).message).toBe(`network error talking to ${host} (destination) (GET /v2/): connection refused after 3 attempts`)
    await client.close()
  })

  it('a manifest pushed before its blobs -> RegistryError carrying MANIFEST_BLOB_UNKNOWN', async () => {
    const client = clientFor(services().registries.plain)
    const image = await makeImage({seed: 'manifest-blob-unknown'})
    const err = await client
      .repository(repoName('orphan'))
      .pushReference(image.manifest.descriptor, Readable.from(image.manifest.bytes), 'v1')
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RegistryError)
    expect((err as RegistryError).codes).toContain('MANIFEST_BLOB_UNKNOWN')
    expect((err as RegistryError).status).toBe(400)
    await client.close()
  })
})
