/**
 * Sprig's regex functions with Go RE2 semantics on top of JavaScript's engine: RE2 syntax is
 * translated ((?P<name>), \A, \z, \Q…\E, [[:alpha:]], Go's \s, leading (?i)/(?s)/(?m) flags),
 * matches are iterated the way Go's allMatches does (an empty match right after a match is not
 * reported), and $1 / ${name} replacements expand by Go's rules ($1a names group "1a").
 */
import {FuncError, typedSlice, type GoFunc} from '../template/values.js'
import {goFunc} from './define.js'

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z', alpha: 'A-Za-z', ascii: '\\x00-\\x7F', blank: '\\t ', cntrl: '\\x00-\\x1F\\x7F', digit: '0-9',
  graph: '!-~', lower: 'a-z', print: ' -~', punct: '!-/:-@[-`{-~', space: '\\t\\n\\v\\f\\r ', upper: 'A-Z', word: '0-9A-Za-z_', xdigit: '0-9A-Fa-f',
}
const GO_SPACE_CLASS = '\\t\\n\\f\\r '

interface Compiled {
  re: RegExp
  names: (string | undefined)[]
}

const cache = new Map<string, Compiled>()

/** Translate an RE2 pattern to a JavaScript RegExp (global, sticky-free). */
export function compileGoRegexp(pattern: string): Compiled {
  const hit = cache.get(pattern)
  if (hit) return hit
  let flags = 'g'
  let p = pattern
  const lead = /^\(\?([imsU]+)\)/.exec(p)
  if (lead) {
    if (lead[1]!.includes('i')) flags += 'i'
    if (lead[1]!.includes('s')) flags += 's'
    if (lead[1]!.includes('m')) flags += 'm'
    p = p.slice(lead[0].length)
  }
  let out = ''
  let inClass = false
  let unicode = false
  const names: (string | undefined)[] = [undefined]
  for (let i = 0; i < p.length; i++) {
    const c = p[i]!
    if (c === '\\') {
      const n = p[i + 1]
      if (n === undefined) throw new FuncError('error parsing regexp: trailing backslash at end of expression: ``')
      i++
      if (n === 'Q') {
        const end = p.indexOf('\\E', i + 1)
        const lit = end < 0 ? p.slice(i + 1) : p.slice(i + 1, end)
        out += lit.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
        i = end < 0 ? p.length : end + 1
      } else if (n === 'A' && !inClass) out += '(?<![\\s\\S])'
      else if (n === 'z' && !inClass) out += '(?![\\s\\S])'
      else if (n === 's') out += inClass ? GO_SPACE_CLASS : `[${GO_SPACE_CLASS}]`
      else if (n === 'S') out += inClass ? '\\x00-\\x08\\x0B\\x0E-\\x1F\\x21-\\uFFFF' : `[^${GO_SPACE_CLASS}]`
      else if (n === 'p' || n === 'P') {
        unicode = true
        if (p[i + 1] === '{') {
          const end = p.indexOf('}', i)
          out += `\\${n}${p.slice(i + 1, end + 1)}`
          i = end
        } else {
          out += `\\${n}{${p[i + 1]}}`
          i++
        }
      } else if (/[a-zA-Z0-9]/.test(n)) out += `\\${n}`
      else out += `\\${n}`
      continue
    }
    if (inClass) {
      if (c === '[' && p[i + 1] === ':') {
        const end = p.indexOf(':]', i)
        const name = p.slice(i + 2, end)
        const neg = name.startsWith('^')
        const body = POSIX[neg ? name.slice(1) : name]
        if (end < 0 || body === undefined) throw new FuncError(`error parsing regexp: invalid character class range: \`${p.slice(i, end + 2)}\``)
        if (neg) throw new FuncError('negated POSIX classes are not supported')
        out += body
        i = end + 1
        continue
      }
      if (c === ']') inClass = false
      out += c === '/' ? '\\/' : c
      continue
    }
    if (c === '[') {
      inClass = true
      out += c
      if (p[i + 1] === '^') {
        out += '^'
        i++
      }
      if (p[i + 1] === ']') {
        out += '\\]'
        i++
      }
      continue
    }
    if (c === '(' && p[i + 1] === '?') {
      const named = /^\(\?P?<([A-Za-z0-9_]+)>/.exec(p.slice(i))
      if (named) {
        names.push(named[1])
        out += `(?<${named[1]}>`
        i += named[0].length - 1
        continue
      }
      if (p[i + 2] === ':') {
        out += '(?:'
        i += 2
        continue
      }
      throw new FuncError(`error parsing regexp: unsupported group flags in \`${pattern}\``)
    }
    if (c === '(') names.push(undefined)
    out += c
  }
  if (unicode) flags += 'u'
  let re: RegExp
  try {
    re = new RegExp(out, flags)
  } catch (err) {
    throw new FuncError(`error parsing regexp: ${(err as Error).message}`)
  }
  const compiled = {re, names}
  cache.set(pattern, compiled)
  return compiled
}

/** Go's allMatches: every match (at most n when n >= 0), skipping empty matches adjacent to the previous match. */
export function goMatches(c: Compiled, s: string, n: number): RegExpExecArray[] {
  const out: RegExpExecArray[] = []
  const re = c.re
  re.lastIndex = 0
  let prevEnd = -1
  let pos = 0
  while (pos <= s.length && (n < 0 || out.length < n)) {
    re.lastIndex = pos
    const m = re.exec(s)
    if (!m) break
    const start = m.index
    const end = start + m[0].length
    if (m[0].length === 0 && start === prevEnd) {
      // Go skips this empty match and moves one character on.
      pos = start + (s.codePointAt(start)! > 0xffff ? 2 : 1)
      if (start >= s.length) break
      continue
    }
    out.push(m)
    prevEnd = end
    pos = end === start ? end + (start < s.length && s.codePointAt(start)! > 0xffff ? 2 : 1) : end
  }
  return out
}

/** Go's Regexp.Expand template: $1, ${1}, $name, ${name}, $$. */
function expand(template: string, m: RegExpExecArray, c: Compiled): string {
  return template.replace(/\$(\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))?/g, (all, what: string | undefined, braced: string | undefined, bare: string | undefined) => {
    if (what === undefined) return all === '$' ? '' : all
    if (what === '$') return '$'
    const name = braced ?? bare!
    if (/^\d+$/.test(name)) {
      const idx = Number(name)
      return idx < m.length ? (m[idx] ?? '') : ''
    }
    const idx = c.names.indexOf(name)
    return idx > 0 ? (m[idx] ?? '') : ''
  })
}

function replaceAll(pattern: string, s: string, repl: string, literal: boolean): string {
  const c = compileGoRegexp(pattern)
  let out = ''
  let last = 0
  for (const m of goMatches(c, s, -1)) {
    out += s.slice(last, m.index) + (literal ? repl : expand(repl, m, c))
    last = m.index + m[0].length
  }
  return out + s.slice(last)
}

function split(pattern: string, s: string, n: number): string[] {
  if (n === 0) return []
  if (pattern.length > 0 && s.length === 0) return ['']
  const c = compileGoRegexp(pattern)
  const out: string[] = []
  let beg = 0
  let end = 0
  for (const m of goMatches(c, s, n)) {
    if (n > 0 && out.length === n - 1) break
    end = m.index
    if (m.index + m[0].length !== 0) out.push(s.slice(beg, end))
    beg = m.index + m[0].length
  }
  if (end !== s.length) out.push(s.slice(beg))
  return out
}

/** Go's regexp.QuoteMeta. */
function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&')
}

export function regexFunctions(): GoFunc[] {
  const find = (p: string, s: string) => goMatches(compileGoRegexp(p), s, 1)[0]?.[0] ?? ''
  const findAll = (p: string, s: string, n: bigint) => typedSlice(goMatches(compileGoRegexp(p), s, Number(n)).map((m) => m[0]), 'string')
  const match = (p: string, s: string) => goMatches(compileGoRegexp(p), s, 1).length > 0
  const tolerant = (f: (p: string, s: string) => boolean) => (p: string, s: string) => {
    try {
      return f(p, s)
    } catch {
      return false
    }
  }
  const both = (name: string, params: GoFunc['params'], f: (...a: never[]) => unknown, lenient?: (...a: never[]) => unknown) => [
    goFunc(name, params, lenient ?? f),
    goFunc(`must${name[0]!.toUpperCase()}${name.slice(1)}`, params, f),
  ]
  return [
    ...both('regexMatch', ['string', 'string'], match, tolerant(match)),
    ...both('regexFindAll', ['string', 'string', 'int'], findAll),
    ...both('regexFind', ['string', 'string'], find),
    ...both('regexReplaceAll', ['string', 'string', 'string'], (p: string, s: string, r: string) => replaceAll(p, s, r, false)),
    ...both('regexReplaceAllLiteral', ['string', 'string', 'string'], (p: string, s: string, r: string) => replaceAll(p, s, r, true)),
    ...both('regexSplit', ['string', 'string', 'int'], (p: string, s: string, n: bigint) => typedSlice(split(p, s, Number(n)), 'string')),
    goFunc('regexQuoteMeta', ['string'], quoteMeta),
  ]
}
