/**
 * Signature candidates: the signatures an image's artifacts hold, each as a @sigstore/verify
 * SignedEntity plus the image digests its signed content names. Two layouts:
 *
 *  - cosign's tag scheme (`sha256-<hex>.sig`): an image manifest whose layers are simple-signing
 *    payloads (`critical.image.docker-manifest-digest`), each with its signature in the
 *    `dev.cosignproject.cosign/signature` annotation; keyless ones add the Fulcio certificate
 *    (`dev.sigstore.cosign/certificate`; `…/chain` is not used: trust comes from the trusted root
 *    only) and the Rekor bundle (`dev.sigstore.cosign/bundle`: SignedEntryTimestamp + entry);
 *  - a Sigstore bundle (v0.3, `application/vnd.dev.sigstore.bundle.v0.3+json`) attached as an OCI
 *    referrer, as cosign 2.x/3.x writes with the new bundle format: a DSSE envelope holding an
 *    in-toto statement of predicate type `https://sigstore.dev/cosign/sign/v1` whose subject is the
 *    image digest.
 *
 * Nothing here decides trust: verify-upstream.ts runs the verifier and applies the rule.
 */
import {createHash, verify as cryptoVerify, timingSafeEqual} from 'node:crypto'
import type {KeyObject} from 'node:crypto'
import {bundleFromJSON, type TransparencyLogEntry} from '@sigstore/bundle'
import {X509Certificate} from '@sigstore/core'
import {toSignedEntity, type SignedEntity} from '@sigstore/verify'
import type {ReadOnlyTarget} from '../content/types.js'
import {fetchAll} from '../content/verify.js'
import {parseManifest} from '../oci/manifest.js'
import {MediaType, type Descriptor, type ImageManifest} from '../oci/types.js'
import {signatureHashOf} from '../signing/index.js'

export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature'
export const COSIGN_CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate'
export const COSIGN_CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain'
export const COSIGN_BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle'
/** The in-toto predicate type of an image signature in a Sigstore bundle (cosign --new-bundle-format). */
export const COSIGN_SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1'
/** simple-signing `critical.type` values cosign writes. */
const SIMPLE_SIGNING_TYPES = ['cosign container image signature', COSIGN_SIGN_PREDICATE]
const BUNDLE_MEDIA_TYPES = [MediaType.SigstoreBundle, 'application/vnd.dev.sigstore.bundle+json;version=0.3']
/** Largest payload or bundle read into memory. */
const MAX_SIGNATURE_BYTES = 4 * 1024 * 1024

/** An artifact attached to the image: a tag-scheme manifest or a referrer (see discover.ts). */
export interface SignatureArtifact {
  kind: 'sig' | 'att' | 'sbom' | 'referrer'
  /** Its name for messages: the tag or the referrer digest. */
  ref: string
  descriptor: Descriptor
}

export interface SignatureCandidate {
  /** `sha256-….sig layer 1`, `referrer sha256:…`: for reasons. */
  where: string
  /** Why it cannot be checked at all (malformed); then nothing else is set. */
  problem?: string
  entity?: SignedEntity
  /** What the signature carries to verify it: a public-key reference or a certificate. */
  carries?: 'key' | 'certificate'
  /** Image digests the signed content names (`sha256:…`). */
  signedDigests?: string[]
  /** Why the signed content is not an image signature (an attestation, say), when it is not. */
  contentProblem?: string
}

/** Every candidate an artifact holds; artifacts that are not signatures give none. */
export async function candidatesOf(target: ReadOnlyTarget, artifact: SignatureArtifact, signal?: AbortSignal): Promise<SignatureCandidate[]> {
  if (artifact.kind !== 'sig' && artifact.kind !== 'referrer') return []
  let manifest: ImageManifest
  try {
    const bytes = await fetchAll(target, artifact.descriptor, artifact.ref, undefined, signal)
    const parsed = parseManifest(bytes, artifact.descriptor.mediaType, artifact.ref)
    if (parsed.kind !== 'manifest') return artifact.kind === 'sig' ? [{where: artifact.ref, problem: 'not an image manifest'}] : []
    manifest = parsed.manifest
  } catch (err) {
    if (signal?.aborted) throw err
    return [{where: artifact.ref, problem: `cannot be read (${firstLine(err)})`}]
  }
  return artifact.kind === 'sig' ? cosignCandidates(target, artifact, manifest, signal) : referrerCandidates(target, artifact, manifest, signal)
}

async function cosignCandidates(target: ReadOnlyTarget, artifact: SignatureArtifact, manifest: ImageManifest, signal?: AbortSignal): Promise<SignatureCandidate[]> {
  const out: SignatureCandidate[] = []
  for (const [i, layer] of manifest.layers.entries()) {
    if (layer.mediaType !== MediaType.CosignSimpleSigning) continue
    const where = `${artifact.ref} layer ${i + 1}`
    try {
      const payload = await fetchAll(target, layer, where, MAX_SIGNATURE_BYTES, signal)
      out.push(cosignLayerCandidate(where, payload, layer.annotations ?? {}))
    } catch (err) {
      if (signal?.aborted) throw err
      out.push({where, problem: firstLine(err)})
    }
  }
  if (out.length === 0) out.push({where: artifact.ref, problem: 'holds no simple-signing layer'})
  return out
}

/** One `.sig` layer: its payload and annotations as a SignedEntity. */
export function cosignLayerCandidate(where: string, payload: Buffer, annotations: Readonly<Record<string, string>>): SignatureCandidate {
  const encoded = annotations[COSIGN_SIGNATURE_ANNOTATION]
  if (!encoded) return {where, problem: `no ${COSIGN_SIGNATURE_ANNOTATION} annotation`}
  const signature = Buffer.from(encoded, 'base64')
  if (signature.length === 0) return {where, problem: `the ${COSIGN_SIGNATURE_ANNOTATION} annotation is not base64`}
  const certificatePem = annotations[COSIGN_CERTIFICATE_ANNOTATION]
  let certificate: X509Certificate | undefined
  if (certificatePem) {
    try {
      certificate = X509Certificate.parse(certificatePem)
    } catch (err) {
      return {where, problem: `the ${COSIGN_CERTIFICATE_ANNOTATION} annotation is not a PEM certificate (${firstLine(err)})`}
    }
  }
  const tlogEntries: TransparencyLogEntry[] = []
  const rekorBundle = annotations[COSIGN_BUNDLE_ANNOTATION]
  if (rekorBundle) {
    const entry = rekorEntry(rekorBundle)
    if (typeof entry === 'string') return {where, problem: `the ${COSIGN_BUNDLE_ANNOTATION} annotation ${entry}`}
    tlogEntries.push(entry)
  }
  const claims = simpleSigningClaims(payload)
  const entity: SignedEntity = {
    signature: payloadSignature(payload, signature),
    key: certificate ? {$case: 'certificate', certificate} : {$case: 'public-key', hint: ''},
    tlogEntries,
    timestamps: tlogEntries.map((tlogEntry) => ({$case: 'transparency-log', tlogEntry})),
  }
  const candidate: SignatureCandidate = {where, entity, carries: certificate ? 'certificate' : 'key', signedDigests: claims.digests}
  if (claims.problem !== undefined) candidate.contentProblem = claims.problem
  return candidate
}

/** The signature over a payload, the way the verifier and the log-entry checks need it. */
function payloadSignature(payload: Buffer, signature: Buffer): SignedEntity['signature'] {
  const payloadDigest = createHash('sha256').update(payload).digest()
  return {
    signature,
    compareSignature: (other) => other.length === signature.length && timingSafeEqual(other, signature),
    compareDigest: (other) => other.length === payloadDigest.length && timingSafeEqual(other, payloadDigest),
    verifySignature: (key: KeyObject) => {
      try {
        return cryptoVerify(signatureHashOf(key), payload, key, signature)
      } catch {
        return false // not an ECDSA P-256/P-384 key, or not a DER signature
      }
    },
  }
}

/** cosign's Rekor bundle annotation as a log entry with an inclusion promise, or what is wrong with it. */
function rekorEntry(text: string): TransparencyLogEntry | string {
  let parsed: {SignedEntryTimestamp?: unknown; Payload?: {body?: unknown; integratedTime?: unknown; logIndex?: unknown; logID?: unknown}}
  try {
    parsed = JSON.parse(text) as typeof parsed
  } catch {
    return 'is not JSON'
  }
  const p = parsed.Payload
  if (typeof parsed.SignedEntryTimestamp !== 'string' || !p || typeof p.body !== 'string' || !Number.isSafeInteger(p.integratedTime) || !Number.isSafeInteger(p.logIndex) || typeof p.logID !== 'string' || !/^[0-9a-f]+$/.test(p.logID)) {
    return 'needs SignedEntryTimestamp and Payload {body, integratedTime, logIndex, logID}'
  }
  const canonicalizedBody = Buffer.from(p.body, 'base64')
  let kind: {kind?: unknown; apiVersion?: unknown}
  try {
    kind = JSON.parse(canonicalizedBody.toString('utf8')) as typeof kind
  } catch {
    return 'holds a log entry body that is not JSON'
  }
  return {
    logIndex: String(p.logIndex),
    logId: {keyId: Buffer.from(p.logID, 'hex')},
    kindVersion: {kind: String(kind.kind ?? ''), version: String(kind.apiVersion ?? '')},
    integratedTime: String(p.integratedTime),
    inclusionPromise: {signedEntryTimestamp: Buffer.from(parsed.SignedEntryTimestamp, 'base64')},
    inclusionProof: undefined,
    canonicalizedBody,
  }
}

/** `critical.image.docker-manifest-digest` of a simple-signing payload. */
function simpleSigningClaims(payload: Buffer): {digests: string[]; problem?: string} {
  let doc: {critical?: {type?: unknown; image?: {'docker-manifest-digest'?: unknown}}}
  try {
    doc = JSON.parse(payload.toString('utf8')) as typeof doc
  } catch {
    return {digests: [], problem: 'the payload is not JSON (not a simple-signing payload)'}
  }
  const digest = doc.critical?.image?.['docker-manifest-digest']
  if (typeof digest !== 'string') return {digests: [], problem: 'the payload has no critical.image.docker-manifest-digest'}
  if (!SIMPLE_SIGNING_TYPES.includes(String(doc.critical?.type))) return {digests: [digest], problem: `the payload's critical.type is ${JSON.stringify(doc.critical?.type ?? null)}, not a cosign image signature`}
  return {digests: [digest]}
}

async function referrerCandidates(target: ReadOnlyTarget, artifact: SignatureArtifact, manifest: ImageManifest, signal?: AbortSignal): Promise<SignatureCandidate[]> {
  const artifactType = manifest.artifactType ?? manifest.config.mediaType
  const layer = manifest.layers.find((l) => BUNDLE_MEDIA_TYPES.includes(l.mediaType))
  if (!BUNDLE_MEDIA_TYPES.includes(artifactType) || !layer) return [] // an SBOM or another referrer: not a signature
  const where = `referrer ${artifact.descriptor.digest}`
  try {
    const bytes = await fetchAll(target, layer, where, MAX_SIGNATURE_BYTES, signal)
    const candidate = bundleCandidate(where, bytes)
    if (candidate.signedDigests && manifest.subject && !candidate.signedDigests.includes(manifest.subject.digest)) {
      candidate.contentProblem ??= `the referrer's subject ${manifest.subject.digest} is not what its statement names`
    }
    return [candidate]
  } catch (err) {
    if (signal?.aborted) throw err
    return [{where, problem: firstLine(err)}]
  }
}

/** A Sigstore bundle's bytes as a candidate. */
export function bundleCandidate(where: string, bytes: Buffer): SignatureCandidate {
  let entity: SignedEntity
  let bundle: ReturnType<typeof bundleFromJSON>
  try {
    bundle = bundleFromJSON(JSON.parse(bytes.toString('utf8')))
    entity = toSignedEntity(bundle)
  } catch (err) {
    return {where, problem: `not a valid Sigstore bundle (${firstLine(err)})`}
  }
  const carries = entity.key.$case === 'certificate' ? 'certificate' : 'key'
  if (bundle.content.$case !== 'dsseEnvelope') {
    return {where, entity, carries, signedDigests: [], contentProblem: 'a message-signature bundle signs a blob; cosign signs an image with a DSSE statement'}
  }
  const envelope = bundle.content.dsseEnvelope
  if (envelope.payloadType !== MediaType.InTotoAttestation) return {where, entity, carries, signedDigests: [], contentProblem: `the DSSE payload type is ${envelope.payloadType}, not an in-toto statement`}
  let statement: {predicateType?: unknown; subject?: Array<{digest?: Record<string, unknown>}>}
  try {
    statement = JSON.parse(Buffer.from(envelope.payload).toString('utf8')) as typeof statement
  } catch {
    return {where, entity, carries, signedDigests: [], contentProblem: 'the in-toto statement is not JSON'}
  }
  const signedDigests = (Array.isArray(statement.subject) ? statement.subject : []).flatMap((s) => (typeof s?.digest?.sha256 === 'string' ? [`sha256:${s.digest.sha256}`] : []))
  const candidate: SignatureCandidate = {where, entity, carries, signedDigests}
  if (statement.predicateType !== COSIGN_SIGN_PREDICATE) {
    candidate.contentProblem = `an attestation (predicate ${JSON.stringify(statement.predicateType ?? null)}), not an image signature (${COSIGN_SIGN_PREDICATE})`
  }
  return candidate
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!
}
