/**
 * A test Sigstore made here: a Rekor-shaped transparency log (its own ECDSA P-256 key; entries
 * with a SignedEntryTimestamp and a one-leaf inclusion proof under a signed checkpoint), a
 * `trusted_root.json` naming a test CA chain (test/support/x509.ts) and the log, and signatures
 * laid out as cosign lays them out: the tag-scheme `.sig` layer (simple-signing payload +
 * annotations) and a Sigstore bundle v0.3 (DSSE in-toto statement, predicate cosign sign/v1).
 * Nothing here talks to any network.
 */
import {createHash, sign, type KeyObject} from 'node:crypto'
import {json as canonicalJson} from '@sigstore/core'
import {MediaType} from '../../src/oci/types.js'
import {ecKeyPair, type EcKeyPair, type TestCa, type TestCertificate} from './x509.js'

export const SIGN_PREDICATE = 'https://sigstore.dev/cosign/sign/v1'
const b64 = (b: Uint8Array | string): string => Buffer.from(b).toString('base64')
const sha256 = (b: Uint8Array | string): Buffer => createHash('sha256').update(b).digest()

export interface TestLog extends EcKeyPair {
  baseUrl: string
  /** sha256 of the log key's SPKI DER (Rekor's log id). */
  logId: Buffer
  spki: Buffer
}

export function makeLog(name = 'rekor.test'): TestLog {
  const keys = ecKeyPair()
  const spki = keys.publicKey.export({type: 'spki', format: 'der'})
  return {...keys, baseUrl: `https://${name}`, logId: sha256(spki), spki}
}

/** What the log signs: an entry's canonical body, time and index. */
export interface LogEntry {
  body: Buffer
  logIndex: number
  integratedTime: number
  /** SignedEntryTimestamp: the log's signature over the canonical {body, integratedTime, logIndex, logID}. */
  set: Buffer
}

export function logEntry(log: TestLog, body: object, opts: {logIndex?: number; integratedTime?: number; signer?: KeyObject} = {}): LogEntry {
  const bodyBytes = Buffer.from(canonicalJson.canonicalize(body), 'utf8')
  const logIndex = opts.logIndex ?? 7
  const integratedTime = opts.integratedTime ?? Math.floor(Date.now() / 1000)
  const payload = canonicalJson.canonicalize({body: b64(bodyBytes), integratedTime, logIndex, logID: log.logId.toString('hex')})
  return {body: bodyBytes, logIndex, integratedTime, set: sign('sha256', Buffer.from(payload), opts.signer ?? log.privateKey)}
}

/** A hashedrekord 0.0.1 body for a signature over `payload` by `verifierPem` (a certificate or a public key). */
export function hashedRekordBody(payload: Buffer, signature: Buffer, verifierPem: string): object {
  return {
    apiVersion: '0.0.1',
    kind: 'hashedrekord',
    spec: {data: {hash: {algorithm: 'sha256', value: sha256(payload).toString('hex')}}, signature: {content: b64(signature), publicKey: {content: b64(verifierPem)}}},
  }
}

/** cosign's `dev.sigstore.cosign/bundle` annotation for a log entry. */
export function rekorBundleAnnotation(log: TestLog, entry: LogEntry): string {
  return JSON.stringify({
    SignedEntryTimestamp: b64(entry.set),
    Payload: {body: b64(entry.body), integratedTime: entry.integratedTime, logIndex: entry.logIndex, logID: log.logId.toString('hex')},
  })
}

export interface TrustedRootOptions {
  cas?: readonly TestCa[]
  logs?: readonly TestLog[]
}

/** A `trusted_root.json` (v0.1 media type) naming the CAs and logs. */
export function trustedRootJson(opts: TrustedRootOptions): string {
  const start = '2020-01-01T00:00:00Z'
  return JSON.stringify(
    {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: (opts.logs ?? []).map((l) => ({
        baseUrl: l.baseUrl,
        hashAlgorithm: 'SHA2_256',
        publicKey: {rawBytes: b64(l.spki), keyDetails: 'PKIX_ECDSA_P256_SHA_256', validFor: {start}},
        logId: {keyId: b64(l.logId)},
      })),
      certificateAuthorities: (opts.cas ?? []).map((ca) => ({
        subject: {organization: 'airgap test', commonName: 'airgap test'},
        uri: 'https://fulcio.test',
        certChain: {certificates: [{rawBytes: b64(ca.intermediate.der)}, {rawBytes: b64(ca.root.der)}]},
        validFor: {start},
      })),
      ctlogs: [],
      timestampAuthorities: [],
    },
    null,
    2,
  )
}

/** cosign's simple-signing payload for an image. */
export function simpleSigningPayload(reference: string, digest: string): Buffer {
  return Buffer.from(JSON.stringify({critical: {identity: {'docker-reference': reference}, image: {'docker-manifest-digest': digest}, type: 'cosign container image signature'}, optional: null}))
}

export interface CosignLayer {
  payload: Buffer
  annotations: Record<string, string>
}

/**
 * A `.sig` layer: the payload signed by `key`, or by `certificate`'s key with the certificate
 * and chain annotations (keyless); with a log entry when `log` is given.
 */
export function cosignLayer(opts: {payload: Buffer; key?: EcKeyPair; certificate?: TestCertificate; ca?: TestCa; log?: TestLog; logSigner?: KeyObject}): CosignLayer {
  const signer = opts.certificate ?? opts.key
  if (!signer) throw new Error('cosignLayer needs a key or a certificate')
  const signature = sign('sha256', opts.payload, signer.privateKey)
  const annotations: Record<string, string> = {'dev.cosignproject.cosign/signature': b64(signature)}
  if (opts.certificate) {
    annotations['dev.sigstore.cosign/certificate'] = opts.certificate.pem
    if (opts.ca) annotations['dev.sigstore.cosign/chain'] = opts.ca.intermediate.pem + opts.ca.root.pem
  }
  if (opts.log) {
    const verifierPem = opts.certificate?.pem ?? opts.key!.publicKey.export({type: 'spki', format: 'pem'}).toString()
    const entry = logEntry(opts.log, hashedRekordBody(opts.payload, signature, verifierPem), opts.logSigner ? {signer: opts.logSigner} : {})
    annotations['dev.sigstore.cosign/bundle'] = rekorBundleAnnotation(opts.log, entry)
  }
  return {payload: opts.payload, annotations}
}

/** DSSE pre-authentication encoding. */
function pae(payloadType: string, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(payloadType)} ${payloadType} ${payload.length} `), payload])
}

/**
 * A Sigstore bundle v0.3 as cosign --new-bundle-format attaches it: a DSSE envelope with an
 * in-toto statement (subject = `digest`), signed by `certificate` (keyless) or `key`, with a log
 * entry (SET + one-leaf inclusion proof under a signed checkpoint) when `log` is given.
 */
export function sigstoreBundle(opts: {digest: string; key?: EcKeyPair; certificate?: TestCertificate; log?: TestLog; predicateType?: string}): string {
  const statement = Buffer.from(
    JSON.stringify({_type: 'https://in-toto.io/Statement/v1', subject: [{name: 'image', digest: {sha256: opts.digest.slice('sha256:'.length)}}], predicateType: opts.predicateType ?? SIGN_PREDICATE, predicate: {}}),
  )
  const signer = opts.certificate ?? opts.key
  if (!signer) throw new Error('sigstoreBundle needs a key or a certificate')
  const signature = sign('sha256', pae(MediaType.InTotoAttestation, statement), signer.privateKey)
  const tlogEntries: object[] = []
  if (opts.log) {
    const verifierPem = opts.certificate?.pem ?? opts.key!.publicKey.export({type: 'spki', format: 'pem'}).toString()
    const envelope = {payload: b64(statement), payloadType: MediaType.InTotoAttestation, signatures: [{sig: b64(signature), keyid: ''}]}
    const body = {
      apiVersion: '0.0.1',
      kind: 'dsse',
      spec: {
        envelopeHash: {algorithm: 'sha256', value: sha256(JSON.stringify(envelope)).toString('hex')},
        payloadHash: {algorithm: 'sha256', value: sha256(statement).toString('hex')},
        signatures: [{signature: b64(signature), verifier: b64(verifierPem)}],
      },
    }
    const entry = logEntry(opts.log, body)
    const rootHash = createHash('sha256').update(Buffer.from([0])).update(entry.body).digest()
    const note = `${opts.log.baseUrl.slice('https://'.length)} - test\n1\n${b64(rootHash)}\n`
    const noteSignature = Buffer.concat([opts.log.logId.subarray(0, 4), sign('sha256', Buffer.from(note), opts.log.privateKey)])
    tlogEntries.push({
      logIndex: String(entry.logIndex),
      logId: {keyId: b64(opts.log.logId)},
      kindVersion: {kind: 'dsse', version: '0.0.1'},
      integratedTime: String(entry.integratedTime),
      inclusionPromise: {signedEntryTimestamp: b64(entry.set)},
      inclusionProof: {logIndex: '0', rootHash: b64(rootHash), treeSize: '1', hashes: [], checkpoint: {envelope: `${note}\n\u2014 ${opts.log.baseUrl.slice('https://'.length)} ${b64(noteSignature)}\n`}},
      canonicalizedBody: b64(entry.body),
    })
  }
  const material = opts.certificate ? {certificate: {rawBytes: b64(opts.certificate.der)}} : {publicKey: {hint: ''}}
  return JSON.stringify({
    mediaType: MediaType.SigstoreBundle,
    verificationMaterial: {...material, tlogEntries},
    dsseEnvelope: {payload: b64(statement), payloadType: MediaType.InTotoAttestation, signatures: [{sig: b64(signature), keyid: ''}]},
  })
}
