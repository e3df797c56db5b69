/**
 * Parse-tree nodes of Go text/template (text/template/parse/node.go), and their String() forms,
 * which Go prints in execution errors ("at <.Values.x>").
 */

export interface Positioned {
  /** Offset in the template text. */
  pos: number
}

export interface ListNode extends Positioned { type: 'list'; nodes: Node[] }
export interface TextNode extends Positioned { type: 'text'; text: string }
export interface ActionNode extends Positioned { type: 'action'; line: number; pipe: PipeNode }
export interface PipeNode extends Positioned { type: 'pipe'; line: number; isAssign: boolean; decl: VariableNode[]; cmds: CommandNode[] }
export interface CommandNode extends Positioned { type: 'command'; args: ArgNode[] }
export interface IdentifierNode extends Positioned { type: 'identifier'; ident: string }
export interface VariableNode extends Positioned { type: 'variable'; ident: string[] }
export interface DotNode extends Positioned { type: 'dot' }
export interface NilNode extends Positioned { type: 'nil' }
export interface FieldNode extends Positioned { type: 'field'; ident: string[] }
export interface ChainNode extends Positioned { type: 'chain'; node: ArgNode; field: string[] }
export interface BoolNode extends Positioned { type: 'bool'; value: boolean }
export interface NumberNode extends Positioned {
  type: 'number'
  isInt: boolean
  isUint: boolean
  isFloat: boolean
  isComplex: boolean
  int: bigint
  float: number
  text: string
}
export interface StringNode extends Positioned { type: 'string'; quoted: string; text: string }
export interface BranchNode extends Positioned { line: number; pipe: PipeNode; list: ListNode; elseList: ListNode | undefined }
export interface IfNode extends BranchNode { type: 'if' }
export interface RangeNode extends BranchNode { type: 'range' }
export interface WithNode extends BranchNode { type: 'with' }
export interface TemplateNode extends Positioned { type: 'template'; line: number; name: string; pipe: PipeNode | undefined }
export interface BreakNode extends Positioned { type: 'break'; line: number }
export interface ContinueNode extends Positioned { type: 'continue'; line: number }
/** Markers the parser uses between itemList and its caller; never in a finished tree. */
export interface EndNode extends Positioned { type: 'end' }
export interface ElseNode extends Positioned { type: 'else'; line: number }

export type ArgNode = IdentifierNode | VariableNode | DotNode | NilNode | FieldNode | ChainNode | BoolNode | NumberNode | StringNode | PipeNode
export type Node = ListNode | TextNode | ActionNode | IfNode | RangeNode | WithNode | TemplateNode | BreakNode | ContinueNode | ArgNode | CommandNode | EndNode | ElseNode

/** One parsed template: a file or a `define`d name. */
export interface Tree {
  name: string
  /** Name of the file (top-level template) it was parsed from, for messages. */
  parseName: string
  root: ListNode
  /** Whole text of the file it came from (to compute line and column of nodes). */
  text: string
}

const GO_SPACE_ONLY = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/

/** Go's parse.IsEmptyTree: only whitespace text, comments and empty lists. */
export function isEmptyTree(n: Node | undefined): boolean {
  if (n === undefined) return true
  if (n.type === 'list') return n.nodes.every(isEmptyTree)
  if (n.type === 'text') return GO_SPACE_ONLY.test(n.text)
  return false
}

function goQuoteTemplateName(s: string): string {
  return JSON.stringify(s)
}

/** Node.String() as Go prints it. */
export function nodeString(n: Node): string {
  switch (n.type) {
    case 'list':
      return n.nodes.map(nodeString).join('')
    case 'text':
      return JSON.stringify(n.text)
    case 'action':
      return `{{${nodeString(n.pipe)}}}`
    case 'pipe': {
      let s = ''
      if (n.decl.length > 0) s = `${n.decl.map(nodeString).join(', ')} ${n.isAssign ? '=' : ':='} `
      return s + n.cmds.map(nodeString).join(' | ')
    }
    case 'command':
      return n.args.map((a) => (a.type === 'pipe' ? `(${nodeString(a)})` : nodeString(a))).join(' ')
    case 'identifier':
      return n.ident
    case 'variable':
      return n.ident.join('.')
    case 'dot':
      return '.'
    case 'nil':
      return 'nil'
    case 'field':
      return n.ident.map((i) => `.${i}`).join('')
    case 'chain': {
      const inner = n.node.type === 'pipe' ? `(${nodeString(n.node)})` : nodeString(n.node)
      return inner + n.field.map((f) => `.${f}`).join('')
    }
    case 'bool':
      return n.value ? 'true' : 'false'
    case 'number':
      return n.text
    case 'string':
      return n.quoted
    case 'if':
    case 'range':
    case 'with': {
      const e = n.elseList ? `{{else}}${nodeString(n.elseList)}` : ''
      return `{{${n.type} ${nodeString(n.pipe)}}}${nodeString(n.list)}${e}{{end}}`
    }
    case 'template':
      return n.pipe ? `{{template ${goQuoteTemplateName(n.name)} ${nodeString(n.pipe)}}}` : `{{template ${goQuoteTemplateName(n.name)}}}`
    case 'break':
      return '{{break}}'
    case 'continue':
      return '{{continue}}'
    case 'end':
      return '{{end}}'
    case 'else':
      return '{{else}}'
  }
}

/** "name:line:column" of a node in its tree, as Go's ErrorContext computes it (column counted from 0). */
export function nodeLocation(tree: Tree, pos: number): {line: number; column: number; location: string} {
  const text = tree.text.slice(0, pos)
  const lastNl = text.lastIndexOf('\n')
  const column = lastNl === -1 ? pos : pos - (lastNl + 1)
  let line = 1
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) line++
  return {line, column, location: `${tree.parseName}:${line}:${column}`}
}
