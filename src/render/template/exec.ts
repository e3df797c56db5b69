/**
 * Go text/template execution (text/template/exec.go semantics) with Helm's option
 * missingkey=zero: pipelines and their "dig into interface" step, variables and their scopes,
 * if / with / range (slices, maps in sorted key order, integers), break / continue, template
 * calls, field and method access, function calls with Go's argument type checks, and errors
 * worded and located as Go words them.
 */
import {overOutput, overSteps, step, withBudget, wrote} from './budget.js'
import {nodeLocation, nodeString} from './nodes.js'
import type {ArgNode, BranchNode, ChainNode, CommandNode, FieldNode, ListNode, Node, NumberNode, PipeNode, RangeNode, TemplateNode, Tree, VariableNode} from './nodes.js'
import {printOne} from './format.js'
import {FuncError, GoStruct, Int64, elemType, isGoMap, isTrue, typeName, type GoFunc, type GoType} from './values.js'
import {AND_OR, MISSING, canBeNil, checkArgument, goTypeName} from './arguments.js'
import {ExecFailure} from './exec-failure.js'
import {rangeEntries} from './range.js'

export {AND_OR, ExecFailure, goTypeName}

const [BREAK, CONTINUE] = [Symbol('break'), Symbol('continue')]
const MAX_EXEC_DEPTH = 100000

/** Every template of one set (files and their `define`s) plus the functions they may call. */
export interface TemplateSet {
  trees: Map<string, Tree>
  funcs: Map<string, GoFunc>
}

type Variable = {name: string; value: unknown}

export class State {
  private vars: Variable[]
  private node: Node | undefined
  private depth = 0

  constructor(
    readonly set: TemplateSet,
    private tree: Tree,
    private out: string[],
    dot: unknown,
  ) {
    this.vars = [{name: '$', value: dot}]
  }

  at(n: Node): void {
    this.node = n
  }

  fail(detail: string): never {
    const n = this.node
    if (!n) throw new ExecFailure(`template: ${this.tree.name}: ${detail}`, this.tree.parseName, 0, 0, detail)
    const loc = nodeLocation(this.tree, n.pos)
    const msg = `template: ${loc.location}: executing ${JSON.stringify(this.tree.name)} at <${nodeString(n)}>: ${detail}`
    throw new ExecFailure(msg, this.tree.parseName, loc.line, loc.column, detail)
  }

  private write(text: string): void {
    if (wrote(text.length)) this.fail(overOutput())
    this.out.push(text)
  }

  private mark(): number {
    return this.vars.length
  }

  private pop(mark: number): void {
    this.vars.length = mark
  }

  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value
        return
      }
    }
    this.fail(`undefined variable: ${name}`)
  }

  private varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) if (this.vars[i]!.name === name) return this.vars[i]!.value
    this.fail(`undefined variable: ${name}`)
  }

  run(root: ListNode, dot: unknown): void {
    this.walk(dot, root)
  }

  walk(dot: unknown, node: Node): void {
    this.at(node)
    if (step()) this.fail(overSteps())
    switch (node.type) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe)
        if (node.pipe.decl.length === 0) this.write(printOne(val))
        return
      }
      case 'break':
        throw BREAK
      case 'continue':
        throw CONTINUE
      case 'if':
      case 'with':
        return this.walkIfOrWith(node.type, dot, node)
      case 'list':
        for (const n of node.nodes) this.walk(dot, n)
        return
      case 'range':
        return this.walkRange(dot, node)
      case 'template':
        return this.walkTemplate(dot, node)
      case 'text':
        this.write(node.text)
        return
      default:
        this.fail(`unknown node: ${nodeString(node)}`)
    }
  }

  private walkIfOrWith(type: 'if' | 'with', dot: unknown, node: BranchNode): void {
    const mark = this.mark()
    try {
      const val = this.evalPipeline(dot, node.pipe)
      if (isTrue(val)) this.walk(type === 'with' ? val : dot, node.list)
      else if (node.elseList) this.walk(dot, node.elseList)
    } finally {
      this.pop(mark)
    }
  }

  private walkRange(dot: unknown, node: RangeNode): void {
    this.at(node)
    const outer = this.mark()
    try {
      const val = this.evalPipeline(dot, node.pipe)
      const mark = this.mark()
      const decl = node.pipe.decl.length
      const one = (index: unknown, elem: unknown): boolean => {
        // Go's setTopVar(1, elem) and setTopVar(2, index): `range $i, $v :=` pushed $i then $v.
        if (decl > 0) this.vars[mark - 1]!.value = elem
        if (decl > 1) this.vars[mark - 2]!.value = index
        try {
          this.walk(elem, node.list)
        } catch (e) {
          if (e === BREAK) return false
          if (e !== CONTINUE) throw e
        } finally {
          this.pop(mark)
        }
        return true
      }
      const entries = rangeEntries(val)
      if (entries === undefined) this.fail(`range can't iterate over ${printOne(val)}`)
      if (decl > 1 && (typeof val === 'bigint' || val instanceof Int64)) this.fail(`can't use ${printOne(val)} to iterate over more than one variable`)
      let ran = false
      for (const [index, elem] of entries) {
        ran = true
        if (!one(index, elem)) break
      }
      if (!ran && node.elseList) this.walk(dot, node.elseList)
    } finally {
      this.pop(outer)
    }
  }

  private walkTemplate(dot: unknown, node: TemplateNode): void {
    this.at(node)
    const tree = this.set.trees.get(node.name)
    if (!tree) this.fail(`template ${JSON.stringify(node.name)} not defined`)
    if (this.depth >= MAX_EXEC_DEPTH) this.fail(`exceeded maximum template depth (${MAX_EXEC_DEPTH})`)
    const newDot = node.pipe ? this.evalPipeline(dot, node.pipe) : undefined
    const inner = new State(this.set, tree, this.out, newDot)
    inner.depth = this.depth + 1
    inner.walk(newDot, tree.root)
  }

  evalPipeline(dot: unknown, pipe: PipeNode): unknown {
    this.at(pipe)
    let value: unknown = MISSING
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value)
      // A nil interface becomes "no value", as Go digs into interface{} results.
      if (value === null) value = undefined
    }
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.ident[0]!, value)
      else this.vars.push({name: v.ident[0]!, value})
    }
    return value
  }

  private notAFunction(args: readonly ArgNode[], final: unknown): void {
    if (args.length > 1 || final !== MISSING) this.fail(`can't give argument to non-function ${nodeString(args[0]!)}`)
  }

  private evalCommand(dot: unknown, cmd: CommandNode, final: unknown): unknown {
    const first = cmd.args[0]!
    switch (first.type) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final)
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final)
      case 'identifier':
        return this.evalFunction(dot, first.ident, first, cmd.args, final)
      case 'pipe':
        this.notAFunction(cmd.args, final)
        return this.evalPipeline(dot, first)
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final)
      default:
        break
    }
    this.at(first)
    this.notAFunction(cmd.args, final)
    switch (first.type) {
      case 'bool':
        return first.value
      case 'dot':
        return dot
      case 'nil':
        this.fail('nil is not a command')
      case 'number':
        return this.idealConstant(first)
      case 'string':
        return first.text
    }
  }

  private idealConstant(n: NumberNode): unknown {
    this.at(n)
    if (n.isComplex) this.fail('complex numbers are not supported')
    const isHexInt = n.text.length > 2 && n.text[0] === '0' && (n.text[1] === 'x' || n.text[1] === 'X') && !/[pP]/.test(n.text)
    if (n.isFloat && !isHexInt && n.text[0] !== "'" && /[.eEpP]/.test(n.text)) {
      return n.float
    }
    if (n.isInt) return n.int
    if (n.isUint) this.fail(`${n.text} overflows int`)
    return undefined
  }

  private evalFieldNode(dot: unknown, field: FieldNode, args: readonly ArgNode[], final: unknown): unknown {
    this.at(field)
    return this.evalFieldChain(dot, dot, field, field.ident, args, final)
  }

  private evalChainNode(dot: unknown, chain: ChainNode, args: readonly ArgNode[], final: unknown): unknown {
    this.at(chain)
    if (chain.node.type === 'nil') this.fail(`indirection through explicit nil in ${nodeString(chain)}`)
    const pipe = this.evalArg(dot, undefined, chain.node)
    return this.evalFieldChain(dot, pipe, chain, chain.field, args, final)
  }

  private evalVariableNode(dot: unknown, variable: VariableNode, args: readonly ArgNode[], final: unknown): unknown {
    this.at(variable)
    const value = this.varValue(variable.ident[0]!)
    if (variable.ident.length === 1) {
      this.notAFunction(args, final)
      return value
    }
    return this.evalFieldChain(dot, value, variable, variable.ident.slice(1), args, final)
  }

  private evalFieldChain(dot: unknown, receiver: unknown, node: Node, ident: readonly string[], args: readonly ArgNode[], final: unknown): unknown {
    const n = ident.length
    for (let i = 0; i < n - 1; i++) receiver = this.evalField(dot, ident[i]!, node, [], MISSING, receiver)
    return this.evalField(dot, ident[n - 1]!, node, args, final, receiver)
  }

  private evalField(dot: unknown, name: string, node: Node, args: readonly ArgNode[], final: unknown, receiver: unknown): unknown {
    if (receiver === undefined) return undefined
    if (receiver === null) this.fail(`nil pointer evaluating interface {}.${name}`)
    if (receiver instanceof GoStruct) {
      const method = receiver.methods[name]
      if (method) return this.evalCall(dot, method, node, name, args, final)
    }
    const hasArgs = args.length > 1 || final !== MISSING
    if (receiver instanceof GoStruct) {
      if (receiver.mapLike) {
        if (hasArgs) this.fail(`${name} is not a method but has arguments`)
        return Object.hasOwn(receiver.fields, name) ? receiver.fields[name] : receiver.mapLike.missing
      }
      if (Object.hasOwn(receiver.fields, name)) {
        if (hasArgs) this.fail(`${name} has arguments but cannot be invoked as function`)
        return receiver.fields[name]
      }
    } else if (isGoMap(receiver)) {
      if (hasArgs) this.fail(`${name} is not a method but has arguments`)
      if (Object.hasOwn(receiver, name)) return receiver[name]
      return elemType(receiver) === 'string' ? '' : null
    }
    this.fail(`can't evaluate field ${name} in type ${typeName(receiver)}`)
  }

  private evalFunction(dot: unknown, name: string, node: Node, args: readonly ArgNode[], final: unknown): unknown {
    this.at(node)
    const fn = this.set.funcs.get(name)
    if (!fn) this.fail(`${JSON.stringify(name)} is not a defined function`)
    return this.evalCall(dot, fn, node, name, args, final)
  }

  evalCall(dot: unknown, fn: GoFunc, node: Node, name: string, argNodes: readonly ArgNode[], final: unknown): unknown {
    const args = argNodes.slice(1)
    const numIn = args.length + (final !== MISSING ? 1 : 0)
    const numParams = fn.params.length
    if (fn.variadic !== undefined) {
      if (numIn < numParams) this.fail(`wrong number of args for ${name}: want at least ${numParams} got ${args.length}`)
    } else if (numIn !== numParams) this.fail(`wrong number of args for ${name}: want ${numParams} got ${numIn}`)
    if (fn === AND_OR.and || fn === AND_OR.or) {
      let v: unknown
      for (const a of args) {
        v = this.evalArg(dot, 'value', a)
        if (isTrue(v) === (fn === AND_OR.or)) return v
      }
      if (final !== MISSING) v = this.validateType(final, 'value')
      return v
    }
    const argv: unknown[] = []
    let i = 0
    for (; i < numParams && i < args.length; i++) argv.push(this.evalArg(dot, fn.params[i]!, args[i]!))
    if (fn.variadic !== undefined) for (; i < args.length; i++) argv.push(this.evalArg(dot, fn.variadic, args[i]!))
    if (final !== MISSING) {
      const t = i < numParams ? fn.params[i]! : (fn.variadic ?? fn.params[numParams - 1]!)
      argv.push(this.validateType(final, t))
    }
    try {
      return (fn.fn as (...a: unknown[]) => unknown)(...argv)
    } catch (err) {
      if (err === BREAK || err === CONTINUE) throw err
      this.at(node)
      if (err instanceof FuncError || err instanceof ExecFailure) this.fail(`error calling ${name}: ${err.message}`)
      if (err instanceof RangeError) this.fail(`error calling ${name}: ${err.message}`)
      throw err
    }
  }

  private validateType(value: unknown, t: GoType | undefined): unknown {
    const r = checkArgument(value, t)
    if ('error' in r) this.fail(r.error)
    return r.value
  }

  private evalArg(dot: unknown, t: GoType | undefined, n: ArgNode): unknown {
    this.at(n)
    switch (n.type) {
      case 'dot':
        return this.validateType(dot, t)
      case 'nil':
        if (t !== undefined && canBeNil(t)) return t === 'value' ? undefined : null
        this.fail(`cannot assign nil to ${t === undefined ? '<nil>' : goTypeName(t)}`)
      case 'field':
        return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), t)
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, [], MISSING), t)
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), t)
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n.ident, n, [n], MISSING), t)
      case 'chain':
        return this.validateType(this.evalChainNode(dot, n, [], MISSING), t)
      default:
        break
    }
    switch (t) {
      case 'bool':
        if (n.type === 'bool') return n.value
        this.fail(`expected bool; found ${nodeString(n)}`)
      case 'float64':
        if (n.type === 'number' && n.isFloat) return n.float
        this.fail(`expected float; found ${nodeString(n)}`)
      case 'int':
      case 'int64':
        if (n.type === 'number' && n.isInt) return t === 'int' ? n.int : new Int64(n.int)
        this.fail(`expected integer; found ${nodeString(n)}`)
      case 'string':
        if (n.type === 'string') return n.text
        this.fail(`expected string; found ${nodeString(n)}`)
      case 'any':
      case 'value':
      case undefined:
        if (n.type === 'bool') return n.value
        if (n.type === 'number') return this.idealConstant(n)
        if (n.type === 'string') return n.text
        break
      default:
        break
    }
    this.fail(`can't handle ${nodeString(n)} for arg of type ${t === undefined ? '<nil>' : goTypeName(t)}`)
  }
}

/** Execute one named template of the set with `dot`; returns what it wrote. */
export function executeTemplate(set: TemplateSet, name: string, dot: unknown): string {
  const tree = set.trees.get(name)
  const out: string[] = []
  if (!tree) throw new ExecFailure(`template: no template ${JSON.stringify(name)} associated with template "gotpl"`, name, 0, 0, `no template ${JSON.stringify(name)}`)
  withBudget(() => new State(set, tree, out, dot).run(tree.root, dot))
  return out.join('')
}
