/**
 * Keys from the command line: the one place that reads key files, asks for key passwords and
 * decrypts private keys. `--key` (verify, push, serve) -> the public key; `--sign-key` (pull) ->
 * the decrypted private key and its public half; `key generate` -> the password for a new key.
 * Use cases receive KeyObjects, never paths or passwords.
 */
import type {KeyObject} from 'node:crypto'
import {readFile} from 'node:fs/promises'
import {SpecError, UsageError} from '../errors.js'
import {loadPrivateKeyAsync, loadPublicKey, publicKeyOf, type SigningKey} from '../signing/index.js'
import {passwordFromEnv, promptPassword} from './password.js'

/** Read a cosign.pub (PEM public key). A missing file is a UsageError naming it; `flag` is named in the hint. */
export async function readPublicKeyFile(file: string, flag = '--key'): Promise<KeyObject> {
  let pem: string
  try {
    pem = await readFile(file, 'utf8')
  } catch (err) {
    throw new UsageError(`cannot read the public key ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
      hint: `pass the cosign.pub of the signer with ${flag}${flag === '--key' ? ' (or AIRGAP_KEY)' : ''}`,
      cause: err,
    })
  }
  return loadPublicKey(pem, file)
}

/**
 * Read and decrypt a cosign private key (cosign.key; PKCS#8 and SEC1 too). The password comes
 * from AIRGAP_KEY_PASSWORD or COSIGN_PASSWORD, else it is asked for on the terminal. cosign's
 * scrypt step (~0.2 s, 64 MiB) runs on the thread pool; its memory is released before the caller
 * loads anything else. A wrong password is a KeyPasswordError (exit 2).
 */
export async function readSigningKey(file: string, flag = '--sign-key'): Promise<SigningKey> {
  const pem = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    throw new SpecError(`cannot read signing key ${file} (${err.code ?? err.message})`, file, undefined, {hint: `check the ${flag} path (airgap key generate writes one)`})
  })
  const password = passwordFromEnv() ?? (await promptPassword(`Password for ${file}: `, false))
  const privateKey = await loadPrivateKeyAsync(pem, password, file)
  return {privateKey, publicKey: publicKeyOf(privateKey)}
}

/** The password for a new private key: from the environment, else asked twice on the terminal. */
export async function newKeyPassword(): Promise<string> {
  return passwordFromEnv() ?? (await promptPassword('Enter password for private key: ', true))
}
