/**
 * Sprig's date functions on a fixed clock (renders are reproducible): now, date, dateInZone,
 * htmlDate, htmlDateInZone, unixEpoch, dateModify, duration, ago. Times are UTC ("Local" is
 * UTC); layouts use Go's reference time (2006-01-02 15:04:05 -0700 MST).
 */
import {FuncError, GoStruct, Int64, type GoFunc} from '../template/values.js'
import {goFunc} from './define.js'

/** The clock of every render. */
export const FIXED_NOW = Date.UTC(2024, 0, 2, 3, 4, 5)

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December']
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday']

interface GoTime {
  /** Milliseconds since the epoch (UTC). */
  ms: number
  /** Nanoseconds within the second. */
  nanos: number
}

const times = new WeakMap<GoStruct, GoTime>()

const pad = (n: number, w: number) => String(n).padStart(w, '0')

/** Go's Time.Format for a UTC time. */
export function formatTime(t: GoTime, layout: string): string {
  const d = new Date(t.ms)
  const Y = d.getUTCFullYear()
  const M = d.getUTCMonth()
  const D = d.getUTCDate()
  const h = d.getUTCHours()
  const m = d.getUTCMinutes()
  const s = d.getUTCSeconds()
  const tokens: [string, () => string][] = [
    ['January', () => MONTHS[M]!], ['Jan', () => MONTHS[M]!.slice(0, 3)], ['Monday', () => DAYS[d.getUTCDay()]!], ['Mon', () => DAYS[d.getUTCDay()]!.slice(0, 3)],
    ['MST', () => 'UTC'], ['2006', () => pad(Y, 4)], ['Z07:00', () => 'Z'], ['Z0700', () => 'Z'], ['Z07', () => 'Z'], ['-07:00', () => '+00:00'], ['-0700', () => '+0000'],
    ['-07', () => '+00'], ['002', () => pad(Math.floor((Date.UTC(Y, M, D) - Date.UTC(Y, 0, 1)) / 86400000) + 1, 3)], ['01', () => pad(M + 1, 2)], ['02', () => pad(D, 2)],
    ['_2', () => String(D).padStart(2, ' ')], ['06', () => pad(Y % 100, 2)], ['15', () => pad(h, 2)], ['03', () => pad(h % 12 === 0 ? 12 : h % 12, 2)], ['04', () => pad(m, 2)],
    ['05', () => pad(s, 2)], ['PM', () => (h >= 12 ? 'PM' : 'AM')], ['pm', () => (h >= 12 ? 'pm' : 'am')], ['1', () => String(M + 1)], ['2', () => String(D)],
    ['3', () => String(h % 12 === 0 ? 12 : h % 12)], ['4', () => String(m)], ['5', () => String(s)],
  ]
  let out = ''
  for (let i = 0; i < layout.length; ) {
    const frac = /^[.,](0+|9+)(?![0-9])/.exec(layout.slice(i))
    if (frac) {
      const digits = pad(t.nanos, 9).slice(0, frac[1]!.length)
      out += frac[1]![0] === '9' ? (digits.replace(/0+$/, '') === '' ? '' : `.${digits.replace(/0+$/, '')}`) : `${layout[i]}${digits}`
      i += frac[0].length
      continue
    }
    const tok = tokens.find(([k]) => layout.startsWith(k, i))
    if (tok) {
      out += tok[1]()
      i += tok[0].length
    } else out += layout[i++]
  }
  return out
}

export function timeValue(ms: number, nanos = 0): GoStruct {
  const t: GoTime = {ms, nanos}
  const s = new GoStruct('time.Time', {}, {}, () => formatTime(t, '2006-01-02 15:04:05.999999999 -0700 MST'))
  Object.defineProperty(s.fields, 'rfc3339', {value: formatTime(t, '2006-01-02T15:04:05.999999999Z07:00'), enumerable: false})
  times.set(s, t)
  const m = (name: string, params: GoFunc['params'], fn: GoFunc['fn']): GoFunc => ({name, params, fn})
  Object.assign(s.methods, {
    Unix: m('Unix', [], () => new Int64(BigInt(Math.floor(ms / 1000)))),
    Format: m('Format', ['string'], (layout: string) => formatTime(t, layout)),
    UTC: m('UTC', [], () => s),
    Year: m('Year', [], () => BigInt(new Date(ms).getUTCFullYear())),
  })
  return s
}

function timeOf(v: unknown): GoTime {
  if (v instanceof GoStruct && times.has(v)) return times.get(v)!
  if (v instanceof Int64) return {ms: Number(v.value) * 1000, nanos: 0}
  if (typeof v === 'bigint') return {ms: Number(v) * 1000, nanos: 0}
  return {ms: FIXED_NOW, nanos: 0}
}

/** Go's time.ParseDuration, in nanoseconds. */
function parseDuration(s: string): bigint {
  const units: Record<string, number> = {ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9}
  const m = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+$/.exec(s)
  if (!m && s !== '0') throw new FuncError(`time: invalid duration "${s}"`)
  if (s === '0' || s === '+0' || s === '-0') return 0n
  let total = 0
  for (const part of s.slice(m![1]!.length).matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g)) total += Number(part[1]) * units[part[2]!]!
  return BigInt(Math.round(m![1] === '-' ? -total : total))
}

/** Go's Duration.String for whole seconds. */
function durationString(seconds: bigint): string {
  if (seconds === 0n) return '0s'
  const neg = seconds < 0n
  let s = neg ? -seconds : seconds
  const h = s / 3600n
  s %= 3600n
  const m = s / 60n
  s %= 60n
  const body = h > 0n ? `${h}h${m}m${s}s` : m > 0n ? `${m}m${s}s` : `${s}s`
  return neg ? `-${body}` : body
}

export function dateFunctions(): GoFunc[] {
  const dateInZone = (layout: string, date: unknown) => formatTime(timeOf(date), layout)
  return [
    goFunc('now', [], () => timeValue(FIXED_NOW)),
    goFunc('date', ['string', 'any'], dateInZone),
    goFunc('dateInZone', ['string', 'any', 'string'], dateInZone),
    goFunc('date_in_zone', ['string', 'any', 'string'], dateInZone),
    goFunc('htmlDate', ['any'], (d: unknown) => formatTime(timeOf(d), '2006-01-02')),
    goFunc('htmlDateInZone', ['any', 'string'], (d: unknown) => formatTime(timeOf(d), '2006-01-02')),
    goFunc('unixEpoch', ['any'], (d: unknown) => String(Math.floor(timeOf(d).ms / 1000))),
    goFunc('dateModify', ['string', 'any'], (f: string, d: unknown) => {
      const t = timeOf(d)
      try {
        return timeValue(t.ms + Number(parseDuration(f) / 1000000n))
      } catch {
        return d
      }
    }),
    goFunc('duration', ['any'], (v: unknown) => durationString(typeof v === 'string' ? (/^[+-]?\d+$/.test(v) ? BigInt(v) : 0n) : v instanceof Int64 ? v.value : 0n)),
    goFunc('ago', ['any'], (d: unknown) => durationString(BigInt(Math.round((FIXED_NOW - timeOf(d).ms) / 1000)))),
  ]
}
