/** generateKeyFiles: a cosign-compatible pair, private key 0600, never replaced without force. */
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {UsageError} from '../errors.js'
import {keyFingerprint, loadPrivateKey, loadPublicKey} from '../signing/index.js'
import {generateKeyFiles} from './key.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-key-'))
})
afterAll(async () => rm(dir, {recursive: true, force: true}))

describe('generateKeyFiles', () => {
  it('writes PREFIX.key (0600, encrypted) and PREFIX.pub (0644); the fingerprint is the public key sha256', async () => {
    const prefix = join(dir, 'signer')
    const res = await generateKeyFiles({prefix, password: 'pw-123'})
    expect(res).toMatchObject({privateKeyFile: `${prefix}.key`, publicKeyFile: `${prefix}.pub`})
    expect((await stat(res.privateKeyFile)).mode & 0o777).toBe(0o600)
    expect((await stat(res.publicKeyFile)).mode & 0o777).toBe(0o644)
    const pub = loadPublicKey(await readFile(res.publicKeyFile, 'utf8'), res.publicKeyFile)
    expect(res.fingerprint).toBe(keyFingerprint(pub))
    const privatePem = await readFile(res.privateKeyFile, 'utf8')
    expect(privatePem).toContain('ENCRYPTED')
    expect(() => loadPrivateKey(privatePem, 'pw-123', res.privateKeyFile)).not.toThrow()
    expect(() => loadPrivateKey(privatePem, 'wrong', res.privateKeyFile)).toThrow()
  })

  it('refuses to replace an existing key unless forced, leaving the old files untouched', async () => {
    const prefix = join(dir, 'kept')
    await writeFile(`${prefix}.key`, 'old private')
    const err = await generateKeyFiles({prefix, password: 'x'}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).message).toContain(`${prefix}.key already exists`)
    expect((err as UsageError).hint).toContain('--force')
    expect(await readFile(`${prefix}.key`, 'utf8')).toBe('old private')
    await expect(stat(`${prefix}.pub`)).rejects.toThrow()

    await generateKeyFiles({prefix, password: 'x', force: true})
    expect(await readFile(`${prefix}.key`, 'utf8')).not.toBe('old private')
  })
})
