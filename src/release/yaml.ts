/**
 * Safe YAML/JSON loading for input files with positions: size cap, one document only, alias bombs
 * refused, syntax errors reported as `file:line:column: …` SpecErrors.
 */
import {isMap, isPair, isScalar, isSeq, LineCounter, parseDocument} from 'yaml'
import type {Document, Node, Pair} from 'yaml'
import {SpecError} from '../errors.js'
import {MAX_ALIAS_COUNT, MAX_SPEC_BYTES} from './types.js'

import type {FieldPath} from '../validation/json-schema.js'

/** A path into a document: map keys and sequence indexes. */
export type {FieldPath}

/** A parsed document together with what is needed to point at its nodes. */
export interface SourceDocument {
  file: string
  doc: Document
  lines: LineCounter
  /** The document as plain data (aliases expanded, within MAX_ALIAS_COUNT). */
  value: unknown
}

export interface ParseOptions {
  maxBytes?: number
  maxAliasCount?: number
  /** Word used in messages ("spec", "channel response"). */
  what?: string
}

/** `spec.charts[1].version` */
export function formatPath(path: FieldPath): string {
  let out = ''
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`
    else if (/^[A-Za-z_$][\w$-]*$/.test(p)) out += out === '' ? p : `.${p}`
    else out += `[${JSON.stringify(p)}]`
  }
  return out === '' ? '(document)' : out
}

/** Parse `text` as exactly one YAML (or JSON) document; throws SpecError with a position. */
export function parseSource(text: string, file: string, options: ParseOptions = {}): SourceDocument {
  const what = options.what ?? 'document'
  const maxBytes = options.maxBytes ?? MAX_SPEC_BYTES
  const size = Buffer.byteLength(text, 'utf8')
  if (size > maxBytes) {
    throw new SpecError(`${file}:1:1: ${what} is ${size} bytes, more than the limit of ${maxBytes} bytes`, file, undefined, {
      hint: 'an airgap spec is small; split values into separate values files or check that the right file was given',
    })
  }
  const lines = new LineCounter()
  const doc = parseDocument(text, {lineCounter: lines, prettyErrors: true, uniqueKeys: true, strict: true})
  const problem = doc.errors[0]
  if (problem) {
    const pos = problem.linePos?.[0] ?? {line: 1, col: 1}
    const reason =
      problem.code === 'MULTIPLE_DOCS'
        ? `${what} must be a single YAML document (found a second one after "---")`
        : `YAML syntax error: ${firstLine(problem.message)}`
    throw new SpecError(`${file}:${pos.line}:${pos.col}: ${reason}`, file, undefined, {
      hint: problem.code === 'MULTIPLE_DOCS' ? 'put one spec per file' : 'fix the YAML syntax at the position shown',
    })
  }
  let value: unknown
  try {
    value = doc.toJS({maxAliasCount: options.maxAliasCount ?? MAX_ALIAS_COUNT})
  } catch (err) {
    throw new SpecError(`${file}:1:1: ${what} uses too many YAML alias expansions (${firstLine(String((err as Error).message))})`, file, undefined, {
      hint: 'write the values out instead of nesting YAML aliases (&anchor / *alias)',
      cause: err,
    })
  }
  return {file, doc, lines, value}
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '')
}

/** `file:line:column` of the node at `path` (the key when `key` is set), or of the nearest parent. */
export function positionOf(src: SourceDocument, path: FieldPath, key = false): string {
  const offset = offsetOf(src.doc, path, key)
  const {line, col} = src.lines.linePos(offset)
  return `${src.file}:${line}:${col}`
}

/** Offset in the text of the node at `path` (its key when `key`), or of the nearest parent. */
export function offsetOf(doc: Document, path: FieldPath, key: boolean): number {
  let node: unknown = doc.contents
  let best = rangeStart(node) ?? 0
  for (let i = 0; i < path.length; i++) {
    const seg = path[i]!
    const last = i === path.length - 1
    if (isMap(node)) {
      const pair = node.items.find((p: Pair) => keyString(p.key) === String(seg))
      if (!pair) return best
      if (last && key) return rangeStart(pair.key) ?? best
      node = pair.value
    } else if (isSeq(node) && typeof seg === 'number') {
      node = node.items[seg]
    } else {
      return best
    }
    best = rangeStart(node) ?? best
  }
  return best
}

function keyString(k: unknown): string | undefined {
  if (isScalar(k)) return String(k.value)
  if (isPair(k)) return undefined
  return k === null || k === undefined ? undefined : String(k)
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as Node | null | undefined)?.range
  return Array.isArray(range) ? range[0] : undefined
}
