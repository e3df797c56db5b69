import {UsageError} from '../errors.js'
import {writeFileAtomic} from '../files/atomic-write.js'
import {generateKeyPair, keyFingerprint, loadPublicKey} from '../signing/index.js'

export interface GenerateKeyOptions {
  /** Path prefix: writes PREFIX.key and PREFIX.pub (default "cosign", like cosign). */
  prefix: string
  password: string
  /** Overwrite existing files. */
  force?: boolean
}

export interface GenerateKeyResult {
  privateKeyFile: string
  publicKeyFile: string
  /** sha256 of the public key (SPKI DER): the signer id that verify prints. */
  fingerprint: string
}

/**
 * Write a cosign-compatible ECDSA P-256 key pair. The private key file is created with mode 0600
 * and never replaced unless `force` is set; both files appear atomically.
 */
export async function generateKeyFiles(opts: GenerateKeyOptions): Promise<GenerateKeyResult> {
  const privateKeyFile = `${opts.prefix}.key`
  const publicKeyFile = `${opts.prefix}.pub`
  const pair = generateKeyPair(opts.password)
  await writeAtomic(privateKeyFile, pair.privateKeyPem, 0o600, opts.force ?? false)
  await writeAtomic(publicKeyFile, pair.publicKeyPem, 0o644, opts.force ?? false)
  return {privateKeyFile, publicKeyFile, fingerprint: keyFingerprint(loadPublicKey(pair.publicKeyPem, publicKeyFile))}
}

/** Without `force`, an existing file is refused (checked and written in one step: a link). */
async function writeAtomic(file: string, content: string, mode: number, force: boolean): Promise<void> {
  await writeFileAtomic(file, content, {mode, overwrite: force, syncFolder: true}).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err
    throw new UsageError(`${file} already exists`, {hint: 'pass --force to overwrite it, or choose another --output-key-prefix', cause: err})
  })
}
