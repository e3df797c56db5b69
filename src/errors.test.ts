import {describe, expect, it} from 'vitest'
import {AirgapError, causeChain, findCause, IntegrityError, InvalidReferenceError, isServerFailure, NotFoundError, RegistryError, unlessServerFails, UsageError} from './errors.js'

describe('findCause', () => {
  const integrity = new IntegrityError('digest mismatch')
  const wrapped = new AirgapError('copy failed', {cause: new Error('stream broke', {cause: integrity})})

  it('finds the first error of a class in the cause chain, the error itself first', () => {
    expect(findCause(wrapped, IntegrityError)).toBe(integrity)
    expect(findCause(integrity, IntegrityError)).toBe(integrity)
    expect(findCause(wrapped, AirgapError)).toBe(wrapped)
    expect(findCause(wrapped, NotFoundError)).toBeUndefined()
    expect(findCause(new InvalidReferenceError('Bad', 'upper case'), UsageError)).toBeInstanceOf(InvalidReferenceError)
  })

  it('takes a predicate, and looks through non-Error causes (undici wraps plain objects)', () => {
    const blobUnknown = new RegistryError({registry: 'r'}, 400, ['MANIFEST_BLOB_UNKNOWN'], '')
    const outer = new Error('push failed', {cause: blobUnknown})
    expect(findCause(outer, (e) => e instanceof RegistryError && e.codes.includes('MANIFEST_BLOB_UNKNOWN'))).toBe(blobUnknown)
    const socket = {code: 'ECONNRESET'}
    expect(findCause(new Error('fetch failed', {cause: socket}), (e) => (e as {code?: unknown}).code === 'ECONNRESET')).toBe(socket)
    expect(findCause(undefined, () => true)).toBeUndefined()
  })

  it('stops at cycles and after a bounded depth', () => {
    const a = new Error('a') as Error & {cause?: unknown}
    const b = new Error('b', {cause: a})
    a.cause = b
    expect(causeChain(a)).toEqual([a, b])
    expect(findCause(a, NotFoundError)).toBeUndefined()
    let deep: unknown = new NotFoundError('deep')
    for (let i = 0; i < 20; i++) deep = new Error(`level ${i}`, {cause: deep})
    expect(causeChain(deep)).toHaveLength(8)
    expect(findCause(deep, NotFoundError)).toBeUndefined()
  })
})

describe('InvalidReferenceError', () => {
  it('does not shadow the JavaScript ReferenceError and keeps its --json code', () => {
    const err = new InvalidReferenceError('Bad/Name', 'repository name must be lowercase')
    expect(err).not.toBeInstanceOf(ReferenceError)
    expect(err.code).toBe('INVALID_REFERENCE')
    expect(err.exitCode).toBe(2)
    expect(err.message).toBe('invalid image reference "Bad/Name": repository name must be lowercase')
  })
})

describe('unlessServerFails (a mirror that cannot say whether it holds something)', () => {
  const status = (s: number): RegistryError => new RegistryError({registry: 'mirror.local'}, s, [], '')

  it('answers the fallback for 5xx that might pass, wrapped or not', async () => {
    for (const s of [500, 502, 503, 504]) expect(await unlessServerFails(Promise.reject(status(s)), false)).toBe(false)
    expect(await unlessServerFails(Promise.reject(new AirgapError('existence check failed', {cause: status(500)})), 'absent')).toBe('absent')
    expect(isServerFailure(new Error('x', {cause: status(503)}))).toBe(true)
  })

  it('passes the answer through, and every other failure (404, 501, 505, auth, network) is thrown as it was', async () => {
    expect(await unlessServerFails(Promise.resolve(true), false)).toBe(true)
    for (const err of [status(501), status(505), status(400), new NotFoundError('no such blob'), new Error('ECONNRESET')]) {
      await expect(unlessServerFails(Promise.reject(err), false)).rejects.toBe(err)
    }
  })
})
