/** Keys and detached signatures, cosign-compatible (see keys.ts and bundle.ts). */
export {
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
  PRIVATE_KEY_FILE,
  PUBLIC_KEY_FILE,
  publicKeyOf,
  samePublicKey,
  SCRYPT_N_VALUES,
  signatureHashOf,
  SIGSTORE_PRIVATE_KEY_LABEL,
} from './keys.js'
export type {EncryptOptions, KeyPairPem, ScryptN, SignatureHash, SigningKey} from './keys.js'
export {BUNDLE_V03_MEDIA_TYPE, BUNDLE_V03_MEDIA_TYPE_ALIAS, parseBundle, serializeBundle, signBlob, verifyBlob} from './sigstore.js'
export type {BlobVerification, BundleHashAlgorithm, SigstoreBundle} from './sigstore.js'
