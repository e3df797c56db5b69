/**
 * Helm's toYaml: sigs.k8s.io/yaml.Marshal, which is encoding/json, then the JSON read back by
 * gopkg.in/yaml.v2 (numbers re-typed as int or float) and written by yaml.v2's emitter: keys in
 * yaml.v2's natural order, block style, sequences not indented inside mappings, strings plain
 * when they read back as strings, 'single' or "double" quoted otherwise, |- literal blocks for
 * text with newlines.
 */
import {formatFloat} from '../template/floatfmt.js'
import {GoStruct, Int64, isGoMap} from '../template/values.js'
import {jsonFloat} from './gojson.js'

type Scalar = {kind: 'str'; s: string} | {kind: 'raw'; s: string}
type YNode = Scalar | YNode[] | {kind: 'map'; entries: [string, YNode][]}

/** The text yaml.v2 writes for a JSON number after reading it back (int, uint or float). */
export function yamlNumberText(jsonNumber: string): string {
  if (/^-?\d+$/.test(jsonNumber)) {
    const v = BigInt(jsonNumber)
    if (v >= -(2n ** 63n) && v < 2n ** 64n) return v.toString()
  }
  return formatFloat(Number(jsonNumber), 'g', -1).replace(/^\+Inf$/, '.inf').replace(/^-Inf$/, '-.inf').replace(/^NaN$/, '.nan')
}

function isMapNode(n: YNode): n is {kind: 'map'; entries: [string, YNode][]} {
  return !Array.isArray(n) && n.kind === 'map'
}

/** The value as JSON sees it, then as yaml.v2 reads that JSON back. */
function toNode(v: unknown): YNode {
  if (v === null || v === undefined) return {kind: 'raw', s: 'null'}
  switch (typeof v) {
    case 'string':
      return {kind: 'str', s: v}
    case 'boolean':
      return {kind: 'raw', s: v ? 'true' : 'false'}
    case 'number':
      return {kind: 'raw', s: yamlNumberText(jsonFloat(v))}
    case 'bigint':
      return {kind: 'raw', s: v.toString()}
  }
  if (v instanceof Int64) return {kind: 'raw', s: v.value.toString()}
  if (v instanceof Uint8Array) return {kind: 'str', s: Buffer.from(v).toString('base64')}
  if (Array.isArray(v)) return v.map(toNode)
  if (v instanceof GoStruct) return mapNode(v.fields)
  if (isGoMap(v)) return mapNode(v)
  return {kind: 'raw', s: 'null'}
}

function mapNode(m: Record<string, unknown>): YNode {
  const keys = Object.keys(m).sort((a, b) => (keyLess(a, b) ? -1 : keyLess(b, a) ? 1 : 0))
  return {kind: 'map', entries: keys.map((k) => [k, toNode(m[k])])}
}

const isLetter = (c: string) => {
  const x = c.charCodeAt(0)
  return x < 0x80 ? (x >= 65 && x <= 90) || (x >= 97 && x <= 122) : /\p{L}/u.test(c)
}
const isDigit = (c: string) => {
  const x = c.charCodeAt(0)
  return x < 0x80 ? x >= 48 && x <= 57 : /\p{Nd}/u.test(c)
}

/** yaml.v2's keyList.Less for string keys: letters before others, digit runs compared as numbers. */
export function keyLess(a: string, b: string): boolean {
  // Fast path: ASCII letters only differ or one is a prefix (the common case for keys).
  let k = 0
  while (k < a.length && k < b.length && a.charCodeAt(k) === b.charCodeAt(k)) k++
  if (k === a.length || k === b.length) return a.length - k < b.length - k ? true : a.length < b.length
  const ar = [...a]
  const br = [...b]
  for (let i = 0; i < ar.length && i < br.length; i++) {
    if (ar[i] === br[i]) continue
    const al = isLetter(ar[i]!)
    const bl = isLetter(br[i]!)
    if (al && bl) return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!
    if (al || bl) return bl
    let an = 0n
    let bn = 0n
    if (ar[i] === '0' || br[i] === '0') {
      for (let j = i - 1; j >= 0 && isDigit(ar[j]!); j--) {
        if (ar[j] !== '0') {
          an = 1n
          bn = 1n
          break
        }
      }
    }
    let ai = i
    for (; ai < ar.length && isDigit(ar[ai]!); ai++) an = an * 10n + BigInt(ar[ai]!.codePointAt(0)! - 48)
    let bi = i
    for (; bi < br.length && isDigit(br[bi]!); bi++) bn = bn * 10n + BigInt(br[bi]!.codePointAt(0)! - 48)
    if (an !== bn) return an < bn
    if (ai !== bi) return ai < bi
    return ar[i]!.codePointAt(0)! < br[i]!.codePointAt(0)!
  }
  return ar.length < br.length
}

const RESOLVE_SPECIAL = new Set([
  'y', 'Y', 'yes', 'Yes', 'YES', 'true', 'True', 'TRUE', 'on', 'On', 'ON', 'n', 'N', 'no', 'No', 'NO', 'false', 'False', 'FALSE',
  'off', 'Off', 'OFF', '', '~', 'null', 'Null', 'NULL', '.nan', '.NaN', '.NAN', '.inf', '.Inf', '.INF', '+.inf', '+.Inf', '+.INF',
  '-.inf', '-.Inf', '-.INF', '<<',
])
const YAML_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/
const BASE60 = /^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$/

function goParseIntOk(s: string): boolean {
  const m = /^[+-]?(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s)
  if (!m) return false
  const neg = s.startsWith('-')
  let body = s.replace(/^[+-]/, '')
  if (/^0[0-7]+$/.test(body)) body = `0o${body.slice(1)}`
  const v = BigInt(body)
  return neg ? v <= 2n ** 63n : v < 2n ** 64n
}

function isTimestamp(s: string): boolean {
  if (!/^\d{4}-/.test(s)) return false
  return /^\d{4}-\d{1,2}-\d{1,2}([Tt ]\d{1,2}:\d{1,2}:\d{1,2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?)?$/.test(s)
}

/** Whether yaml.v2 would read the plain scalar back as a string (its resolve()). */
export function resolvesToString(s: string): boolean {
  if (RESOLVE_SPECIAL.has(s)) return false
  const c = s[0]!
  if (c === '.') return Number.isNaN(parseFloatStrict(s))
  if (c === '+' || c === '-' || (c >= '0' && c <= '9')) {
    if (isTimestamp(s)) return false
    const plain = s.replace(/_/g, '')
    if (goParseIntOk(plain)) return false
    if (YAML_FLOAT.test(plain)) return false
    if (/^-?0b[01]+$/.test(plain)) return false
  }
  return true
}

function parseFloatStrict(s: string): number {
  return YAML_FLOAT.test(s) ? Number(s) : NaN
}

/** yaml.v2 is_printable, on code points. */
function isPrintable(cp: number): boolean {
  return cp === 0x0a || (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd && cp !== 0xfeff)
}
const isBreak = (c: string) => c === '\r' || c === '\n' || c === '\u0085' || c === '\u2028' || c === '\u2029'
const isBlank = (c: string | undefined) => c === ' ' || c === '\t'

interface Analysis {
  multiline: boolean
  blockPlain: boolean
  singleQuoted: boolean
  block: boolean
}

/** yaml_emitter_analyze_scalar (flow-context answers are not needed: we only write block style). */
function analyze(value: string): Analysis {
  if (value === '') return {multiline: false, blockPlain: true, singleQuoted: true, block: false}
  const ch = [...value]
  let blockIndicators = value.startsWith('---') || value.startsWith('...')
  let lineBreaks = false
  let special = false
  let leadingSpace = false
  let leadingBreak = false
  let trailingSpace = false
  let trailingBreak = false
  let breakSpace = false
  let spaceBreak = false
  let precededByWs = true
  let prevSpace = false
  let prevBreak = false
  for (let i = 0; i < ch.length; i++) {
    const c = ch[i]!
    const followedByWs = i + 1 >= ch.length || isBlank(ch[i + 1]) || isBreak(ch[i + 1]!)
    if (i === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(c)) blockIndicators = true
      else if ((c === '?' || c === ':') && followedByWs) blockIndicators = true
      else if (c === '-' && followedByWs) blockIndicators = true
    } else if (c === ':' && followedByWs) blockIndicators = true
    else if (c === '#' && precededByWs) blockIndicators = true
    if (!isPrintable(c.codePointAt(0)!)) special = true
    if (c === ' ') {
      if (i === 0) leadingSpace = true
      if (i === ch.length - 1) trailingSpace = true
      if (prevBreak) breakSpace = true
      prevSpace = true
      prevBreak = false
    } else if (isBreak(c)) {
      lineBreaks = true
      if (i === 0) leadingBreak = true
      if (i === ch.length - 1) trailingBreak = true
      if (prevSpace) spaceBreak = true
      prevSpace = false
      prevBreak = true
    } else {
      prevSpace = false
      prevBreak = false
    }
    precededByWs = isBlank(c) || isBreak(c)
  }
  const a: Analysis = {multiline: lineBreaks, blockPlain: true, singleQuoted: true, block: true}
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) a.blockPlain = false
  if (trailingSpace) a.block = false
  if (breakSpace) {
    a.blockPlain = false
    a.singleQuoted = false
  }
  if (spaceBreak || special) {
    a.blockPlain = false
    a.singleQuoted = false
    a.block = false
  }
  if (lineBreaks) a.blockPlain = false
  if (blockIndicators) a.blockPlain = false
  return a
}

const ESCAPES: Record<number, string> = {0: '0', 7: 'a', 8: 'b', 9: 't', 10: 'n', 11: 'v', 12: 'f', 13: 'r', 27: 'e', 0x22: '"', 0x5c: '\\', 0x85: 'N', 0xa0: '_', 0x2028: 'L', 0x2029: 'P'}

function literal(s: string, indent: number): string {
  let hints = ''
  if (s[0] === ' ' || isBreak(s[0]!)) hints += '2'
  const last = s[s.length - 1]
  if (!isBreak(last!)) hints += '-'
  else if (s.length === 1 || isBreak(s[s.length - 2]!)) hints += '+'
  const pad = ' '.repeat(indent)
  const body = s.endsWith('\n') ? s.slice(0, -1) : s
  return `|${hints}\n${body.split('\n').map((l) => (l === '' ? '' : pad + l)).join('\n')}`
}

/** yaml.v2 wraps plain and quoted scalars at a space once the line is longer than this. */
const BEST_WIDTH = 80

/**
 * Write text char by char like yaml.v2's plain / single / double writers: a space past the
 * best width (not doubled, not first or last for quoted styles) becomes a line break + indent.
 */
function wrapped(s: string, style: 'plain' | 'single' | 'double', indent: number, col: number, allowBreaks: boolean): string {
  const ch = [...s]
  let out = ''
  let column = col
  let spaces = false
  for (let i = 0; i < ch.length; i++) {
    const c = ch[i]!
    if (c === ' ') {
      const edgeOk = style === 'plain' || (i !== 0 && i !== ch.length - 1)
      const nextOk = style === 'double' || ch[i + 1] !== ' '
      if (allowBreaks && !spaces && column > BEST_WIDTH && edgeOk && nextOk) {
        out += `\n${' '.repeat(indent)}`
        column = indent
        if (style === 'double' && ch[i + 1] === ' ') {
          out += '\\'
          column++
        }
      } else {
        out += c
        column++
      }
      spaces = true
      continue
    }
    const piece = style === 'single' && c === "'" ? "''" : style === 'double' ? doubleQuotedChar(c) : c
    out += piece
    column += [...piece].length
    spaces = false
  }
  return out
}

function doubleQuotedChar(c: string): string {
  const cp = c.codePointAt(0)!
  if (!isPrintable(cp) || cp === 0xfeff || isBreak(c) || c === '"' || c === '\\') {
    const e = ESCAPES[cp]
    if (e !== undefined) return `\\${e}`
    if (cp <= 0xff) return `\\x${cp.toString(16).toUpperCase().padStart(2, '0')}`
    if (cp <= 0xffff) return `\\u${cp.toString(16).toUpperCase().padStart(4, '0')}`
    return `\\U${cp.toString(16).toUpperCase().padStart(8, '0')}`
  }
  return c
}

/** One string scalar as yaml.v2 writes it, starting at column `col`; `indent` is where continuation and literal lines go. */
function scalarText(s: string, indent: number, col: number, simpleKey: boolean): string {
  let style: 'plain' | 'single' | 'double' | 'literal' = s.includes('\n') ? 'literal' : resolvesToString(s) && !BASE60.test(s) ? 'plain' : 'double'
  const a = analyze(s)
  if (simpleKey && a.multiline) style = 'double'
  if (style === 'plain' && (!a.blockPlain || (s === '' && simpleKey))) style = 'single'
  if (style === 'single' && !a.singleQuoted) style = 'double'
  if (style === 'literal' && (!a.block || simpleKey)) style = 'double'
  switch (style) {
    case 'plain':
      return wrapped(s, 'plain', indent, col, !simpleKey)
    case 'single':
      return `'${wrapped(s, 'single', indent, col + 1, !simpleKey)}'`
    case 'double':
      return `"${wrapped(s, 'double', indent, col + 1, !simpleKey)}"`
    case 'literal':
      return literal(s, indent)
  }
}

function scalar(n: Scalar, indent: number, col: number): string {
  return n.kind === 'raw' ? n.s : scalarText(n.s, indent, col, false)
}

const width = (s: string) => [...s].length

/** A block mapping whose keys are at `indent`; the first key is written at `firstCol` (after "- ") when given. */
function mappingLines(entries: [string, YNode][], indent: number, firstCol?: number): string {
  return entries
    .map(([k, v], i) => {
      const col = i === 0 && firstCol !== undefined ? firstCol : indent
      const key = scalarText(k, indent + 2, col, true)
      return `${i === 0 && firstCol !== undefined ? '' : ' '.repeat(indent)}${key}:${valueAfterKey(v, indent, col + width(key) + 1)}`
    })
    .join('\n')
}

/** A block sequence whose dashes are at `indent`; the first dash is written at `firstCol` when given. */
function sequenceLines(items: YNode[], indent: number, firstCol?: number): string {
  return items
    .map((x, i) => {
      const col = i === 0 && firstCol !== undefined ? firstCol : indent
      return `${i === 0 && firstCol !== undefined ? '' : ' '.repeat(indent)}- ${item(x, indent, col + 2)}`
    })
    .join('\n')
}

function valueAfterKey(v: YNode, indent: number, col: number): string {
  if (Array.isArray(v)) return v.length === 0 ? ' []' : `\n${sequenceLines(v, indent)}`
  if (isMapNode(v)) return v.entries.length === 0 ? ' {}' : `\n${mappingLines(v.entries, indent + 2)}`
  return ` ${scalar(v, indent + 2, col + 1)}`
}

function item(v: YNode, indent: number, col: number): string {
  if (Array.isArray(v)) return v.length === 0 ? '[]' : sequenceLines(v, indent + 2, col)
  if (isMapNode(v)) return v.entries.length === 0 ? '{}' : mappingLines(v.entries, indent + 2, col)
  return scalar(v, indent + 2, col)
}

/** sigs.k8s.io/yaml.Marshal(v) as text (with its final newline). */
export function sigsYamlMarshal(v: unknown): string {
  const n = toNode(v)
  if (Array.isArray(n)) return n.length === 0 ? '[]\n' : `${sequenceLines(n, 0)}\n`
  if (isMapNode(n)) return n.entries.length === 0 ? '{}\n' : `${mappingLines(n.entries, 0)}\n`
  return `${scalar(n, 2, 0)}\n`
}
