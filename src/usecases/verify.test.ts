/**
 * verifyBundleFile's verdicts on real bundle files: authenticity with and without a key, and the
 * one error for a blob changed in place. Writing is src/usecases/write-bundle.test.ts; the CLI,
 * skopeo and registries are test/integration/bundle-*.test.ts.
 */
import {generateKeyPairSync} from 'node:crypto'
import {copyFile, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {MemoryTarget} from '../content/memory.js'
import {IntegrityError} from '../errors.js'
import {keyFingerprint} from '../signing/index.js'
import {loadInto, makeImage, type GeneratedImage} from '../../test/support/images.js'
import {readBundleContents, verifyBundleFile} from './verify.js'
import {writeBundle} from './write-bundle.js'

let dir: string
let app: GeneratedImage
let signed: string
let unsigned: string
const keys = generateKeyPairSync('ec', {namedCurve: 'P-256'})

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-verify-app-'))
  app = await makeImage({seed: 'verify-app', layers: 2, fileSize: 32 * 1024})
  const src = new MemoryTarget()
  await loadInto(src, app, 'app')
  const images = [{source: src, ref: 'app', name: 'docker.io/acme/app:1'}]
  signed = join(dir, 'signed.tar')
  unsigned = join(dir, 'unsigned.tar')
  await writeBundle({images, charts: [], out: signed, epoch: 1_700_000_000, signKey: keys, createdBy: 'airgap/test'})
  await writeBundle({images, charts: [], out: unsigned, epoch: 1_700_000_000, createdBy: 'airgap/test'})
})
afterAll(async () => rm(dir, {recursive: true, force: true}))

describe('verifyBundleFile', () => {
  it('says how far authenticity was established: verified with the key, not-checked without, unsigned', async () => {
    const withKey = await verifyBundleFile(signed, {publicKey: keys.publicKey})
    expect(withKey).toMatchObject({authenticity: 'verified', signed: true, signer: keyFingerprint(keys.publicKey)})
    const noKey = await verifyBundleFile(signed)
    expect(noKey.authenticity).toBe('not-checked')
    expect(noKey.signer).toBeUndefined()
    expect(noKey.signerHint).toBe(keyFingerprint(keys.publicKey))
    expect((await verifyBundleFile(unsigned)).authenticity).toBe('unsigned')
    expect(withKey.blobs).toBe(app.blobs.length)
    expect(withKey.bytes).toBe(app.blobs.reduce((n, b) => n + b.descriptor.size, 0))
  })

  it('a layer changed in place fails with the digest named; the lock still lists what it should hold', async () => {
    const bytes = await readFile(signed)
    const layer = app.layers[1]!
    const at = bytes.indexOf(layer.bytes.subarray(0, 64))
    expect(at).toBeGreaterThan(0)
    bytes[at + 100] = bytes[at + 100]! ^ 0xff
    const broken = join(dir, 'broken.tar')
    await writeFile(broken, bytes)
    const err = await verifyBundleFile(broken, {publicKey: keys.publicKey}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IntegrityError)
    expect((err as IntegrityError).message).toContain(`blobs/${layer.descriptor.digest.replace(':', '/')}`)
    const contents = await readBundleContents(broken)
    expect(contents.images.map((i) => i.source)).toEqual(['docker.io/acme/app:1'])
  })

  it('a truncated file is refused with the byte where it ends', async () => {
    const cut = join(dir, 'cut.tar')
    await copyFile(signed, cut)
    const bytes = await readFile(cut)
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)))
    await expect(verifyBundleFile(cut, {publicKey: keys.publicKey})).rejects.toThrow(/truncated at byte \d+/)
  })
})
