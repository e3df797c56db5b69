/**
 * Image sites: the places in a YAML document that hold an image reference, found on the `yaml`
 * node tree so they can be rewritten in place (comments, key order and quoting survive).
 *
 * - Kubernetes workloads (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob): the
 *   `image` of every container, init container and ephemeral container of the pod template.
 * - Anything else (Helm values, custom resources such as WeightsAndBiases): every `image` key whose
 *   value is a reference string, a `{repository, tag, digest}` map, a Bitnami
 *   `{registry, repository, tag, digest}` map or a `{name, tag, digest}` map (stakater reloader;
 *   recognised without `repository` when it has `tag` or `digest` or the name carries its own).
 * ConfigMap and Secret data are opaque and skipped.
 * Values holding Helm template expressions (`{{ … }}`) are skipped: they are not references.
 */
import {formatPath} from '../release/yaml.js'
import {isMap, isScalar, isSeq} from 'yaml'
import type {Document, LineCounter, Node, Scalar, YAMLMap} from 'yaml'
import type {MirrorTarget} from './relocate.js'
import type {ImageValueShape} from '../mirror/types.js'
import {CONTAINER_LISTS, POD_SPEC_PATHS} from '../kubernetes/workloads.js'

export type SiteShape = ImageValueShape
export type NodePath = Array<string | number>

export interface ImageSite {
  path: NodePath
  line: number
  shape: SiteShape
  /** The reference as written (map shapes assembled: `[registry/]repository[:tag][@digest]`). */
  written: string
  /** False for a map without a tag: the chart picks the tag. */
  tagKnown: boolean
  /** Point the site at `target`; returns the new reference. */
  apply(target: MirrorTarget, pinDigest: boolean): string
}

/** Kinds whose content is opaque data, never image fields. */
const OPAQUE_KINDS = new Set(['ConfigMap', 'Secret'])

/** `spec.containers[0].image` (the same notation as spec errors). */
export function formatNodePath(path: NodePath): string {
  return formatPath(path)
}

/** Every image site of one document. `text` is the source the document was parsed from. */
export function collectImageSites(doc: Document, text: string, lines: LineCounter, log: EditLog = {edits: [], structural: false}): ImageSite[] {
  const ctx: Ctx = {text, lines, sites: [], log}
  const root = doc.contents
  const kind = isMap(root) ? scalarString(root.get('kind', true)) : undefined
  const podSpecPath = kind !== undefined && isMap(root) && root.has('apiVersion') ? POD_SPEC_PATHS[kind] : undefined
  if (podSpecPath !== undefined) collectWorkload(ctx, doc, podSpecPath)
  else if (kind === undefined || !OPAQUE_KINDS.has(kind)) walkValues(ctx, root as Node | null, [])
  return ctx.sites.sort((a, b) => a.line - b.line) // document order
}

interface Ctx {
  text: string
  lines: LineCounter
  sites: ImageSite[]
  log: EditLog
}

/** A replacement of source text `[start, end)`, so unchanged bytes stay exactly as they were. */
export interface Edit {
  start: number
  end: number
  text: string
}

/**
 * What applying sites did: text edits for replaced scalars, and whether some change (an added
 * key, a block scalar) can only be expressed by re-serialising the document.
 */
export interface EditLog {
  edits: Edit[]
  structural: boolean
}

function collectWorkload(ctx: Ctx, doc: Document, podSpecPath: readonly string[]): void {
  const podSpec = doc.getIn(podSpecPath, true)
  if (!isMap(podSpec)) return
  for (const list of CONTAINER_LISTS) {
    const seq = podSpec.get(list, true)
    if (!isSeq(seq)) continue
    seq.items.forEach((container, i) => {
      if (!isMap(container)) return
      const image = container.get('image', true)
      if (isScalar(image)) addStringSite(ctx, image, [...podSpecPath, list, i, 'image'])
    })
  }
}

function walkValues(ctx: Ctx, node: Node | null, path: NodePath): void {
  if (isSeq(node)) {
    node.items.forEach((item, i) => walkValues(ctx, item as Node | null, [...path, i]))
    return
  }
  if (!isMap(node)) return
  for (const pair of node.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key)
    const value = pair.value as Node | null
    if (key === 'image' && isScalar(value)) addStringSite(ctx, value, [...path, key])
    else if (key === 'image' && isMap(value) && value.has('repository')) addMapSite(ctx, value, [...path, key], 'repository')
    else if (key === 'image' && isMap(value) && isNameTagMap(value)) addMapSite(ctx, value, [...path, key], 'name')
    else walkValues(ctx, value, [...path, key])
  }
}

function addStringSite(ctx: Ctx, node: Scalar, path: NodePath): void {
  const written = scalarString(node)
  if (written === undefined || written === '' || written.includes('{{')) return
  ctx.sites.push({
    path,
    line: lineOf(ctx, node),
    shape: 'string',
    written,
    tagKnown: true,
    apply(target, pin) {
      // a reference written by digest stays pinned by digest (with its tag only if it had one)
      const byDigest = written.includes('@')
      const tagWritten = !byDigest || /:[^/@]+@/.test(written)
      const tag = target.tag !== undefined && tagWritten ? `:${target.tag}` : ''
      const to = pin || byDigest || target.tag === undefined ? `${target.repository}${tag}@${target.digest}` : `${target.repository}${tag}`
      replaceScalar(ctx, node, to)
      return to
    },
  })
}

/** `{name, tag?, digest?}` without `repository`: a `tag` or `digest` key, or a name with its own tag/digest. */
function isNameTagMap(map: YAMLMap): boolean {
  const name = scalarString(map.get('name', true))
  if (map.has('repository') || name === undefined || name.trim() === '') return false
  return map.has('tag') || map.has('digest') || name.includes('@') || name.lastIndexOf(':') > name.lastIndexOf('/')
}

/** A map site; `repoKey` is the key holding the repository: `repository`, or `name` for the name-tag shape. */
function addMapSite(ctx: Ctx, map: YAMLMap, path: NodePath, repoKey: 'repository' | 'name'): void {
  const repository = sourceText(ctx, map.get(repoKey, true))
  if (repository === undefined || repository === '' || repository.includes('{{')) return
  const bitnami = repoKey === 'repository' && map.has('registry')
  const registry = bitnami ? sourceText(ctx, map.get('registry', true)) ?? '' : ''
  // a tag carrying its digest (`v1.3.0@sha256:…`, as rewrite writes it for reloader's base:tag) counts as both
  const [tag = '', tagDigest = ''] = (sourceText(ctx, map.get('tag', true)) ?? '').split('@', 2)
  const digest = sourceText(ctx, map.get('digest', true)) || tagDigest
  if ([registry, tag, digest].some((v) => v.includes('{{'))) return
  const base = registry !== '' ? `${registry}/${repository}` : repository
  const written = `${base}${tag !== '' ? `:${tag}` : ''}${digest !== '' ? `@${digest}` : ''}`
  const tagInRepository = repository.lastIndexOf(':') > repository.lastIndexOf('/')
  ctx.sites.push({
    path,
    line: lineOf(ctx, map.get(repoKey, true) as Node),
    shape: bitnami ? 'bitnami' : repoKey === 'name' ? 'name-tag' : 'repository-tag',
    written,
    tagKnown: tag !== '' || tagInRepository,
    apply(target, pin) {
      if (bitnami) {
        setScalar(ctx, map, 'registry', target.bitnami.registry, repoKey)
        setScalar(ctx, map, 'repository', target.bitnami.repository, repoKey)
      } else setScalar(ctx, map, repoKey, target.repository, repoKey)
      // a tag written as a number (`tag: 1.10`) is rewritten as a string even when the text matches
      const tagIsString = typeof (map.get('tag', true) as Scalar | undefined)?.value === 'string'
      if (target.tag !== undefined && (target.tag !== tag || !tagIsString)) setScalar(ctx, map, 'tag', target.tag, repoKey)
      if ((pin || digest !== '' || target.tag === undefined) && target.digest !== digest) setScalar(ctx, map, 'digest', target.digest, repoKey)
      const t = target.tag !== undefined ? `:${target.tag}` : ''
      const d = pin || digest !== '' || target.tag === undefined ? `@${target.digest}` : ''
      return bitnami ? `${target.bitnami.registry}/${target.bitnami.repository}${t}${d}` : `${target.repository}${t}${d}`
    },
  })
}

/**
 * Set a map value, keeping the existing scalar node (and so its quoting and comments); a new key
 * goes on the line after `anchorKey` (the map's repository key).
 */
function setScalar(ctx: Ctx, map: YAMLMap, key: string, value: string, anchorKey: string): void {
  const node = map.get(key, true)
  if (isScalar(node)) {
    replaceScalar(ctx, node, value)
    return
  }
  map.set(key, value)
  const insert = insertAfterKey(ctx, map, anchorKey, key, value)
  if (insert === undefined) ctx.log.structural = true
  else ctx.log.edits.push(insert)
}

/** In a block map, a new `key: value` line right after the `anchorKey` line, at the same indent. */
function insertAfterKey(ctx: Ctx, map: YAMLMap, anchorKey: string, key: string, value: string): Edit | undefined {
  if (map.flow) return undefined
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === anchorKey)
  const keyNode = pair?.key as Scalar | undefined
  const valueNode = pair?.value as Scalar | undefined
  const rendered = renderScalar(value, 'PLAIN')
  if (!keyNode?.range || !valueNode?.range || rendered === undefined) return undefined
  const indent = ctx.lines.linePos(keyNode.range[0]).col - 1
  const lineStart = ctx.text.lastIndexOf('\n', keyNode.range[0] - 1) + 1
  if (ctx.text.slice(lineStart, keyNode.range[0]).trim() !== '') return undefined // `- repository:` or similar
  const eol = ctx.text.indexOf('\n', valueNode.range[1])
  const at = eol === -1 ? ctx.text.length : eol + 1
  return {start: at, end: at, text: `${eol === -1 ? '\n' : ''}${' '.repeat(indent)}${key}: ${rendered}\n`}
}

/** Change a scalar's value and record the matching text edit (same quoting style). */
function replaceScalar(ctx: Ctx, node: Scalar, value: string): void {
  const rendered = node.range ? renderScalar(value, node.type) : undefined
  node.value = value
  if (rendered === undefined || !node.range) ctx.log.structural = true
  else ctx.log.edits.push({start: node.range[0], end: node.range[1], text: rendered})
}

const SAFE_PLAIN = /^[A-Za-z0-9_][A-Za-z0-9_./:@+-]*$/

/** A string as YAML source in the given style; undefined for block scalars (re-serialise instead). */
function renderScalar(value: string, type: Scalar['type']): string | undefined {
  switch (type) {
    case 'QUOTE_SINGLE':
      return `'${value.replace(/'/g, "''")}'`
    case 'QUOTE_DOUBLE':
      return JSON.stringify(value)
    case 'PLAIN':
    case undefined:
      // plain only when it reads back as this same string (not a number, bool, null, octal…)
      return SAFE_PLAIN.test(value) && !/^([-+]?[0-9._]+([eE][-+]?[0-9]+)?|0[xXoO][0-9a-fA-F_]+|true|false|yes|no|on|off|y|n|null|~)$/i.test(value) && !/:\s|\s#/.test(value)
        ? value
        : JSON.stringify(value)
    default:
      return undefined
  }
}

function scalarString(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined
  return typeof node.value === 'string' ? node.value : node.value === null ? undefined : String(node.value)
}

/** A scalar as written: numbers keep their source text (`tag: 1.10` is "1.10", not "1.1"). */
function sourceText(ctx: Ctx, node: unknown): string | undefined {
  if (!isScalar(node)) return undefined
  if (typeof node.value === 'string') return node.value
  if (node.value === null) return undefined
  if (node.range && node.type === 'PLAIN') return ctx.text.slice(node.range[0], node.range[1])
  return String(node.value)
}

function lineOf(ctx: Ctx, node: Node | undefined): number {
  const offset = node?.range?.[0]
  return offset === undefined ? 0 : ctx.lines.linePos(offset).line
}
