/**
 * The signed bundle end to end against real tools: images pushed into the real plain registry
 * (distribution 2.8), writeBundle, then skopeo reads the bundle as an oci-archive, GNU tar and
 * @sigstore/verify read its metadata, and `airgap verify` (spawned: bin/run.js, real exit codes)
 * passes the untouched bundle and fails every tampered copy with exit code 5.
 */
import {execFile, execFileSync} from 'node:child_process'
import {copyFile, mkdtemp, open, readFile, rm, truncate, writeFile} from 'node:fs/promises'
import {existsSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {bundleFromJSON} from '@sigstore/bundle'
import {toSignedEntity, toTrustMaterial, Verifier} from '@sigstore/verify'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {writeBundle, type BundleImageInput, type WriteBundleResult} from '../../src/usecases/write-bundle.js'
import {generateKeyPair, keyFingerprint, keyHint, loadPrivateKey, loadPublicKey} from '../../src/signing/index.js'
import {BundleReader} from '../../src/bundle/index.js'
import {Annotation, type Descriptor} from '../../src/oci/types.js'
import type {RegistryClient} from '../../src/registry/index.js'
import {byDigest, loadInto, makeImage, makeIndex, type GeneratedImage, type GeneratedIndex} from '../support/images.js'
import {describeWithServices, services} from '../support/services.js'
import {clientFor, repoName} from './registry-support.js'

const ROOT = new URL('../..', import.meta.url).pathname
const PASSWORD = 'bundle-test-pw'

interface Run {
  code: number
  stdout: string
  stderr: string
}

/** Run the built CLI (`node bin/run.js …`) and return its real exit code and output. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin/run.js'), ...args], {cwd: ROOT, env: {...process.env, ...env}, maxBuffer: 16 << 20}, (err, stdout, stderr) => {
      const code = err ? (typeof (err as {code?: unknown}).code === 'number' ? ((err as {code: number}).code) : 1) : 0
      resolve({code, stdout, stderr})
    })
  })
}

function skopeo(...args: string[]): string {
  return execFileSync('skopeo', ['--insecure-policy', ...args], {encoding: 'utf8', maxBuffer: 64 << 20})
}

describeWithServices('signed bundle from a real registry', () => {
  let dir: string
  let client: RegistryClient
  let multi: GeneratedIndex
  let app: GeneratedImage
  let tools: GeneratedImage
  let bundle: string
  let pubFile: string
  let otherPubFile: string
  let result: WriteBundleResult
  let inputs: BundleImageInput[]
  let fingerprint: string
  const names: Record<'multi' | 'app' | 'tools', string> = {multi: '', app: '', tools: ''}

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-bundle-it-'))
    if (!existsSync(join(ROOT, 'dist/commands/verify.js'))) execFileSync('npx', ['tsc', '-p', 'tsconfig.json'], {cwd: ROOT, stdio: 'ignore'})
    const plain = services().registries.plain
    client = clientFor(plain)
    multi = await makeIndex({seed: 'bundle-it-multi', sharedLayers: 2, layers: 1, fileSize: 32 * 1024})
    app = await makeImage({seed: 'bundle-it-app', layers: 2, baseLayers: [multi.images[0]!.layers[0]!]})
    tools = await makeImage({seed: 'bundle-it-tools', layers: 1, platform: 'linux/arm64'})
    inputs = []
    for (const [key, g, tag] of [
      ['multi', multi, 'v1'],
      ['app', app, '1.0'],
      ['tools', tools, '2'],
    ] as const) {
      const repo = repoName(`bundle-${key}`)
      const repository = client.repository(repo)
      await loadInto(repository, g, tag)
      names[key] = `${plain.host}/${repo}:${tag}`
      inputs.push({source: repository, ref: tag, name: names[key]})
    }
    const pair = generateKeyPair(PASSWORD)
    const other = generateKeyPair(PASSWORD)
    pubFile = join(dir, 'cosign.pub')
    otherPubFile = join(dir, 'other.pub')
    await writeFile(pubFile, pair.publicKeyPem)
    await writeFile(otherPubFile, other.publicKeyPem)
    const publicKey = loadPublicKey(pair.publicKeyPem)
    fingerprint = keyFingerprint(publicKey)
    bundle = join(dir, 'bundle.tar')
    result = await writeBundle({images: inputs, out: bundle, epoch: 1_700_000_000, signKey: {privateKey: loadPrivateKey(pair.privateKeyPem, PASSWORD), publicKey}})
  }, 180_000)

  afterAll(async () => {
    await client?.close()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('stores layers shared between platforms and images once', async () => {
    const unique = new Set([...multi.blobs, ...app.blobs, ...tools.blobs].map((b) => b.descriptor.digest))
    const total = [multi, app, tools].reduce((n, g) => n + g.blobs.length, 0)
    expect(unique.size).toBeLessThan(total) // the fixture really shares layers
    const reader = await BundleReader.open(bundle)
    const stored = reader.entries().filter((e) => e.kind === 'blob')
    await reader.close()
    expect(stored).toHaveLength(unique.size)
    expect(result.lock.blobs.count).toBe(unique.size)
    expect(result.stats.blobsCopied + result.stats.manifestsCopied).toBe(unique.size)
  })

  it('skopeo copies every image out of the bundle (oci-archive:) with identical digests and bytes', async () => {
    const out = join(dir, 'skopeo-out')
    for (const [key, g] of [
      ['multi', multi],
      ['app', app],
      ['tools', tools],
    ] as const) {
      skopeo('copy', '--all', '--preserve-digests', `oci-archive:${bundle}:${names[key]}`, `oci:${out}:${key}`)
      const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as {manifests: Descriptor[]}
      expect(index.manifests.find((m) => m.annotations?.[Annotation.RefName] === key)?.digest, key).toBe(g.root.digest)
    }
    for (const [digest, bytes] of byDigest(multi, app, tools)) {
      expect((await readFile(join(out, 'blobs/sha256', digest.slice(7)))).equals(bytes), digest).toBe(true)
    }
  })

  it('GNU tar lists the layout in the documented order and @sigstore/verify accepts the signature over lock.json', async () => {
    const names = execFileSync('tar', ['-tf', bundle], {encoding: 'utf8'}).trim().split('\n')
    expect(names[0]).toBe('oci-layout')
    expect(names.slice(-3)).toEqual(['index.json', 'airgap/lock.json', 'airgap/signature.sigstore.json'])
    expect(names.slice(1, -3).every((n) => /^blobs\/sha256\/[0-9a-f]{64}$/.test(n))).toBe(true)
    expect(names.slice(1, -3)).toEqual([...names.slice(1, -3)].sort())
    const lock = execFileSync('tar', ['-xOf', bundle, 'airgap/lock.json'])
    const sig = JSON.parse(execFileSync('tar', ['-xOf', bundle, 'airgap/signature.sigstore.json'], {encoding: 'utf8'})) as unknown
    const pub = loadPublicKey(await readFile(pubFile, 'utf8'))
    const verifier = new Verifier(
      toTrustMaterial({mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [], certificateAuthorities: [], ctlogs: [], timestampAuthorities: []}, (hint) => {
        if (hint !== keyHint(pub)) throw new Error(`unknown key hint ${hint}`)
        return {publicKey: pub, validFor: () => true}
      }),
      {tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0},
    )
    expect(keyFingerprint(verifier.verify(toSignedEntity(bundleFromJSON(sig), lock)).key)).toBe(fingerprint)
    expect(() => verifier.verify(toSignedEntity(bundleFromJSON(sig), Buffer.concat([lock, Buffer.from(' ')])))).toThrow(/signature verification failed/)
  })

  it('airgap verify --key passes the untouched bundle (exit 0) and prints the signer fingerprint', async () => {
    const r = await cli(['verify', bundle, '--key', pubFile])
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(`signed by key ${fingerprint}`)
    expect(r.stdout).toMatch(/3 image\(s\), 0 chart\(s\), \d+ blobs/)
    expect(r.stdout).toMatch(/MB\/s/)
    const json = await cli(['verify', bundle, '--json'], {AIRGAP_KEY: pubFile})
    expect(json.code).toBe(0)
    expect(JSON.parse(json.stdout)).toMatchObject({authenticity: 'verified', signer: fingerprint, signed: true, formatVersion: 1})
  })

  it('airgap verify without --key passes (exit 0) and says authenticity was NOT checked', async () => {
    const r = await cli(['verify', bundle])
    expect(r.code).toBe(0)
    expect(r.stdout).toMatch(/authenticity NOT checked: pass --key/)
  })

  it('airgap list prints images with digests and platforms, and --json', async () => {
    const r = await cli(['list', bundle])
    expect(r.code).toBe(0)
    expect(r.stdout).toContain(names.multi)
    expect(r.stdout).toContain(`${multi.root.digest}  linux/amd64, linux/arm64/v8`)
    const json = JSON.parse((await cli(['list', bundle, '--json'])).stdout) as {images: Array<{source: string; digest: string}>}
    expect(json.images.map((i) => i.source).sort()).toEqual(Object.values(names).sort())
  })

  /** A copy of the bundle with `mutate` applied. */
  async function tampered(name: string, mutate: (file: string, entries: Map<string, {offset: number; size: number}>) => Promise<void>): Promise<string> {
    const file = join(dir, `tampered-${name}.tar`)
    await copyFile(bundle, file)
    const reader = await BundleReader.open(bundle)
    const entries = new Map(reader.entries().map((e) => [e.name, e]))
    await reader.close()
    await mutate(file, entries)
    return file
  }

  async function flip(file: string, at: number, to?: number): Promise<void> {
    const h = await open(file, 'r+')
    const b = Buffer.alloc(1)
    await h.read(b, 0, 1, at)
    b[0] = to ?? b[0]! ^ 0x01
    await h.write(b, 0, 1, at)
    await h.close()
  }

  const entryOf = (digest: string): string => `blobs/sha256/${digest.slice(7)}`

  const cases: Array<[string, (file: string, e: Map<string, {offset: number; size: number}>) => Promise<void>, RegExp | (() => RegExp), string[]?]> = [
    ['a layer byte', (f, e) => flip(f, e.get(entryOf(app.layers[2]!.descriptor.digest))!.offset + 100), /blob\(s\) do not match their digest: blobs\/sha256\/[0-9a-f]{64} \(content hashes to sha256:/],
    ['a manifest byte', (f, e) => flip(f, e.get(entryOf(app.manifest.descriptor.digest))!.offset + 20), () => new RegExp(`blobs/sha256/${app.manifest.descriptor.digest.slice(7)} does not match its digest`)],
    ['an index.json byte', async (f, e) => {
      const {offset, size} = e.get('index.json')!
      const text = (await readFile(f)).subarray(offset, offset + size).toString('latin1')
      await flip(f, offset + text.indexOf('bundle-app'), 'B'.charCodeAt(0))
    }, /index\.json is sha256:[0-9a-f]{64} \(\d+ bytes\) but airgap\/lock\.json pins/],
    ['a lock.json byte', async (f, e) => {
      const {offset, size} = e.get('airgap/lock.json')!
      const text = (await readFile(f)).subarray(offset, offset + size).toString('latin1')
      await flip(f, offset + text.indexOf('"createdBy": "airgap') + 15, 'A'.charCodeAt(0))
    }, /signed digest differs from the content in bundle .*airgap\/signature\.sigstore\.json \(over airgap\/lock\.json\)/],
    ['a signature byte', async (f, e) => {
      const {offset, size} = e.get('airgap/signature.sigstore.json')!
      const text = (await readFile(f)).subarray(offset, offset + size).toString('latin1')
      const at = text.indexOf('"signature":"') + 20
      await flip(f, offset + at, text[at] === 'A' ? 'B'.charCodeAt(0) : 'A'.charCodeAt(0))
    }, /signature (does not match the public key sha256:[0-9a-f]{64}|bundle is malformed)/],
    ['truncation', async (f) => truncate(f, (await readFile(f)).length - 3000), /run past the end of the file \(truncated\)/],
    ['an appended entry (tar -r)', async (f) => {
      await writeFile(join(dir, 'evil.sh'), '#!/bin/sh\necho pwned\n')
      execFileSync('tar', ['-rf', f, '-C', dir, 'evil.sh'])
    }, /refusing entry "evil\.sh": not part of the bundle layout/],
    ['another signer key', async () => undefined, /signature does not match the public key sha256:[0-9a-f]{64}: .* was signed by another key/, ['--key', '__OTHER__']],
  ]

  for (const [what, mutate, message, extra] of cases) {
    it(`airgap verify fails with exit code 5 after tampering with ${what}`, async () => {
      const file = await tampered(what.replace(/\W+/g, '-'), mutate)
      const keyArgs = (extra ?? ['--key', pubFile]).map((a) => (a === '__OTHER__' ? otherPubFile : a))
      const r = await cli(['verify', file, ...keyArgs])
      expect(r.stderr).toMatch(/^Error: /)
      expect(r.stderr).toMatch(typeof message === 'function' ? message() : message)
      expect(r.stderr.trim().split('\n')).toHaveLength(1)
      expect(r.code).toBe(5)
      const json = await cli(['verify', file, '--json', ...keyArgs])
      expect(json.code).toBe(5)
      expect(JSON.parse(json.stdout)).toMatchObject({error: {code: 'INTEGRITY', exitCode: 5}})
    })
  }
})
