/**
 * The parts of undici airgap uses, loaded from their own modules instead of undici's index: the
 * index also loads fetch, WebSocket, EventSource, caches and mocks (about 110 modules, ~50 ms and
 * ~8 MB per process on this machine), none of which airgap needs. Types come from the package.
 * undici 7 has no `exports` map, so these paths are part of its published layout (pinned version).
 */
import {createRequire} from 'node:module'
import type * as Undici from 'undici'

const require = createRequire(import.meta.url)

/** undici's Agent (connection pools per origin, keep-alive). */
export const Agent = require('undici/lib/dispatcher/agent') as typeof Undici.Agent

/** undici's EnvHttpProxyAgent, loaded only when a proxy is configured. */
export function loadEnvHttpProxyAgent(): typeof Undici.EnvHttpProxyAgent {
  return require('undici/lib/dispatcher/env-http-proxy-agent') as typeof Undici.EnvHttpProxyAgent
}

type RequestOptions = Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path'>
type ApiRequest = (this: Undici.Dispatcher, opts: Undici.Dispatcher.RequestOptions) => Promise<Undici.Dispatcher.ResponseData>

const apiRequest = require('undici/lib/api/api-request') as ApiRequest

/** undici's `request(url, {dispatcher, …})` without the index: one request through `dispatcher`. */
export function request(url: URL, opts: RequestOptions & {dispatcher: Undici.Dispatcher}): Promise<Undici.Dispatcher.ResponseData> {
  const {dispatcher, ...rest} = opts
  return apiRequest.call(dispatcher, {...rest, origin: url.origin, path: url.search ? `${url.pathname}${url.search}` : url.pathname})
}

export type {Dispatcher} from 'undici'
