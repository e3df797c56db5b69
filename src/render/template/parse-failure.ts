/** Parse failures, worded as Go words them ("template: NAME:LINE: MESSAGE"). */
import type {Token, TokenType} from './lexer.js'

/** A template parse failure, worded as Go words it ("template: NAME:LINE: MESSAGE"). */
export class ParseFailure extends Error {
  constructor(readonly templateName: string, readonly line: number, readonly detail: string) {
    super(`template: ${templateName}:${line}: ${detail}`)
  }
}

const KEYWORD_TYPES = new Set<TokenType>(['block', 'break', 'continue', 'dot', 'define', 'else', 'end', 'if', 'nil', 'range', 'template', 'with'])

/** Go's item.String(), used in "unexpected X in Y". */
export function tokenString(t: Token): string {
  if (t.type === 'eof') return 'EOF'
  if (t.type === 'error') return t.val
  if (KEYWORD_TYPES.has(t.type)) return `<${t.val}>`
  if (t.val.length > 10) return `${JSON.stringify(t.val).slice(0, 11)}...`
  return JSON.stringify(t.val)
}

