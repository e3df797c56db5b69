/**
 * Sprig's numeric functions (numeric.go and the arithmetic in functions.go): int64 arithmetic
 * through spf13/cast, float helpers, decimal-exact addf/subf/mulf/divf (shopspring/decimal),
 * conversions (atoi, int, int64, float64, toDecimal) and ranges (until, untilStep, seq).
 */
import {FuncError, Int64, wrapInt64, type GoFunc} from '../template/values.js'
import {parseGoInt, toFloat64, toInt64, strval} from './convert.js'
import {goFunc} from './define.js'
import {LIMITS} from '../template/budget.js'

const i64 = (v: bigint) => new Int64(wrapInt64(v))

function untilStep(start: number, stop: number, step: number): bigint[] {
  const count = step === 0 ? 0 : Math.ceil((stop - start) / step)
  if (count > LIMITS.listItems) throw new RangeError(`a list of ${count} numbers is over the budget of ${LIMITS.listItems} items in one template execution`)
  const out: bigint[] = []
  if (stop < start) {
    if (step >= 0) return out
    for (let i = start; i > stop; i += step) out.push(BigInt(i))
    return out
  }
  if (step <= 0) return out
  for (let i = start; i < stop; i += step) out.push(BigInt(i))
  return out
}

function seq(...params: bigint[]): string {
  const p = params.map(Number)
  const join = (l: bigint[]) => l.join(' ')
  switch (p.length) {
    case 0:
      return ''
    case 1: {
      const end = p[0]!
      const inc = end < 1 ? -1 : 1
      return join(untilStep(1, end + inc, inc))
    }
    case 2: {
      const [start, end] = p as [number, number]
      const step = end < start ? -1 : 1
      return join(untilStep(start, end + step, step))
    }
    case 3: {
      const [start, step, end] = p as [number, number, number]
      let inc = 1
      if (end < start) {
        inc = -1
        if (step > 0) return ''
      }
      return join(untilStep(start, end + inc, step))
    }
    default:
      return ''
  }
}

/** A decimal number: coefficient × 10^exp (what shopspring/decimal holds). */
interface Dec {
  coef: bigint
  exp: number
}

/** decimal.NewFromFloat: the shortest decimal that reads back as f. */
function decFromFloat(f: number): Dec {
  if (f === 0) return {coef: 0n, exp: 0}
  const [mant, e] = f.toExponential().split('e') as [string, string]
  const digits = mant.replace('.', '').replace('-', '')
  const frac = mant.includes('.') ? mant.split('.')[1]!.length : 0
  return {coef: BigInt(f < 0 ? `-${digits}` : digits), exp: Number(e) - frac}
}

function align(a: Dec, b: Dec): [bigint, bigint, number] {
  const exp = Math.min(a.exp, b.exp)
  return [a.coef * 10n ** BigInt(a.exp - exp), b.coef * 10n ** BigInt(b.exp - exp), exp]
}

function decAdd(a: Dec, b: Dec): Dec {
  const [x, y, exp] = align(a, b)
  return {coef: x + y, exp}
}
function decSub(a: Dec, b: Dec): Dec {
  const [x, y, exp] = align(a, b)
  return {coef: x - y, exp}
}
function decMul(a: Dec, b: Dec): Dec {
  return {coef: a.coef * b.coef, exp: a.exp + b.exp}
}
/** decimal.Div: DivisionPrecision (16) digits after the point, rounded half away from zero. */
function decDiv(a: Dec, b: Dec): Dec {
  if (b.coef === 0n) throw new FuncError('decimal division by 0')
  const prec = 16
  // a/b scaled to 10^-prec, with one extra digit for rounding.
  const num = a.coef * 10n ** BigInt(Math.max(0, a.exp - b.exp + prec + 1))
  const den = b.coef * 10n ** BigInt(Math.max(0, -(a.exp - b.exp + prec + 1)))
  let q = num / den
  const neg = q < 0n
  if (neg) q = -q
  q = (q + 5n) / 10n
  return {coef: neg ? -q : q, exp: -prec}
}
function decToFloat(d: Dec): number {
  return Number(`${d.coef}e${d.exp}`)
}

function decimalOp(first: unknown, rest: unknown[], op: (a: Dec, b: Dec) => Dec): number {
  let acc = decFromFloat(toFloat64(first))
  for (const x of rest) acc = op(acc, decFromFloat(toFloat64(x)))
  return decToFloat(acc)
}

/** Go's math.Round-free Sprig round: ceil when the fraction reaches roundOn. */
function round(a: unknown, p: bigint, ...rOpt: number[]): number {
  const roundOn = rOpt.length > 0 ? rOpt[0]! : 0.5
  const val = toFloat64(a)
  const pow = 10 ** Number(p)
  const digit = pow * val
  const frac = digit - Math.trunc(digit)
  const r = frac >= roundOn ? Math.ceil(digit) : Math.floor(digit)
  return r / pow
}

function atoi(s: string): bigint {
  if (!/^[+-]?\d+$/.test(s)) return 0n
  const v = BigInt(s)
  return v > 2n ** 63n - 1n || v < -(2n ** 63n) ? 0n : v
}

export function mathFunctions(): GoFunc[] {
  return [
    goFunc('add1', ['any'], (i: unknown) => i64(toInt64(i) + 1n)),
    goFunc('add', [], (...v: unknown[]) => i64(v.reduce<bigint>((a, b) => wrapInt64(a + toInt64(b)), 0n)), 'any'),
    goFunc('sub', ['any', 'any'], (a: unknown, b: unknown) => i64(toInt64(a) - toInt64(b))),
    goFunc('div', ['any', 'any'], (a: unknown, b: unknown) => {
      const d = toInt64(b)
      if (d === 0n) throw new FuncError('runtime error: integer divide by zero')
      return i64(toInt64(a) / d)
    }),
    goFunc('mod', ['any', 'any'], (a: unknown, b: unknown) => {
      const d = toInt64(b)
      if (d === 0n) throw new FuncError('runtime error: integer divide by zero')
      return i64(toInt64(a) % d)
    }),
    goFunc('mul', ['any'], (a: unknown, ...v: unknown[]) => i64(v.reduce<bigint>((x, b) => wrapInt64(x * toInt64(b)), toInt64(a))), 'any'),
    goFunc('add1f', ['any'], (i: unknown) => decimalOp(i, [1n], decAdd)),
    goFunc('addf', [], (...v: unknown[]) => decimalOp(0, v, decAdd), 'any'),
    goFunc('subf', ['any'], (a: unknown, ...v: unknown[]) => decimalOp(a, v, decSub), 'any'),
    goFunc('divf', ['any'], (a: unknown, ...v: unknown[]) => decimalOp(a, v, decDiv), 'any'),
    goFunc('mulf', ['any'], (a: unknown, ...v: unknown[]) => decimalOp(a, v, decMul), 'any'),
    goFunc('biggest', ['any'], (a: unknown, ...v: unknown[]) => i64(v.map(toInt64).reduce((x, y) => (y > x ? y : x), toInt64(a))), 'any'),
    goFunc('max', ['any'], (a: unknown, ...v: unknown[]) => i64(v.map(toInt64).reduce((x, y) => (y > x ? y : x), toInt64(a))), 'any'),
    goFunc('min', ['any'], (a: unknown, ...v: unknown[]) => i64(v.map(toInt64).reduce((x, y) => (y < x ? y : x), toInt64(a))), 'any'),
    goFunc('maxf', ['any'], (a: unknown, ...v: unknown[]) => v.map(toFloat64).reduce((x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.max(x, y)), toFloat64(a)), 'any'),
    goFunc('minf', ['any'], (a: unknown, ...v: unknown[]) => v.map(toFloat64).reduce((x, y) => (Number.isNaN(x) || Number.isNaN(y) ? NaN : Math.min(x, y)), toFloat64(a)), 'any'),
    goFunc('ceil', ['any'], (a: unknown) => Math.ceil(toFloat64(a))),
    goFunc('floor', ['any'], (a: unknown) => Math.floor(toFloat64(a))),
    goFunc('round', ['any', 'int'], round, 'float64'),
    goFunc('atoi', ['string'], atoi),
    goFunc('int64', ['any'], (v: unknown) => new Int64(toInt64(v))),
    goFunc('int', ['any'], (v: unknown) => toInt64(v)),
    goFunc('float64', ['any'], toFloat64),
    goFunc('toDecimal', ['any'], (v: unknown) => {
      const s = strval(v)
      if (!/^[+-]?[0-7]+$/.test(s)) return new Int64(0n)
      const r = parseGoInt(`${s.replace(/^([+-]?)/, '$10o')}`)
      return new Int64(r ?? 0n)
    }),
    goFunc('seq', [], seq, 'int'),
    goFunc('until', ['int'], (n: bigint) => untilStep(0, Number(n), n < 0n ? -1 : 1)),
    goFunc('untilStep', ['int', 'int', 'int'], (a: bigint, b: bigint, s: bigint) => untilStep(Number(a), Number(b), Number(s))),
  ]
}

