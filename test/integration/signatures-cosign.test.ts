/**
 * `airgap pull --with-signatures` and push (issue 10), spawned CLI against real registries
 * (distribution 2.8: no referrers API). The source holds an image with cosign-shaped artifacts
 * built here (cosign itself is not installed): a `.sig` tag (simple-signing payload, ECDSA
 * signature from src/signing keys in the `dev.cosignproject.cosign/signature` annotation), an `.att`
 * tag (in-toto DSSE envelope layer), and an OCI 1.1 referrer (`subject` = the image) listed in the
 * `sha256-<hex>` fallback tag index. All three arrive in the mirror byte-identical (skopeo
 * inspect --raw digests); the mirror gets its own fallback index; the signature verifies there.
 */
import {sign, verify} from 'node:crypto'
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {parseLock} from '../../src/bundle/lock.js'
import {MediaType, type Descriptor} from '../../src/oci/types.js'
import {generateKeyPair, loadPrivateKey, loadPublicKey} from '../../src/signing/index.js'
import {BundleReader} from '../../src/bundle/index.js'
import type {RegistryClient} from '../../src/registry/index.js'
import {jsonOf, runCli} from '../support/cli.js'
import {blob, jsonBlob, loadInto, makeImage, type BlobData, type Generated, type GeneratedImage} from '../support/images.js'
import {describeWithServices, services, startRegistry, type RegistryHandle} from '../support/services.js'
import {skopeo, skopeoDigest} from './push-fixtures.js'
import {clientFor} from './registry-support.js'

const SIG_ANNOTATION = 'dev.cosignproject.cosign/signature'

/** A cosign-style artifact manifest: config with the payload's diff_id, one annotated layer. */
function cosignArtifact(payload: BlobData): Generated & {manifest: BlobData} {
  const config = jsonBlob(
    {architecture: '', config: {}, created: '0001-01-01T00:00:00Z', history: [{created: '0001-01-01T00:00:00Z'}], os: '', rootfs: {type: 'layers', diff_ids: [payload.descriptor.digest]}},
    MediaType.OciConfig,
  )
  const manifest = jsonBlob({schemaVersion: 2, mediaType: MediaType.OciManifest, config: config.descriptor, layers: [payload.descriptor]}, MediaType.OciManifest)
  return {root: manifest.descriptor, blobs: [payload, config, manifest], manifest}
}

describeWithServices('airgap pull --with-signatures / push (cosign tag schema + referrers fallback, real registries)', () => {
  let dir: string
  let client: RegistryClient
  let mirror: RegistryHandle
  let image: GeneratedImage
  let sig: Generated
  let att: Generated
  let referrer: Generated
  let payloadBytes: Buffer
  let publicKeyPem: string
  let repoPath: string
  let hexTag: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-sigs-'))
    const plain = services().registries.plain
    client = clientFor(plain)
    const prefix = `sigs-${process.pid}-${Date.now()}`
    repoPath = `${prefix}/acme/signed`
    const repo = client.repository(repoPath)
    image = await makeImage({seed: `${prefix}-img`, layers: 1, fileSize: 8 * 1024})
    await loadInto(repo, image, '1.0')
    hexTag = `sha256-${image.root.digest.slice('sha256:'.length)}`

    const keys = generateKeyPair('sig-test-pw')
    publicKeyPem = keys.publicKeyPem
    const privateKey = loadPrivateKey(keys.privateKeyPem, 'sig-test-pw')
    payloadBytes = Buffer.from(
      JSON.stringify({
        critical: {identity: {'docker-reference': `${plain.host}/${repoPath}`}, image: {'docker-manifest-digest': image.root.digest}, type: 'cosign container image signature'},
        optional: null,
      }),
    )
    const signature = sign('sha256', payloadBytes, privateKey).toString('base64')
    sig = cosignArtifact(blob(payloadBytes, MediaType.CosignSimpleSigning, {annotations: {[SIG_ANNOTATION]: signature}}))
    await loadInto(repo, sig, `${hexTag}.sig`)

    const statement = {_type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2', subject: [{name: repoPath, digest: {sha256: image.root.digest.slice(7)}}], predicate: {}}
    const statementBytes = Buffer.from(JSON.stringify(statement))
    const envelope = {payloadType: 'application/vnd.in-toto+json', payload: statementBytes.toString('base64'), signatures: [{keyid: '', sig: sign('sha256', statementBytes, privateKey).toString('base64')}]}
    att = cosignArtifact(jsonBlob(envelope, 'application/vnd.dsse.envelope.v1+json', {annotations: {predicateType: 'https://slsa.dev/provenance/v0.2'}}))
    await loadInto(repo, att, `${hexTag}.att`)

    // An OCI 1.1 referrer (sigstore bundle artifact) and the tag-schema fallback index naming it.
    const empty = blob('{}', MediaType.OciEmpty)
    const bundleLayer = jsonBlob({mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json', note: 'test'}, MediaType.SigstoreBundle)
    const refManifest = jsonBlob(
      {schemaVersion: 2, mediaType: MediaType.OciManifest, artifactType: MediaType.SigstoreBundle, config: empty.descriptor, layers: [bundleLayer.descriptor], subject: image.root},
      MediaType.OciManifest,
    )
    referrer = {root: refManifest.descriptor, blobs: [empty, bundleLayer, refManifest]}
    await loadInto(repo, referrer)
    const fallback = jsonBlob({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [{...refManifest.descriptor, artifactType: MediaType.SigstoreBundle}]}, MediaType.OciIndex)
    await loadInto(repo, {root: fallback.descriptor, blobs: [fallback]}, hexTag)

    await writeFile(join(dir, 'spec.yaml'), `apiVersion: airgap.dev/v1alpha1\nkind: ReleaseSpec\nmetadata:\n  name: sigs\nspec:\n  images:\n    - ${plain.host}/${repoPath}:1.0\n`)
    mirror = await startRegistry({mode: 'plain'})
  }, 120_000)

  afterAll(async () => {
    await mirror?.stop()
    await client?.close()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('carries the .sig, the .att and the referrer; the mirror gets them byte-identical under the same tags, plus its own fallback index', async () => {
    const plain = services().registries.plain
    const out = join(dir, 'signed.tar')
    const pull = await runCli(['pull', join(dir, 'spec.yaml'), '-o', out, '--with-signatures', '--plain-http', plain.host, '--json'])
    expect(pull.code, pull.stderr).toBe(0)
    const pulled = jsonOf<{signatures: Array<{kind: string; digest: string}>}>(pull)
    expect(pulled.signatures.map((s) => `${s.kind} ${s.digest}`).sort()).toEqual([`att ${att.root.digest}`, `referrer ${referrer.root.digest}`, `sig ${sig.root.digest}`].sort())

    const reader = await BundleReader.open(out)
    const lock = parseLock(await reader.readFile('airgap/lock.json'), out)
    await reader.close()
    expect(lock.signatures?.find((s) => s.kind === 'sig')).toEqual({
      subject: `${plain.host}/${repoPath}@${image.root.digest}`,
      ref: `${plain.host}/${repoPath}:${hexTag}.sig`,
      digest: sig.root.digest,
      mediaType: MediaType.OciManifest,
      size: sig.root.size,
      kind: 'sig',
    })
    expect(lock.images.map((i) => i.source)).toEqual([`${plain.host}/${repoPath}:1.0`]) // signatures are not images
    expect((await runCli(['verify', out])).code).toBe(0)
    // stock tools read the signature out of the bundle by its ref.name
    expect(skopeo('inspect', '--raw', `oci-archive:${out}:${plain.host}/${repoPath}:${hexTag}.sig`)).toBe(sig.blobs.at(-1)!.bytes.toString())

    const push = await runCli(['push', out, '--allow-unsigned', '--registry', `${mirror.host}/m`, '--plain-http', mirror.host, '--json'])
    expect(push.code, push.stderr).toBe(0)
    const pushed = jsonOf<{signatures: Array<{status: string; mirror: string}>}>(push)
    expect(pushed.signatures.map((s) => s.status)).toEqual(['pushed', 'pushed', 'pushed'])

    const flags = ['--tls-verify=false']
    const at = (ref: string) => `${mirror.host}/m/${repoPath}${ref}`
    expect(skopeoDigest(at(':1.0'), flags)).toBe(image.root.digest)
    expect(skopeoDigest(at(`:${hexTag}.sig`), flags)).toBe(skopeoDigest(`${plain.host}/${repoPath}:${hexTag}.sig`, flags))
    expect(skopeoDigest(at(`:${hexTag}.sig`), flags)).toBe(sig.root.digest)
    expect(skopeoDigest(at(`:${hexTag}.att`), flags)).toBe(att.root.digest)
    expect(skopeoDigest(at(`@${referrer.root.digest}`), flags)).toBe(referrer.root.digest)
    const fallback = JSON.parse(skopeo('inspect', '--raw', ...flags, `docker://${at(`:${hexTag}`)}`)) as {manifests: Descriptor[]}
    expect(fallback.manifests).toEqual([expect.objectContaining({digest: referrer.root.digest, artifactType: MediaType.SigstoreBundle})])

    // what `cosign verify --key` checks: the payload names the image digest and the signature verifies
    const manifest = JSON.parse(skopeo('inspect', '--raw', ...flags, `docker://${at(`:${hexTag}.sig`)}`)) as {layers: Descriptor[]}
    const layer = manifest.layers[0]!
    const res = await fetch(`${mirror.url}/v2/m/${repoPath}/blobs/${layer.digest}`)
    const payload = Buffer.from(await res.arrayBuffer())
    expect(payload.equals(payloadBytes)).toBe(true)
    expect(verify('sha256', payload, loadPublicKey(publicKeyPem), Buffer.from(layer.annotations![SIG_ANNOTATION]!, 'base64'))).toBe(true)

    // a second push changes nothing and does not duplicate the fallback entry
    const again = await runCli(['push', out, '--allow-unsigned', '--registry', `${mirror.host}/m`, '--plain-http', mirror.host, '--json'])
    expect(again.code, again.stderr).toBe(0)
    const fallback2 = JSON.parse(skopeo('inspect', '--raw', ...flags, `docker://${at(`:${hexTag}`)}`)) as {manifests: Descriptor[]}
    expect(fallback2.manifests).toHaveLength(1)
  })

  it('without --with-signatures nothing but the image is carried', async () => {
    const plain = services().registries.plain
    const out = join(dir, 'plain.tar')
    const pull = await runCli(['pull', join(dir, 'spec.yaml'), '-o', out, '--plain-http', plain.host, '--json'])
    expect(pull.code, pull.stderr).toBe(0)
    const reader = await BundleReader.open(out)
    try {
      expect(reader.index.manifests).toHaveLength(1)
      expect(parseLock(await reader.readFile('airgap/lock.json'), out).signatures).toBeUndefined()
    } finally {
      await reader.close()
    }
  })
})
