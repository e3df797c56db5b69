/** Characters as Go's template lexer classifies them, and how it names a rune in errors. */

const SPACE = ' \t\r\n'

export const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n'
const LETTER_OR_DIGIT = /^[\p{L}\p{Nd}_]$/u
export function isAlphaNumeric(c: string | undefined): boolean {
  if (c === undefined || c === '') return false
  const x = c.charCodeAt(0)
  if (x < 0x80) return (x >= 48 && x <= 57) || (x >= 65 && x <= 90) || (x >= 97 && x <= 122) || x === 95
  return LETTER_OR_DIGIT.test(c)
}
export const hasLeftTrimMarker = (s: string, at: number): boolean => s[at] === '-' && isSpace(s[at + 1])
export const hasRightTrimMarker = (s: string, at: number): boolean => isSpace(s[at]) && s[at + 1] === '-'

export function trimRight(s: string): string {
  let end = s.length
  while (end > 0 && SPACE.includes(s[end - 1]!)) end--
  return s.slice(0, end)
}

export function leftTrimLength(s: string, from: number): number {
  let i = from
  while (i < s.length && SPACE.includes(s[i]!)) i++
  return i - from
}

/** Go's %#U of a rune: U+0041 'A'. */
export function goRuneName(r: string): string {
  if (r === '') return 'U+FFFFFFFFFFFFFFFF'
  const cp = r.codePointAt(0)!
  const hex = cp.toString(16).toUpperCase().padStart(4, '0')
  return /\p{L}|\p{N}|\p{P}|\p{S}|\p{Zs}/u.test(r) ? `U+${hex} '${r}'` : `U+${hex}`
}

/** Go strconv.Quote for ASCII-printable text (enough for messages). */
export function goQuoteForLexer(s: string): string {
  return JSON.stringify(s)
}

