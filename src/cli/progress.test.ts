import {Writable} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {createProgress, formatRate} from './progress.js'

/** Collects what the renderer writes; `isTTY` makes it look like a terminal (none runs under the test runner). */
function terminalDouble(columns = 200): Writable & {isTTY: boolean; columns: number; text: () => string} {
  const chunks: string[] = []
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString())
      done()
    },
  }) as Writable & {isTTY: boolean; columns: number; text: () => string}
  stream.isTTY = true
  stream.columns = columns
  stream.text = () => chunks.join('')
  return stream
}

const desc = {mediaType: 'application/octet-stream', digest: `sha256:${'a'.repeat(64)}`, size: 10}

describe('progress on a terminal', () => {
  it('clears the live line before a warning and draws it again after', () => {
    const stream = terminalDouble()
    const p = createProgress({stream: stream as unknown as NodeJS.WriteStream})
    p.onStart?.(desc)
    const before = stream.text().length
    p.interrupt(() => stream.write('WARNING: something\n'))
    const after = stream.text().slice(before)
    expect(after.startsWith('\r\x1b[2KWARNING: something\n')).toBe(true)
    expect(after).toMatch(/WARNING: something\n\r\x1b\[2K {2}0 B .*1 in flight$/)
  })

  it('writes a warning as it is when nothing was drawn yet, and draws nothing in --json mode', () => {
    const stream = terminalDouble()
    createProgress({stream: stream as unknown as NodeJS.WriteStream}).interrupt(() => stream.write('WARNING: early\n'))
    expect(stream.text()).toBe('WARNING: early\n')
    const json = terminalDouble()
    const p = createProgress({stream: json as unknown as NodeJS.WriteStream, json: true})
    p.onStart?.(desc)
    p.interrupt(() => json.write('x\n'))
    expect(json.text().split('\n').filter(Boolean).map((l) => (l.startsWith('{') ? (JSON.parse(l) as {event: string}).event : l))).toEqual(['start', 'x'])
  })

  it('names the images whose content is in flight, without their registry host', () => {
    const stream = terminalDouble()
    const p = createProgress({stream: stream as unknown as NodeJS.WriteStream})
    const d = (n: string) => ({...desc, digest: `sha256:${n.repeat(64)}`})
    p.onStart?.(d('1'), 'docker.io/wandb/local:0.62.2')
    p.onStart?.(d('2'), 'docker.io/wandb/local:0.62.2')
    p.onStart?.(d('3'), 'quay.io/prometheus/prometheus:v2.47.0')
    p.status('writing bundle')
    expect(stream.text().split('\r\x1b[2K').pop()).toMatch(/3 in flight {2}writing bundle: wandb\/local:0\.62\.2, prometheus\/prometheus:v2\.47\.0$/)
    p.onStart?.(d('4'), 'registry.local:5000/acme/app@sha256:' + 'f'.repeat(64))
    p.onStart?.(d('5'), 'redis:7')
    p.status('writing bundle')
    expect(stream.text().split('\r\x1b[2K').pop()).toMatch(/5 in flight {2}writing bundle: wandb\/local:0\.62\.2, prometheus\/prometheus:v2\.47\.0 \+2$/)
    p.onDone?.(d('1'))
    p.onDone?.(d('2'))
    p.status('writing bundle')
    expect(stream.text().split('\r\x1b[2K').pop()).toMatch(/: prometheus\/prometheus:v2\.47\.0, acme\/app \+1$/)
  })
})

describe('formatRate', () => {
  it('keeps a small transfer readable instead of rounding it to 0 MB/s', () => {
    expect(formatRate(320.4e6)).toBe('320 MB/s')
    expect(formatRate(4.24e6)).toBe('4.2 MB/s')
    expect(formatRate(71_200)).toBe('71 kB/s')
    expect(formatRate(0)).toBe('0 kB/s')
  })
})
