/**
 * Keeping secrets out of what airgap stores: the spec copy inside the bundle must not hold
 * passwords, tokens, licences or private keys, even when a values tree or a channel response had them.
 */
import {isMap, isScalar, isSeq, parseDocument, stringify, visit} from 'yaml'
import type {Pair, Scalar} from 'yaml'
import {formatPlatform} from '../oci/platform.js'
import type {ChartSource, ReleaseSpec} from './types.js'

/** Keys whose string values are secrets. */
const SECRET_KEY =
  /(pass(word|wd)?s?|token|licen[cs]e|api[-_]?key|private[-_]?key|client[-_]?secret|secret[-_]?access[-_]?key|access[-_]?token|credentials?)$|^(secret|auth|pwd)$/i
/** Keys that only name where a secret lives (an env var, a Kubernetes Secret, a file). */
const REFERENCE_KEY = /(env|name|ref|file|path|secret|key[-_]?name)$/i
const JWT = /^eyJ[\w-]+\.[\w-]+\.[\w-]*$/
const PRIVATE_KEY = /-----BEGIN [A-Z ]*PRIVATE KEY-----/

/** True when `key` names a secret value (`password`, `license`, `apiKey`), not a reference to one. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !(REFERENCE_KEY.test(key) && !/^(secret|client[-_]?secret)$/i.test(key))
}

/** True when a string looks like a secret whatever its key (a JWT, a PEM private key). */
export function looksSecret(value: string): boolean {
  return JWT.test(value.trim()) || PRIVATE_KEY.test(value)
}

function isTemplate(value: string): boolean {
  return value.includes('{{')
}

/** Remove `user:password@` from a URL string; other strings unchanged. */
export function stripUrlCredentials(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, '$1')
}

/**
 * The YAML (or JSON) text with secret-looking values removed: pairs whose key names a secret and
 * whose value is a non-empty literal, any JWT or private key, and credentials inside URLs.
 * Comments and layout are kept. Text that does not parse is returned as an empty document.
 */
export function redactSpec(text: string): string {
  const doc = parseDocument(text, {keepSourceTokens: false})
  if (doc.errors.length > 0) return ''
  visit(doc, {
    Pair(_key, pair: Pair) {
      const key = isScalar(pair.key) ? String(pair.key.value) : ''
      if (isSecretKey(key) && hasLiteralSecret(pair.value)) return visit.REMOVE
      return undefined
    },
    Scalar(_key, node: Scalar) {
      if (typeof node.value !== 'string') return undefined
      if (looksSecret(node.value)) return visit.REMOVE
      const stripped = stripUrlCredentials(node.value)
      if (stripped !== node.value) node.value = stripped
      return undefined
    },
  })
  return doc.toString()
}

function hasLiteralSecret(node: unknown): boolean {
  if (isScalar(node)) return (typeof node.value === 'string' && node.value !== '' && !isTemplate(node.value)) || typeof node.value === 'number'
  if (isSeq(node)) return node.items.some(hasLiteralSecret)
  if (isMap(node)) return false
  return false
}

/**
 * The normalised spec as `airgap.yaml` text for `airgap/spec.yaml` in the bundle, with every secret
 * removed. It parses back with parseSpec to the same spec, less the secrets (values file paths are
 * kept as resolved on the pulling machine; a chart without version stays without one: the lock
 * records the version that was taken).
 */
export function specForBundle(spec: ReleaseSpec): string {
  const body: Record<string, unknown> = {}
  if (spec.spec.platforms.length > 0) body.platforms = spec.spec.platforms.map(formatPlatform)
  body.includeDisabled = spec.spec.includeDisabled
  if (spec.spec.charts.length > 0) body.charts = spec.spec.charts.map(chartForBundle)
  if (spec.spec.images.length > 0) body.images = spec.spec.images
  if (spec.spec.exclude.length > 0) body.exclude = spec.spec.exclude
  if (spec.spec.wandb !== undefined) body.wandb = {...spec.spec.wandb}
  const plain = {apiVersion: spec.apiVersion, kind: spec.kind, metadata: spec.metadata, spec: body}
  return redactSpec(stringify(plain, {aliasDuplicateObjects: false}))
}

/** A chart entry in the input format (`{name, repo, version}` | `{oci, version}` | `{path}`). */
function chartForBundle(chart: ChartSource): Record<string, unknown> {
  const out: Record<string, unknown> =
    chart.type === 'repo'
      ? {name: chart.name, repo: chart.repo, ...(chart.version !== undefined ? {version: chart.version} : {})}
      : chart.type === 'oci'
        ? {oci: chart.oci, ...(chart.version !== undefined ? {version: chart.version} : {}), ...(chart.plainHttp ? {plainHttp: true} : {})}
        : {path: chart.path}
  if (chart.values.length > 0) out.values = chart.values
  if (Object.keys(chart.set).length > 0) out.set = chart.set
  if (chart.type !== 'path') {
    if (chart.auth?.username !== undefined) out.username = chart.auth.username
    if (chart.auth?.passwordEnv !== undefined) out.passwordEnv = chart.auth.passwordEnv
    if (chart.caFile !== undefined) out.caFile = chart.caFile
  }
  return out
}
