import {Writable} from 'node:stream'
import {describe, expect, it} from 'vitest'
import type {VerifyReport} from '../usecases/verify.js'
import {pushProgress} from './push-progress.js'

/** Collects what is written (a plain stream, not a terminal: no live line). */
function collector(): Writable & {text: () => string} {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString())
      done()
    },
  }) as Writable & {text: () => string}
  stream.text = () => chunks.join('')
  return stream
}

const report = {path: 'b.tar', blobs: 3, bytes: 1536, signer: 'sha256:abc', seconds: 0.123} as VerifyReport

describe('push progress on stderr', () => {
  it('prints the Verified line and failed items, and passes warnings and registry warnings to warn', () => {
    const stream = collector()
    const warned: string[] = []
    const p = pushProgress({json: false, quiet: false, warn: (m) => warned.push(m), stream: stream as unknown as NodeJS.WriteStream})
    p.hooks.onVerified?.(report)
    p.hooks.onItem?.({kind: 'image', name: 'docker.io/acme/app:1', status: 'pushed'})
    p.hooks.onItem?.({kind: 'chart', name: 'demo@0.1.0', status: 'failed', error: 'HTTP 500'})
    p.hooks.onWarning?.('AUTHENTICITY NOT CHECKED')
    p.registryWarning('deprecated', 'mirror.corp:5000')
    p.end()
    expect(stream.text()).toBe('Verified b.tar: 3 blobs, 1.5 KiB, signed by sha256:abc (0.12 s)\n\nfailed: chart demo@0.1.0: HTTP 500\n')
    expect(warned).toEqual(['AUTHENTICITY NOT CHECKED', 'mirror.corp:5000: deprecated'])
  })

  it('with --json: no Verified line, warnings are JSON events; with --quiet: no Verified line', () => {
    const json = collector()
    const p = pushProgress({json: true, quiet: false, warn: () => expect.fail('no plain warning in --json mode'), stream: json as unknown as NodeJS.WriteStream})
    p.hooks.onVerified?.(report)
    p.hooks.onWarning?.('no --helm-repo was given')
    expect(json.text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)).toEqual([expect.objectContaining({event: 'warning', message: 'no --helm-repo was given'})])
    const quiet = collector()
    pushProgress({json: false, quiet: true, warn: () => undefined, stream: quiet as unknown as NodeJS.WriteStream}).hooks.onVerified?.(report)
    expect(quiet.text()).toBe('')
  })
})
