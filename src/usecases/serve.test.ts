/**
 * openServeSource: what `airgap serve PATH` opens and what it refuses before serving anything.
 * Serving itself (registry API, Helm repository, auth, hostile clients) is test/integration/serve-*.test.ts.
 */
import {generateKeyPairSync} from 'node:crypto'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {MemoryTarget} from '../content/memory.js'
import {IntegrityError, NotFoundError, UsageError} from '../errors.js'
import {BundleReader} from '../bundle/index.js'
import {OciLayout} from '../layout/index.js'
import {loadInto, makeImage} from '../../test/support/images.js'
import {openServeSource} from './serve.js'
import {writeBundle} from './write-bundle.js'

let dir: string
let bundle: string
const signer = generateKeyPairSync('ec', {namedCurve: 'P-256'})
const stranger = generateKeyPairSync('ec', {namedCurve: 'P-256'})

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-serve-app-'))
  const src = new MemoryTarget()
  await loadInto(src, await makeImage({seed: 'serve-app', layers: 1}), 'app')
  bundle = join(dir, 'b.tar')
  await writeBundle({images: [{source: src, ref: 'app', name: 'docker.io/acme/app:1'}], charts: [], out: bundle, epoch: 1_700_000_000, signKey: signer, createdBy: 'airgap/test'})
})
afterAll(async () => rm(dir, {recursive: true, force: true}))

describe('openServeSource', () => {
  it('a bundle file opens read-only; with a key it is verified first and served through the same reader', async () => {
    const plain = await openServeSource(bundle)
    expect(plain.kind).toBe('bundle')
    expect(plain.verified).toBeUndefined()
    await plain.close()
    const checked = await openServeSource(bundle, {publicKey: signer.publicKey})
    expect(checked.store).toBeInstanceOf(BundleReader)
    expect(checked.verified?.authenticity).toBe('verified')
    expect(checked.verified?.blobs).toBeGreaterThan(0)
    await checked.close()
  })

  it('a bundle signed by another key is refused and nothing stays open', async () => {
    await expect(openServeSource(bundle, {publicKey: stranger.publicKey})).rejects.toBeInstanceOf(IntegrityError)
  })

  it('refuses --writable on a bundle, --key on a folder, a missing path without --writable, and a non-file non-folder', async () => {
    const writable = await openServeSource(bundle, {writable: true}).catch((e: unknown) => e)
    expect(writable).toBeInstanceOf(UsageError)
    expect((writable as UsageError).hint).toContain('drop --writable')
    const folder = join(dir, 'layout')
    await OciLayout.open(folder, {create: true})
    await expect(openServeSource(folder, {publicKey: signer.publicKey})).rejects.toThrow(/--key verifies a bundle file/)
    await expect(openServeSource(join(dir, 'absent'))).rejects.toBeInstanceOf(NotFoundError)
    await expect(openServeSource('/dev/null')).rejects.toThrow(/neither a file nor a folder/)
  })

  it('a missing path with --writable becomes an empty OCI layout; an existing folder opens as a layout', async () => {
    const fresh = join(dir, 'fresh')
    const opened = await openServeSource(fresh, {writable: true})
    expect(opened.kind).toBe('layout')
    await opened.close()
    expect((await openServeSource(fresh)).kind).toBe('layout')
  })
})
