import {execFileSync} from 'node:child_process'
import {createHash, generateKeyPairSync} from 'node:crypto'
import {describe, expect, it} from 'vitest'
import {ExitCode, SpecError, UnsupportedError, UsageError} from '../errors.js'
import {
  COSIGN_PRIVATE_KEY_LABEL,
  encryptPrivateKey,
  exportPublicKeyPem,
  generateKeyPair,
  keyFingerprint,
  KeyFormatError,
  keyHint,
  KeyPasswordError,
  loadPrivateKey,
  loadPrivateKeyAsync,
  loadPublicKey,
  publicKeyOf,
  samePublicKey,
  signatureHashOf,
  SIGSTORE_PRIVATE_KEY_LABEL,
} from './keys.js'
import {encodePem, parsePem} from './pem.js'

// Test vectors copied from sigstore/cosign (Apache-2.0): pkg/cosign/keys_test.go (password "hello")
// and test/testdata/test_blob_private_key + test_blob_public_key.
const COSIGN_SIGSTORE_KEY = `-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjozMjc2OCwiciI6
OCwicCI6MX0sInNhbHQiOiI3T3VGd2VsbWZZNXVId2NoaURSc210anNwZ2ZlZjFG
Mk5lOGFDTjVLYVpZPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiJQNHk4OGhCb3ZTa09MbXN0bFVBaGJwdDJ0K2xTNUxQSCJ9LCJj
aXBoZXJ0ZXh0IjoiMnB1QzdyZldJOWh3bnJlQ2s4aUZDRlVwQlRrSzRJNlIvbFBF
cnBDekpXUGpJWXl4eGVIL1A2VW52cFJHdVhla1NNb3JMdGhLamdoQ1JlNy82NDVH
QWtoVm1LRC92eEF0S2EvbE1abENSQ3FlekJGUFd1dzNpeFRtZ2xhb2J1ZFVSbUVs
bmNGOGlZbzBTMVl6Y1ZOMVFwY2J2c0dNcUlYRzVlbmdteGp5dCtBcXlyZTF0Q0Y0
V01tU1BlaEljNlBqd2h1Q2xHaVpJUWRvTGc9PSJ9
-----END ENCRYPTED SIGSTORE PRIVATE KEY-----`

// cosign's "COSIGN labeled EC key": the sealed plaintext is SEC1, which cosign's LoadPrivateKey refuses.
const COSIGN_SEC1_KEY = `-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjo2NTUzNiwiciI6
OCwicCI6MX0sInNhbHQiOiJHK3F5WTYrNzhNS0JzMXNGTGs1ajYwcS9kS3Z1czBW
VkhlSHZybC9POTF3PSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiJRc2JGdG13WDRDK2ttV3ZCcVRaMEFGOUFYdk1jRmg1SCJ9LCJj
aXBoZXJ0ZXh0IjoiREM5T28zeldiYVQzSXYwdFVnWEdycjUxYW1samwwNlQ5MTNP
VkxPbWpuMWhnK2o2WXRUbWg3SGhZSlY1N2J5eGE0Q281bE9YYmRqbTJ3aklubEd1
Um5aZCt5OExnekpSNzFSeEhKVzgrWmRlcFJmYWJMTjdHbDgrSFZEcERVQ3NxQnRh
VngyblpGbFEwWUl1anZwbFphblNGaUVvdERLVGkxZ3VhUXIwUHNzYU01NXZxbTRY
WS9rPSJ9
-----END ENCRYPTED COSIGN PRIVATE KEY-----`

// cosign names it "COSIGN labeled RSA key", but it seals an ECDSA P-256 key.
const COSIGN_LEGACY_LABEL_KEY = `-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----
eyJrZGYiOnsibmFtZSI6InNjcnlwdCIsInBhcmFtcyI6eyJOIjozMjc2OCwiciI6
OCwicCI6MX0sInNhbHQiOiJ4WWdoc09JTUxUWGNOT0RsclNIOUNKc1FlOVFnZmN1
cmUrMXlLdHh1TlkwPSJ9LCJjaXBoZXIiOnsibmFtZSI6Im5hY2wvc2VjcmV0Ym94
Iiwibm9uY2UiOiI0cS9PSlVmaXJkSUkrUjZ0ajZBMmcyQ0JqL25xdFNicCJ9LCJj
aXBoZXJ0ZXh0IjoiKzB4Q3NzcFN0WStBczdKanJpOWtsbHBWd2JhcUI4ZWJNdWto
eS9aVE1MSXRsL3B1YS9jWVJvbytLRGxMWWdmOW1kSjk4K1FnQW9oTktoYnJPMTcw
MHdBY1JTMjFDOE4zQUNJRUVZaWpOMllBNnMraGJSbkhjUnd4eGhDMDFtb2FvL0dO
Y1pmbEJheXZMV3pXblo4d2NDZ2ZpT1o1VXlRTEFJMHh0dnR6dEh3cTdDV1Vhd3V4
RlhlNDZzck9TUE9SNHN6bytabWErUGovSFE9PSJ9
-----END ENCRYPTED COSIGN PRIVATE KEY-----`

const COSIGN_BLOB_PRIVATE_KEY = `-----BEGIN EC PARAMETERS-----
BggqhkjOPQMBBw==
-----END EC PARAMETERS-----
-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIMJRdxVQ7AH6z1BlE9ucEMSAQhY431IFHe0oVCH7Iw49oAoGCCqGSM49
AwEHoUQDQgAEdUOIQdY7WoK3bFccoLQ2v65YtNFO5/9SPzUsPMqDEUPjDgI0YYN4
LXFdLYWt+C+tedKiYq0B236HLGqPF+sBZg==
-----END EC PRIVATE KEY-----
`
const COSIGN_BLOB_PUBLIC_KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEdUOIQdY7WoK3bFccoLQ2v65YtNFO
5/9SPzUsPMqDEUPjDgI0YYN4LXFdLYWt+C+tedKiYq0B236HLGqPF+sBZg==
-----END PUBLIC KEY-----
`
const COSIGN_EC_PKCS8 = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgmKnLL81dCEYc6Spq
rFukFeTnU5JjtXfeNHAXJj3hYTahRANCAATjp4/Z4tUbZwUdId07GQeUdwLll4Br
YLP25Fk+mBY2G0lyKqjqLG5hxhimbEJH6j+lzg5tcYpQgzXtOJ66Zi0N
-----END PRIVATE KEY-----`
const COSIGN_EC_P384 = `-----BEGIN EC PRIVATE KEY-----
MIGkAgEBBDDWIebxSdyJVber6J/l5MKnD0+VU0b7fcjY/RbIxuIsHLVIvwJrSohY
r3gJ/iJmIKGgBwYFK4EEACKhZANiAAQeoKZkkc1GafmIgp1tbNbMBjr2EdvX2dtT
lGhzHJgE0YB6TavazcYH1iOBNmX7/pInCopiyWbjF/5olrRKJMG6DQz80td++fYf
O4tr+Z3nyUgRGmf/fqYA4PSN30CuOMU=
-----END EC PRIVATE KEY-----`
const COSIGN_EC_P521 = `-----BEGIN EC PRIVATE KEY-----
MIHcAgEBBEIA3JhHw1bhJyNnK80SPnvuIY9h++IaEhZcHR7SDHzMnFf72O5fF/RI
c+Dbd9lTfrP3Oy9BOC1opvXHvr5tqzV0MregBwYFK4EEACOhgYkDgYYABAALA20e
WqTf2chokKaCmxfnhs1lW70/J8slBzKBG6x3OjJX+yrpkDqe8zpkN08E+RZA8RSE
9TqbcXVHGtR6tj0IMgEFmybW+efJr4nz/iBvchGeIg1HtOX5V97z0bmwsCgQCD8L
4cNcYkeNJazrzzXte5Y5DK4Vm8QE4Jkux6FCw19QhQ==
-----END EC PRIVATE KEY-----`
const COSIGN_ED25519 = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIALEbo1EFnWFqBK/wC+hhypG/8hXEerwdNetAoFoFVdv
-----END PRIVATE KEY-----`

/** Decode the JSON envelope inside a cosign encrypted key PEM. */
function envelopeOf(pem: string): any {
  return JSON.parse(parsePem(pem)[0]!.der.toString('utf8'))
}
function withEnvelope(env: unknown, label = SIGSTORE_PRIVATE_KEY_LABEL): string {
  return encodePem(label, Buffer.from(JSON.stringify(env)))
}
function openssl(args: string[], input?: string | Buffer): Buffer {
  return execFileSync('openssl', args, {input, stdio: ['pipe', 'pipe', 'pipe']})
}

describe('generateKeyPair', () => {
  const password = 'correct horse battery staple'
  const pair = generateKeyPair(password)

  it('writes the cosign envelope: scrypt N=65536 r=8 p=1, 32-byte salt, nacl/secretbox, 24-byte nonce', () => {
    const blocks = parsePem(pair.privateKeyPem)
    expect(blocks.map((b) => b.label)).toEqual([SIGSTORE_PRIVATE_KEY_LABEL])
    const env = envelopeOf(pair.privateKeyPem)
    expect(Object.keys(env)).toEqual(['kdf', 'cipher', 'ciphertext'])
    expect(env.kdf.name).toBe('scrypt')
    expect(env.kdf.params).toEqual({N: 65536, r: 8, p: 1})
    expect(Buffer.from(env.kdf.salt, 'base64')).toHaveLength(32)
    expect(env.cipher.name).toBe('nacl/secretbox')
    expect(Buffer.from(env.cipher.nonce, 'base64')).toHaveLength(24)
    expect(pair.privateKeyPem).not.toContain(password)
  })

  it('round-trips: the right password gives the private key of the public key', () => {
    const key = loadPrivateKey(pair.privateKeyPem, password, 'cosign.key')
    const pub = loadPublicKey(pair.publicKeyPem, 'cosign.pub')
    expect(key.type).toBe('private')
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1')
    expect(samePublicKey(key, pub)).toBe(true)
    expect(keyFingerprint(key)).toBe(keyFingerprint(pub))
  })

  it('refuses a wrong password with KeyPasswordError (exit 2) naming the file and the variables, not the password', () => {
    const err = catchError(() => loadPrivateKey(pair.privateKeyPem, 'Tr0ub4dor&3', 'keys/cosign.key'))
    expect(err).toBeInstanceOf(KeyPasswordError)
    expect(err).toBeInstanceOf(UsageError)
    expect((err as KeyPasswordError).exitCode).toBe(ExitCode.USAGE)
    expect((err as Error).message).toBe('cannot decrypt the private key keys/cosign.key: wrong password (AIRGAP_KEY_PASSWORD / COSIGN_PASSWORD)')
    expect((err as Error).message).not.toContain('Tr0ub4dor')
    expect((err as KeyPasswordError).hint).toMatch(/AIRGAP_KEY_PASSWORD/)
  })

  it('writes a public key that openssl reads as an EC P-256 SPKI key', () => {
    const text = openssl(['pkey', '-pubin', '-noout', '-text'], pair.publicKeyPem).toString()
    expect(text).toMatch(/NIST CURVE: P-256|prime256v1/)
  })

  it('encrypts with an empty password too (cosign allows COSIGN_PASSWORD="")', () => {
    const p = generateKeyPair('', {scryptN: 32768})
    expect(envelopeOf(p.privateKeyPem).kdf.params.N).toBe(32768)
    expect(samePublicKey(loadPrivateKey(p.privateKeyPem, ''), loadPublicKey(p.publicKeyPem))).toBe(true)
    expect(() => loadPrivateKey(p.privateKeyPem, 'x')).toThrow(KeyPasswordError)
  })
})

describe('loadPrivateKey with cosign test vectors (password "hello")', () => {
  it('decrypts cosign\'s ENCRYPTED SIGSTORE PRIVATE KEY (N=32768) to an ECDSA P-256 key', () => {
    expect(envelopeOf(COSIGN_SIGSTORE_KEY).kdf.params.N).toBe(32768)
    const key = loadPrivateKey(COSIGN_SIGSTORE_KEY, 'hello')
    expect(key.asymmetricKeyType).toBe('ec')
    expect(signatureHashOf(key)).toBe('sha256')
    expect(() => loadPrivateKey(COSIGN_SIGSTORE_KEY, 'hello!')).toThrow(KeyPasswordError)
  })

  it('accepts the older ENCRYPTED COSIGN PRIVATE KEY label for the same envelope', () => {
    const relabelled = withEnvelope(envelopeOf(COSIGN_SIGSTORE_KEY), COSIGN_PRIVATE_KEY_LABEL)
    expect(samePublicKey(loadPrivateKey(relabelled, 'hello'), loadPrivateKey(COSIGN_SIGSTORE_KEY, 'hello'))).toBe(true)
  })

  it('decrypts cosign\'s ENCRYPTED COSIGN PRIVATE KEY vector (older label)', () => {
    expect(parsePem(COSIGN_LEGACY_LABEL_KEY)[0]!.label).toBe(COSIGN_PRIVATE_KEY_LABEL)
    expect(signatureHashOf(loadPrivateKey(COSIGN_LEGACY_LABEL_KEY, 'hello'))).toBe('sha256')
    expect(() => loadPrivateKey(COSIGN_LEGACY_LABEL_KEY, 'hell0', 'old.key')).toThrow(KeyPasswordError)
  })

  it('refuses RSA keys as unsupported', () => {
    const rsa = generateKeyPairSync('rsa', {modulusLength: 2048}).privateKey.export({type: 'pkcs8', format: 'pem'}) as string
    const err = catchError(() => loadPrivateKey(rsa, '', 'rsa.key'))
    expect(err).toBeInstanceOf(UnsupportedError)
    expect((err as Error).message).toBe('unsupported key in rsa.key: rsa keys are not supported; airgap signs with ECDSA P-256')
  })

  it('refuses a sealed SEC1 key as cosign does (not PKCS#8)', () => {
    expect(() => loadPrivateKey(COSIGN_SEC1_KEY, 'hello', 'ec.key')).toThrow(/invalid key file ec\.key:1: the decrypted key is not PKCS#8 DER/)
  })

  it('reads cosign\'s test_blob_private_key (EC PARAMETERS + EC PRIVATE KEY) and it matches test_blob_public_key', () => {
    const key = loadPrivateKey(COSIGN_BLOB_PRIVATE_KEY, '')
    const pub = loadPublicKey(COSIGN_BLOB_PUBLIC_KEY)
    expect(samePublicKey(key, pub)).toBe(true)
    expect(exportPublicKeyPem(key)).toBe(COSIGN_BLOB_PUBLIC_KEY)
  })

  it('reads unencrypted PKCS#8 P-256 and SEC1 P-384 keys (P-384 signs with SHA-384)', () => {
    expect(signatureHashOf(loadPrivateKey(COSIGN_EC_PKCS8, ''))).toBe('sha256')
    expect(signatureHashOf(loadPrivateKey(COSIGN_EC_P384, ''))).toBe('sha384')
  })

  it('refuses Ed25519 (cosign v3 uses Ed25519ph) and P-521 with UnsupportedError', () => {
    const ed = catchError(() => loadPrivateKey(COSIGN_ED25519, '', 'ed.key'))
    expect(ed).toBeInstanceOf(UnsupportedError)
    expect((ed as Error).message).toMatch(/^unsupported key in ed\.key: Ed25519 \(cosign v3 signs Ed25519 keys with Ed25519ph/)
    expect((ed as UnsupportedError).hint).toMatch(/airgap key generate/)
    expect(() => loadPrivateKey(COSIGN_EC_P521, '', 'p521.key')).toThrow(/unsupported key in p521\.key: ECDSA curve secp521r1/)
  })
})

describe('loadPrivateKey with other formats and damaged input', () => {
  const ec = generateKeyPairSync('ec', {namedCurve: 'P-256'}).privateKey

  it('reads password-protected PKCS#8 (ENCRYPTED PRIVATE KEY) and legacy OpenSSL (Proc-Type) keys', () => {
    const pkcs8 = ec.export({type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw'}) as string
    const legacy = ec.export({type: 'sec1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw'}) as string
    expect(legacy).toContain('Proc-Type: 4,ENCRYPTED')
    for (const pem of [pkcs8, legacy]) {
      expect(samePublicKey(loadPrivateKey(pem, 'pw'), ec)).toBe(true)
      expect(() => loadPrivateKey(pem, 'wrong', 'k.pem')).toThrow(KeyPasswordError)
      expect(() => loadPrivateKey(pem, '', 'k.pem')).toThrow(KeyPasswordError)
    }
  })

  it('round-trips encryptPrivateKey at N=131072', () => {
    const pem = encryptPrivateKey(ec, 'pw', {scryptN: 131072})
    expect(envelopeOf(pem).kdf.params.N).toBe(131072)
    expect(samePublicKey(loadPrivateKey(pem, 'pw'), ec)).toBe(true)
  })

  it('treats a flipped ciphertext byte like a wrong password (secretbox authenticates)', () => {
    const env = envelopeOf(encryptPrivateKey(ec, 'pw', {scryptN: 32768}))
    const ct = Buffer.from(env.ciphertext, 'base64')
    ct[10]! ^= 1
    expect(() => loadPrivateKey(withEnvelope({...env, ciphertext: ct.toString('base64')}), 'pw')).toThrow(KeyPasswordError)
  })

  it('refuses envelopes with other KDF parameters, cipher or bad base64 with KeyFormatError (exit 3)', () => {
    const env = envelopeOf(encryptPrivateKey(ec, 'pw', {scryptN: 32768}))
    const cases: Array<[unknown, RegExp]> = [
      [{...env, kdf: {...env.kdf, params: {N: 1024, r: 8, p: 1}}}, /kdf\.params\.N must be one of 32768, 65536, 131072/],
      [{...env, kdf: {...env.kdf, params: {N: 32768, r: 16, p: 1}}}, /r = 8 and p = 1/],
      [{...env, kdf: {...env.kdf, name: 'argon2'}}, /kdf\.name must be "scrypt"/],
      [{...env, cipher: {...env.cipher, name: 'aes-gcm'}}, /cipher\.name must be "nacl\/secretbox"/],
      [{...env, cipher: {...env.cipher, nonce: 'AAAA'}}, /cipher\.nonce must be base64 of 24 bytes/],
      [{...env, ciphertext: 'not base64!'}, /ciphertext must be base64/],
      [{...env, kdf: undefined}, /kdf\.name must be "scrypt"/],
    ]
    for (const [bad, message] of cases) {
      const err = catchError(() => loadPrivateKey(withEnvelope(bad), 'pw', 'cosign.key'))
      expect(err).toBeInstanceOf(KeyFormatError)
      expect(err).toBeInstanceOf(SpecError)
      expect((err as KeyFormatError).exitCode).toBe(ExitCode.SPEC)
      expect((err as Error).message).toMatch(/^invalid key file cosign\.key:1: ENCRYPTED SIGSTORE PRIVATE KEY: /)
      expect((err as Error).message).toMatch(message)
    }
    expect(() => loadPrivateKey(encodePem(SIGSTORE_PRIVATE_KEY_LABEL, Buffer.from('{nope')), 'pw')).toThrow(/not the JSON envelope/)
  })

  it('names what it found when the file holds no private key, and the line of broken PEM', () => {
    const pubPem = exportPublicKeyPem(ec)
    expect(() => loadPrivateKey(pubPem, '', 'cosign.pub')).toThrow('invalid key file cosign.pub: no private key (found PUBLIC KEY)')
    expect(() => loadPrivateKey('hello', '', 'x.key')).toThrow('invalid key file x.key: no private key (found no PEM block)')
    expect(() => loadPrivateKey('\n-----BEGIN PRIVATE KEY-----\nAAAA\n', '', 'x.key')).toThrow('invalid key file x.key:2: PEM block "PRIVATE KEY" has no END line')
    expect(() => loadPrivateKey('-----BEGIN PRIVATE KEY-----\n@@@@\n-----END PRIVATE KEY-----\n', '', 'x.key')).toThrow(/x\.key:1: PEM block "PRIVATE KEY" does not hold base64 data/)
    expect(() => loadPrivateKey('-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n', '', 'x.key')).toThrow(/x\.key:1: the PRIVATE KEY block is not a valid private key/)
    expect(() => loadPrivateKey('-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n', '', 'r.key')).toThrow(UnsupportedError)
  })
})

describe('loadPublicKey and key ids', () => {
  it('refuses a private key file where a public key is expected', () => {
    expect(() => loadPublicKey(COSIGN_EC_PKCS8, 'cosign.key')).toThrow('invalid key file cosign.key: no public key (found PRIVATE KEY)')
  })

  it('computes fingerprint and hint from the SPKI DER, as openssl does', () => {
    const pub = loadPublicKey(COSIGN_BLOB_PUBLIC_KEY)
    const der = openssl(['pkey', '-pubin', '-outform', 'DER'], COSIGN_BLOB_PUBLIC_KEY)
    expect(keyFingerprint(pub)).toBe(`sha256:${createHash('sha256').update(der).digest('hex')}`)
    expect(keyHint(pub)).toBe(createHash('sha256').update(der).digest('base64'))
    expect(keyFingerprint(pub)).toMatch(/^sha256:[0-9a-f]{64}$/)
    expect(publicKeyOf(pub)).toBe(pub)
  })
})

function catchError(fn: () => unknown): unknown {
  try {
    fn()
  } catch (err) {
    return err
  }
  throw new Error('expected an error')
}

describe('loadPrivateKeyAsync (scrypt on the thread pool)', () => {
  it('decrypts cosign\'s vectors to the same keys as loadPrivateKey', async () => {
    const key = await loadPrivateKeyAsync(COSIGN_SIGSTORE_KEY, 'hello', 'cosign.key')
    expect(signatureHashOf(key)).toBe('sha256')
    expect(samePublicKey(key, loadPrivateKey(COSIGN_SIGSTORE_KEY, 'hello'))).toBe(true)
    expect(samePublicKey(await loadPrivateKeyAsync(COSIGN_LEGACY_LABEL_KEY, 'hello'), loadPrivateKey(COSIGN_LEGACY_LABEL_KEY, 'hello'))).toBe(true)
    expect(samePublicKey(await loadPrivateKeyAsync(COSIGN_EC_PKCS8, ''), loadPrivateKey(COSIGN_EC_PKCS8, ''))).toBe(true)
  })

  it('rejects a wrong password with the same KeyPasswordError (exit 2) as the sync loader', async () => {
    const err = await loadPrivateKeyAsync(COSIGN_SIGSTORE_KEY, 'hello!', 'keys/cosign.key').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KeyPasswordError)
    expect((err as UsageError).exitCode).toBe(ExitCode.USAGE)
    expect((err as Error).message).toBe((catchError(() => loadPrivateKey(COSIGN_SIGSTORE_KEY, 'hello!', 'keys/cosign.key')) as Error).message)
    expect((err as Error).message).not.toContain('hello!')
  })

  it('rejects unreadable and unsupported keys as the sync loader throws', async () => {
    await expect(loadPrivateKeyAsync(COSIGN_SEC1_KEY, 'hello', 'sec1.key')).rejects.toThrow(KeyFormatError)
    await expect(loadPrivateKeyAsync(COSIGN_ED25519, '', 'ed.key')).rejects.toThrow(UnsupportedError)
    await expect(loadPrivateKeyAsync('not a key', '', 'x.key')).rejects.toThrow(KeyFormatError)
  })

  it('leaves the event loop free while scrypt runs (N=131072: a timer keeps firing)', async () => {
    const pem = generateKeyPair('pw', {scryptN: 131072}).privateKeyPem
    let ticks = 0
    const timer = setInterval(() => ticks++, 5)
    const started = Date.now()
    try {
      const key = await loadPrivateKeyAsync(pem, 'pw', 'cosign.key')
      expect(key.asymmetricKeyType).toBe('ec')
    } finally {
      clearInterval(timer)
    }
    const elapsed = Date.now() - started
    // a blocked loop would see 0 ticks; allow for a loaded machine
    expect(ticks).toBeGreaterThanOrEqual(Math.min(5, Math.floor(elapsed / 20)))
    expect(ticks).toBeGreaterThan(0)
  })
})
