/**
 * Sprig's string functions (strings.go, with goutils and xstrings behaviour): trimming, case,
 * truncation by bytes, quoting, indentation, splitting and joining, word wrapping.
 */
import {LIMITS} from '../template/budget.js'
import {goQuote, formatValue} from '../template/format.js'
import {typedMap, typedSlice, utf8Bytes, type GoFunc} from '../template/values.js'
import {strval} from './convert.js'
import {GO_SPACE, goFunc, mapRunes, trimSpace} from './define.js'

const PLAIN = {plus: false, minus: false, sharp: false, space: false, zero: false}

/** Byte-offset slice of a string, as Go's s[a:b]. */
export function byteSlice(s: string, start: number, end?: number): string {
  const b = utf8Bytes(s)
  return Buffer.from(b.subarray(start, end ?? b.length)).toString('utf8')
}

function byteLen(s: string): number {
  return utf8Bytes(s).length
}

function abbreviateFull(str: string, offset: number, maxWidth: number): string {
  if (str === '') return ''
  const len = byteLen(str)
  if (len <= maxWidth) return str
  if (offset > len) offset = len
  if (len - offset < maxWidth - 3) offset = len - (maxWidth - 3)
  if (offset <= 4) return `${byteSlice(str, 0, maxWidth - 3)}...`
  if (maxWidth < 7) return ''
  if (offset + maxWidth - 3 < len) return `...${abbreviateFull(byteSlice(str, offset), 0, maxWidth - 3)}`
  return `...${byteSlice(str, len - (maxWidth - 3))}`
}

/** Go's strings.Title: upper-case the first letter of each word. */
function title(s: string): string {
  let prev = ' '
  let out = ''
  for (const ch of s) {
    out += isSeparator(prev) ? mapRunes(ch, 'title') : ch
    prev = ch
  }
  return out
}

function isSeparator(ch: string): boolean {
  const c = ch.codePointAt(0)!
  if (c <= 0x7f) return !/[0-9A-Za-z_]/.test(ch)
  if (/[\p{L}\p{Nd}]/u.test(ch)) return false
  return GO_SPACE.test(ch)
}

function goTrim(s: string, cutset: string, left: boolean, right: boolean): string {
  const set = new Set([...cutset])
  const chars = [...s]
  let a = 0
  let b = chars.length
  if (left) while (a < b && set.has(chars[a]!)) a++
  if (right) while (b > a && set.has(chars[b - 1]!)) b--
  return chars.slice(a, b).join('')
}

const isUpper = (ch: string) => /\p{Lu}/u.test(ch)
const isLetter = (ch: string) => /\p{L}/u.test(ch)
const isNumber = (ch: string) => /\p{N}/u.test(ch)
const isPunct = (ch: string) => /\p{P}/u.test(ch)
const isConnector = (ch: string) => ch === '-' || ch === '_' || GO_SPACE.test(ch)
const isAlphabet = (ch: string) => {
  if (!isLetter(ch)) return false
  const c = ch.codePointAt(0)!
  if (c < 0x3400) return true
  return !((c >= 0x4e00 && c <= 0x9fcc) || (c >= 0x3400 && c <= 0x4d85) || (c >= 0x20000 && c <= 0x2a6df))
}

/** xstrings.ToCamelCase. */
function camelcase(str: string): string {
  if (str === '') return ''
  const runes = [...str]
  let out = ''
  let i = 0
  let r0 = ''
  for (; i < runes.length; ) {
    r0 = runes[i++]!
    if (!isConnector(r0)) {
      r0 = mapRunes(r0, 'upper')
      break
    }
    out += r0
  }
  if (i >= runes.length) return out + (isConnector(r0) ? '' : r0)
  let r1: string
  for (; i < runes.length; ) {
    r1 = r0
    r0 = runes[i++]!
    if (isConnector(r0) && isConnector(r1)) {
      out += r1
      continue
    }
    if (isConnector(r1)) r0 = mapRunes(r0, 'upper')
    else {
      r0 = mapRunes(r0, 'lower')
      out += r1
    }
  }
  return out + r0
}

type WordType = 'invalid' | 'number' | 'upper' | 'alphabet' | 'connector' | 'punct' | 'other'

/** xstrings nextWord over an array of runes starting at `at`. */
function nextWord(r: string[], at: number): {wt: WordType; word: string; next: number} {
  if (at >= r.length) return {wt: 'invalid', word: '', next: at}
  let i = at + 1
  const c = r[at]!
  let wt: WordType
  if (isConnector(c)) {
    wt = 'connector'
    while (i < r.length && isConnector(r[i]!)) i++
  } else if (isPunct(c)) {
    wt = 'punct'
    while (i < r.length && isPunct(r[i]!)) i++
  } else if (isUpper(c)) {
    wt = 'upper'
    if (i < r.length) {
      if (isUpper(r[i]!)) {
        while (i < r.length && isUpper(r[i]!)) i++
        if (i < r.length && isAlphabet(r[i]!)) i--
      } else if (isAlphabet(r[i]!)) {
        while (i < r.length && isAlphabet(r[i]!) && !isUpper(r[i]!)) i++
      }
    }
  } else if (isAlphabet(c)) {
    wt = 'alphabet'
    while (i < r.length && isAlphabet(r[i]!) && !isUpper(r[i]!)) i++
  } else if (isNumber(c)) {
    wt = 'number'
    while (i < r.length && isNumber(r[i]!)) i++
  } else {
    wt = 'other'
    while (i < r.length && !(isConnector(r[i]!) || isAlphabet(r[i]!) || isNumber(r[i]!) || isPunct(r[i]!))) i++
  }
  return {wt, word: r.slice(at, i).join(''), next: i}
}

function lowerWord(wt: WordType, word: string, connector: string): string {
  if (wt !== 'upper' && wt !== 'connector') return word
  let out = ''
  for (const ch of word) out += isConnector(ch) ? connector : isUpper(ch) ? mapRunes(ch, 'lower') : ch
  return out
}

/** xstrings camelCaseToLowerCase (snakecase, kebabcase). */
function camelToLower(str: string, connector: string): string {
  if (str === '') return ''
  const r = [...str]
  let out = ''
  let {wt, word, next} = nextWord(r, 0)
  const advance = (): void => {
    ;({wt, word, next} = nextWord(r, next))
  }
  const is = (w: WordType, ...ws: WordType[]) => ws.includes(w)
  while (next < r.length) {
    if (!is(wt, 'connector')) out += lowerWord(wt, word, connector)
    const prev = wt
    const last = word
    advance()
    if (prev === 'number') {
      while (is(wt, 'alphabet') || is(wt, 'number')) {
        out += lowerWord(wt, word, connector)
        advance()
      }
      if (!is(wt, 'invalid') && !is(wt, 'punct') && !is(wt, 'connector')) out += connector
    } else if (prev === 'connector') {
      out += lowerWord(prev, last, connector)
    } else if (prev === 'punct') {
      // nothing
    } else {
      if (!is(wt, 'number')) {
        if (!is(wt, 'connector') && !is(wt, 'punct')) out += connector
        continue
      }
      if (next >= r.length) continue
      const lastNumber = word
      advance()
      if (!is(wt, 'alphabet')) {
        out += lowerWord('number', lastNumber, connector)
        if (!is(wt, 'connector') && !is(wt, 'punct')) out += connector
        continue
      }
      out += connector + lowerWord('number', lastNumber, connector)
      while (is(wt, 'alphabet') || is(wt, 'number')) {
        out += lowerWord(wt, word, connector)
        advance()
      }
      if (!is(wt, 'invalid') && !is(wt, 'connector') && !is(wt, 'punct')) out += connector
    }
  }
  return out + lowerWord(wt, word, connector)
}

function swapcase(s: string): string {
  let ws = true
  let out = ''
  for (const ch of s) {
    if (isUpper(ch) || /\p{Lt}/u.test(ch)) {
      out += mapRunes(ch, 'lower')
      ws = false
    } else if (/\p{Ll}/u.test(ch)) {
      out += ws ? mapRunes(ch, 'title') : mapRunes(ch, 'upper')
      ws = false
    } else {
      out += ch
      ws = GO_SPACE.test(ch)
    }
  }
  return out
}

function wrapCustom(str: string, wrapLength: number, newLine: string, wrapLongWords: boolean): string {
  if (str === '') return ''
  if (newLine === '') newLine = '\n'
  if (wrapLength < 1) wrapLength = 1
  const len = str.length
  let offset = 0
  let out = ''
  while (len - offset > wrapLength) {
    if (str[offset] === ' ') {
      offset++
      continue
    }
    const end = wrapLength + offset + 1
    const space = str.slice(offset, end).lastIndexOf(' ') + offset
    if (space >= offset) {
      out += str.slice(offset, space) + newLine
      offset = space + 1
    } else if (wrapLongWords) {
      out += str.slice(offset, wrapLength + offset) + newLine
      offset += wrapLength
    } else {
      const e = wrapLength + offset
      const idx = str.slice(e).indexOf(' ')
      if (idx === -1) {
        out += str.slice(offset)
        offset = len
      } else {
        out += str.slice(offset, idx + e) + newLine
        offset = idx + e + 1
      }
    }
  }
  return out + str.slice(offset)
}

function indent(spaces: bigint, v: string): string {
  const pad = ' '.repeat(Math.max(Number(spaces), 0))
  return pad + v.split('\n').join(`\n${pad}`)
}

/** Sprig's strslice (toStrings): nil elements dropped, everything else through strval. */
export function toStrings(v: unknown): string[] {
  if (Array.isArray(v)) return typedSlice(v.filter((x) => x !== null && x !== undefined).map(strval), 'string')
  if (v instanceof Uint8Array) return typedSlice([...v].map((b) => String(b)), 'string')
  if (v === null || v === undefined) return typedSlice([], 'string')
  return typedSlice([strval(v)], 'string')
}

function splitToMap(parts: string[]): Record<string, unknown> {
  const m: Record<string, unknown> = {}
  parts.forEach((p, i) => (m[`_${i}`] = p))
  return typedMap(m, 'string')
}

/** Go's strings.SplitN (n < 0: all; n == 0: nil). */
export function goSplitN(s: string, sep: string, n: number): string[] {
  if (n === 0) return []
  if (sep === '') {
    const chars = [...s]
    if (n < 0 || n >= chars.length) return chars
    return [...chars.slice(0, n - 1), chars.slice(n - 1).join('')]
  }
  const all = s.split(sep)
  if (n < 0 || n >= all.length) return all
  return [...all.slice(0, n - 1), all.slice(n - 1).join(sep)]
}

function replaceRunes(s: string, find: string, repl: string): string {
  if (find === '') {
    const chars = [...s]
    return repl + chars.map((c) => c + repl).join('')
  }
  return s.split(find).join(repl)
}

export function stringFunctions(): GoFunc[] {
  return [
    goFunc('abbrev', ['int', 'string'], (w: bigint, s: string) => (w < 4n ? s : abbreviateFull(s, 0, Number(w)))),
    goFunc('abbrevboth', ['int', 'int', 'string'], (l: bigint, r: bigint, s: string) => (r < 4n || (l > 0n && r < 7n) ? s : abbreviateFull(s, Number(l), Number(r)))),
    goFunc('trunc', ['int', 'string'], (c: bigint, s: string) => {
      const n = Number(c)
      const len = byteLen(s)
      if (n < 0 && len + n > 0) return byteSlice(s, len + n)
      if (n >= 0 && len > n) return byteSlice(s, 0, n)
      return s
    }),
    goFunc('trim', ['string'], trimSpace),
    goFunc('upper', ['string'], (s: string) => mapRunes(s, 'upper')),
    goFunc('lower', ['string'], (s: string) => mapRunes(s, 'lower')),
    goFunc('title', ['string'], title),
    goFunc('untitle', ['string'], (s: string) => {
      let next = true
      let out = ''
      for (const ch of s) {
        if (GO_SPACE.test(ch)) next = true
        else if (next) {
          out += mapRunes(ch, 'lower')
          next = false
          continue
        }
        out += ch
      }
      return out
    }),
    goFunc('substr', ['int', 'int', 'string'], (start: bigint, end: bigint, s: string) => {
      const len = byteLen(s)
      const a = Number(start)
      const b = Number(end)
      if (a < 0) {
        if (b > len || b < 0) throw new RangeError(`runtime error: slice bounds out of range [:${b}] with length ${len}`)
        return byteSlice(s, 0, b)
      }
      if (b < 0 || b > len) {
        if (a > len) throw new RangeError(`runtime error: slice bounds out of range [${a}:${len}]`)
        return byteSlice(s, a)
      }
      if (a > b) throw new RangeError(`runtime error: slice bounds out of range [${a}:${b}]`)
      return byteSlice(s, a, b)
    }),
    goFunc('repeat', ['int', 'string'], (n: bigint, s: string) => {
      if (n < 0n) throw new RangeError('strings: negative Repeat count')
      if (Number(n) * s.length > LIMITS.outputChars) throw new RangeError(`repeat would make ${Number(n) * s.length} characters, over the budget of ${LIMITS.outputChars}`)
      return s.repeat(Number(n))
    }),
    goFunc('trimall', ['string', 'string'], (a: string, b: string) => goTrim(b, a, true, true)),
    goFunc('trimAll', ['string', 'string'], (a: string, b: string) => goTrim(b, a, true, true)),
    goFunc('trimSuffix', ['string', 'string'], (a: string, b: string) => (a !== '' && b.endsWith(a) ? b.slice(0, b.length - a.length) : b)),
    goFunc('trimPrefix', ['string', 'string'], (a: string, b: string) => (a !== '' && b.startsWith(a) ? b.slice(a.length) : b)),
    goFunc('nospace', ['string'], (s: string) => [...s].filter((c) => c.codePointAt(0)! > 0x7f || !GO_SPACE.test(c)).join('')),
    goFunc('initials', ['string'], (s: string) => {
      let gap = true
      let out = ''
      for (const b of utf8Bytes(s)) {
        const ch = String.fromCharCode(b)
        if (GO_SPACE.test(ch)) gap = true
        else if (gap) {
          out += String.fromCodePoint(b)
          gap = false
        }
      }
      return out
    }),
    goFunc('swapcase', ['string'], swapcase),
    goFunc('snakecase', ['string'], (s: string) => camelToLower(s, '_')),
    goFunc('camelcase', ['string'], camelcase),
    goFunc('kebabcase', ['string'], (s: string) => camelToLower(s, '-')),
    goFunc('wrap', ['int', 'string'], (l: bigint, s: string) => wrapCustom(s, Number(l), '', false)),
    goFunc('wrapWith', ['int', 'string', 'string'], (l: bigint, sep: string, s: string) => wrapCustom(s, Number(l), sep, true)),
    goFunc('contains', ['string', 'string'], (sub: string, s: string) => s.includes(sub)),
    goFunc('hasPrefix', ['string', 'string'], (sub: string, s: string) => s.startsWith(sub)),
    goFunc('hasSuffix', ['string', 'string'], (sub: string, s: string) => s.endsWith(sub)),
    goFunc('quote', [], (...v: unknown[]) => v.filter((x) => x !== null && x !== undefined).map((x) => goQuote(strval(x))).join(' '), 'any'),
    goFunc('squote', [], (...v: unknown[]) => v.filter((x) => x !== null && x !== undefined).map((x) => `'${formatValue(x, 'v', PLAIN, 0)}'`).join(' '), 'any'),
    goFunc('cat', [], (...v: unknown[]) => v.filter((x) => x !== null && x !== undefined).map((x) => formatValue(x, 'v', PLAIN, 0)).join(' '), 'any'),
    goFunc('indent', ['int', 'string'], indent),
    goFunc('nindent', ['int', 'string'], (n: bigint, v: string) => `\n${indent(n, v)}`),
    goFunc('replace', ['string', 'string', 'string'], (o: string, n: string, s: string) => replaceRunes(s, o, n)),
    goFunc('plural', ['string', 'string', 'int'], (one: string, many: string, n: bigint) => (n === 1n ? one : many)),
    goFunc('toString', ['any'], strval),
    goFunc('toStrings', ['any'], toStrings),
    goFunc('split', ['string', 'string'], (sep: string, s: string) => splitToMap(goSplitN(s, sep, -1))),
    goFunc('splitList', ['string', 'string'], (sep: string, s: string) => typedSlice(goSplitN(s, sep, -1), 'string')),
    goFunc('splitn', ['string', 'int', 'string'], (sep: string, n: bigint, s: string) => splitToMap(goSplitN(s, sep, Number(n)))),
    goFunc('join', ['string', 'any'], (sep: string, v: unknown) => toStrings(v).join(sep)),
  ]
}
