/**
 * Verify an image's upstream signatures against the policy (issue 19): find the rule that covers
 * the image's repository (policy.ts), read every signature its artifacts hold (candidates.ts) and
 * check each with @sigstore/verify until one passes:
 *
 *  - key rules: the signature verifies with the rule's public key (a certificate it may carry is
 *    ignored, as `cosign verify --key` does);
 *  - keyless rules: the certificate chains to a certificate authority of the trusted root at a
 *    verified time (log entry or timestamp), the signature verifies with the certificate's key,
 *    and its OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8, or the legacy .1.1) and
 *    identity (subject alternative name: email or URI) match the rule;
 *  - `tlog: required`: at least one transparency-log entry whose SignedEntryTimestamp (or
 *    inclusion proof) verifies with a log key of the trusted root and whose body records this
 *    very signature and payload; present entries are checked whenever a trusted root is given;
 *  - the signed content must name THIS image's digest: a valid signature for another digest
 *    never counts.
 *
 * The verdict says which rule applied and what established trust, or why nothing did. Pure
 * except for reading the artifacts from the target.
 */
import {Verifier, type SignedEntity, type Signer} from '@sigstore/verify'
import type {ReadOnlyTarget} from '../content/types.js'
import {DEFAULT_RULE, ruleFor, type PolicyDefault} from './policy.js'
import type {LoadedKeylessRule, LoadedPolicy, LoadedRule} from './policy-file.js'
import {candidatesOf, type SignatureArtifact, type SignatureCandidate} from './candidates.js'
import {EMPTY_TRUSTED_ROOT, trustMaterial} from './trusted-root.js'

export interface UpstreamImage {
  /** The image's source reference, as the bundle records it. */
  image: string
  /** Its normalised `registry/repository`: what rules match. */
  repository: string
  /** Where the image's signature artifacts are read (the source repository, or a bundle). */
  target: ReadOnlyTarget
  /** The artifacts attached to the digest (discover.ts: `.sig`/`.att`/`.sbom` tags and referrers). */
  signatures: readonly SignatureArtifact[]
}

export interface UpstreamVerdict {
  image: string
  /** The digest whose signatures were checked (the upstream manifest or index). */
  digest: string
  /** The rule's name, or `default` when no rule covers the image. */
  rule: string
  verified: boolean
  /** Keyless: the certificate's subject alternative name (email or URI). */
  identity?: string
  /** Keyless: the certificate's OIDC issuer. */
  issuer?: string
  /** Key rules: `sha256:` fingerprint of the public key that verified. */
  keyFingerprint?: string
  /** The verified transparency-log entry's index and time (Unix seconds). */
  logIndex?: number
  integratedTime?: number
  /** Why it is not verified. */
  reason?: string
}

/** What a pull does with a verdict: carry the image, carry it with a warning, or fail. */
export type UpstreamAction = 'accept' | 'warn' | 'reject'

export function upstreamAction(verdict: UpstreamVerdict, policyDefault: PolicyDefault): UpstreamAction {
  if (verdict.verified) return 'accept'
  return verdict.rule === DEFAULT_RULE ? policyDefault : 'reject'
}

/** The verdict for one image digest (see the module comment). */
export async function verifyUpstream(image: UpstreamImage, digest: string, policy: LoadedPolicy, signal?: AbortSignal): Promise<UpstreamVerdict> {
  const rule = ruleFor(policy, image.repository)
  if (!rule) {
    return {image: image.image, digest, rule: DEFAULT_RULE, verified: false, reason: `no rule of ${policy.file} covers ${image.repository}; the policy's default is ${policy.default}`}
  }
  const base = {image: image.image, digest, rule: rule.name}
  const candidates: SignatureCandidate[] = []
  for (const artifact of image.signatures) candidates.push(...(await candidatesOf(image.target, artifact, signal)))
  if (candidates.length === 0) return {...base, verified: false, reason: `no signature found (no cosign .sig tag, no Sigstore bundle referrer of ${digest})`}
  const refusals: string[] = []
  for (const candidate of candidates) {
    const outcome = checkCandidate(candidate, rule, digest)
    if (typeof outcome === 'string') refusals.push(`${candidate.where}: ${outcome}`)
    else return {...base, verified: true, ...outcome}
  }
  return {...base, verified: false, reason: `no signature satisfies rule ${rule.name}: ${refusals.join('; ')}`}
}

type Established = Pick<UpstreamVerdict, 'identity' | 'issuer' | 'keyFingerprint' | 'logIndex' | 'integratedTime'>

/** What one candidate establishes under the rule, or why it does not count. */
function checkCandidate(candidate: SignatureCandidate, rule: LoadedRule, digest: string): Established | string {
  if (candidate.problem !== undefined || !candidate.entity) return candidate.problem ?? 'unreadable'
  if (rule.kind === 'keyless' && candidate.carries !== 'certificate') return 'signed with a key, but the rule expects a keyless (certificate) signature'
  const root = rule.trustedRoot ?? EMPTY_TRUSTED_ROOT
  const checkLog = rule.trustedRoot !== undefined
  let entity: SignedEntity = candidate.entity
  if (rule.kind === 'key') entity = {...entity, key: {$case: 'public-key', hint: ''}}
  if (!checkLog) entity = {...entity, tlogEntries: [], timestamps: entity.timestamps.filter((t) => t.$case !== 'transparency-log')}
  const material = rule.kind === 'key' ? trustMaterial(root, () => ({publicKey: rule.publicKey, validFor: () => true})) : trustMaterial(root)
  const verifier = new Verifier(material, {
    tlogThreshold: rule.tlog === 'required' ? 1 : 0,
    ctlogThreshold: 0,
    timestampThreshold: rule.kind === 'keyless' ? 1 : 0,
  })
  let signer: Signer
  try {
    signer = verifier.verify(entity)
  } catch (err) {
    return explain(err, rule)
  }
  if (candidate.contentProblem !== undefined) return candidate.contentProblem
  if (!candidate.signedDigests?.includes(digest)) {
    return `the signature is valid but its signed content names ${candidate.signedDigests?.join(', ') || 'no digest'}, not this image's ${digest}`
  }
  const established: Established = {}
  if (rule.kind === 'key') established.keyFingerprint = rule.keyFingerprint
  else {
    const problem = identityProblem(signer, rule)
    if (problem) return problem
    established.identity = signer.identity?.subjectAlternativeName ?? ''
    established.issuer = signer.identity?.extensions?.issuer ?? ''
  }
  const entry = entity.tlogEntries[0]
  if (entry) {
    established.logIndex = Number(entry.logIndex)
    established.integratedTime = Number(entry.integratedTime)
  }
  return established
}

function identityProblem(signer: Signer, rule: LoadedKeylessRule): string | undefined {
  const issuer = signer.identity?.extensions?.issuer
  const identity = signer.identity?.subjectAlternativeName
  if (issuer === undefined) return 'the certificate names no OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8 or .1.1)'
  if (!rule.issuer.test(issuer)) return `the certificate's issuer ${JSON.stringify(issuer)} does not match ${rule.issuer.description}`
  if (identity === undefined) return 'the certificate names no identity (subject alternative name)'
  if (!rule.identity.test(identity)) return `the certificate's identity ${JSON.stringify(identity)} does not match ${rule.identity.description}`
  return undefined
}

/** @sigstore/verify's error codes in words. */
function explain(err: unknown, rule: LoadedRule): string {
  const code = (err as {code?: string}).code
  const cause = (err as {cause?: unknown}).cause
  const detail = `${(err as Error).message}${cause instanceof Error ? `: ${cause.message}` : ''}`
  switch (code) {
    case 'SIGNATURE_ERROR':
      return rule.kind === 'key' ? `the signature does not verify with the rule's key ${rule.keyFingerprint}` : "the signature does not verify with the certificate's key"
    case 'TLOG_ERROR':
      return 'no transparency-log entry, and the rule requires one (tlog: required)'
    case 'TLOG_INCLUSION_PROMISE_ERROR':
      return "the transparency-log entry's SignedEntryTimestamp does not verify with a log key of the trusted root"
    case 'TLOG_INCLUSION_PROOF_ERROR':
    case 'TLOG_MISSING_INCLUSION_ERROR':
      return `the transparency-log entry's inclusion does not verify (${detail})`
    case 'TLOG_BODY_ERROR':
      return `the transparency-log entry records another signature or payload (${detail})`
    case 'CERTIFICATE_ERROR':
      return `the certificate does not chain to a certificate authority of the trusted root at the signing time (${detail})`
    case 'TIMESTAMP_ERROR':
      return `no verified signing time for the keyless certificate: it needs a transparency-log entry or a timestamp (${detail})`
    default:
      return code ? `${code}: ${detail}` : `verification failed: ${detail}`
  }
}
