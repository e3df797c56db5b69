import {Writable} from 'node:stream'
import {describe, expect, it} from 'vitest'
import {createProgress} from './progress.js'

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
})
