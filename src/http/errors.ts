/** Map low-level transport failures (sockets, DNS, TLS, timeouts) onto the airgap error taxonomy. */
import {AirgapError, causeChain, NetworkError, TlsError, type Side} from '../errors.js'

/** Certificate verification failures reported by Node's TLS layer (err.code). */
const CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
])

/** Codes of failures that may go away on another attempt. */
const RETRYABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  // the connection ended before the body reached its Content-Length (a cut mid-body)
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
])

const DESCRIPTIONS: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ENOTFOUND: 'host name not found (DNS)',
  EAI_AGAIN: 'temporary DNS failure',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_SOCKET: 'connection closed unexpectedly',
  UND_ERR_CLOSED: 'connection closed',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
  UND_ERR_HEADERS_TIMEOUT: 'timed out waiting for response headers',
  UND_ERR_BODY_TIMEOUT: 'timed out waiting for response body data',
  UND_ERR_RES_CONTENT_LENGTH_MISMATCH: 'the response body ended before its Content-Length (connection cut)',
}

/** The most specific `code` in an error's cause chain (a wrapped cause beats undici's UND_ERR_SOCKET). */
export function errorCode(err: unknown): string | undefined {
  const codes = causeChain(err).map(codeOf).filter((c) => c !== undefined)
  return codes.find((c) => c !== 'UND_ERR_SOCKET') ?? codes[0]
}

function codeOf(e: unknown): string | undefined {
  const code = (e as {code?: unknown} | null)?.code
  return typeof code === 'string' ? code : undefined
}

function messageChain(err: unknown): string {
  return causeChain(err).filter((e): e is Error => e instanceof Error).map((e) => e.message).join(': ')
}

/** True when the failure was speaking TLS to a plain-HTTP server. */
export function isWrongTlsVersion(err: unknown): boolean {
  const code = errorCode(err)
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') return true
  return /wrong version number|packet length too long/i.test(messageChain(err))
}

export function isCertificateError(err: unknown): boolean {
  const code = errorCode(err)
  return code !== undefined && CERT_CODES.has(code)
}

/** Whether a transport failure deserves another attempt (never TLS failures, never aborts). */
export function isRetryableError(err: unknown): boolean {
  if (err instanceof AirgapError) return false
  if (isWrongTlsVersion(err) || isCertificateError(err)) return false
  const code = errorCode(err)
  return code !== undefined && RETRYABLE_CODES.has(code)
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === 'AbortError' || (err as {code?: unknown}).code === 'ABORT_ERR')
}

export interface TransportContext {
  /** host[:port] the request went to. */
  host: string
  side?: Side
  /** Short description of the operation, e.g. "GET /v2/". */
  operation?: string
  attempts?: number
}

/**
 * Turn a transport error into a TlsError or NetworkError that names the host and side. AirgapErrors
 * and aborts are returned unchanged.
 */
export function mapTransportError(err: unknown, ctx: TransportContext): unknown {
  if (err instanceof AirgapError || isAbortError(err)) return err
  const where = `${ctx.host}${ctx.side ? ` (${ctx.side})` : ''}`
  if (isWrongTlsVersion(err)) {
    return new TlsError(`TLS handshake with ${where} failed: the server speaks plain HTTP, not HTTPS`, {
      hint: `if the registry really serves plain HTTP, pass --plain-http ${ctx.host}`,
      cause: err,
    })
  }
  if (isCertificateError(err)) {
    const code = errorCode(err)
    return new TlsError(`TLS certificate of ${where} is not trusted (${code})`, {
      hint: "pass --ca-file with the registry's CA certificate (PEM)",
      cause: err,
    })
  }
  const code = errorCode(err)
  if (code && (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS'))) {
    return new TlsError(`TLS handshake with ${where} failed (${code})`, {
      hint: "check the registry's TLS setup; pass --ca-file with its CA, or --plain-http if it serves HTTP",
      cause: err,
    })
  }
  const what = (code && DESCRIPTIONS[code]) ?? (err instanceof Error ? err.message : String(err))
  const tries = ctx.attempts && ctx.attempts > 1 ? ` after ${ctx.attempts} attempts` : ''
  return new NetworkError(`network error talking to ${where}${ctx.operation ? ` (${ctx.operation})` : ''}: ${what}${tries}`, {
    hint: `check that ${ctx.host} is reachable from here (address, port, firewall, HTTPS_PROXY/NO_PROXY)`,
    cause: err,
  })
}
