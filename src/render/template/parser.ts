/**
 * Go text/template parser (text/template/parse/parse.go semantics): actions, pipelines with
 * variable declarations and assignments (scoped to their control block), if / else if, range
 * with one or two variables, with, define, template, block, break / continue inside range, and
 * the parse-time checks Go makes (undefined variables, unknown functions, non-executable
 * pipeline stages).
 */
import {lex, type Token, type TokenType} from './lexer.js'
import type {ArgNode, BranchNode, CommandNode, ElseNode, EndNode, ListNode, Node, NumberNode, PipeNode, TemplateNode, Tree, VariableNode} from './nodes.js'
import {isEmptyTree} from './nodes.js'
import {goUnquote} from './unquote.js'

/** A template parse failure, worded as Go words it ("template: NAME:LINE: MESSAGE"). */
export class ParseFailure extends Error {
  constructor(readonly templateName: string, readonly line: number, readonly detail: string) {
    super(`template: ${templateName}:${line}: ${detail}`)
  }
}

const KEYWORD_TYPES = new Set<TokenType>(['block', 'break', 'continue', 'dot', 'define', 'else', 'end', 'if', 'nil', 'range', 'template', 'with'])

/** Go's item.String(), used in "unexpected X in Y". */
function tokenString(t: Token): string {
  if (t.type === 'eof') return 'EOF'
  if (t.type === 'error') return t.val
  if (KEYWORD_TYPES.has(t.type)) return `<${t.val}>`
  if (t.val.length > 10) return `${JSON.stringify(t.val).slice(0, 11)}...`
  return JSON.stringify(t.val)
}

class Parser {
  private index = 0
  vars: string[] = ['$']
  rangeDepth = 0
  /** Line of the action being parsed (Go reports it for errors inside multi-line actions). */
  private actionLine = 0
  private root: ListNode | undefined

  constructor(
    private readonly tokens: Token[],
    private name: string,
    private readonly parseName: string,
    private readonly text: string,
    private readonly hasFunction: (name: string) => boolean,
    private readonly treeSet: Map<string, Tree>,
  ) {}

  private get(i: number): Token {
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
  parseTop(): void {
    const root: ListNode = {type: 'list', pos: this.peek().pos, nodes: []}
    this.root = root
    while (this.peek().type !== 'eof') {
      if (this.peek().type === 'leftDelim') {
        const delim = this.next()
        if (this.nextNonSpace().type === 'define') {
          this.parseDefinition()
          continue
        }
        this.index = this.tokens.indexOf(delim)
      }
      const n = this.textOrAction()
      if (n.type === 'end' || n.type === 'else') this.fail(`unexpected ${n.type === 'end' ? '{{end}}' : '{{else}}'}`)
      if (n.type !== 'text' || n.text !== '') root.nodes.push(n)
    }
    this.add({name: this.name, parseName: this.parseName, root, text: this.text})
  }

  add(tree: Tree): void {
    const old = this.treeSet.get(tree.name)
    if (old === undefined || isEmptyTree(old.root)) {
      this.treeSet.set(tree.name, tree)
      return
    }
    if (!isEmptyTree(tree.root)) this.fail(`template: multiple definition of template ${JSON.stringify(tree.name)}`)
  }

  parseDefinition(): void {
    const context = 'define clause'
    const t = this.nextNonSpace()
    if (t.type !== 'string' && t.type !== 'rawString') this.unexpected(t, context)
    const name = this.unquote(t)
    this.expect('rightDelim', context)
    const savedVars = this.vars
    this.vars = ['$']
    const {list, end} = this.itemList()
    this.vars = savedVars
    if (end.type !== 'end') this.fail(`unexpected ${end.type === 'else' ? '{{else}}' : '{{end}}'} in ${context}`)
    this.add({name, parseName: this.parseName, root: list, text: this.text})
  }

  unquote(t: Token): string {
    try {
      return goUnquote(t.val)
    } catch (err) {
      this.fail((err as Error).message, t.line)
    }
  }

  itemList(): {list: ListNode; end: EndNode | ElseNode} {
    const list: ListNode = {type: 'list', pos: this.peekNonSpace().pos, nodes: []}
    while (this.peekNonSpace().type !== 'eof') {
      const n = this.textOrAction()
      if (n.type === 'end' || n.type === 'else') return {list, end: n}
      list.nodes.push(n)
    }
    this.fail('unexpected EOF')
  }

  textOrAction(): Node {
    const t = this.nextNonSpace()
    if (t.type === 'text') return {type: 'text', pos: t.pos, text: t.val}
    if (t.type === 'leftDelim') {
      const saved = this.actionLine
      this.actionLine = t.line
      try {
        return this.action()
      } finally {
        this.actionLine = saved
      }
    }
    this.unexpected(t, 'input')
  }

  action(): Node {
    const t = this.nextNonSpace()
    switch (t.type) {
      case 'block':
        return this.blockControl()
      case 'break':
      case 'continue': {
        const close = this.nextNonSpace()
        if (close.type !== 'rightDelim') this.unexpected(close, `{{${t.type}}}`)
        if (this.rangeDepth === 0) this.fail(`{{${t.type}}} outside {{range}}`)
        return {type: t.type, pos: t.pos, line: t.line}
      }
      case 'else':
        return this.elseControl()
      case 'end':
        return {type: 'end', pos: this.expect('rightDelim', 'end').pos}
      case 'if':
        return {type: 'if', ...this.parseControl(true, 'if')}
      case 'range':
        return {type: 'range', ...this.parseControl(false, 'range')}
      case 'template':
        return this.templateControl()
      case 'with':
        return {type: 'with', ...this.parseControl(true, 'with')}
      default:
        break
    }
    this.backup()
    const start = this.peek()
    return {type: 'action', pos: start.pos, line: start.line, pipe: this.pipeline('command', 'rightDelim')}
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

  parseControl(allowElseIf: boolean, context: 'if' | 'range' | 'with'): Omit<BranchNode, 'type'> {
    const varsBefore = this.vars.length
    try {
      const pipe = this.pipeline(context, 'rightDelim')
      if (context === 'range') this.rangeDepth++
      const first = this.itemList()
      if (context === 'range') this.rangeDepth--
      let elseList: ListNode | undefined
      if (first.end.type === 'else') {
        const elseNode = first.end
        if (allowElseIf && this.peek().type === context) {
          // {{else if ...}} / {{else with ...}} is {{else}}{{if ...}}...{{end}}{{end}} sharing one {{end}}.
          this.next()
          elseList = {type: 'list', pos: elseNode.pos, nodes: [{type: context, ...this.parseControl(allowElseIf, context)} as Node]}
        } else {
          const second = this.itemList()
          if (second.end.type !== 'end') this.fail(`expected end; found {{else}}`)
          elseList = second.list
        }
      }
      return {pos: pipe.pos, line: pipe.line, pipe, list: first.list, elseList}
    } finally {
      this.vars.length = varsBefore
    }
  }

  elseControl(): ElseNode {
    const peek = this.peekNonSpace()
    if (peek.type === 'if' || peek.type === 'with') return {type: 'else', pos: peek.pos, line: peek.line}
    const t = this.expect('rightDelim', 'else')
    return {type: 'else', pos: t.pos, line: t.line}
  }

  templateName(t: Token, context: string): string {
    if (t.type === 'string' || t.type === 'rawString') return this.unquote(t)
    this.unexpected(t, context)
  }

  blockControl(): TemplateNode {
    const context = 'block clause'
    const t = this.nextNonSpace()
    const name = this.templateName(t, context)
    const pipe = this.pipeline(context, 'rightDelim')
    const savedVars = this.vars
    const savedDepth = this.rangeDepth
    this.vars = ['$']
    this.rangeDepth = 0
    const {list, end} = this.itemList()
    this.vars = savedVars
    this.rangeDepth = savedDepth
    if (end.type !== 'end') this.fail(`unexpected {{else}} in ${context}`)
    this.add({name, parseName: this.parseName, root: list, text: this.text})
    return {type: 'template', pos: t.pos, line: t.line, name, pipe}
  }

  templateControl(): TemplateNode {
    const context = 'template clause'
    const t = this.nextNonSpace()
    const name = this.templateName(t, context)
    let pipe: PipeNode | undefined
    if (this.nextNonSpace().type !== 'rightDelim') {
      this.backup()
      pipe = this.pipeline(context, 'rightDelim')
    }
    return {type: 'template', pos: t.pos, line: t.line, name, pipe}
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

  get tree(): ListNode | undefined {
    return this.root
  }
}

function termText(n: ArgNode): string {
  switch (n.type) {
    case 'bool':
      return n.value ? 'true' : 'false'
    case 'string':
      return n.quoted
    case 'number':
      return n.text
    case 'nil':
      return 'nil'
    default:
      return '.'
  }
}

const INT64_MIN = -(2n ** 63n)
const INT64_MAX = 2n ** 63n - 1n
const UINT64_MAX = 2n ** 64n - 1n

/** Go's strconv.ParseInt/ParseUint with base 0 (prefixes 0x, 0o, 0b, 0; underscores only with a prefix). */
function parseGoInteger(text: string): bigint | undefined {
  let s = text
  let neg = false
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-'
    s = s.slice(1)
  }
  let base = 10
  let digits = s
  let prefixed = false
  if (/^0[xX]/.test(s)) [base, digits, prefixed] = [16, s.slice(2), true]
  else if (/^0[oO]/.test(s)) [base, digits, prefixed] = [8, s.slice(2), true]
  else if (/^0[bB]/.test(s)) [base, digits, prefixed] = [2, s.slice(2), true]
  else if (s.length > 1 && s[0] === '0') [base, digits, prefixed] = [8, s.slice(1), true]
  if (digits.includes('_')) {
    // Go literal rules: an underscore separates digits, or follows a base prefix.
    if (!/^_?[^_]+(_[^_]+)*$/.test(digits) || (!prefixed && digits.startsWith('_'))) return undefined
    digits = digits.replace(/_/g, '')
  }
  if (digits === '') return prefixed && base === 8 && s === '0' ? 0n : undefined
  const valid = {16: /^[0-9a-fA-F]+$/, 10: /^[0-9]+$/, 8: /^[0-7]+$/, 2: /^[01]+$/}[base as 16 | 10 | 8 | 2]
  if (!valid.test(digits)) return undefined
  let v = 0n
  for (const c of digits) v = v * BigInt(base) + BigInt(parseInt(c, 16))
  return neg ? -v : v
}

function parseNumber(t: Token): NumberNode {
  const n: NumberNode = {type: 'number', pos: t.pos, isInt: false, isUint: false, isFloat: false, isComplex: false, int: 0n, float: 0, text: t.val}
  const text = t.val
  if (t.type === 'charConstant') {
    const r = goUnquote(text)
    if ([...r].length !== 1) throw new Error(`malformed character constant: ${text}`)
    const cp = r.codePointAt(0)!
    Object.assign(n, {isInt: true, isUint: true, isFloat: true, int: BigInt(cp), float: cp})
    return n
  }
  if (t.type === 'complex' || text.endsWith('i')) {
    n.isComplex = true
    return n
  }
  const i = parseGoInteger(text)
  if (i !== undefined) {
    if (i >= 0n && i <= UINT64_MAX) n.isUint = true
    if (i >= INT64_MIN && i <= INT64_MAX) {
      n.isInt = true
      n.int = i
    }
    if (n.isInt || n.isUint) {
      n.isFloat = true
      n.float = Number(i)
      return n
    }
  }
  const cleaned = text.replace(/_/g, '')
  const f = /^[+-]?0[xX]/.test(cleaned) ? parseHexFloat(cleaned) : /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(cleaned) ? Number(cleaned) : NaN
  if (!Number.isNaN(f)) {
    if (!/[.eEpP]/.test(text)) throw new Error(`integer overflow: ${JSON.stringify(text)}`)
    n.isFloat = true
    n.float = f
    if (Number.isInteger(f) && f >= -(2 ** 63) && f < 2 ** 63) {
      n.isInt = true
      n.int = BigInt(f)
    }
    if (Number.isInteger(f) && f >= 0 && f < 2 ** 64) n.isUint = true
    return n
  }
  throw new Error(`illegal number syntax: ${JSON.stringify(text)}`)
}

function parseHexFloat(s: string): number {
  const m = /^([+-]?)0[xX]([0-9a-fA-F]*)\.?([0-9a-fA-F]*)[pP]([+-]?\d+)$/.exec(s)
  if (!m) return NaN
  const mant = parseInt(`${m[2] || '0'}${m[3]}`, 16) / 16 ** m[3]!.length
  return (m[1] === '-' ? -1 : 1) * mant * 2 ** Number(m[4])
}

/**
 * Parse one template text named `name`: returns every tree it defines (the text itself under
 * `name`, and each `define`/`block`). `hasFunction` says which function names exist.
 */
export function parseTemplate(name: string, text: string, hasFunction: (fn: string) => boolean): Map<string, Tree> {
  const treeSet = new Map<string, Tree>()
  const parser = new Parser(lex(text), name, name, text, hasFunction, treeSet)
  parser.parseTop()
  return treeSet
}
