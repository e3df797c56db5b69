/** Helpers for the registry client integration tests: clients for each real registry mode. */
import {randomBytes} from 'node:crypto'
import {subscribe, unsubscribe} from 'node:diagnostics_channel'
import type {Credential} from '../../src/auth/types.js'
import {StaticCredentialStore} from '../../src/auth/store.js'
import {RegistryClient, type RegistryClientOptions} from '../../src/registry/index.js'
import {blob, type BlobData} from '../support/images.js'
import type {RegistryInfo} from '../support/services.js'

export type Who = 'admin' | 'reader' | 'anonymous'

/** Credentials of `who` on a registry (undefined for anonymous or a plain registry). */
export function credentialFor(info: RegistryInfo, who: Who): Credential | undefined {
  if (who === 'anonymous' || info.mode === 'plain') return undefined
  if (who === 'reader') return info.reader
  return {username: info.username!, password: info.password!}
}

/** A RegistryClient for a real registry: plain HTTP for http URLs, the rig CA for TLS. */
export function clientFor(info: RegistryInfo, who: Who = 'admin', extra: RegistryClientOptions = {}): RegistryClient {
  const cred = credentialFor(info, who)
  return new RegistryClient(info.host, {
    httpOptions: {
      plainHttp: info.url.startsWith('http:') ? [info.host] : [],
      caFiles: info.caFile ? [info.caFile] : [],
      retry: {retries: 1, baseDelayMs: 20},
    },
    credentials: new StaticCredentialStore(cred ? {[info.host]: cred} : {}),
    ...extra,
  })
}

/** A random opaque blob of `size` bytes. */
export function randomBlob(size: number): BlobData {
  return blob(randomBytes(size), 'application/octet-stream')
}

let n = 0
/** A repository name unique to this process and call. */
export function repoName(prefix: string): string {
  n += 1
  return `airgap-test/${prefix}-${process.pid}-${n}`
}

export async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const x of it) out.push(x)
  return out
}

export interface SeenRequest {
  method: string
  path: string
  headers: string
}

/**
 * Record the HTTP requests undici really sends to `host` (through its `undici:request:create`
 * diagnostics channel; nothing is intercepted). Call stop() when done.
 */
export function recordRequests(host: string): {requests: SeenRequest[]; stop(): void} {
  const requests: SeenRequest[] = []
  const onCreate = (msg: unknown) => {
    const r = (msg as {request: {origin: unknown; method: string; path: string; headers: unknown}}).request
    if (String(r.origin).includes(host)) requests.push({method: r.method, path: r.path, headers: String(r.headers)})
  }
  subscribe('undici:request:create', onCreate)
  return {requests, stop: () => unsubscribe('undici:request:create', onCreate)}
}
