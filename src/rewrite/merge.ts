/**
 * Values merging on a YAML document, so the site's comments, key order and quoting survive.
 *
 * Precedence follows the operator (reference §3): a higher level keeps its scalars, maps merge
 * recursively. Lists are concatenated by the operator, so when two levels carry the same list the
 * result holds each entry once: an entry already present (same pull-secret name, same PEM text,
 * same value) is not added again.
 */
import {isMap, isScalar, isSeq} from 'yaml'
import type {Document, Node, Pair, YAMLMap, YAMLSeq} from 'yaml'
import {isPlainObject} from './overrides.js'

type Key = string

function keyOf(pair: Pair): string {
  return isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
}

function findPair(map: YAMLMap, key: Key): Pair | undefined {
  return map.items.find((p) => keyOf(p) === key)
}

/** Add what `lower` has and `node` lacks (lower-precedence values go under). */
export function mergeUnder(doc: Document, node: YAMLMap, lower: Record<string, unknown>, path: Key[] = []): void {
  for (const [key, value] of Object.entries(lower)) {
    const pair = findPair(node, key)
    if (pair === undefined) {
      node.add(doc.createPair(key, Array.isArray(value) ? dedupe([...path, key], value) : value))
      continue
    }
    const existing = pair.value as Node | null
    if (isPlainObject(value) && isMap(existing)) mergeUnder(doc, existing, value, [...path, key])
    else if (Array.isArray(value) && isSeq(existing)) appendMissing(doc, existing, value, [...path, key])
  }
}

/** Set everything in `upper` over `node` (higher-precedence values win). */
export function setOver(doc: Document, node: YAMLMap, upper: Record<string, unknown>, path: Key[] = []): void {
  for (const [key, value] of Object.entries(upper)) {
    const pair = findPair(node, key)
    const existing = pair?.value as Node | null | undefined
    if (isPlainObject(value) && isMap(existing)) {
      setOver(doc, existing, value, [...path, key])
    } else if (Array.isArray(value) && isSeq(existing)) {
      appendMissing(doc, existing, value, [...path, key])
    } else if (pair !== undefined && isScalar(existing) && !isPlainObject(value) && !Array.isArray(value)) {
      existing.value = value // keeps the node's comments
    } else if (pair !== undefined) {
      pair.value = doc.createNode(value)
    } else {
      node.add(doc.createPair(key, value))
    }
  }
}

/** Remove repeated entries from every list at the given key paths (e.g. `global.imagePullSecrets`). */
export function dedupeSeqsAt(root: YAMLMap, paths: Key[][]): void {
  for (const path of paths) {
    let node: unknown = root
    for (const key of path) node = isMap(node) ? findPair(node, key)?.value : undefined
    if (!isSeq(node)) continue
    const seen = new Set<string>()
    node.items = node.items.filter((item) => {
      const k = entryKey(path, (item as Node | null)?.toJSON?.() ?? item)
      if (seen.has(k)) return false
      seen.add(k)
      return true
    })
  }
}

function appendMissing(doc: Document, seq: YAMLSeq, values: unknown[], path: Key[]): void {
  const seen = new Set(seq.items.map((item) => entryKey(path, (item as Node | null)?.toJSON?.() ?? item)))
  for (const v of values) {
    const k = entryKey(path, v)
    if (seen.has(k)) continue
    seen.add(k)
    seq.add(doc.createNode(v))
  }
}

function dedupe(path: Key[], values: unknown[]): unknown[] {
  const seen = new Set<string>()
  return values.filter((v) => {
    const k = entryKey(path, v)
    if (seen.has(k)) return false
    seen.add(k)
    return true
  })
}

/** Identity of a list entry: pull secrets by name (`x` = `{name: x}`), PEM text trimmed, else the JSON value. */
export function entryKey(path: Key[], value: unknown): string {
  const last = path[path.length - 1] ?? ''
  if (/pullSecrets$/i.test(last)) {
    if (typeof value === 'string') return `name:${value}`
    if (isPlainObject(value) && typeof value['name'] === 'string') return `name:${value['name']}`
  }
  if (typeof value === 'string') return `str:${value.trim()}`
  return `json:${stableJson(value)}`
}

function stableJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(',')}]`
  if (isPlainObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`).join(',')}}`
  return JSON.stringify(v) ?? 'null'
}

/**
 * Every `imagePullSecrets` list anywhere under `root`, with plain-string entries turned into
 * `{name: …}`: several subcharts copy the list verbatim into pod specs, where Kubernetes accepts
 * only objects (Bitnami and wandb-base read both forms). Returns the paths changed.
 */
export function pullSecretsAsObjects(doc: Document, root: YAMLMap, path: Key[] = []): string[] {
  const changed: string[] = []
  for (const pair of root.items) {
    const key = keyOf(pair)
    const value = pair.value as Node | null
    if (key === 'imagePullSecrets' && isSeq(value)) {
      let touched = false
      value.items = value.items.map((item) => {
        if (!isScalar(item) || typeof item.value !== 'string') return item
        touched = true
        const node = doc.createNode({name: item.value}) as YAMLMap
        node.commentBefore = item.commentBefore
        const name = node.items[0]?.value
        if (isScalar(name)) name.comment = item.comment // stays on the entry's line
        return node
      })
      if (touched) changed.push([...path, key].join('.'))
    } else if (isMap(value)) changed.push(...pullSecretsAsObjects(doc, value, [...path, key]))
  }
  return changed
}
