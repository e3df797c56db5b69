/**
 * Literal operands of a template: numbers as Go's parse.NumberNode reads them (int, uint and
 * float at once; hex, octal, binary, underscores, character constants), and how a literal
 * term is shown in "unexpected . after term" errors.
 */
import type {ArgNode, NumberNode} from './nodes.js'
import type {Token} from './lexer.js'
import {goUnquote} from './unquote.js'

export function termText(n: ArgNode): string {
  switch (n.type) {
    case 'bool':
      return n.value ? 'true' : 'false'
    case 'string':
      return n.quoted
    case 'number':
      return n.text
    case 'nil':
      return 'nil'
    default:
      return '.'
  }
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const UINT64_MAX = 2n ** 64n - 1n

/** Go's strconv.ParseInt/ParseUint with base 0 (prefixes 0x, 0o, 0b, 0; underscores only with a prefix). */
function parseGoInteger(text: string): bigint | undefined {
  let s = text
  let neg = false
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-'
    s = s.slice(1)
  }
  let base = 10
  let digits = s
  let prefixed = false
  if (/^0[xX]/.test(s)) [base, digits, prefixed] = [16, s.slice(2), true]
  else if (/^0[oO]/.test(s)) [base, digits, prefixed] = [8, s.slice(2), true]
  else if (/^0[bB]/.test(s)) [base, digits, prefixed] = [2, s.slice(2), true]
  else if (s.length > 1 && s[0] === '0') [base, digits, prefixed] = [8, s.slice(1), true]
  if (digits.includes('_')) {
    // Go literal rules: an underscore separates digits, or follows a base prefix.
    if (!/^_?[^_]+(_[^_]+)*$/.test(digits) || (!prefixed && digits.startsWith('_'))) return undefined
    digits = digits.replace(/_/g, '')
  }
  if (digits === '') return prefixed && base === 8 && s === '0' ? 0n : undefined
  const valid = {16: /^[0-9a-fA-F]+$/, 10: /^[0-9]+$/, 8: /^[0-7]+$/, 2: /^[01]+$/}[base as 16 | 10 | 8 | 2]
  if (!valid.test(digits)) return undefined
  let v = 0n
  for (const c of digits) v = v * BigInt(base) + BigInt(parseInt(c, 16))
  return neg ? -v : v
}

export function parseNumber(t: Token): NumberNode {
  const n: NumberNode = {type: 'number', pos: t.pos, isInt: false, isUint: false, isFloat: false, isComplex: false, int: 0n, float: 0, text: t.val}
  const text = t.val
  if (t.type === 'charConstant') {
    const r = goUnquote(text)
    if ([...r].length !== 1) throw new Error(`malformed character constant: ${text}`)
    const cp = r.codePointAt(0)!
    Object.assign(n, {isInt: true, isUint: true, isFloat: true, int: BigInt(cp), float: cp})
    return n
  }
  if (t.type === 'complex' || text.endsWith('i')) {
    n.isComplex = true
    return n
  }
  const i = parseGoInteger(text)
  if (i !== undefined) {
    if (i >= 0n && i <= UINT64_MAX) n.isUint = true
    if (i >= INT64_MIN && i <= INT64_MAX) {
      n.isInt = true
      n.int = i
    }
    if (n.isInt || n.isUint) {
      n.isFloat = true
      n.float = Number(i)
      return n
    }
  }
  const cleaned = text.replace(/_/g, '')
  const f = /^[+-]?0[xX]/.test(cleaned) ? parseHexFloat(cleaned) : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(cleaned) ? Number(cleaned) : NaN
  if (!Number.isNaN(f)) {
    if (!/[.eEpP]/.test(text)) throw new Error(`integer overflow: ${JSON.stringify(text)}`)
    n.isFloat = true
    n.float = f
    if (Number.isInteger(f) && f >= -(2 ** 63) && f < 2 ** 63) {
      n.isInt = true
      n.int = BigInt(f)
    }
    if (Number.isInteger(f) && f >= 0 && f < 2 ** 64) n.isUint = true
    return n
  }
  throw new Error(`illegal number syntax: ${JSON.stringify(text)}`)
}

function parseHexFloat(s: string): number {
  const m = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)$/.exec(s)
  if (!m) return NaN
  const mant = parseInt(`${m[2] || '0'}${m[3]}`, 16) / 16 ** m[3]!.length
  return (m[1] === '-' ? -1 : 1) * mant * 2 ** Number(m[4])
}

