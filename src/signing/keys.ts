/**
 * Signing keys in cosign's formats (sigstore/cosign pkg/cosign/keys.go):
 * - private key: PEM `ENCRYPTED SIGSTORE PRIVATE KEY` (older label `ENCRYPTED COSIGN PRIVATE KEY`)
 *   whose body is JSON {kdf: scrypt, cipher: nacl/secretbox, ciphertext} around PKCS#8 DER;
 * - public key: PEM `PUBLIC KEY` (SPKI DER).
 * Only ECDSA P-256 (SHA-256) and P-384 (SHA-384) keys are accepted: cosign v3 signs with Ed25519ph
 * for Ed25519 keys, which Node.js cannot compute, and RSA is out of scope.
 */
import {createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, scrypt, scryptSync} from 'node:crypto'
import type {KeyObject} from 'node:crypto'
import nacl from 'tweetnacl'
import {SpecError, UnsupportedError, UsageError} from '../errors.js'
import type {AirgapErrorOptions} from '../errors.js'
import type {InputFileKind} from '../files/input-file.js'
import {decodeBase64Strict, encodePem, parsePem, PemSyntaxError} from './pem.js'
import type {PemBlock} from './pem.js'

/** PEM label cosign (>= 2.0) writes for encrypted private keys. */
export const SIGSTORE_PRIVATE_KEY_LABEL = 'ENCRYPTED SIGSTORE PRIVATE KEY'
/** PEM label older cosign versions wrote; same content. */
export const COSIGN_PRIVATE_KEY_LABEL = 'ENCRYPTED COSIGN PRIVATE KEY'
export const PUBLIC_KEY_LABEL = 'PUBLIC KEY'

/** scrypt work factors cosign reads and writes (N; r = 8, p = 1). 65536 is cosign's default. */
export const SCRYPT_N_VALUES = [32768, 65536, 131072] as const
export type ScryptN = (typeof SCRYPT_N_VALUES)[number]
const SCRYPT_R = 8
const SCRYPT_P = 1
/** N = 131072, r = 8 needs 128 MiB; Node's default limit (32 MiB) is too small. */
const SCRYPT_MAXMEM = 256 * 1024 * 1024
const SALT_BYTES = 32
const KEY_BYTES = nacl.secretbox.keyLength
const NONCE_BYTES = nacl.secretbox.nonceLength

/** Environment variables the CLI reads the key password from, named in error messages. */
const PASSWORD_SOURCES = 'AIRGAP_KEY_PASSWORD / COSIGN_PASSWORD'
const KEYGEN_HINT = 'create an ECDSA P-256 key pair with `airgap key generate` or `cosign generate-key-pair`'

/** Largest key file read: a PEM key is a few hundred bytes (a file of many blocks stays far below). */
const MAX_KEY_FILE_BYTES = 64 * 1024

/** A public key named by --key / AIRGAP_KEY (cosign.pub). */
export const PUBLIC_KEY_FILE: InputFileKind = {what: 'public key', maxBytes: MAX_KEY_FILE_BYTES, refusal: 'usage', hint: 'pass the cosign.pub of the signer with --key (or AIRGAP_KEY)'}
/** A private key named by --sign-key (cosign.key); refusals are exit 3 like an unreadable key's content (KeyFormatError). */
export const PRIVATE_KEY_FILE: InputFileKind = {what: 'signing key', maxBytes: MAX_KEY_FILE_BYTES, refusal: 'input', hint: 'check the --sign-key path (airgap key generate writes one)'}

/** Hash used to sign with a key: SHA-256 for P-256, SHA-384 for P-384. */
export type SignatureHash = 'sha256' | 'sha384'

/** A decrypted signing key and its public half (the fingerprint that verify prints is the public key's). */
export interface SigningKey {
  privateKey: KeyObject
  publicKey: KeyObject
}

/** A freshly generated key pair, as the text of `cosign.key` and `cosign.pub`. */
export interface KeyPairPem {
  /** Encrypted private key (`ENCRYPTED SIGSTORE PRIVATE KEY`); write it with mode 0600. */
  privateKeyPem: string
  /** Public key (`PUBLIC KEY`, SPKI). */
  publicKeyPem: string
}

export interface EncryptOptions {
  /** scrypt N; default 65536 as cosign. */
  scryptN?: ScryptN
}

/** The key password is wrong (or the encrypted key was altered). */
export class KeyPasswordError extends UsageError {
  override readonly code = 'KEY_PASSWORD'
  constructor(readonly file: string, options: AirgapErrorOptions = {}) {
    super(`cannot decrypt the private key ${file}: wrong password (${PASSWORD_SOURCES})`, {
      hint: options.hint ?? `set AIRGAP_KEY_PASSWORD (or COSIGN_PASSWORD) to the password the key was created with`,
      cause: options.cause,
    })
  }
}

/** A key file that cannot be read: bad PEM, bad cosign envelope, bad DER. */
export class KeyFormatError extends SpecError {
  override readonly code = 'INVALID_KEY'
  constructor(file: string, detail: string, line?: number, options: AirgapErrorOptions = {}) {
    super(`invalid key file ${file}${line === undefined ? '' : `:${line}`}: ${detail}`, file, line === undefined ? undefined : `line ${line}`, {
      hint: options.hint ?? `pass a cosign key file (cosign.key / cosign.pub), or ${KEYGEN_HINT}`,
      cause: options.cause,
    })
  }
}

/**
 * Generate an ECDSA P-256 key pair; the private key is encrypted with `password` in cosign's format
 * (`cosign generate-key-pair` reads and writes the same files).
 */
export function generateKeyPair(password: string, options: EncryptOptions = {}): KeyPairPem {
  const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'})
  return {privateKeyPem: encryptPrivateKey(privateKey, password, options), publicKeyPem: exportPublicKeyPem(publicKey)}
}

/** Encrypt a private key as a cosign `ENCRYPTED SIGSTORE PRIVATE KEY` PEM (scrypt + nacl secretbox). */
export function encryptPrivateKey(privateKey: KeyObject, password: string, options: EncryptOptions = {}): string {
  assertSupportedKey(privateKey, 'the key to encrypt')
  const N = options.scryptN ?? 65536
  if (!SCRYPT_N_VALUES.includes(N)) throw new UsageError(`scrypt N must be one of ${SCRYPT_N_VALUES.join(', ')}, got ${N}`)
  const salt = randomBytes(SALT_BYTES)
  const nonce = randomBytes(NONCE_BYTES)
  const plaintext = privateKey.export({type: 'pkcs8', format: 'der'})
  const secret = deriveSecret(password, salt, N)
  try {
    const ciphertext = nacl.secretbox(plaintext, nonce, secret)
    const envelope = {
      kdf: {name: 'scrypt', params: {N, r: SCRYPT_R, p: SCRYPT_P}, salt: salt.toString('base64')},
      cipher: {name: 'nacl/secretbox', nonce: nonce.toString('base64')},
      ciphertext: Buffer.from(ciphertext).toString('base64'),
    }
    return encodePem(SIGSTORE_PRIVATE_KEY_LABEL, Buffer.from(JSON.stringify(envelope)))
  } finally {
    secret.fill(0)
    plaintext.fill(0)
  }
}

/**
 * Load a signing key from PEM text. Accepts cosign's `ENCRYPTED SIGSTORE PRIVATE KEY` and
 * `ENCRYPTED COSIGN PRIVATE KEY`, PKCS#8 `PRIVATE KEY` / `ENCRYPTED PRIVATE KEY`, and SEC1
 * `EC PRIVATE KEY` (other blocks such as `EC PARAMETERS` are skipped). `file` names the source in
 * errors. Throws KeyPasswordError (wrong password), KeyFormatError (unreadable), UnsupportedError
 * (not ECDSA P-256/P-384). Blocks the thread for scrypt (~0.5 s); see loadPrivateKeyAsync.
 */
export function loadPrivateKey(pem: string, password: string, file = '(inline key)'): KeyObject {
  const load = startPrivateKeyLoad(pem, password, file)
  return load.finish(load.kdf && deriveSecret(password, load.kdf.salt, load.kdf.N))
}

/**
 * loadPrivateKey() with cosign's scrypt step on libuv's thread pool, so the event loop keeps
 * running (downloads can proceed meanwhile). Same inputs, same result, same errors (as rejections).
 */
export async function loadPrivateKeyAsync(pem: string, password: string, file = '(inline key)'): Promise<KeyObject> {
  const load = startPrivateKeyLoad(pem, password, file)
  return load.finish(load.kdf && (await deriveSecretAsync(password, load.kdf.salt, load.kdf.N)))
}

/** A private key load split around its one slow step: `kdf` (if any) names the scrypt inputs. */
interface PrivateKeyLoad {
  kdf?: {salt: Buffer; N: number}
  /** Finish with the derived secret (wiped afterwards); undefined when there is no `kdf`. */
  finish(secret: Buffer | undefined): KeyObject
}

function startPrivateKeyLoad(pem: string, password: string, file: string): PrivateKeyLoad {
  const block = findBlock(pem, file, PRIVATE_LABELS, 'private key')
  if (block.label !== SIGSTORE_PRIVATE_KEY_LABEL && block.label !== COSIGN_PRIVATE_KEY_LABEL) {
    return {finish: () => supported(readStandardPrivateKey(block, password, file), file)}
  }
  const env = parseCosignEnvelope(block, file)
  return {
    kdf: {salt: env.salt, N: env.N},
    finish: (secret) => supported(decryptCosignKey(block, env, secret!, file), file),
  }
}

function supported(key: KeyObject, file: string): KeyObject {
  assertSupportedKey(key, file)
  return key
}

/** Load a `PUBLIC KEY` (SPKI) PEM such as cosign.pub; ECDSA P-256/P-384 only. */
export function loadPublicKey(pem: string, file = '(inline key)'): KeyObject {
  const block = findBlock(pem, file, [PUBLIC_KEY_LABEL], 'public key')
  let key: KeyObject
  try {
    key = createPublicKey({key: block.der, format: 'der', type: 'spki'})
  } catch (err) {
    throw new KeyFormatError(file, `the PUBLIC KEY block is not a valid SPKI public key`, block.line, {cause: err})
  }
  assertSupportedKey(key, file)
  return key
}

/** The public half of a key (a public key is returned as is). */
export function publicKeyOf(key: KeyObject): KeyObject {
  return key.type === 'public' ? key : createPublicKey(key)
}

/** PEM `PUBLIC KEY` text of a key, as cosign writes cosign.pub. */
export function exportPublicKeyPem(key: KeyObject): string {
  return encodePem(PUBLIC_KEY_LABEL, spkiDer(key))
}

/** Stable key id: `sha256:<hex of sha256(SPKI DER)>`. */
export function keyFingerprint(key: KeyObject): string {
  return `sha256:${createHash('sha256').update(spkiDer(key)).digest('hex')}`
}

/** Sigstore bundle key hint, as cosign writes it: base64 of sha256(SPKI DER). */
export function keyHint(key: KeyObject): string {
  return createHash('sha256').update(spkiDer(key)).digest('base64')
}

/** The hash this key signs with. Throws UnsupportedError for keys other than ECDSA P-256/P-384. */
export function signatureHashOf(key: KeyObject, where = 'the key'): SignatureHash {
  return assertSupportedKey(key, where)
}

/** True when both keys have the same public key. */
export function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  return spkiDer(a).equals(spkiDer(b))
}

function spkiDer(key: KeyObject): Buffer {
  return publicKeyOf(key).export({type: 'spki', format: 'der'})
}

const PRIVATE_LABELS = [
  SIGSTORE_PRIVATE_KEY_LABEL,
  COSIGN_PRIVATE_KEY_LABEL,
  'PRIVATE KEY',
  'ENCRYPTED PRIVATE KEY',
  'EC PRIVATE KEY',
]
const UNSUPPORTED_LABELS: Record<string, string> = {
  'RSA PRIVATE KEY': 'RSA keys are not supported',
  'OPENSSH PRIVATE KEY': 'OpenSSH keys are not supported',
  'PGP PRIVATE KEY BLOCK': 'PGP keys are not supported',
}

function findBlock(pem: string, file: string, labels: readonly string[], what: string): PemBlock {
  let blocks: PemBlock[]
  try {
    blocks = parsePem(pem)
  } catch (err) {
    if (err instanceof PemSyntaxError) throw new KeyFormatError(file, err.message, err.line)
    throw err
  }
  const found = blocks.find((b) => labels.includes(b.label))
  if (found) return found
  const unsupported = blocks.find((b) => UNSUPPORTED_LABELS[b.label] !== undefined)
  if (unsupported) {
    throw new UnsupportedError(`unsupported key in ${file}: ${UNSUPPORTED_LABELS[unsupported.label]}; airgap signs with ECDSA P-256`, {hint: KEYGEN_HINT})
  }
  const seen = blocks.length ? `found ${blocks.map((b) => b.label).join(', ')}` : 'found no PEM block'
  throw new KeyFormatError(file, `no ${what} (${seen})`, undefined, {
    hint: what === 'public key' ? 'pass the public key file (cosign.pub, "-----BEGIN PUBLIC KEY-----")' : `pass the private key file (cosign.key), or ${KEYGEN_HINT}`,
  })
}

interface CosignEnvelope {
  N: number
  salt: Buffer
  nonce: Buffer
  ciphertext: Buffer
}

function decryptCosignKey(block: PemBlock, env: CosignEnvelope, secret: Buffer, file: string): KeyObject {
  let plaintext: Uint8Array | null
  try {
    plaintext = nacl.secretbox.open(env.ciphertext, env.nonce, secret)
  } finally {
    secret.fill(0)
  }
  if (plaintext === null) throw new KeyPasswordError(file)
  try {
    return createPrivateKey({key: Buffer.from(plaintext), format: 'der', type: 'pkcs8'})
  } catch (err) {
    // cosign itself rejects a SEC1 key here ("use ParseECPrivateKey instead"); so do we.
    throw new KeyFormatError(file, 'the decrypted key is not PKCS#8 DER', block.line, {cause: err})
  } finally {
    plaintext.fill(0)
  }
}

function parseCosignEnvelope(block: PemBlock, file: string): CosignEnvelope {
  const bad = (detail: string): KeyFormatError => new KeyFormatError(file, `${block.label}: ${detail}`, block.line)
  let json: unknown
  try {
    json = JSON.parse(block.der.toString('utf8'))
  } catch {
    throw bad('the body is not the JSON envelope cosign writes')
  }
  const kdf = field(json, 'kdf')
  const params = field(kdf, 'params')
  const cipher = field(json, 'cipher')
  if (field(kdf, 'name') !== 'scrypt') throw bad(`kdf.name must be "scrypt"`)
  if (field(cipher, 'name') !== 'nacl/secretbox') throw bad(`cipher.name must be "nacl/secretbox"`)
  const N = field(params, 'N')
  if (typeof N !== 'number' || !(SCRYPT_N_VALUES as readonly number[]).includes(N)) {
    throw bad(`kdf.params.N must be one of ${SCRYPT_N_VALUES.join(', ')}`)
  }
  if (field(params, 'r') !== SCRYPT_R || field(params, 'p') !== SCRYPT_P) throw bad(`kdf.params must have r = 8 and p = 1`)
  const salt = base64Field(field(kdf, 'salt'))
  const nonce = base64Field(field(cipher, 'nonce'))
  const ciphertext = base64Field(field(json, 'ciphertext'))
  if (!salt || salt.length < 16) throw bad('kdf.salt must be base64 of at least 16 bytes')
  if (!nonce || nonce.length !== NONCE_BYTES) throw bad(`cipher.nonce must be base64 of ${NONCE_BYTES} bytes`)
  if (!ciphertext || ciphertext.length <= nacl.secretbox.overheadLength) throw bad('ciphertext must be base64 of the sealed key')
  return {N, salt, nonce, ciphertext}
}

function field(obj: unknown, name: string): unknown {
  return typeof obj === 'object' && obj !== null && !Array.isArray(obj) ? (obj as Record<string, unknown>)[name] : undefined
}

function base64Field(v: unknown): Buffer | undefined {
  return typeof v === 'string' ? decodeBase64Strict(v) : undefined
}

function deriveSecret(password: string, salt: Uint8Array, N: number): Buffer {
  return scryptSync(Buffer.from(password, 'utf8'), salt, KEY_BYTES, {N, r: SCRYPT_R, p: SCRYPT_P, maxmem: SCRYPT_MAXMEM})
}

/** deriveSecret() on the libuv thread pool. */
function deriveSecretAsync(password: string, salt: Uint8Array, N: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(password, 'utf8'), salt, KEY_BYTES, {N, r: SCRYPT_R, p: SCRYPT_P, maxmem: SCRYPT_MAXMEM}, (err, key) => {
      if (err) reject(err)
      else resolve(key)
    })
  })
}

function readStandardPrivateKey(block: PemBlock, password: string, file: string): KeyObject {
  const encrypted = block.label === 'ENCRYPTED PRIVATE KEY' || /ENCRYPTED/.test(block.headers['Proc-Type'] ?? '')
  try {
    return encrypted
      ? createPrivateKey({key: block.text, format: 'pem', passphrase: password})
      : createPrivateKey({key: block.der, format: 'der', type: block.label === 'EC PRIVATE KEY' ? 'sec1' : 'pkcs8'})
  } catch (err) {
    if (encrypted && isDecryptFailure(err)) throw new KeyPasswordError(file, {cause: err})
    if (isUnsupportedCurve(err)) {
      throw new UnsupportedError(`unsupported key in ${file}: the EC curve is not supported; airgap signs with ECDSA P-256`, {hint: KEYGEN_HINT, cause: err})
    }
    throw new KeyFormatError(file, `the ${block.label} block is not a valid private key`, block.line, {cause: err})
  }
}

function isDecryptFailure(err: unknown): boolean {
  const text = `${(err as {code?: string}).code ?? ''} ${(err as Error).message ?? ''}`
  return /BAD_DECRYPT|bad decrypt|DECODER|INTERRUPTED_OR_CANCELLED/i.test(text)
}

function isUnsupportedCurve(err: unknown): boolean {
  return /curve|UNSUPPORTED_ALGORITHM/i.test(`${(err as {code?: string}).code ?? ''} ${(err as Error).message ?? ''}`)
}

/** Check the key is ECDSA P-256 or P-384 and return the hash it signs with. */
function assertSupportedKey(key: KeyObject, where: string): SignatureHash {
  const type = key.asymmetricKeyType
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve
    if (curve === 'prime256v1') return 'sha256'
    if (curve === 'secp384r1') return 'sha384'
    throw new UnsupportedError(`unsupported key in ${where}: ECDSA curve ${curve ?? 'unknown'}; airgap accepts ECDSA P-256 and P-384`, {hint: KEYGEN_HINT})
  }
  if (type === 'ed25519') {
    throw new UnsupportedError(
      `unsupported key in ${where}: Ed25519 (cosign v3 signs Ed25519 keys with Ed25519ph, which Node.js cannot compute); airgap signs with ECDSA P-256`,
      {hint: KEYGEN_HINT},
    )
  }
  throw new UnsupportedError(`unsupported key in ${where}: ${type ?? 'unknown'} keys are not supported; airgap signs with ECDSA P-256`, {hint: KEYGEN_HINT})
}
