/**
 * The parts of undici airgap uses, loaded from their own modules instead of undici's index: the
 * index also loads fetch, WebSocket, EventSource, caches and mocks (about 110 modules, ~50 ms and
 * ~8 MB per process on this machine), none of which airgap needs. Types come from the package.
 * undici 7 has no `exports` map, so these paths are part of its published layout (pinned version).
 */
import type * as Undici from 'undici'
// Static imports (not createRequire) so that the single-file executable's bundler sees them.
import AgentModule from 'undici/lib/dispatcher/agent.js'
import EnvHttpProxyAgentModule from 'undici/lib/dispatcher/env-http-proxy-agent.js'
import apiRequestModule from 'undici/lib/api/api-request.js'
import {setFlagsFromString} from 'node:v8'

// undici parses HTTP with llhttp compiled to WebAssembly, on the first connection. V8 compiles it
// twice: a quick baseline (Liftoff), then an optimised tier in the background whose compilation
// alone costs ~30 MiB of peak memory per process, for a parser that only reads response headers
// here (bodies are counted, not scanned). Baseline code only; set before any module is compiled
// (this module loads before any connection is made), and changing nothing else.
setFlagsFromString('--liftoff-only')

/** undici's Agent (connection pools per origin, keep-alive). */
export const Agent = AgentModule as unknown as typeof Undici.Agent

/** undici's EnvHttpProxyAgent, used only when a proxy is configured. */
export function loadEnvHttpProxyAgent(): typeof Undici.EnvHttpProxyAgent {
  return EnvHttpProxyAgentModule as unknown as typeof Undici.EnvHttpProxyAgent
}

type RequestOptions = Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path'>
type ApiRequest = (this: Undici.Dispatcher, opts: Undici.Dispatcher.RequestOptions) => Promise<Undici.Dispatcher.ResponseData>

const apiRequest = apiRequestModule as unknown as ApiRequest

/** undici's `request(url, {dispatcher, …})` without the index: one request through `dispatcher`. */
export function request(url: URL, opts: RequestOptions & {dispatcher: Undici.Dispatcher}): Promise<Undici.Dispatcher.ResponseData> {
  const {dispatcher, ...rest} = opts
  return apiRequest.call(dispatcher, {...rest, origin: url.origin, path: url.search ? `${url.pathname}${url.search}` : url.pathname})
}

export type {Dispatcher} from 'undici'
