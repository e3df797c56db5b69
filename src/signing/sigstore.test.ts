import {execFileSync} from 'node:child_process'
import {createHash, generateKeyPairSync} from 'node:crypto'
import type {KeyObject} from 'node:crypto'
import {mkdtempSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {bundleFromJSON} from '@sigstore/bundle'
import {toSignedEntity, toTrustMaterial, Verifier} from '@sigstore/verify'
import fc from 'fast-check'
import {afterAll, describe, expect, it} from 'vitest'
import {ExitCode, IntegrityError, UsageError} from '../errors.js'
import {BUNDLE_V03_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE_ALIAS, parseBundle, serializeBundle, signBlob, verifyBlob} from './sigstore.js'
import type {SigstoreBundle} from './sigstore.js'
import {exportPublicKeyPem, generateKeyPair, keyFingerprint, keyHint, loadPrivateKey, loadPublicKey} from './keys.js'

const tmp = mkdtempSync(join(tmpdir(), 'airgap-sign-'))
afterAll(() => rmSync(tmp, {recursive: true, force: true}))

function ecKeys(curve: 'P-256' | 'P-384' = 'P-256'): {privateKey: KeyObject; publicKey: KeyObject} {
  return generateKeyPairSync('ec', {namedCurve: curve})
}
const {privateKey, publicKey} = ecKeys()
const other = ecKeys()
const data = Buffer.from('{"files":{"airgap/lock.json":"sha256:00"}}\n')
const clone = (b: SigstoreBundle): any => JSON.parse(JSON.stringify(b))
const b64sha256 = (d: Uint8Array): string => createHash('sha256').update(d).digest('base64')

function expectIntegrity(fn: () => unknown, message: string | RegExp): void {
  let err: unknown
  try {
    fn()
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(IntegrityError)
  expect((err as IntegrityError).exitCode).toBe(ExitCode.INTEGRITY)
  if (typeof message === 'string') expect((err as Error).message).toBe(message)
  else expect((err as Error).message).toMatch(message)
}

describe('signBlob', () => {
  it('writes the bundle cosign v3 writes for offline key signing', () => {
    const bundle = signBlob(data, privateKey, publicKey)
    expect(Object.keys(bundle)).toEqual(['mediaType', 'verificationMaterial', 'messageSignature'])
    expect(bundle).toEqual({
      mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json',
      verificationMaterial: {publicKey: {hint: keyHint(publicKey)}, tlogEntries: []},
      messageSignature: {messageDigest: {algorithm: 'SHA2_256', digest: b64sha256(data)}, signature: expect.any(String)},
    })
    expect(serializeBundle(bundle).startsWith('{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"')).toBe(true)
    // ASN.1 DER ECDSA-Sig-Value: SEQUENCE { INTEGER r, INTEGER s }
    expect(Buffer.from(bundle.messageSignature.signature, 'base64')[0]).toBe(0x30)
  })

  it('refuses a public key that is not the private key\'s, and a public key in place of a private key', () => {
    expect(() => signBlob(data, privateKey, other.publicKey)).toThrow(UsageError)
    expect(() => signBlob(data, privateKey, other.publicKey)).toThrow(/does not belong to the private key/)
    expect(() => signBlob(data, publicKey)).toThrow('signing needs a private key, got a public key')
  })
})

describe('verifyBlob', () => {
  const bundle = signBlob(data, privateKey, publicKey)

  it('accepts a fresh signature and reports the key fingerprint', () => {
    expect(verifyBlob(data, bundle, publicKey)).toEqual({keyFingerprint: keyFingerprint(publicKey)})
    expect(verifyBlob(data, parseBundle(serializeBundle(bundle)), publicKey).keyFingerprint).toMatch(/^sha256:[0-9a-f]{64}$/)
  })

  it('accepts the media type alias and a bundle without hint or tlogEntries', () => {
    const b = clone(bundle)
    b.mediaType = BUNDLE_V03_MEDIA_TYPE_ALIAS
    b.verificationMaterial = {publicKey: {}}
    expect(verifyBlob(data, b, publicKey).keyFingerprint).toBe(keyFingerprint(publicKey))
  })

  it('round-trips generateKeyPair -> loadPrivateKey -> signBlob -> loadPublicKey -> verifyBlob', () => {
    const pair = generateKeyPair('pw', {scryptN: 32768})
    const b = signBlob(data, loadPrivateKey(pair.privateKeyPem, 'pw'))
    const pub = loadPublicKey(pair.publicKeyPem)
    expect(verifyBlob(data, b, pub).keyFingerprint).toBe(keyFingerprint(pub))
  })

  it('signs and verifies with P-384 keys using SHA2_384', () => {
    const k = ecKeys('P-384')
    const b = signBlob(data, k.privateKey)
    expect(b.messageSignature.messageDigest.algorithm).toBe('SHA2_384')
    expect(Buffer.from(b.messageSignature.messageDigest.digest, 'base64')).toHaveLength(48)
    expect(verifyBlob(data, b, k.publicKey).keyFingerprint).toBe(keyFingerprint(k.publicKey))
  })

  it('fails on tampered content: signed digest differs', () => {
    const fp = keyFingerprint(publicKey)
    expect(fp).toBeTruthy()
    const tampered = Buffer.from(data)
    tampered[3]! ^= 1
    expectIntegrity(
      () => verifyBlob(tampered, bundle, publicKey, 'bundle.tar:airgap/checksums.json.sigstore.json'),
      `signed digest differs from the content in bundle.tar:airgap/checksums.json.sigstore.json: signed sha256:${createHash('sha256').update(data).digest('hex')}, content is sha256:${createHash('sha256').update(tampered).digest('hex')}`,
    )
  })

  it('fails on a tampered digest', () => {
    const b = clone(bundle)
    b.messageSignature.messageDigest.digest = b64sha256(Buffer.from('other'))
    expectIntegrity(() => verifyBlob(data, b, publicKey), /^signed digest differs from the content in the signature bundle: /)
  })

  it('fails on content and digest swapped together: the signature does not match', () => {
    const forged = Buffer.from('{"files":{}}\n')
    const b = clone(bundle)
    b.messageSignature.messageDigest.digest = b64sha256(forged)
    expectIntegrity(() => verifyBlob(forged, b, publicKey, 'sig.json'), `signature does not match the public key ${keyFingerprint(publicKey)} in sig.json`)
  })

  it('fails on a tampered signature (re-encoded valid DER and garbage)', () => {
    const sig = Buffer.from(bundle.messageSignature.signature, 'base64')
    const flipped = Buffer.from(sig)
    flipped[flipped.length - 1]! ^= 1 // last byte of s: still DER, wrong value
    const b = clone(bundle)
    b.messageSignature.signature = flipped.toString('base64')
    expectIntegrity(() => verifyBlob(data, b, publicKey), /^signature does not match the public key sha256:[0-9a-f]{64} in the signature bundle$/)
    b.messageSignature.signature = Buffer.from('not DER at all').toString('base64')
    expectIntegrity(() => verifyBlob(data, b, publicKey), /^signature does not match the public key /)
  })

  it('fails on a tampered hint: names the key it was checked against', () => {
    const b = clone(bundle)
    b.verificationMaterial.publicKey.hint = keyHint(other.publicKey)
    expectIntegrity(
      () => verifyBlob(data, b, publicKey),
      `signature does not match the public key ${keyFingerprint(publicKey)}: the signature bundle was signed by another key (key hint ${keyHint(other.publicKey)})`,
    )
  })

  it('fails with another public key, with or without hint', () => {
    expectIntegrity(() => verifyBlob(data, bundle, other.publicKey), /^signature does not match the public key .*signed by another key/)
    const b = clone(bundle)
    delete b.verificationMaterial.publicKey.hint
    expectIntegrity(() => verifyBlob(data, b, other.publicKey), `signature does not match the public key ${keyFingerprint(other.publicKey)} in the signature bundle`)
  })

  it('rejects malformed bundles with a precise reason', () => {
    const cases: Array<[(b: any) => unknown, string]> = [
      [() => 'text', 'the bundle must be a JSON object'],
      [() => null, 'the bundle must be a JSON object'],
      [(b) => ({...b, mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.2'}), 'mediaType must be "application/vnd.dev.sigstore.bundle.v0.3+json", got "application/vnd.dev.sigstore.bundle+json;version=0.2"'],
      [(b) => ({...b, mediaType: undefined}), 'mediaType must be "application/vnd.dev.sigstore.bundle.v0.3+json", got null'],
      [(b) => ({...b, extra: 1}), 'unknown field "extra" in the bundle'],
      [(b) => ({...b, verificationMaterial: undefined}), 'verificationMaterial must be a JSON object'],
      [(b) => ({...b, verificationMaterial: {...b.verificationMaterial, certificate: {rawBytes: 'AA=='}}}), 'it holds a certificate (keyless signing); airgap verifies key-signed bundles (verificationMaterial.publicKey)'],
      [(b) => ({...b, verificationMaterial: {tlogEntries: []}}), 'verificationMaterial.publicKey must be a JSON object'],
      [(b) => ({...b, verificationMaterial: {publicKey: {hint: 5}}}), 'verificationMaterial.publicKey.hint must be a string'],
      [(b) => ({...b, verificationMaterial: {publicKey: {}, tlogEntries: {}}}), 'verificationMaterial.tlogEntries must be an array'],
      [(b) => ({...b, dsseEnvelope: {}}), 'it holds a DSSE envelope (an attestation), not a message signature'],
      [(b) => ({...b, messageSignature: undefined}), 'messageSignature must be a JSON object'],
      [(b) => ({...b, messageSignature: {...b.messageSignature, messageDigest: {...b.messageSignature.messageDigest, algorithm: 'SHA3_256'}}}), 'messageSignature.messageDigest.algorithm must be SHA2_256 or SHA2_384, got "SHA3_256"'],
      [(b) => ({...b, messageSignature: {...b.messageSignature, messageDigest: {...b.messageSignature.messageDigest, algorithm: 'SHA2_384'}}}), 'messageDigest.algorithm is SHA2_384 but the P-256 key signs SHA2_256'],
      [(b) => ({...b, messageSignature: {...b.messageSignature, messageDigest: {algorithm: 'SHA2_256', digest: 'AAAA'}}}), 'messageDigest.digest must be 32 bytes, got 3'],
      [(b) => ({...b, messageSignature: {...b.messageSignature, signature: 'no*base64'}}), 'messageSignature.signature must be non-empty base64'],
      [(b) => ({...b, messageSignature: {...b.messageSignature, signature: ''}}), 'messageSignature.signature must be non-empty base64'],
    ]
    for (const [mutate, detail] of cases) {
      expectIntegrity(() => verifyBlob(data, mutate(clone(bundle)), publicKey, 'b.json'), `signature bundle is malformed: b.json: ${detail}`)
    }
    expectIntegrity(() => parseBundle('{"mediaType":', 'b.json'), /^signature bundle is malformed: b\.json: not JSON/)
  })

  it('property: any single bit flip in the content is detected', () => {
    fc.assert(
      fc.property(fc.uint8Array({minLength: 1, maxLength: 256}), fc.nat(), fc.integer({min: 0, max: 7}), (bytes, at, bit) => {
        const b = signBlob(bytes, privateKey)
        expect(verifyBlob(bytes, b, publicKey).keyFingerprint).toBe(keyFingerprint(publicKey))
        const flipped = Buffer.from(bytes)
        flipped[at % flipped.length]! ^= 1 << bit
        expect(() => verifyBlob(flipped, b, publicKey)).toThrow(IntegrityError)
      }),
      {numRuns: 50},
    )
  })
})

describe('interoperability with independent implementations', () => {
  it('openssl verifies our signature with the exported public key', () => {
    const b = signBlob(data, privateKey)
    writeFileSync(join(tmp, 'data'), data)
    writeFileSync(join(tmp, 'sig.der'), Buffer.from(b.messageSignature.signature, 'base64'))
    writeFileSync(join(tmp, 'cosign.pub'), exportPublicKeyPem(publicKey))
    const out = execFileSync('openssl', ['dgst', '-sha256', '-verify', join(tmp, 'cosign.pub'), '-signature', join(tmp, 'sig.der'), join(tmp, 'data')])
    expect(out.toString().trim()).toBe('Verified OK')
  })

  it('verifyBlob accepts a signature made by openssl with an openssl-generated key', () => {
    const key = join(tmp, 'ossl.key')
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-out', key])
    writeFileSync(join(tmp, 'blob'), data)
    const sig = execFileSync('openssl', ['dgst', '-sha256', '-sign', key, join(tmp, 'blob')])
    const pubPem = execFileSync('openssl', ['ec', '-in', key, '-pubout'], {stdio: ['ignore', 'pipe', 'ignore']}).toString()
    const pub = loadPublicKey(pubPem)
    const bundle = {
      mediaType: BUNDLE_V03_MEDIA_TYPE,
      verificationMaterial: {publicKey: {hint: keyHint(pub)}, tlogEntries: []},
      messageSignature: {messageDigest: {algorithm: 'SHA2_256', digest: b64sha256(data)}, signature: sig.toString('base64')},
    }
    expect(verifyBlob(data, bundle, pub).keyFingerprint).toBe(keyFingerprint(pub))
    expect(keyFingerprint(loadPrivateKey(execFileSync('cat', [key]).toString(), ''))).toBe(keyFingerprint(pub))
  })

  describe('@sigstore/verify 3.1.1 (offline, no transparency log)', () => {
    const emptyTrustedRoot: Parameters<typeof toTrustMaterial>[0] = {
      mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
      tlogs: [],
      certificateAuthorities: [],
      ctlogs: [],
      timestampAuthorities: [],
    }
    const verifier = (pub: KeyObject): Verifier =>
      new Verifier(
        toTrustMaterial(emptyTrustedRoot, (hint) => {
          if (hint !== keyHint(pub)) throw new Error(`unknown key hint ${hint}`)
          return {publicKey: pub, validFor: () => true}
        }),
        {tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0},
      )

    it('accepts our bundle and finds our key by its hint', () => {
      const bundle = bundleFromJSON(JSON.parse(serializeBundle(signBlob(data, privateKey))))
      const signer = verifier(publicKey).verify(toSignedEntity(bundle, data))
      expect(keyFingerprint(signer.key)).toBe(keyFingerprint(publicKey))
    })

    it('accepts our P-384 bundle', () => {
      const k = ecKeys('P-384')
      const bundle = bundleFromJSON(JSON.parse(serializeBundle(signBlob(data, k.privateKey))))
      expect(() => verifier(k.publicKey).verify(toSignedEntity(bundle, data))).not.toThrow()
    })

    it('rejects our bundle for tampered content, a tampered signature and another key', () => {
      const json = JSON.parse(serializeBundle(signBlob(data, privateKey)))
      expect(() => verifier(publicKey).verify(toSignedEntity(bundleFromJSON(json), Buffer.from('tampered')))).toThrow(/signature verification failed/)
      const sig = Buffer.from(json.messageSignature.signature, 'base64')
      sig[sig.length - 1]! ^= 1
      const bad = {...json, messageSignature: {...json.messageSignature, signature: sig.toString('base64')}}
      expect(() => verifier(publicKey).verify(toSignedEntity(bundleFromJSON(bad), data))).toThrow(/signature verification failed/)
      expect(() => verifier(other.publicKey).verify(toSignedEntity(bundleFromJSON(json), data))).toThrow(/unknown key hint/)
    })
  })
})
