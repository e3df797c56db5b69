/**
 * Go's strconv.FormatFloat for 64-bit floats ('e', 'E', 'f', 'g', 'G' with or without a
 * precision): shortest digits that round-trip, or the exact decimal value rounded half to even.
 */

interface Digits {
  /** Significant decimal digits, no leading zeros ('' for zero). */
  d: string
  /** Position of the decimal point relative to the start of d (value = 0.d × 10^dp). */
  dp: number
}

const view = new DataView(new ArrayBuffer(8))

/** The exact decimal expansion of a finite positive float. */
function exactDigits(x: number): Digits {
  view.setFloat64(0, x)
  const bits = view.getBigUint64(0)
  let exp = Number((bits >> 52n) & 0x7ffn)
  let mant = bits & ((1n << 52n) - 1n)
  if (exp === 0) exp = 1
  else mant |= 1n << 52n
  exp -= 1075
  let s: string
  let dp: number
  if (exp >= 0) {
    s = (mant << BigInt(exp)).toString()
    dp = s.length
  } else {
    s = (mant * 5n ** BigInt(-exp)).toString()
    dp = s.length + exp
  }
  return trim({d: s, dp})
}

function trim(x: Digits): Digits {
  let start = 0
  while (start < x.d.length && x.d[start] === '0') start++
  let end = x.d.length
  while (end > start && x.d[end - 1] === '0') end--
  if (start === end) return {d: '', dp: 0}
  return {d: x.d.slice(start, end), dp: x.dp - start}
}

/** Shortest digits that read back as x (the same digits Go and JavaScript choose). */
function shortestDigits(x: number): Digits {
  const [mant, e] = x.toExponential().split('e') as [string, string]
  return trim({d: mant.replace('.', ''), dp: Number(e) + 1})
}

/** Round to nd significant digits, half to even (strconv's decimal.Round). */
function roundDigits(x: Digits, nd: number): Digits {
  if (nd < 0 || nd >= x.d.length) return nd < 0 ? {d: '', dp: 0} : x
  let up: boolean
  const c = x.d[nd]!
  if (c > '5') up = true
  else if (c < '5') up = false
  else if (nd + 1 < x.d.length) up = true
  else up = nd > 0 && (Number(x.d[nd - 1]) % 2 === 1)
  if (!up) return trim({d: x.d.slice(0, nd), dp: x.dp})
  const digits = x.d.slice(0, nd).split('').map(Number)
  let i = nd - 1
  while (i >= 0 && digits[i] === 9) i--
  if (i < 0) return {d: '1', dp: x.dp + 1}
  digits[i]!++
  return trim({d: digits.slice(0, i + 1).join(''), dp: x.dp})
}

function digitAt(x: Digits, i: number): string {
  return i >= 0 && i < x.d.length ? x.d[i]! : '0'
}

function fmtE(x: Digits, prec: number, e: string): string {
  let out = x.d === '' ? '0' : x.d[0]!
  if (prec > 0) {
    out += '.'
    for (let i = 1; i <= prec; i++) out += digitAt(x, i)
  }
  let exp = x.d === '' ? 0 : x.dp - 1
  const sign = exp < 0 ? '-' : '+'
  if (exp < 0) exp = -exp
  return `${out}${e}${sign}${exp < 10 ? '0' : ''}${exp}`
}

function fmtF(x: Digits, prec: number): string {
  let out = ''
  if (x.dp > 0) {
    for (let i = 0; i < x.dp; i++) out += digitAt(x, i)
  } else out = '0'
  if (prec > 0) {
    out += '.'
    for (let i = 1; i <= prec; i++) out += digitAt(x, x.dp + i - 1)
  }
  return out
}

/** strconv.FormatFloat(x, fmt, prec, 64); prec -1 means shortest. */
export function formatFloat(x: number, fmt: 'e' | 'E' | 'f' | 'g' | 'G', prec: number): string {
  if (Number.isNaN(x)) return 'NaN'
  if (x === Infinity) return '+Inf'
  if (x === -Infinity) return '-Inf'
  const neg = x < 0 || Object.is(x, -0)
  const abs = Math.abs(x)
  const shortest = prec < 0
  let digs: Digits
  if (abs === 0) digs = {d: '', dp: 0}
  else if (shortest) digs = shortestDigits(abs)
  else {
    const exact = exactDigits(abs)
    if (fmt === 'e' || fmt === 'E') digs = roundDigits(exact, prec + 1)
    else if (fmt === 'f') digs = roundDigits(exact, exact.dp + prec)
    else digs = roundDigits(exact, prec === 0 ? 1 : prec)
  }
  if (!shortest && (fmt === 'g' || fmt === 'G') && prec === 0) prec = 1
  let body: string
  if (fmt === 'e' || fmt === 'E') body = fmtE(digs, shortest ? Math.max(digs.d.length - 1, 0) : prec, fmt)
  else if (fmt === 'f') body = fmtF(digs, shortest ? Math.max(digs.d.length - digs.dp, 0) : prec)
  else {
    let p = shortest ? digs.d.length : prec
    let eprec = p
    if (eprec > digs.d.length && digs.d.length >= digs.dp) eprec = digs.d.length
    if (shortest) eprec = 6
    const exp = digs.dp - 1
    const zero = digs.d === ''
    if (!zero && (exp < -4 || exp >= eprec)) {
      if (p > digs.d.length) p = digs.d.length
      body = fmtE(digs, Math.max(p - 1, 0), fmt === 'g' ? 'e' : 'E')
    } else {
      if (p > digs.dp) p = digs.d.length
      body = fmtF(digs, Math.max(p - digs.dp, 0))
    }
  }
  return neg ? `-${body}` : body
}
