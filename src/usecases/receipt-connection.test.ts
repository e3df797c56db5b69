import {describe, expect, it} from 'vitest'
import {reachMirror} from './receipt-connection.js'

const recorded = {registry: 'm:5000/pre', connection: {plainHttp: ['m:5000'], caFiles: ['/push/ca.pem']}}

describe('reachMirror', () => {
  it('uses what the receipt records when no flag is given', () => {
    const notes: string[] = []
    expect(reachMirror(recorded, 'r.json', {}, (m) => notes.push(m))).toEqual({plainHttp: ['m:5000'], caFiles: ['/push/ca.pem'], from: {plainHttp: 'receipt', caFiles: 'receipt'}})
    expect(notes).toEqual([])
  })

  it('older receipts record nothing: nothing is assumed', () => {
    expect(reachMirror({registry: 'm:5000'}, 'old.json', {}, () => undefined)).toEqual({plainHttp: [], caFiles: [], from: {plainHttp: 'none', caFiles: 'none'}})
  })

  it('flags replace the record, and every disagreement is stated', () => {
    const notes: string[] = []
    const reached = reachMirror(recorded, 'r.json', {plainHttp: ['other:1'], caFiles: ['/here/ca.pem']}, (m) => notes.push(m))
    expect(reached).toEqual({plainHttp: ['other:1'], caFiles: ['/here/ca.pem'], from: {plainHttp: 'flags', caFiles: 'flags'}})
    expect(notes).toEqual([
      'r.json records that the push reached m:5000 over plain HTTP, but --plain-http does not name it: using HTTPS for m:5000, as the flags say',
      '--ca-file /here/ca.pem replaces the CA file(s) the push trusted (/push/ca.pem, per r.json)',
    ])
    const https = {registry: 'm:5000', connection: {plainHttp: [], caFiles: []}}
    const told: string[] = []
    expect(reachMirror(https, 'r.json', {plainHttp: ['m:5000']}, (m) => told.push(m)).plainHttp).toEqual(['m:5000'])
    expect(told).toEqual(['--plain-http names m:5000, which the push reached over HTTPS (r.json): using plain HTTP, as the flags say'])
  })
})
