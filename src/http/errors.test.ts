import {describe, expect, it} from 'vitest'
import {AuthError, NetworkError, TlsError} from '../errors.js'
import {errorCode, isRetryableError, mapTransportError} from './errors.js'

function err(code: string, message = code, cause?: unknown): Error {
  return Object.assign(new Error(message, cause === undefined ? undefined : {cause}), {code})
}

describe('mapTransportError', () => {
  it('maps certificate failures to TlsError with the --ca-file hint', () => {
    for (const code of ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'CERT_HAS_EXPIRED', 'ERR_TLS_CERT_ALTNAME_INVALID']) {
      const mapped = mapTransportError(err(code), {host: 'reg:5443', side: 'destination'})
      expect(mapped).toBeInstanceOf(TlsError)
      expect((mapped as TlsError).message).toBe(`TLS certificate of reg:5443 (destination) is not trusted (${code})`)
      expect((mapped as TlsError).hint).toMatch(/--ca-file/)
      expect(isRetryableError(err(code))).toBe(false)
    }
  })

  it('maps "wrong version number" (TLS to an HTTP server) to TlsError with the --plain-http hint', () => {
    const e = err('ERR_SSL_WRONG_VERSION_NUMBER', 'C0:error:0A00010B:SSL routines:ssl3_get_record:wrong version number')
    const mapped = mapTransportError(e, {host: '127.0.0.1:5000'}) as TlsError
    expect(mapped).toBeInstanceOf(TlsError)
    expect(mapped.hint).toBe('if the registry really serves plain HTTP, pass --plain-http 127.0.0.1:5000')
    expect(mapTransportError(new Error('ssl3_get_record:wrong version number'), {host: 'h'})).toBeInstanceOf(TlsError)
  })

  it('maps connection failures to NetworkError naming host, side, operation and attempts', () => {
    const mapped = mapTransportError(err('ECONNREFUSED'), {host: 'h:1', side: 'source', operation: 'GET /v2/', attempts: 4})
    expect(mapped).toBeInstanceOf(NetworkError)
    expect((mapped as Error).message).toBe('network error talking to h:1 (source) (GET /v2/): connection refused after 4 attempts')
    expect((mapTransportError(err('ENOTFOUND'), {host: 'nope.invalid'}) as Error).message).toMatch(/host name not found/)
  })

  it('looks through undici wrappers for the real cause', () => {
    const wrapped = err('UND_ERR_SOCKET', 'other side closed', err('ECONNRESET'))
    expect(errorCode(wrapped)).toBe('ECONNRESET')
    expect(isRetryableError(wrapped)).toBe(true)
    expect(isRetryableError(err('UND_ERR_HEADERS_TIMEOUT'))).toBe(true)
    expect(isRetryableError(err('ENOTFOUND'))).toBe(false)
  })

  it('passes AirgapErrors and aborts through unchanged', () => {
    const auth = new AuthError({registry: 'r'}, 'x')
    expect(mapTransportError(auth, {host: 'r'})).toBe(auth)
    const abort = Object.assign(new Error('aborted'), {name: 'AbortError'})
    expect(mapTransportError(abort, {host: 'r'})).toBe(abort)
  })
})
