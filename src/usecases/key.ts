import {constants} from 'node:fs'
import {open, rename, rm} from 'node:fs/promises'
import {UsageError} from '../errors.js'
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

async function writeAtomic(file: string, content: string, mode: number, force: boolean): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`
  const handle = await open(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, mode)
  try {
    await handle.writeFile(content)
    await handle.sync()
  } finally {
    await handle.close()
  }
  try {
    if (!force) {
      // link-then-unlink semantics: refuse to replace an existing key.
      const existing = await open(file, constants.O_RDONLY).catch(() => undefined)
      if (existing) {
        await existing.close()
        throw new UsageError(`${file} already exists`, {hint: 'pass --force to overwrite it, or choose another --output-key-prefix'})
      }
    }
    await rename(tmp, file)
  } finally {
    await rm(tmp, {force: true})
  }
}
