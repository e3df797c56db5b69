/**
 * Go text/template lexer (text/template/parse/lex.go semantics): delimiters, `{{-` / `-}}`
 * whitespace trimming, comments, strings, raw strings, character and number constants, fields,
 * variables and keywords. Produces the whole token list at once; a lexical error becomes an
 * `error` token at the place it happened, so the parser reports it only when it gets there.
 */

export type TokenType =
  | 'error' | 'bool' | 'char' | 'charConstant' | 'complex' | 'assign' | 'declare' | 'eof' | 'field' | 'identifier'
  | 'leftDelim' | 'leftParen' | 'number' | 'pipe' | 'rawString' | 'rightDelim' | 'rightParen' | 'space' | 'string'
  | 'text' | 'variable' | 'block' | 'break' | 'continue' | 'dot' | 'define' | 'else' | 'end' | 'if' | 'nil' | 'range'
  | 'template' | 'with'

export interface Token {
  type: TokenType
  /** Offset in the template text. */
  pos: number
  val: string
  line: number
}

const KEYWORDS: Record<string, TokenType> = {
  '.': 'dot', block: 'block', break: 'break', continue: 'continue', define: 'define', else: 'else', end: 'end',
  if: 'if', range: 'range', nil: 'nil', template: 'template', with: 'with',
}

import {goQuoteForLexer, goRuneName, hasLeftTrimMarker, hasRightTrimMarker, isAlphaNumeric, isSpace, leftTrimLength, trimRight} from './chars.js'

const LEFT = '{{'
const RIGHT = '}}'

function countNewlines(s: string, from: number, to: number): number {
  let n = 0
  for (let i = from; i < to; i++) if (s.charCodeAt(i) === 10) n++
  return n
}

class Lexer {
  readonly tokens: Token[] = []
  pos = 0
  start = 0
  line = 1
  startLine = 1
  parenDepth = 0
  private done = false

  constructor(readonly input: string) {}

  /** Next code point (as a string), or '' at end of input. */
  next(): string {
    if (this.pos >= this.input.length) {
      this.pos = this.input.length + 1 // remember we hit the end, so backup() is a no-op
      return ''
    }
    const code = this.input.charCodeAt(this.pos)
    if (code < 0xd800 || code > 0xdbff) {
      this.pos++
      if (code === 10) this.line++
      return this.input[this.pos - 1]!
    }
    const c = String.fromCodePoint(this.input.codePointAt(this.pos)!)
    this.pos += c.length
    return c
  }

  backup(): void {
    if (this.pos > this.input.length) {
      this.pos = this.input.length
      return
    }
    if (this.pos <= 0) return
    let w = 1
    const low = this.input.charCodeAt(this.pos - 1)
    if (low >= 0xdc00 && low <= 0xdfff && this.pos >= 2) {
      const high = this.input.charCodeAt(this.pos - 2)
      if (high >= 0xd800 && high <= 0xdbff) w = 2
    }
    this.pos -= w
    if (this.input[this.pos] === '\n') this.line--
  }

  peek(): string {
    const c = this.next()
    this.backup()
    return c
  }

  emit(type: TokenType): void {
    this.tokens.push({type, pos: this.start, val: this.input.slice(this.start, this.pos), line: this.startLine})
    this.start = this.pos
    this.startLine = this.line
  }

  ignore(): void {
    this.line += countNewlines(this.input, this.start, this.pos)
    this.start = this.pos
    this.startLine = this.line
  }

  accept(valid: string): boolean {
    const c = this.next()
    if (c !== '' && valid.includes(c)) return true
    this.backup()
    return false
  }

  acceptRun(valid: string): void {
    for (;;) {
      const c = this.next()
      if (c === '' || !valid.includes(c)) break
    }
    this.backup()
  }

  error(message: string): void {
    this.tokens.push({type: 'error', pos: this.start, val: message, line: this.startLine})
    this.done = true
  }

  atRightDelim(): {delim: boolean; trim: boolean} {
    if (hasRightTrimMarker(this.input, this.pos) && this.input.startsWith(RIGHT, this.pos + 2)) return {delim: true, trim: true}
    if (this.input.startsWith(RIGHT, this.pos)) return {delim: true, trim: false}
    return {delim: false, trim: false}
  }

  atTerminator(): boolean {
    const c = this.peek()
    if (isSpace(c)) return true
    if (c === '' || c === '.' || c === ',' || c === '|' || c === ':' || c === ')' || c === '(') return true
    return this.input.startsWith(RIGHT, this.pos)
  }

  run(): Token[] {
    let inside = false
    while (!this.done) {
      if (!inside) {
        if (!this.lexText()) break
        inside = this.lexLeftDelim()
      } else inside = this.lexInsideAction()
    }
    return this.tokens
  }

  /** Text up to the next left delimiter; false at end of input. */
  lexText(): boolean {
    const x = this.input.indexOf(LEFT, this.pos)
    if (x >= 0) {
      this.pos = x
      let trim = 0
      if (hasLeftTrimMarker(this.input, this.pos + LEFT.length)) {
        const before = this.input.slice(this.start, this.pos)
        trim = before.length - trimRight(before).length
      }
      this.pos -= trim
      if (this.pos > this.start) {
        this.line += countNewlines(this.input, this.start, this.pos)
        this.emit('text')
      }
      this.pos += trim
      this.ignore()
      return true
    }
    this.pos = this.input.length
    if (this.pos > this.start) {
      this.line += countNewlines(this.input, this.start, this.pos)
      this.emit('text')
    }
    this.emit('eof')
    return false
  }

  /** After a left delimiter: a comment (then back to text) or an action. Returns true when inside an action. */
  lexLeftDelim(): boolean {
    this.pos += LEFT.length
    const trim = hasLeftTrimMarker(this.input, this.pos)
    const afterMarker = trim ? 2 : 0
    if (this.input.startsWith('/*', this.pos + afterMarker)) {
      this.pos += afterMarker
      this.ignore()
      this.lexComment()
      return false
    }
    this.emit('leftDelim')
    this.pos += afterMarker
    this.ignore()
    this.parenDepth = 0
    return true
  }

  lexComment(): void {
    this.pos += 2
    const i = this.input.indexOf('*/', this.pos)
    if (i < 0) return this.error('unclosed comment')
    this.pos = i + 2
    const {delim, trim} = this.atRightDelim()
    if (!delim) return this.error('comment ends before closing delimiter')
    if (trim) this.pos += 2
    this.pos += RIGHT.length
    if (trim) this.pos += leftTrimLength(this.input, this.pos)
    this.ignore()
  }

  lexRightDelim(): void {
    const trim = hasRightTrimMarker(this.input, this.pos)
    if (trim) {
      this.pos += 2
      this.ignore()
    }
    this.pos += RIGHT.length
    this.emit('rightDelim')
    if (trim) {
      this.pos += leftTrimLength(this.input, this.pos)
      this.ignore()
    }
  }

  /** One token inside an action; returns whether we are still inside. */
  lexInsideAction(): boolean {
    const {delim} = this.atRightDelim()
    if (delim) {
      if (this.parenDepth === 0) {
        this.lexRightDelim()
        return false
      }
      this.error('unclosed left paren')
      return false
    }
    const r = this.next()
    if (r === '') {
      this.error('unclosed action')
    } else if (isSpace(r)) {
      this.backup()
      return this.lexSpace()
    } else if (r === '=') this.emit('assign')
    else if (r === ':') {
      if (this.next() !== '=') this.error('expected :=')
      else this.emit('declare')
    } else if (r === '|') this.emit('pipe')
    else if (r === '"') this.lexQuote()
    else if (r === '`') this.lexRawQuote()
    else if (r === '$') this.lexVariable()
    else if (r === "'") this.lexChar()
    else if (r === '.' && this.pos < this.input.length && !(this.input[this.pos]! >= '0' && this.input[this.pos]! <= '9')) {
      this.lexFieldOrVariable('field')
    } else if (r === '.' || r === '+' || r === '-' || (r >= '0' && r <= '9')) {
      this.backup()
      this.lexNumber()
    } else if (isAlphaNumeric(r)) {
      this.backup()
      this.lexIdentifier()
    } else if (r === '(') {
      this.emit('leftParen')
      this.parenDepth++
    } else if (r === ')') {
      this.emit('rightParen')
      this.parenDepth--
      if (this.parenDepth < 0) this.error(`unexpected right paren ${goRuneName(r)}`)
    } else if (r.codePointAt(0)! <= 0x7f && r.codePointAt(0)! >= 0x20 && r.codePointAt(0)! < 0x7f) this.emit('char')
    else this.error(`unrecognized character in action: ${goRuneName(r)}`)
    return !this.done
  }

  lexSpace(): boolean {
    let n = 0
    while (isSpace(this.peek())) {
      this.next()
      n++
    }
    if (hasRightTrimMarker(this.input, this.pos - 1) && this.input.startsWith(RIGHT, this.pos - 1 + 2)) {
      this.backup()
      if (n === 1) {
        this.lexRightDelim()
        return false
      }
    }
    this.emit('space')
    return true
  }

  lexIdentifier(): void {
    for (;;) {
      const r = this.next()
      if (isAlphaNumeric(r)) continue
      this.backup()
      const word = this.input.slice(this.start, this.pos)
      if (!this.atTerminator()) return this.error(`bad character ${goRuneName(r)}`)
      const kw = Object.hasOwn(KEYWORDS, word) ? KEYWORDS[word] : undefined
      if (kw !== undefined && kw !== 'dot') this.emit(kw)
      else if (word[0] === '.') this.emit('field')
      else if (word === 'true' || word === 'false') this.emit('bool')
      else this.emit('identifier')
      return
    }
  }

  lexVariable(): void {
    if (this.atTerminator()) {
      this.emit('variable')
      return
    }
    this.lexFieldOrVariable('variable')
  }

  lexFieldOrVariable(type: 'field' | 'variable'): void {
    if (this.atTerminator()) {
      this.emit(type === 'variable' ? 'variable' : 'dot')
      return
    }
    let r: string
    for (;;) {
      r = this.next()
      if (!isAlphaNumeric(r)) {
        this.backup()
        break
      }
    }
    if (!this.atTerminator()) return this.error(`bad character ${goRuneName(r)}`)
    this.emit(type)
  }

  lexChar(): void {
    for (;;) {
      const c = this.next()
      if (c === '\\') {
        const r = this.next()
        if (r !== '' && r !== '\n') continue
        return this.error('unterminated character constant')
      }
      if (c === '' || c === '\n') return this.error('unterminated character constant')
      if (c === "'") break
    }
    this.emit('charConstant')
  }

  lexNumber(): void {
    if (!this.scanNumber()) return this.error(`bad number syntax: ${goQuoteForLexer(this.input.slice(this.start, this.pos))}`)
    const sign = this.peek()
    if (sign === '+' || sign === '-') {
      if (!this.scanNumber() || this.input[this.pos - 1] !== 'i') return this.error(`bad number syntax: ${goQuoteForLexer(this.input.slice(this.start, this.pos))}`)
      this.emit('complex')
    } else this.emit('number')
  }

  scanNumber(): boolean {
    this.accept('+-')
    let digits = '0123456789_'
    if (this.accept('0')) {
      if (this.accept('xX')) digits = '0123456789abcdefABCDEF_'
      else if (this.accept('oO')) digits = '01234567_'
      else if (this.accept('bB')) digits = '01_'
    }
    this.acceptRun(digits)
    if (this.accept('.')) this.acceptRun(digits)
    if (digits.length === 11 && this.accept('eE')) {
      this.accept('+-')
      this.acceptRun('0123456789_')
    }
    if (digits.length === 23 && this.accept('pP')) {
      this.accept('+-')
      this.acceptRun('0123456789_')
    }
    this.accept('i')
    if (isAlphaNumeric(this.peek())) {
      this.next()
      return false
    }
    return true
  }

  lexQuote(): void {
    for (;;) {
      const c = this.next()
      if (c === '\\') {
        const r = this.next()
        if (r !== '' && r !== '\n') continue
        return this.error('unterminated quoted string')
      }
      if (c === '' || c === '\n') return this.error('unterminated quoted string')
      if (c === '"') break
    }
    this.emit('string')
  }

  lexRawQuote(): void {
    for (;;) {
      const c = this.next()
      if (c === '') return this.error('unterminated raw quoted string')
      if (c === '`') break
    }
    this.emit('rawString')
  }
}

/** Tokens of one template text. */
export function lex(input: string): Token[] {
  return new Lexer(input).run()
}
