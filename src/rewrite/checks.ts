/**
 * Checks on rewrite outputs: the CR against the real WeightsAndBiases CRD schema, and a sweep for
 * image references that still point outside the mirror.
 */
import {Ajv} from 'ajv'
import type {ErrorObject, ValidateFunction} from 'ajv'
import {LineCounter, parse, parseAllDocuments} from 'yaml'
import {formatReference, repositoryName} from '../oci/reference.js'
import type {Reference} from '../oci/reference.js'
import {isInMirror, tryParse} from './relocate.js'
import {isPlainObject} from './overrides.js'
import {collectImageSites, formatNodePath} from './sites.js'
import type {MirrorMap} from '../mirror/types.js'

/** One problem found in a CR; `path` is `spec.chart.url` style. */
export interface CrProblem {
  path: string
  message: string
}

interface CrdVersion {
  apiVersion: string
  kind: string
  validate: ValidateFunction
}

/**
 * Compile the schema of the served storage version of a CRD. Kubernetes prunes unknown fields of a
 * structural schema silently; here they are errors (`additionalProperties: false`) so a misspelt
 * key (`spec.chrt`) is caught instead of vanishing.
 */
export function compileCrd(crdYaml: string): CrdVersion {
  const crd = parse(crdYaml) as {spec?: {group?: string; names?: {kind?: string}; versions?: Array<{name: string; storage?: boolean; schema?: {openAPIV3Schema?: unknown}}>}}
  const version = crd.spec?.versions?.find((v) => v.storage) ?? crd.spec?.versions?.[0]
  const schema = version?.schema?.openAPIV3Schema
  if (!crd.spec?.group || !crd.spec.names?.kind || version === undefined || !isPlainObject(schema)) {
    throw new Error('CRD has no group, kind or openAPIV3Schema')
  }
  const ajv = new Ajv({allErrors: true, strict: false})
  ajv.addKeyword({keyword: 'x-kubernetes-preserve-unknown-fields', schemaType: 'boolean'})
  return {apiVersion: `${crd.spec.group}/${version.name}`, kind: crd.spec.names.kind, validate: ajv.compile(structural(schema))}
}

function structural(schema: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {...schema}
  delete out['description']
  if (isPlainObject(schema['properties'])) {
    out['properties'] = Object.fromEntries(Object.entries(schema['properties']).map(([k, v]) => [k, isPlainObject(v) ? structural(v) : v]))
    if (schema['x-kubernetes-preserve-unknown-fields'] !== true && schema['additionalProperties'] === undefined) out['additionalProperties'] = false
  }
  if (isPlainObject(schema['items'])) out['items'] = structural(schema['items'])
  return out
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/

/** Validate a CR (YAML text) against a compiled CRD and the operator's air-gapped needs. */
export function validateCrWith(crd: CrdVersion, operatorYaml: string): CrProblem[] {
  const docs = parseAllDocuments(operatorYaml)
  if (!Array.isArray(docs) || docs.length !== 1) return [{path: '(document)', message: 'expected exactly one YAML document'}]
  const doc = docs[0]!
  if (doc.errors.length > 0) return [{path: '(document)', message: `YAML syntax error: ${doc.errors[0]!.message.split('\n')[0]}`}]
  const cr = doc.toJSON() as unknown
  if (!isPlainObject(cr)) return [{path: '(document)', message: 'expected a YAML map'}]
  const problems: CrProblem[] = []
  if (!crd.validate(cr)) problems.push(...(crd.validate.errors ?? []).map(ajvProblem))
  if (cr['apiVersion'] !== crd.apiVersion) problems.push({path: 'apiVersion', message: `must be ${crd.apiVersion}, not ${JSON.stringify(cr['apiVersion'])}`})
  if (cr['kind'] !== crd.kind) problems.push({path: 'kind', message: `must be ${crd.kind}, not ${JSON.stringify(cr['kind'])}`})
  const meta = isPlainObject(cr['metadata']) ? cr['metadata'] : {}
  const name = meta['name']
  if (typeof name !== 'string' || name.length > 253 || !DNS_SUBDOMAIN.test(name)) problems.push({path: 'metadata.name', message: 'must be a lower-case DNS subdomain name'})
  const spec = isPlainObject(cr['spec']) ? cr['spec'] : {}
  problems.push(...chartProblems(spec['chart']))
  return problems
}

/** An air-gapped operator needs spec.chart: a local path, an oci:// url, or a repo url + name. */
function chartProblems(chart: unknown): CrProblem[] {
  if (!isPlainObject(chart)) return [{path: 'spec.chart', message: 'is required in air-gapped mode (the operator reads no release channel)'}]
  if (typeof chart['path'] === 'string' && chart['path'] !== '') return []
  const url = chart['url']
  if (typeof url !== 'string' || url === '') return [{path: 'spec.chart', message: 'needs path, or url (oci:// or http(s)://)'}]
  if (url.startsWith('oci://')) return []
  if (!/^https?:\/\//.test(url)) return [{path: 'spec.chart.url', message: `must be oci://, http:// or https://, not ${JSON.stringify(url)}`}]
  if (typeof chart['name'] !== 'string' || chart['name'] === '') return [{path: 'spec.chart.name', message: 'is required with a Helm repository url'}]
  return []
}

function ajvProblem(e: ErrorObject): CrProblem {
  const parts = e.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
  if (e.keyword === 'additionalProperties') {
    const extra = String((e.params as {additionalProperty?: string}).additionalProperty)
    return {path: [...parts, extra].join('.'), message: 'is not in the CRD schema (Kubernetes would drop it)'}
  }
  return {path: parts.join('.') || '(document)', message: e.message ?? e.keyword}
}

export interface ExternalImage {
  file: string
  document: number
  path: string
  line: number
  ref: string
}

export interface NodeMirrorImage {
  ref: string
  chart: string
  template: string
}

export interface ExternalReport {
  /** References outside the mirror and not allowed: the caller fails with this list. */
  external: ExternalImage[]
  /** Template-literal images: values cannot redirect them; the node-level mirror config covers them. */
  needsNodeMirror: NodeMirrorImage[]
}

/**
 * Every image reference in `texts` (under `image` keys, repository/tag maps, container images)
 * that does not point into the mirror. `allowExternal` entries are references or repositories
 * (`busybox`, `quay.io/prometheus/prometheus:v2.0`) or globs with `*` (`quay.io/*`).
 */
export function findExternalImages(texts: ReadonlyArray<string | {file: string; text: string}>, map: MirrorMap, allowExternal: readonly string[] = []): ExternalReport {
  const allowed = allowExternal.map(allowMatcher)
  const external: ExternalImage[] = []
  texts.forEach((entry, i) => {
    const {file, text} = typeof entry === 'string' ? {file: `<text ${i + 1}>`, text: entry} : entry
    const lines = new LineCounter()
    const docs = parseAllDocuments(text, {lineCounter: lines})
    if (!Array.isArray(docs)) return
    docs.forEach((doc, document) => {
      for (const site of collectImageSites(doc, text, lines)) {
        const ref = tryParse(site.written)
        if (ref !== undefined && (isInMirror(ref, map) || allowed.some((m) => m(ref)))) continue
        external.push({file, document, path: formatNodePath(site.path), line: site.line, ref: site.written})
      }
    })
  })
  return {external, needsNodeMirror: templateImages(map)}
}

function templateImages(map: MirrorMap): NodeMirrorImage[] {
  const seen = new Set<string>()
  const out: NodeMirrorImage[] = []
  for (const image of map.images) {
    for (const origin of image.origins) {
      if (origin.source !== 'template') continue
      const item = {ref: image.source, chart: origin.chart, template: origin.template ?? ''}
      const key = JSON.stringify(item)
      if (seen.has(key)) continue
      seen.add(key)
      out.push(item)
    }
  }
  return out
}

/** A matcher for one `--allow-external` entry: a reference, a repository, or a glob with `*`. */
export function allowMatcher(pattern: string): (ref: Reference) => boolean {
  if (pattern.includes('*')) {
    const re = new RegExp(`^${pattern.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
    return (ref) => re.test(repositoryName(ref)) || re.test(formatReference(ref))
  }
  const explicit = /[:@]/.test(pattern.slice(pattern.lastIndexOf('/') + 1))
  const want = tryParse(pattern)
  if (want === undefined) return () => false
  if (!explicit) return (ref) => repositoryName(ref) === repositoryName(want)
  return (ref) => formatReference(ref) === formatReference(want) || (want.digest !== undefined && ref.digest === want.digest && repositoryName(ref) === repositoryName(want))
}

