/** Parser for WWW-Authenticate headers (RFC 7235): several challenges, quoted params with escapes. */

export interface Challenge {
  /** Lower-cased scheme, e.g. "bearer", "basic". */
  scheme: string
  /** Parameters with lower-cased names. */
  params: Record<string, string>
}

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/y
const SPACE = /[ \t]*/y
/** A token68 that stands alone (followed by a comma or the end), not the start of name=value. */
const TOKEN68 = /^([A-Za-z0-9\-._~+/]+=*)[ \t]*(?=,|$)/

/**
 * Parse one or more WWW-Authenticate header values into challenges, in order. Malformed trailing
 * input is ignored rather than thrown, because registries are sometimes sloppy.
 */
export function parseChallenges(header: string | readonly string[] | undefined): Challenge[] {
  if (header === undefined) return []
  const values = typeof header === 'string' ? [header] : header
  return values.flatMap((v) => parseOne(v))
}

function parseOne(input: string): Challenge[] {
  const out: Challenge[] = []
  let i = 0
  const skipSpace = () => {
    SPACE.lastIndex = i
    SPACE.exec(input)
    i = SPACE.lastIndex
  }
  const token = (): string | undefined => {
    TOKEN.lastIndex = i
    const m = TOKEN.exec(input)
    if (!m) return undefined
    i = TOKEN.lastIndex
    return m[0]
  }
  const quoted = (): string => {
    // input[i] === '"'
    let s = ''
    i++
    while (i < input.length && input[i] !== '"') {
      if (input[i] === '\\' && i + 1 < input.length) i++
      s += input[i]
      i++
    }
    i++ // closing quote
    return s
  }
  let current: Challenge | undefined
  while (i < input.length) {
    skipSpace()
    if (input[i] === ',') {
      i++
      continue
    }
    const name = token()
    if (name === undefined) break
    skipSpace()
    if (input[i] === '=' && current) {
      i++
      skipSpace()
      const value = input[i] === '"' ? quoted() : (token() ?? '')
      current.params[name.toLowerCase()] = value
      continue
    }
    // a new challenge: scheme, optionally followed by a token68 credential
    current = {scheme: name.toLowerCase(), params: {}}
    out.push(current)
    skipSpace()
    const t68 = TOKEN68.exec(input.slice(i))
    if (t68) {
      current.params.token68 = t68[1] as string
      i += t68[0].length
    }
  }
  return out
}
