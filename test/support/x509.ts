/**
 * X.509 certificates made in the test (ECDSA P-256, SHA-256): a root CA, an intermediate CA and a
 * Fulcio-shaped leaf (code signing, SAN email or URI, the OIDC issuer in the Fulcio extensions
 * 1.3.6.1.4.1.57264.1.8 (DER UTF8String) and the legacy 1.3.6.1.4.1.57264.1.1 (raw bytes)).
 */
import {createHash, generateKeyPairSync, sign, type KeyObject} from 'node:crypto'
import {bitString, boolean, explicit, implicit, integer, namedBits, octetString, oid, sequence, set, utcTime, utf8String} from './der.js'

export const OID_FULCIO_ISSUER_V1 = '1.3.6.1.4.1.57264.1.1'
export const OID_FULCIO_ISSUER_V2 = '1.3.6.1.4.1.57264.1.8'
const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'))

export interface EcKeyPair {
  privateKey: KeyObject
  publicKey: KeyObject
}

export function ecKeyPair(): EcKeyPair {
  return generateKeyPairSync('ec', {namedCurve: 'P-256'})
}

export interface TestCertificate extends EcKeyPair {
  der: Buffer
  pem: string
  /** The subject Name, DER (the issuer of what it signs). */
  name: Buffer
  /** SHA-1 of the public key bit string (subjectKeyIdentifier). */
  keyId: Buffer
}

export interface CertificateOptions {
  commonName: string
  /** Signing certificate; absent = self-signed. */
  issuer?: TestCertificate
  ca?: boolean
  notBefore?: Date
  notAfter?: Date
  /** SAN: `email:addr` or `uri:https://…`. */
  san?: string
  /** OIDC issuer in the Fulcio v2 extension (and, when `legacyIssuer`, in the v1 extension). */
  oidcIssuer?: string
  /** Put the issuer in the legacy v1 extension only. */
  legacyIssuerOnly?: boolean
  keys?: EcKeyPair
  serial?: number
}

function extension(id: string, value: Buffer, critical = false): Buffer {
  return critical ? sequence(oid(id), boolean(true), octetString(value)) : sequence(oid(id), octetString(value))
}

function keyIdOf(spki: Buffer): Buffer {
  // subjectPublicKey BIT STRING is the last element of the SPKI sequence; hash its bits (RFC 5280 4.2.1.2 (1)).
  const point = spki.subarray(spki.length - 65)
  return createHash('sha1').update(point).digest()
}

export function makeCertificate(opts: CertificateOptions): TestCertificate {
  const keys = opts.keys ?? ecKeyPair()
  const spki = keys.publicKey.export({type: 'spki', format: 'der'})
  const keyId = keyIdOf(spki)
  const name = sequence(set(sequence(oid('2.5.4.10'), utf8String('airgap test'))), set(sequence(oid('2.5.4.3'), utf8String(opts.commonName))))
  const issuerName = opts.issuer?.name ?? name
  const signer = opts.issuer?.privateKey ?? keys.privateKey
  const extensions: Buffer[] = []
  if (opts.ca) {
    extensions.push(extension('2.5.29.19', sequence(boolean(true)), true))
    extensions.push(extension('2.5.29.15', namedBits(5, 6), true)) // keyCertSign, cRLSign
  } else {
    extensions.push(extension('2.5.29.15', namedBits(0), true)) // digitalSignature
    extensions.push(extension('2.5.29.37', sequence(oid('1.3.6.1.5.5.7.3.3')))) // codeSigning
  }
  extensions.push(extension('2.5.29.14', octetString(keyId)))
  extensions.push(extension('2.5.29.35', sequence(implicit(0, opts.issuer?.keyId ?? keyId))))
  if (opts.san) {
    const [kind, value] = [opts.san.slice(0, opts.san.indexOf(':')), opts.san.slice(opts.san.indexOf(':') + 1)]
    const general = kind === 'email' ? implicit(1, Buffer.from(value, 'ascii')) : implicit(6, Buffer.from(value, 'ascii'))
    extensions.push(extension('2.5.29.17', sequence(general), true))
  }
  if (opts.oidcIssuer) {
    extensions.push(extension(OID_FULCIO_ISSUER_V1, Buffer.from(opts.oidcIssuer, 'ascii')))
    if (!opts.legacyIssuerOnly) extensions.push(extension(OID_FULCIO_ISSUER_V2, utf8String(opts.oidcIssuer)))
  }
  const notBefore = opts.notBefore ?? new Date(Date.now() - 3600_000)
  const notAfter = opts.notAfter ?? new Date(Date.now() + 365 * 24 * 3600_000)
  const tbs = sequence(
    explicit(0, integer(2)),
    integer(opts.serial ?? Math.floor(Math.random() * 2 ** 40)),
    ECDSA_WITH_SHA256,
    issuerName,
    sequence(utcTime(notBefore), utcTime(notAfter)),
    name,
    spki,
    explicit(3, sequence(...extensions)),
  )
  const der = sequence(tbs, ECDSA_WITH_SHA256, bitString(sign('sha256', tbs, signer)))
  const pem = `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`
  return {...keys, der, pem, name, keyId}
}

/** A root -> intermediate CA chain (the Fulcio shape). */
export interface TestCa {
  root: TestCertificate
  intermediate: TestCertificate
  /** A leaf for `san` and `oidcIssuer`, valid from `notBefore` (default: an hour ago) for ten minutes (Fulcio) or `notAfter`. */
  leaf(opts: Omit<CertificateOptions, 'issuer' | 'ca' | 'commonName'>): TestCertificate
}

export function makeCa(name = 'airgap test'): TestCa {
  const root = makeCertificate({commonName: `${name} root`, ca: true})
  const intermediate = makeCertificate({commonName: `${name} intermediate`, ca: true, issuer: root})
  return {
    root,
    intermediate,
    leaf: (opts) => {
      const notBefore = opts.notBefore ?? new Date(Date.now() - 60_000)
      return makeCertificate({commonName: 'sigstore', issuer: intermediate, ...opts, notBefore, notAfter: opts.notAfter ?? new Date(notBefore.getTime() + 10 * 60_000)})
    },
  }
}
