/**
 * The expression half of Go's template parser (parse.go): reading tokens (with Go's one-token
 * backup over spaces), pipelines with their variable declarations, commands, operands, field
 * chains and terms, and the parse-time checks on them (undefined variables, unknown functions,
 * non-executable pipeline stages).
 */
import type {Token, TokenType} from './lexer.js'
import {parseNumber, termText} from './literals.js'
import type {ArgNode, CommandNode, NumberNode, PipeNode, Tree, VariableNode} from './nodes.js'
import {ParseFailure, tokenString} from './parse-failure.js'
import {goUnquote} from './unquote.js'

export class ExpressionParser {
  protected index = 0
  vars: string[] = ['$']
  rangeDepth = 0
  /** Line of the action being parsed (Go reports it for errors inside multi-line actions). */
  protected actionLine = 0
  constructor(
    protected readonly tokens: Token[],
    protected name: string,
    protected readonly parseName: string,
    protected readonly text: string,
    protected readonly hasFunction: (name: string) => boolean,
    protected readonly treeSet: Map<string, Tree>,
  ) {}

  protected get(i: number): Token {
    return this.tokens[i] ?? this.tokens[this.tokens.length - 1] ?? {type: 'eof', pos: this.text.length, val: '', line: 1}
  }

  next(): Token {
    const t = this.get(this.index)
    if (this.index < this.tokens.length) this.index++
    if (t.type === 'error') this.fail(t.val, t.line)
    return t
  }

  backup(n = 1): void {
    this.index -= n
  }

  peek(): Token {
    const t = this.next()
    this.backup()
    return t
  }

  nextNonSpace(): Token {
    let t: Token
    do t = this.next()
    while (t.type === 'space')
    return t
  }

  peekNonSpace(): Token {
    const t = this.nextNonSpace()
    this.backup()
    return t
  }

  fail(message: string, line?: number): never {
    const at = line ?? (this.actionLine || this.get(Math.max(this.index - 1, 0)).line)
    throw new ParseFailure(this.parseName, at, message)
  }

  expect(type: TokenType, context: string): Token {
    const t = this.nextNonSpace()
    if (t.type !== type) this.unexpected(t, context)
    return t
  }

  unexpected(t: Token, context: string): never {
    if (t.type === 'error') {
      const extra = this.actionLine !== 0 && this.actionLine !== t.line ? ` in ${context}; started on line ${this.actionLine}` : ''
      this.fail(`${t.val}${extra}`, t.line)
    }
    this.fail(`unexpected ${tokenString(t)} in ${context}`, t.line)
  }

  /** The tree of the whole text plus `define`d templates, registered in treeSet. */
  unquote(t: Token): string {
    try {
      return goUnquote(t.val)
    } catch (err) {
      this.fail((err as Error).message, t.line)
    }
  }

  pipeline(context: string, end: TokenType): PipeNode {
    const first = this.peekNonSpace()
    const pipe: PipeNode = {type: 'pipe', pos: first.pos, line: first.line, isAssign: false, decl: [], cmds: []}
    decls: for (;;) {
      const v = this.peekNonSpace()
      if (v.type !== 'variable') break
      this.next()
      const afterVariable = this.peek()
      const next = this.peekNonSpace()
      if (next.type === 'assign' || next.type === 'declare') {
        pipe.isAssign = next.type === 'assign'
        this.nextNonSpace()
        pipe.decl.push(this.newVariable(v))
        this.vars.push(v.val)
      } else if (next.type === 'char' && next.val === ',') {
        this.nextNonSpace()
        pipe.decl.push(this.newVariable(v))
        this.vars.push(v.val)
        if (context === 'range' && pipe.decl.length < 2) {
          const p = this.peekNonSpace().type
          if (p === 'variable' || p === 'rightDelim' || p === 'rightParen') continue decls
          this.fail('range can only initialize variables')
        }
        this.fail(`too many declarations in ${context}`)
      } else if (afterVariable.type === 'space') {
        this.backup(2)
      } else {
        this.backup(1)
      }
      break
    }
    for (;;) {
      const t = this.nextNonSpace()
      if (t.type === end) {
        this.checkPipeline(pipe, context)
        return pipe
      }
      switch (t.type) {
        case 'bool': case 'charConstant': case 'complex': case 'dot': case 'field': case 'identifier':
        case 'number': case 'nil': case 'rawString': case 'string': case 'variable': case 'leftParen':
          this.backup()
          pipe.cmds.push(this.command())
          break
        default:
          this.unexpected(t, context)
      }
    }
  }

  checkPipeline(pipe: PipeNode, context: string): void {
    if (pipe.cmds.length === 0) this.fail(`missing value for ${context}`)
    pipe.cmds.slice(1).forEach((c, i) => {
      const t = c.args[0]!.type
      if (t === 'bool' || t === 'dot' || t === 'nil' || t === 'number' || t === 'string') this.fail(`non executable command in pipeline stage ${i + 2}`)
    })
  }

  command(): CommandNode {
    const cmd: CommandNode = {type: 'command', pos: this.peekNonSpace().pos, args: []}
    for (;;) {
      this.peekNonSpace()
      const operand = this.operand()
      if (operand) cmd.args.push(operand)
      const t = this.next()
      if (t.type === 'space') continue
      if (t.type === 'rightDelim' || t.type === 'rightParen') this.backup()
      else if (t.type !== 'pipe') this.unexpected(t, 'operand')
      break
    }
    if (cmd.args.length === 0) this.fail('empty command')
    return cmd
  }

  operand(): ArgNode | undefined {
    const node = this.term()
    if (!node) return undefined
    if (this.peek().type !== 'field') return node
    const start = this.peek().pos
    const fields: string[] = []
    while (this.peek().type === 'field') fields.push(...this.next().val.slice(1).split('.'))
    switch (node.type) {
      case 'field':
        return {type: 'field', pos: start, ident: [...node.ident, ...fields]}
      case 'variable':
        return {type: 'variable', pos: start, ident: [...node.ident, ...fields]}
      case 'bool': case 'string': case 'number': case 'nil': case 'dot':
        this.fail(`unexpected . after term ${JSON.stringify(termText(node))}`)
      default:
        return {type: 'chain', pos: start, node, field: fields}
    }
  }

  term(): ArgNode | undefined {
    const t = this.nextNonSpace()
    switch (t.type) {
      case 'identifier':
        if (!this.hasFunction(t.val)) this.fail(`function ${JSON.stringify(t.val)} not defined`)
        return {type: 'identifier', pos: t.pos, ident: t.val}
      case 'dot':
        return {type: 'dot', pos: t.pos}
      case 'nil':
        return {type: 'nil', pos: t.pos}
      case 'variable': {
        const v = this.newVariable(t)
        if (!this.vars.includes(v.ident[0]!)) this.fail(`undefined variable ${JSON.stringify(v.ident[0])}`)
        return v
      }
      case 'field':
        return {type: 'field', pos: t.pos, ident: t.val.slice(1).split('.')}
      case 'bool':
        return {type: 'bool', pos: t.pos, value: t.val === 'true'}
      case 'charConstant':
      case 'complex':
      case 'number':
        return this.number(t)
      case 'leftParen':
        return this.pipeline('parenthesized pipeline', 'rightParen')
      case 'string':
      case 'rawString':
        return {type: 'string', pos: t.pos, quoted: t.val, text: this.unquote(t)}
      default:
        this.backup()
        return undefined
    }
  }

  newVariable(t: Token): VariableNode {
    return {type: 'variable', pos: t.pos, ident: t.val.split('.')}
  }

  number(t: Token): NumberNode {
    try {
      return parseNumber(t)
    } catch (err) {
      this.fail((err as Error).message, t.line)
    }
  }

}
