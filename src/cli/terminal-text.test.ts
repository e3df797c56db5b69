import {describe, expect, it} from 'vitest'
import {escapeJsonControls, printable, printableLine} from './terminal-text.js'

describe('terminal text', () => {
  it('escapes ANSI escape sequences, C1 controls and bidi overrides, keeps ordinary text', () => {
    expect(printable('airgap \x1b[2J\x1b]0;pwned\x07 ok')).toBe('airgap \\x1b[2J\\x1b]0;pwned\\x07 ok')
    expect(printable('a\u009bb')).toBe('a\\x9bb')
    expect(printable('evil\u202etxt.exe')).toBe('evil\\u202etxt.exe')
    expect(printable('wandb/local:0.74.1 — ünïcode ✓')).toBe('wandb/local:0.74.1 — ünïcode ✓')
  })

  it('keeps line breaks in multi-line output, escapes them (and carriage returns) in one-line output', () => {
    expect(printable('one\ntwo\tthree\rfour')).toBe('one\ntwo\tthree\\rfour')
    expect(printableLine('one\ntwo\tthree\rfour')).toBe('one\\ntwo\\tthree\\rfour')
  })
})

describe('JSON output', () => {
  it('escapes the controls JSON.stringify leaves raw, and parses back to the same value', () => {
    const value = {name: 'a\u009b2Jb\u202ec\x1b[31m', n: 1}
    const text = escapeJsonControls(JSON.stringify(value))
    expect(text).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u202e]/)
    expect(JSON.parse(text)).toEqual(value)
  })
})
