/**
 * The upstream-signature policy (`airgap pull --verify-upstream POLICY.yaml`, issue 19):
 *
 * ```yaml
 * apiVersion: airgap.dev/v1alpha1
 * kind: UpstreamPolicy
 * default: reject                  # images no rule covers: reject | warn | accept
 * trustedRoot: trusted_root.json   # Sigstore trusted root (CAs, log keys) for rules that name none
 * rules:
 *   - name: wandb                  # optional; the match pattern otherwise
 *     match: docker.io/wandb/**
 *     key: wandb-cosign.pub        # a cosign public key (PEM)
 *     tlog: optional               # required (default) | optional
 *   - match: ghcr.io/acme/*
 *     keyless:                     # a Fulcio-style certificate chaining to the trusted root
 *       issuer: https://token.actions.githubusercontent.com          # or issuerRegExp
 *       identityRegExp: https://github\.com/acme/[^/]+/\.github/.+   # or identity
 * ```
 *
 * `match` is a glob on the image's normalised `registry/repository` (`docker.io/library/nginx`):
 * `*` matches within one path component, `**` across components, `?` one character other than
 * `/` (the same globs as `spec.exclude`). The MOST SPECIFIC matching rule wins: the pattern with
 * the most literal (non-wildcard) characters; on a tie the one with fewer `**`, then the one with
 * fewer `*` and `?`; then the rule written first. So `docker.io/wandb/local` beats `docker.io/wandb/*`, which beats
 * `docker.io/**`. Regular expressions (`issuerRegExp`, `identityRegExp`) must match the WHOLE
 * value (they are anchored). File paths are relative to the policy file.
 *
 * `tlog: required` means a transparency-log entry (Rekor SignedEntryTimestamp or inclusion proof)
 * must verify against the log keys of the trusted root; `optional` accepts a signature without
 * one (entries that are present are still checked when a trusted root is given). A keyless
 * certificate lives ten minutes: it is checked at a verified time (the log entry's, or an RFC 3161
 * timestamp in a Sigstore bundle), so a keyless signature with neither is refused either way.
 *
 * Parsing is pure (no files read): the structure is checked with the one document validator
 * (src/validation/json-schema.ts), every problem a positioned SpecError.
 */
import {createHash} from 'node:crypto'
import {dirname, resolve} from 'node:path'
import {Checker} from '../release/check.js'
import {isPlainObject} from '../validation/json-schema.js'
import {POLICY_SCHEMA, type PolicyDefault, type PolicyDocument, type RawRule, type TlogRequirement} from './policy-schema.js'

export {POLICY_DEFAULTS, POLICY_SCHEMA, type PolicyDefault, type TlogRequirement} from './policy-schema.js'
import {globToRegExp} from '../release/exclude.js'
import {parseSource, positionOf, type FieldPath, type SourceDocument} from '../release/yaml.js'

export const POLICY_API_VERSION = 'airgap.dev/v1alpha1'
export const POLICY_KIND = 'UpstreamPolicy'
/** What a verdict names as its rule when no rule covers the image (the policy's `default` applied). */
export const DEFAULT_RULE = 'default'
/** Largest policy file read. */
export const MAX_POLICY_BYTES = 1024 * 1024

/** An exact value or an anchored regular expression. */
export interface ValueMatcher {
  /** How the policy wrote it: `"x"` or `/x/`. */
  description: string
  test(value: string): boolean
}

interface RuleCommon {
  /** The rule's `name`, else its `match` pattern: what a verdict names. */
  name: string
  /** The glob as written. */
  match: string
  matcher: RegExp
  tlog: TlogRequirement
  /** Absolute path of the trusted root (the rule's, else the policy's), when any. */
  trustedRootFile?: string
  /** `file:line:column` of the rule, for messages. */
  position: string
  /** Where in the file the trusted root / key were named, for errors found when loading them. */
  trustedRootPosition?: string
}

export interface KeyRule extends RuleCommon {
  kind: 'key'
  /** Absolute path of the cosign public key. */
  keyFile: string
  keyPosition: string
}

export interface KeylessRule extends RuleCommon {
  kind: 'keyless'
  issuer: ValueMatcher
  identity: ValueMatcher
  trustedRootFile: string
}

export type PolicyRule = KeyRule | KeylessRule

export interface UpstreamPolicy {
  file: string
  /** sha256 of the policy file's bytes (recorded in the lock). */
  digest: string
  default: PolicyDefault
  rules: PolicyRule[]
}


/** Parse and check policy text; `file` names it in messages and anchors relative paths. */
export function parsePolicy(text: string, file: string): UpstreamPolicy {
  const src = parseSource(text, file, {what: 'policy', maxBytes: MAX_POLICY_BYTES})
  const c = new Checker(file, src)
  c.schema(POLICY_SCHEMA, src.value)
  const top = (isPlainObject(src.value) ? src.value : {}) as Partial<PolicyDocument>
  if (typeof top.apiVersion === 'string' && top.apiVersion !== POLICY_API_VERSION) c.fail(['apiVersion'], `unsupported apiVersion ${JSON.stringify(top.apiVersion)}; supported: ${POLICY_API_VERSION}`)
  if (typeof top.kind === 'string' && top.kind !== POLICY_KIND) c.fail(['kind'], `unsupported kind ${JSON.stringify(top.kind)}; supported: ${POLICY_KIND}`)
  c.throwIfAny('policy')
  const doc = src.value as PolicyDocument
  const base = dirname(resolve(file))
  const seen = new Map<string, number>()
  const rules: PolicyRule[] = []
  doc.rules.forEach((raw, i) => {
    const path: FieldPath = ['rules', i]
    if (raw.name === DEFAULT_RULE) c.fail([...path, 'name'], `"${DEFAULT_RULE}" names the policy's default in verdicts; choose another rule name`)
    const earlier = seen.get(raw.match)
    if (earlier !== undefined) c.fail([...path, 'match'], `the pattern ${JSON.stringify(raw.match)} is already the match of rules[${earlier}]; one rule per pattern`)
    seen.set(raw.match, i)
    const rule = parseRule(c, src, raw, path, doc, base)
    if (rule) rules.push(rule)
  })
  c.throwIfAny('policy')
  return {file, digest: `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}`, default: doc.default, rules}
}


function parseRule(c: Checker, src: SourceDocument, raw: RawRule, path: FieldPath, doc: PolicyDocument, base: string): PolicyRule | undefined {
  const tlog = raw.tlog ?? 'required'
  const rootPath: FieldPath = raw.trustedRoot !== undefined ? [...path, 'trustedRoot'] : ['trustedRoot']
  const rootName = raw.trustedRoot ?? doc.trustedRoot
  const common: RuleCommon = {name: raw.name ?? raw.match, match: raw.match, matcher: globToRegExp(raw.match), tlog, position: positionOf(src, path)}
  if (rootName !== undefined) {
    common.trustedRootFile = resolve(base, rootName)
    common.trustedRootPosition = positionOf(src, rootPath)
  }
  if ((raw.key === undefined) === (raw.keyless === undefined)) {
    return c.fail(path, `a rule needs exactly one of "key" (a cosign public key file) or "keyless" (certificate issuer and identity); got ${raw.key === undefined ? 'neither' : 'both'}`)
  }
  if (raw.key !== undefined) {
    if (tlog === 'required' && common.trustedRootFile === undefined) {
      return c.fail([...path, 'tlog'], 'tlog: required needs a trustedRoot (the transparency log keys come from it); add trustedRoot, or set tlog: optional')
    }
    return {...common, kind: 'key', keyFile: resolve(base, raw.key), keyPosition: positionOf(src, [...path, 'key'])}
  }
  const keyless = raw.keyless ?? {}
  const issuer = valueMatcher(c, keyless.issuer, keyless.issuerRegExp, [...path, 'keyless'], 'issuer')
  const identity = valueMatcher(c, keyless.identity, keyless.identityRegExp, [...path, 'keyless'], 'identity')
  if (common.trustedRootFile === undefined) return c.fail(path, 'a keyless rule needs a trustedRoot (its certificate authorities and log keys), in the rule or at the top of the policy')
  if (!issuer || !identity) return undefined
  return {...common, kind: 'keyless', issuer, identity, trustedRootFile: common.trustedRootFile}
}

function valueMatcher(c: Checker, exact: string | undefined, pattern: string | undefined, path: FieldPath, field: 'issuer' | 'identity'): ValueMatcher | undefined {
  if ((exact === undefined) === (pattern === undefined)) {
    return c.fail(path, `give exactly one of "${field}" (exact) or "${field}RegExp" (a regular expression matching the whole ${field}); got ${exact === undefined ? 'neither' : 'both'}`)
  }
  if (exact !== undefined) return {description: JSON.stringify(exact), test: (v) => v === exact}
  let re: RegExp
  try {
    re = new RegExp(`^(?:${pattern!})$`, 'u')
  } catch (err) {
    return c.fail([...path, `${field}RegExp`], `not a valid regular expression: ${(err as Error).message}`)
  }
  return {description: `/${pattern!}/`, test: (v) => re.test(v)}
}


/** Specificity of a glob, compared in order: literal characters, then fewer `**`, then fewer `*` and `?`. */
function specificity(glob: string): number[] {
  const doubles = (glob.match(/\*\*/g) ?? []).length
  const singles = (glob.replace(/\*\*/g, '').match(/\*|\?/g) ?? []).length
  return [glob.replace(/\*|\?/g, '').length, -doubles, -singles]
}

function moreSpecific(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! > b[i]!
  return false
}

/**
 * The rule that covers `repository` (normalised `registry/repository`): the most specific match,
 * or undefined when none does (then the policy's `default` applies).
 */
export function ruleFor<R extends PolicyRule>(policy: {rules: readonly R[]}, repository: string): R | undefined {
  let best: {rule: R; score: number[]} | undefined
  for (const rule of policy.rules) {
    if (!rule.matcher.test(repository)) continue
    const score = specificity(rule.match)
    if (!best || moreSpecific(score, best.score)) best = {rule, score}
  }
  return best?.rule
}
