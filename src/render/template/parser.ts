/**
 * Go text/template parser (text/template/parse/parse.go semantics), the statement half: text
 * and actions, if / else if, with / else with, range with one or two variables (their variables
 * scoped to the block), break / continue inside range, define, template and block, and how a
 * definition enters the tree set. Expressions are parsed by ExpressionParser.
 */
import {lex, type Token} from './lexer.js'
import {ExpressionParser} from './parse-expressions.js'
import {ParseFailure} from './parse-failure.js'
import type {BranchNode, ElseNode, EndNode, ListNode, Node, PipeNode, TemplateNode, Tree} from './nodes.js'
import {isEmptyTree} from './nodes.js'

class Parser extends ExpressionParser {
  parseTop(): void {
    const root: ListNode = {type: 'list', pos: this.peek().pos, nodes: []}
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

export {ParseFailure}
