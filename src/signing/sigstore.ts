/**
 * Detached blob signatures as Sigstore bundles v0.3, the way `cosign sign-blob --key cosign.key
 * --bundle B --tlog-upload=false` (cosign v3) writes them for offline key signing:
 * a public-key hint, no transparency-log entries, and a message signature (digest + ASN.1 DER
 * ECDSA signature over the blob). `cosign verify-blob --key cosign.pub --bundle B
 * --insecure-ignore-tlog=true FILE` accepts these bundles, and verifyBlob() accepts cosign's.
 */
import {createHash, sign as cryptoSign, verify as cryptoVerify} from 'node:crypto'
import type {KeyObject} from 'node:crypto'
import {IntegrityError, UsageError} from '../errors.js'
import {keyFingerprint, keyHint, publicKeyOf, samePublicKey, signatureHashOf} from './keys.js'
import type {SignatureHash} from './keys.js'
import {decodeBase64Strict} from './pem.js'

/** Media type cosign v3 writes. */
export const BUNDLE_V03_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json'
/** Equivalent older spelling of the v0.3 media type. */
export const BUNDLE_V03_MEDIA_TYPE_ALIAS = 'application/vnd.dev.sigstore.bundle+json;version=0.3'

/** Sigstore HashAlgorithm names (proto enum) used in messageDigest. */
export type BundleHashAlgorithm = 'SHA2_256' | 'SHA2_384'

/** A Sigstore bundle v0.3 holding a key-based message signature (proto3 JSON, camelCase). */
export interface SigstoreBundle {
  mediaType: typeof BUNDLE_V03_MEDIA_TYPE
  verificationMaterial: {
    /** hint = base64(sha256(SPKI DER of the public key)). */
    publicKey: {hint: string}
    tlogEntries: []
  }
  messageSignature: {
    messageDigest: {algorithm: BundleHashAlgorithm; digest: string}
    /** base64 of the ASN.1 DER ECDSA signature over the blob. */
    signature: string
  }
}

/** What a successful verification established. */
export interface BlobVerification {
  /** `sha256:<hex>` of the public key that verified the signature. */
  keyFingerprint: string
}

const ALGORITHMS: Record<BundleHashAlgorithm, {hash: SignatureHash; bytes: number}> = {
  SHA2_256: {hash: 'sha256', bytes: 32},
  SHA2_384: {hash: 'sha384', bytes: 48},
}
const BUNDLE_NAME: Record<SignatureHash, BundleHashAlgorithm> = {sha256: 'SHA2_256', sha384: 'SHA2_384'}

/**
 * Sign `data` with an ECDSA key and return the Sigstore bundle. `publicKey`, when given, must be
 * the key's public half (a guard against pairing the wrong files); the hint is computed from it.
 */
export function signBlob(data: Uint8Array, key: KeyObject, publicKey?: KeyObject): SigstoreBundle {
  if (key.type !== 'private') throw new UsageError('signing needs a private key, got a public key')
  const pub = publicKey ?? publicKeyOf(key)
  if (publicKey && !samePublicKey(key, publicKey)) {
    throw new UsageError(`the public key ${keyFingerprint(publicKey)} does not belong to the private key ${keyFingerprint(key)}`, {
      hint: 'pass the cosign.pub that was generated with this cosign.key',
    })
  }
  const hash = signatureHashOf(key, 'the private key')
  return {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: {publicKey: {hint: keyHint(pub)}, tlogEntries: []},
    messageSignature: {
      messageDigest: {algorithm: BUNDLE_NAME[hash], digest: createHash(hash).update(data).digest('base64')},
      signature: cryptoSign(hash, data, {key, dsaEncoding: 'der'}).toString('base64'),
    },
  }
}

/** The bundle as cosign writes it: compact JSON. */
export function serializeBundle(bundle: SigstoreBundle): string {
  return JSON.stringify(bundle)
}

/** Parse bundle file bytes as JSON; IntegrityError when it is not JSON. Validation is verifyBlob's job. */
export function parseBundle(text: string | Uint8Array, where = 'the signature bundle'): unknown {
  try {
    return JSON.parse(typeof text === 'string' ? text : Buffer.from(text).toString('utf8'))
  } catch (err) {
    throw malformed(where, `not JSON (${(err as Error).message})`)
  }
}

/**
 * Verify a detached signature bundle over `data` with `publicKey`, offline (no transparency log,
 * like `cosign verify-blob --insecure-ignore-tlog`). Checks the bundle shape strictly, that the
 * signed digest is the digest of `data`, that the key hint (if any) names `publicKey`, and the
 * ECDSA signature. Every failure is an IntegrityError naming `where`.
 */
export function verifyBlob(data: Uint8Array, bundle: unknown, publicKey: KeyObject, where = 'the signature bundle'): BlobVerification {
  const pub = publicKeyOf(publicKey)
  const keyHash = signatureHashOf(pub, 'the public key')
  const parsed = checkBundleShape(bundle, where)
  const {hash, bytes} = ALGORITHMS[parsed.algorithm]
  if (hash !== keyHash) {
    throw malformed(where, `messageDigest.algorithm is ${parsed.algorithm} but the ${keyHash === 'sha256' ? 'P-256' : 'P-384'} key signs ${BUNDLE_NAME[keyHash]}`)
  }
  if (parsed.digest.length !== bytes) throw malformed(where, `messageDigest.digest must be ${bytes} bytes, got ${parsed.digest.length}`)
  const actual = createHash(hash).update(data).digest()
  if (!actual.equals(parsed.digest)) {
    throw new IntegrityError(
      `signed digest differs from the content in ${where}: signed ${hash}:${parsed.digest.toString('hex')}, content is ${hash}:${actual.toString('hex')}`,
      {hint: 'the signed file was changed after signing, or the bundle belongs to another file; get both from the same source again'},
    )
  }
  const fingerprint = keyFingerprint(pub)
  if (parsed.hint !== undefined && parsed.hint !== keyHint(pub)) {
    throw new IntegrityError(`signature does not match the public key ${fingerprint}: ${where} was signed by another key (key hint ${parsed.hint})`, {
      hint: 'verify with the public key of the signer (the cosign.pub that belongs to the signing cosign.key)',
    })
  }
  if (!ecdsaVerify(hash, data, pub, parsed.signature)) {
    throw new IntegrityError(`signature does not match the public key ${fingerprint} in ${where}`, {
      hint: 'the content or its signature was altered, or another key signed it; do not trust this content',
    })
  }
  return {keyFingerprint: fingerprint}
}

function ecdsaVerify(hash: SignatureHash, data: Uint8Array, key: KeyObject, signature: Buffer): boolean {
  try {
    return cryptoVerify(hash, data, {key, dsaEncoding: 'der'}, signature)
  } catch {
    return false // not a DER ECDSA signature
  }
}

interface CheckedBundle {
  hint?: string
  algorithm: BundleHashAlgorithm
  digest: Buffer
  signature: Buffer
}

type Json = Record<string, unknown>

/** Strict structural validation of a key-signed message-signature bundle v0.3. */
function checkBundleShape(bundle: unknown, where: string): CheckedBundle {
  const top = object(bundle, 'the bundle', where)
  onlyKeys(top, ['mediaType', 'verificationMaterial', 'messageSignature', 'dsseEnvelope'], 'the bundle', where)
  const mediaType = top.mediaType
  if (mediaType !== BUNDLE_V03_MEDIA_TYPE && mediaType !== BUNDLE_V03_MEDIA_TYPE_ALIAS) {
    throw malformed(where, `mediaType must be "${BUNDLE_V03_MEDIA_TYPE}", got ${JSON.stringify(mediaType ?? null)}`)
  }
  const material = object(top.verificationMaterial, 'verificationMaterial', where)
  onlyKeys(material, ['publicKey', 'x509CertificateChain', 'certificate', 'tlogEntries', 'timestampVerificationData'], 'verificationMaterial', where)
  if (material.x509CertificateChain !== undefined || material.certificate !== undefined) {
    throw malformed(where, 'it holds a certificate (keyless signing); airgap verifies key-signed bundles (verificationMaterial.publicKey)')
  }
  const publicKey = object(material.publicKey, 'verificationMaterial.publicKey', where)
  onlyKeys(publicKey, ['hint'], 'verificationMaterial.publicKey', where)
  if (publicKey.hint !== undefined && typeof publicKey.hint !== 'string') throw malformed(where, 'verificationMaterial.publicKey.hint must be a string')
  if (material.tlogEntries !== undefined && !Array.isArray(material.tlogEntries)) throw malformed(where, 'verificationMaterial.tlogEntries must be an array')
  if (material.timestampVerificationData !== undefined) object(material.timestampVerificationData, 'verificationMaterial.timestampVerificationData', where)
  if (top.dsseEnvelope !== undefined) throw malformed(where, 'it holds a DSSE envelope (an attestation), not a message signature')
  const sig = object(top.messageSignature, 'messageSignature', where)
  onlyKeys(sig, ['messageDigest', 'signature'], 'messageSignature', where)
  const md = object(sig.messageDigest, 'messageSignature.messageDigest', where)
  onlyKeys(md, ['algorithm', 'digest'], 'messageSignature.messageDigest', where)
  if (md.algorithm !== 'SHA2_256' && md.algorithm !== 'SHA2_384') {
    throw malformed(where, `messageSignature.messageDigest.algorithm must be SHA2_256 or SHA2_384, got ${JSON.stringify(md.algorithm ?? null)}`)
  }
  const digest = base64(md.digest, 'messageSignature.messageDigest.digest', where)
  const signature = base64(sig.signature, 'messageSignature.signature', where)
  const hint = publicKey.hint === '' ? undefined : (publicKey.hint as string | undefined)
  return {...(hint === undefined ? {} : {hint}), algorithm: md.algorithm, digest, signature}
}

function object(v: unknown, name: string, where: string): Json {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw malformed(where, `${name} must be a JSON object`)
  return v as Json
}

function onlyKeys(obj: Json, allowed: readonly string[], name: string, where: string): void {
  const extra = Object.keys(obj).filter((k) => !allowed.includes(k))
  if (extra.length) throw malformed(where, `unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => JSON.stringify(k)).join(', ')} in ${name}`)
}

function base64(v: unknown, name: string, where: string): Buffer {
  const bytes = typeof v === 'string' ? decodeBase64Strict(v) : undefined
  if (!bytes || bytes.length === 0) throw malformed(where, `${name} must be non-empty base64`)
  return bytes
}

function malformed(where: string, detail: string): IntegrityError {
  return new IntegrityError(`signature bundle is malformed: ${where}: ${detail}`, {
    hint: 'the bundle must be a Sigstore bundle v0.3 from `airgap` or `cosign sign-blob --key … --bundle`; get it again from the source',
  })
}
