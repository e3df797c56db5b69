/**
 * Rewrite image references in arbitrary YAML (Helm values files, multi-document Kubernetes
 * manifests) to the mirror, editing the `yaml` node tree in place so comments, key order, quoting
 * and formatting survive.
 */
import {LineCounter, parseAllDocuments} from 'yaml'
import {SpecError} from '../errors.js'
import {MirrorIndex, tryParse} from './relocate.js'
import {collectImageSites, formatNodePath} from './sites.js'
import type {Edit, EditLog} from './sites.js'
import type {Change, Unresolved} from './types.js'
import type {MirrorMap} from '../mirror/types.js'

export interface RewriteOptions {
  pinDigests?: boolean
  /** File name, for messages. */
  file: string
}

export interface RewriteResult {
  text: string
  changes: Change[]
  unresolved: Unresolved[]
}

/**
 * Rewrite image references in place. When every change replaces an existing scalar (the usual
 * case) the text is spliced, so all other bytes stay identical; when a key must be added (a map
 * without `tag`, or `digest` when pinning) the documents are re-serialised by the `yaml` package,
 * which keeps comments and key order but may normalise flow-sequence spacing.
 */
function applyEdits(text: string, edits: Edit[]): string {
  let out = text
  for (const e of [...edits].sort((a, b) => b.start - a.start)) out = out.slice(0, e.start) + e.text + out.slice(e.end)
  return out
}

/**
 * Rewrite every image reference found in `text` (see sites.ts) that is in the mirror map. A
 * reference already in the mirror is left alone; any other is listed in `unresolved`.
 * Throws SpecError (with file:line:col) when the YAML does not parse.
 */
export function rewriteYamlDocuments(text: string, map: MirrorMap, options: RewriteOptions): RewriteResult {
  const index = new MirrorIndex(map)
  const lines = new LineCounter()
  // YAML 1.1 like Helm's go-yaml: `0755` stays octal if a document must be re-serialised
  const docs = parseAllDocuments(text, {lineCounter: lines, prettyErrors: true, version: '1.1'})
  if (!Array.isArray(docs)) return {text, changes: [], unresolved: []} // empty stream
  const problem = docs.flatMap((d) => d.errors)[0]
  if (problem) {
    const pos = problem.linePos?.[0] ?? {line: 1, col: 1}
    throw new SpecError(`${options.file}:${pos.line}:${pos.col}: YAML syntax error: ${problem.message.split('\n')[0]}`, options.file, undefined, {
      hint: 'fix the YAML syntax at the position shown',
    })
  }
  const changes: Change[] = []
  const unresolved: Unresolved[] = []
  const log: EditLog = {edits: [], structural: false}
  docs.forEach((doc, document) => {
    for (const site of collectImageSites(doc, text, lines, log)) {
      const path = formatNodePath(site.path)
      const ref = tryParse(site.written)
      if (ref === undefined) {
        unresolved.push({path, document, ref: site.written, line: site.line, reason: 'not a valid image reference'})
        continue
      }
      const found = index.lookup(ref, site.tagKnown)
      if (found.kind === 'in-mirror') continue
      if (found.kind === 'unresolved') {
        unresolved.push({path, document, ref: site.written, line: site.line, reason: found.reason})
        continue
      }
      const to = site.apply(found.target, options.pinDigests ?? false)
      changes.push({path, document, from: site.written, to, line: site.line})
    }
  })
  if (log.structural) return {text: docs.map((d) => d.toString({lineWidth: 0})).join(''), changes, unresolved}
  return {text: applyEdits(text, log.edits), changes, unresolved}
}
