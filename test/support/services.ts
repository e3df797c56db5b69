/**
 * Coordinates of the real test services started once per run by test/support/global-setup.ts
 * (registries plain / htpasswd / token / tls, token server, nginx Helm repo), plus helpers to start
 * private instances (an extra registry, containerd) in the same rig. See scripts/rig.mjs.
 *
 *   import {describeWithServices, services} from './services.js'
 *   describeWithServices('push to a real registry', () => {
 *     it('…', async () => { const {plain} = services().registries; … })
 *   })
 */
import {inject, describe} from 'vitest'
import * as rig from '../../scripts/rig.mjs'
import type {ContainerdHandle, RegistryHandle, RegistryMode, ServicesInfo} from '../../scripts/rig.mjs'

export type {ContainerdHandle, Credentials, NginxInfo, RegistryHandle, RegistryInfo, RegistryMode, ServicesInfo, TokenServerInfo} from '../../scripts/rig.mjs'
export {CREDENTIALS, TOKEN_ISSUER, TOKEN_SERVICE, freePort, pidAlive, probe} from '../../scripts/rig.mjs'

/** What the global setup provides: the running services, or why they are missing. */
export type ServicesContext =
  | (ServicesInfo & {/** false when reusing services started by scripts/test-services.sh */ owned: boolean})
  | {available: false; reason: string}

declare module 'vitest' {
  export interface ProvidedContext {
    services: ServicesContext
  }
}

const NOT_SET_UP: ServicesContext = {
  available: false,
  reason: 'the vitest global setup (test/support/global-setup.ts) did not run',
}

/** The provided context as is (never throws). */
export function servicesContext(): ServicesContext {
  return (inject('services') as ServicesContext | undefined) ?? NOT_SET_UP
}

/** True when the real services run. */
export function servicesAvailable(): boolean {
  return servicesContext().available
}

/** Why the services are unavailable ('' when they run). */
export function servicesUnavailableReason(): string {
  const ctx = servicesContext()
  return ctx.available ? '' : ctx.reason
}

/** Coordinates of the running services; throws (with the reason) when they are unavailable. */
export function services(): ServicesInfo {
  const ctx = servicesContext()
  if (!ctx.available) throw new Error(`test services unavailable: ${ctx.reason}`)
  return ctx
}

/** `describe` that is skipped, with the reason in its title, when the services do not run. */
export function describeWithServices(name: string, fn: () => void): void {
  const reason = servicesUnavailableReason()
  describe.skipIf(reason !== '')(reason === '' ? name : `${name} [skipped: ${reason}]`, fn)
}

let counter = 0
/** A name unique within this run (per worker process), for private registries and repositories. */
export function uniqueName(prefix = 'priv'): string {
  counter += 1
  return `${prefix}-${process.pid}-${counter}`
}

/**
 * Start a private registry in the run's rig (own data dir and port unless given). Stop it yourself
 * (afterAll); the global teardown stops leftovers. `restart()` keeps port and storage.
 */
export function startRegistry(opts: {name?: string; mode?: RegistryMode; dataDir?: string; port?: number} = {}): Promise<RegistryHandle> {
  const info = services()
  return rig.startRegistry({
    rig: info.rig,
    name: opts.name ?? uniqueName(`registry-${opts.mode ?? 'plain'}`),
    ...opts,
    ...(opts.mode === 'token' ? {tokenRealm: info.tokenServer.realm} : {}),
  })
}

/** Start containerd on a private socket in the run's rig (root only). Stop it yourself. */
export function startContainerd(): Promise<ContainerdHandle> {
  return rig.startContainerd({rig: services().rig})
}

/** `Authorization: Basic …` value for credentials. */
export function basicAuth(c: {username: string; password: string}): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`
}
