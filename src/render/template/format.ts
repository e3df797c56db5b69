/**
 * Go's fmt for template values: Sprint, Sprintln, Sprintf with the verbs charts use
 * (%v %+v %s %q %d %t %f %e %g %x %X %o %b %c %U %T %%), flags, width, precision and argument
 * indexes, and Go's printing of maps (`map[a:1 b:2]`, keys sorted), slices (`[a b]`), nil
 * (`<nil>`), []byte and structs. Errors in the format are printed inline as Go does (%!d(string=x)).
 */
import {formatFloat} from './floatfmt.js'
import {GoStruct, Int64, bytesToString, isGoFunc, isGoMap, sortedKeys, typeName} from './values.js'

interface Flags {
  plus: boolean
  minus: boolean
  sharp: boolean
  space: boolean
  zero: boolean
  width?: number
  prec?: number
}

const NO_FLAGS: Flags = {plus: false, minus: false, sharp: false, space: false, zero: false}

function pad(s: string, f: Flags, allowZero = true): string {
  if (f.width === undefined) return s
  const n = [...s].length
  if (n >= f.width) return s
  const fill = f.width - n
  if (f.minus) return s + ' '.repeat(fill)
  if (f.zero && allowZero) {
    const sign = s[0] === '-' || s[0] === '+' || s[0] === ' ' ? s[0] : ''
    return sign + '0'.repeat(fill) + s.slice(sign.length)
  }
  return ' '.repeat(fill) + s
}

/** Go strconv.Quote (with %+q: ASCII only); `quote` "'" gives strconv.QuoteRune's form. */
export function goQuote(s: string, asciiOnly = false, quote = '"'): string {
  let out = quote
  for (const ch of s) {
    const cp = ch.codePointAt(0)!
    if (ch === quote || ch === '\\') out += `\\${ch}`
    else if (ch === '\n') out += '\\n'
    else if (ch === '\t') out += '\\t'
    else if (ch === '\r') out += '\\r'
    else if (ch === '\x07') out += '\\a'
    else if (ch === '\b') out += '\\b'
    else if (ch === '\f') out += '\\f'
    else if (ch === '\v') out += '\\v'
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`
    else if (cp === 0xfffd && ch !== '\ufffd') out += '\\ufffd'
    else if (cp >= 0x80 && (asciiOnly || !isGoPrintable(ch))) {
      out += cp > 0xffff ? `\\U${cp.toString(16).padStart(8, '0')}` : `\\u${cp.toString(16).padStart(4, '0')}`
    } else out += ch
  }
  return out + quote
}

function isGoPrintable(ch: string): boolean {
  return /[\p{L}\p{M}\p{N}\p{P}\p{S}\u0020]/u.test(ch)
}

function intString(v: bigint, verb: string, f: Flags): string {
  const neg = v < 0n
  const abs = neg ? -v : v
  let digits: string
  switch (verb) {
    case 'x':
      digits = abs.toString(16)
      if (f.sharp) digits = `0x${digits}`
      break
    case 'X':
      digits = abs.toString(16).toUpperCase()
      if (f.sharp) digits = `0X${digits}`
      break
    case 'o':
      digits = abs.toString(8)
      if (f.sharp && digits[0] !== '0') digits = `0${digits}`
      break
    case 'O':
      digits = `0o${abs.toString(8)}`
      break
    case 'b':
      digits = abs.toString(2)
      break
    default:
      digits = abs.toString()
  }
  if (f.prec !== undefined) {
    if (f.prec === 0 && abs === 0n) digits = ''
    else digits = digits.padStart(f.prec, '0')
  }
  const sign = neg ? '-' : f.plus ? '+' : f.space ? ' ' : ''
  return pad(sign + digits, f, f.prec === undefined)
}

function floatString(x: number, verb: string, f: Flags): string {
  const conv = (verb === 'v' ? 'g' : verb === 'F' ? 'f' : verb) as 'e' | 'E' | 'f' | 'g' | 'G'
  let s = formatFloat(x, conv, f.prec ?? (verb === 'v' || verb === 'g' || verb === 'G' ? -1 : 6))
  if (f.sharp && !s.includes('.') && !/Inf|NaN/.test(s)) {
    const e = s.search(/[eE]/)
    s = e < 0 ? `${s}.` : `${s.slice(0, e)}.${s.slice(e)}`
  }
  if (s[0] !== '-' && s[0] !== '+') s = (f.plus ? '+' : f.space ? ' ' : '') + s
  else if (s === '+Inf' && !f.plus) s = f.space ? ' Inf' : '+Inf'
  return pad(s, f, !/Inf|NaN/.test(s))
}

/** Go's badVerb: the value printed with %v under the same flags, width and precision. */
function badVerb(verb: string, v: unknown, f: Flags = NO_FLAGS): string {
  if (v === null || v === undefined) return `%!${verb}(<nil>)`
  return `%!${verb}(${typeName(v)}=${formatValue(v, 'v', f, 0)})`
}

function stringString(s: string, verb: string, f: Flags): string | undefined {
  if (f.prec !== undefined) s = [...s].slice(0, f.prec).join('')
  switch (verb) {
    case 'v':
    case 's':
      return pad(s, f)
    case 'q':
      return pad(f.sharp && !s.includes('`') ? `\`${s}\`` : goQuote(s, f.plus), f)
    case 'x':
    case 'X': {
      const hex = Buffer.from(s, 'utf8').toString('hex')
      const h = verb === 'X' ? hex.toUpperCase() : hex
      return pad(f.space ? h.replace(/(..)(?!$)/g, '$1 ') : h, f)
    }
    default:
      return undefined
  }
}

/** One value formatted with one verb (fmt's printValue), depth > 0 inside containers. */
export function formatValue(v: unknown, verb: string, f: Flags, depth: number): string {
  if (verb === 'T') return pad(typeName(v), f)
  if (v === null || v === undefined) {
    // Inside a map or slice a nil element prints <nil> whatever the verb; alone it is a bad verb.
    if (verb === 'v' || depth > 0) return pad('<nil>', f)
    return badVerb(verb, v)
  }
  switch (typeof v) {
    case 'string':
      return stringString(v, verb, f) ?? badVerb(verb, v, f)
    case 'boolean':
      return verb === 'v' || verb === 't' ? pad(v ? 'true' : 'false', f) : badVerb(verb, v, f)
    case 'number':
      return 'vbeEfFgGxX'.includes(verb) && verb !== 'b' ? floatString(v, verb, f) : badVerb(verb, v, f)
    case 'bigint':
      return formatInt(v, verb, f)
  }
  if (v instanceof Int64) return formatInt(v.value, verb, f, v)
  if (v instanceof Uint8Array) {
    if (verb === 's' || verb === 'q' || verb === 'x' || verb === 'X') return stringString(bytesToString(v), verb, f)!
    return `[${[...v].map((b) => formatInt(BigInt(b), verb, NO_FLAGS)).join(' ')}]`
  }
  if (Array.isArray(v)) return `[${v.map((x) => formatValue(x, verb, f, depth + 1)).join(' ')}]`
  if (v instanceof GoStruct) {
    if (v.stringer && (verb === 'v' || verb === 's' || verb === 'q')) return formatValue(v.stringer(), verb, f, depth)
    if (v.mapLike) return formatMap(v.fields, verb, f, depth)
    const body = Object.entries(v.fields)
      .map(([k, x]) => (f.plus ? `${k}:` : '') + formatValue(x, verb, f, depth + 1))
      .join(' ')
    return `${v.typeName.startsWith('*') && depth === 0 ? '&' : ''}{${body}}`
  }
  if (isGoFunc(v)) return verb === 'v' ? '0x0' : badVerb(verb, v)
  if (isGoMap(v)) return formatMap(v, verb, f, depth)
  return String(v)
}

function formatMap(m: Record<string, unknown>, verb: string, f: Flags, depth: number): string {
  const parts = sortedKeys(m).map((k) => `${formatValue(k, verb, f, depth + 1)}:${formatValue(m[k], verb, f, depth + 1)}`)
  return `map[${parts.join(' ')}]`
}

/** A code point, or U+FFFD for values that are not one (as Go's utf8 encoding does). */
function validRune(v: bigint): number {
  return v < 0n || v > 0x10ffffn || (v >= 0xd800n && v <= 0xdfffn) ? 0xfffd : Number(v)
}

function formatInt(v: bigint, verb: string, f: Flags, original: unknown = v): string {
  switch (verb) {
    case 'v':
    case 'd':
    case 'x':
    case 'X':
    case 'o':
    case 'O':
    case 'b':
      return intString(v, verb, f)
    case 'c':
      return pad(String.fromCodePoint(validRune(v)), f)
    case 'q':
      return pad(goQuote(String.fromCodePoint(validRune(v)), f.plus, "'"), f)
    case 'U': {
      const hex = v.toString(16).toUpperCase().padStart(4, '0')
      return pad(f.sharp ? `U+${hex} '${String.fromCodePoint(Number(v))}'` : `U+${hex}`, f)
    }
    case 'e':
    case 'E':
    case 'f':
    case 'F':
    case 'g':
    case 'G':
      return badVerb(verb, original, f)
    default:
      return badVerb(verb, original, f)
  }
}

/** fmt.Sprint: operands separated by a space when neither side is a string. */
export function sprint(args: readonly unknown[]): string {
  let out = ''
  args.forEach((a, i) => {
    if (i > 0 && typeof a !== 'string' && typeof args[i - 1] !== 'string') out += ' '
    out += formatValue(a, 'v', NO_FLAGS, 0)
  })
  return out
}

/** fmt.Sprintln: operands always separated by spaces, newline at the end. */
export function sprintln(args: readonly unknown[]): string {
  return `${args.map((a) => formatValue(a, 'v', NO_FLAGS, 0)).join(' ')}\n`
}

/** fmt.Sprintf. */
export function sprintf(format: string, args: readonly unknown[]): string {
  let out = ''
  let argNum = 0
  let reordered = false
  let i = 0
  const n = format.length
  while (i < n) {
    const pct = format.indexOf('%', i)
    if (pct < 0) {
      out += format.slice(i)
      break
    }
    out += format.slice(i, pct)
    i = pct + 1
    const f: Flags = {plus: false, minus: false, sharp: false, space: false, zero: false}
    for (; i < n; i++) {
      const c = format[i]
      if (c === '+') f.plus = true
      else if (c === '-') {
        f.minus = true
        f.zero = false
      } else if (c === '#') f.sharp = true
      else if (c === ' ') f.space = true
      else if (c === '0') f.zero = !f.minus
      else break
    }
    const argIndex = (): void => {
      const m = /^\[(\d+)\]/.exec(format.slice(i))
      if (m) {
        argNum = Number(m[1]) - 1
        reordered = true
        i += m[0].length
      }
    }
    argIndex()
    if (format[i] === '*') {
      i++
      const w = args[argNum++]
      if (typeof w === 'bigint') {
        f.width = Number(w)
        if (f.width < 0) {
          f.minus = true
          f.width = -f.width
        }
      } else out += '%!(BADWIDTH)'
    } else {
      const m = /^\d+/.exec(format.slice(i))
      if (m) {
        f.width = Number(m[0])
        i += m[0].length
      }
    }
    if (format[i] === '.') {
      i++
      argIndex()
      if (format[i] === '*') {
        i++
        const p = args[argNum++]
        if (typeof p === 'bigint' && p >= 0n) f.prec = Number(p)
        else out += '%!(BADPREC)'
      } else {
        const m = /^\d+/.exec(format.slice(i))
        f.prec = m ? Number(m[0]) : 0
        if (m) i += m[0].length
      }
    }
    argIndex()
    if (i >= n) {
      out += '%!(NOVERB)'
      break
    }
    const verb = String.fromCodePoint(format.codePointAt(i)!)
    i += verb.length
    if (verb === '%') {
      out += '%'
      continue
    }
    if (argNum >= args.length) {
      out += `%!${verb}(MISSING)`
      continue
    }
    const arg = args[argNum++]
    if (verb === 'v' && f.sharp && typeof arg === 'string') {
      out += goQuote(arg)
      continue
    }
    if (!/[a-zA-Z]/.test(verb)) {
      out += badVerb(verb, arg)
      continue
    }
    out += formatValue(arg, verb, f, 0)
  }
  if (!reordered && argNum < args.length) {
    out += `%!(EXTRA ${args.slice(argNum).map((a) => (a === null || a === undefined ? '<nil>' : `${typeName(a)}=${formatValue(a, 'v', NO_FLAGS, 0)}`)).join(', ')})`
  }
  return out
}

/** What `{{ x }}` writes for a value (fmt.Fprint of one operand). */
export function printOne(v: unknown): string {
  if (v === undefined) return '<no value>'
  return formatValue(v, 'v', NO_FLAGS, 0)
}

