/**
 * Issue 19: upstream signatures verified against a policy, on the real registry (distribution,
 * no referrers API: referrers are found through the `sha256-<hex>` fallback tag, which the
 * project's own publish code writes). Every key, certificate chain, log key, log entry and
 * trusted root is made here (test/support/x509.ts, sigstore.ts); signatures are laid out the way
 * cosign lays them out: the `.sig` tag (simple-signing layers with the cosign annotations) and a
 * Sigstore bundle referrer (`subject` = the image).
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {findSignatures} from '../../src/image-signatures/discover.js'
import {loadUpstreamPolicy, type LoadedPolicy} from '../../src/image-signatures/policy-file.js'
import {updateFallbackIndex} from '../../src/image-signatures/publish.js'
import {upstreamAction, verifyUpstream, type UpstreamVerdict} from '../../src/image-signatures/verify-upstream.js'
import {MediaType} from '../../src/oci/types.js'
import type {RegistryClient, RegistryRepository} from '../../src/registry/index.js'
import {blob, jsonBlob, loadInto, makeImage, type BlobData, type Generated} from '../support/images.js'
import {describeWithServices, services} from '../support/services.js'
import {cosignLayer, makeLog, sigstoreBundle, simpleSigningPayload, trustedRootJson, type CosignLayer} from '../support/sigstore.js'
import {ecKeyPair, makeCa} from '../support/x509.js'
import {clientFor} from './registry-support.js'

const ISSUER = 'https://issuer.test'
const IDENTITY = 'release@acme.test'

/** A cosign `.sig` manifest: config naming the payloads' digests, one annotated layer per signature. */
function sigManifest(layers: readonly CosignLayer[]): Generated {
  const payloads = layers.map((l) => blob(l.payload, MediaType.CosignSimpleSigning, {annotations: l.annotations}))
  const config = jsonBlob({architecture: '', config: {}, created: '0001-01-01T00:00:00Z', os: '', rootfs: {type: 'layers', diff_ids: payloads.map((p) => p.descriptor.digest)}}, MediaType.OciConfig)
  const manifest = jsonBlob({schemaVersion: 2, mediaType: MediaType.OciManifest, config: config.descriptor, layers: payloads.map((p) => p.descriptor)}, MediaType.OciManifest)
  return {root: manifest.descriptor, blobs: [...payloads, config, manifest]}
}

describeWithServices('verify upstream signatures against a policy (real registry)', () => {
  let dir: string
  let client: RegistryClient
  let host: string
  let prefix: string
  let policy: LoadedPolicy
  const key = ecKeyPair()
  const otherKey = ecKeyPair()
  const ca = makeCa('fulcio')
  const strangerCa = makeCa('stranger')
  const log = makeLog()
  const images = new Map<string, {repo: RegistryRepository; digest: string}>()

  /** Push a fresh image under `name` with its signature artifacts; returns its digest. */
  async function image(name: string, sign: (digest: string, reference: string) => {sig?: CosignLayer[]; bundle?: string}): Promise<void> {
    const repo = client.repository(`${prefix}/${name}`)
    const img = await makeImage({seed: `${prefix}-${name}`, layers: 1, fileSize: 1024})
    await loadInto(repo, img, '1.0')
    const digest = img.root.digest
    const made = sign(digest, `${host}/${prefix}/${name}`)
    if (made.sig) await loadInto(repo, sigManifest(made.sig), `sha256-${digest.slice(7)}.sig`)
    if (made.bundle) {
      const empty = blob('{}', MediaType.OciEmpty)
      const layer: BlobData = blob(made.bundle, MediaType.SigstoreBundle)
      const referrer = jsonBlob(
        {schemaVersion: 2, mediaType: MediaType.OciManifest, artifactType: MediaType.SigstoreBundle, config: empty.descriptor, layers: [layer.descriptor], subject: img.root, annotations: {'dev.sigstore.bundle.content': 'dsse-envelope', 'dev.sigstore.bundle.predicateType': 'https://sigstore.dev/cosign/sign/v1'}},
        MediaType.OciManifest,
      )
      await loadInto(repo, {root: referrer.descriptor, blobs: [empty, layer, referrer]})
      await updateFallbackIndex(repo, digest, [{...referrer.descriptor, artifactType: MediaType.SigstoreBundle}])
    }
    images.set(name, {repo, digest})
  }

  async function verdict(name: string): Promise<UpstreamVerdict> {
    const {repo, digest} = images.get(name)!
    const repository = `${host}/${prefix}/${name}`
    const signatures = await findSignatures(repo, repository, digest)
    return verifyUpstream({image: `${repository}:1.0`, repository, target: repo, signatures}, digest, policy)
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-upstream-'))
    const plain = services().registries.plain
    host = plain.host
    client = clientFor(plain)
    prefix = `upstream-${process.pid}-${Date.now()}`
    const keyless = (identity: string, issuer = ISSUER) => ({certificate: ca.leaf({san: `email:${identity}`, oidcIssuer: issuer}), ca, log})
    await image('keyed', (d, ref) => ({sig: [cosignLayer({payload: simpleSigningPayload(ref, d), key, log})]}))
    await image('keyed-nolog', (d, ref) => ({sig: [cosignLayer({payload: simpleSigningPayload(ref, d), key})]}))
    await image('tlog-missing', (d, ref) => ({sig: [cosignLayer({payload: simpleSigningPayload(ref, d), key})]}))
    await image('other-key', (d, ref) => ({sig: [cosignLayer({payload: simpleSigningPayload(ref, d), key: otherKey, log})]}))
    await image('other-digest', (_d, ref) => ({sig: [cosignLayer({payload: simpleSigningPayload(ref, `sha256:${'ab'.repeat(32)}`), key, log})]}))
    await image('forged-log', (d, ref) => ({sig: [cosignLayer({payload: simpleSigningPayload(ref, d), key, log, logSigner: otherKey.privateKey})]}))
    await image('keyless', (d, ref) => ({sig: [cosignLayer({payload: simpleSigningPayload(ref, d), ...keyless(IDENTITY)})]}))
    await image('keyless-legacy', (d, ref) => ({sig: [cosignLayer({payload: simpleSigningPayload(ref, d), certificate: ca.leaf({san: 'uri:https://ci.acme.test/release', oidcIssuer: ISSUER, legacyIssuerOnly: true}), log})]}))
    await image('keyless-bundle', (d) => ({bundle: sigstoreBundle({digest: d, certificate: ca.leaf({san: `email:${IDENTITY}`, oidcIssuer: ISSUER}), log})}))
    await image('attestation-only', (d) => ({bundle: sigstoreBundle({digest: d, certificate: ca.leaf({san: `email:${IDENTITY}`, oidcIssuer: ISSUER}), log, predicateType: 'https://slsa.dev/provenance/v1'})}))
    await image('wrong-identity', (d, ref) => ({sig: [cosignLayer({payload: simpleSigningPayload(ref, d), ...keyless('intruder@acme.test')})]}))
    await image('wrong-issuer', (d, ref) => ({sig: [cosignLayer({payload: simpleSigningPayload(ref, d), ...keyless(IDENTITY, 'https://evil.test')})]}))
    await image('stranger-ca', (d, ref) => ({sig: [cosignLayer({payload: simpleSigningPayload(ref, d), certificate: strangerCa.leaf({san: `email:${IDENTITY}`, oidcIssuer: ISSUER}), log})]}))
    await image('two-signatures', (d, ref) => ({sig: [cosignLayer({payload: simpleSigningPayload(ref, d), key: otherKey, log}), cosignLayer({payload: simpleSigningPayload(ref, d), key, log})]}))
    await image('unsigned', () => ({}))
    await image('keyless-nolog', (d, ref) => ({sig: [cosignLayer({payload: simpleSigningPayload(ref, d), certificate: ca.leaf({san: `email:${IDENTITY}`, oidcIssuer: ISSUER})})]}))

    await writeFile(join(dir, 'cosign.pub'), key.publicKey.export({type: 'spki', format: 'pem'}))
    await writeFile(join(dir, 'trusted_root.json'), trustedRootJson({cas: [ca], logs: [log]}))
    const r = (name: string) => `${host}/${prefix}/${name}`
    const keyRule = (name: string, tlog = 'required') => `  - {match: "${r(name)}", key: cosign.pub, tlog: ${tlog}}`
    const keylessRule = (match: string, identity = 'identity: release@acme.test') => `  - match: "${match}"\n    keyless: {issuer: "${ISSUER}", ${identity}}`
    await writeFile(
      join(dir, 'policy.yaml'),
      [
        'apiVersion: airgap.dev/v1alpha1',
        'kind: UpstreamPolicy',
        'default: warn',
        'trustedRoot: trusted_root.json',
        'rules:',
        keyRule('keyed'),
        keyRule('keyed-nolog', 'optional'),
        ...['tlog-missing', 'other-key', 'other-digest', 'forged-log', 'two-signatures'].map((n) => keyRule(n)),
        `  - {name: acme releases, match: "${r('*')}", keyless: {issuer: "${ISSUER}", identityRegExp: "release@acme\\\\.test"}}`,
        keylessRule(r('keyless-legacy'), 'identity: "https://ci.acme.test/release"'),
        `  - {match: "${r('keyless-nolog')}", keyless: {issuer: "${ISSUER}", identity: "${IDENTITY}"}, tlog: optional}`,
        keylessRule(r('un*'), 'identity: nobody@acme.test'), // more specific than acme releases, but unsigned is covered by it: not the default
        `  - {match: "${host}/elsewhere/**", key: cosign.pub}`,
        '',
      ].join('\n'),
    )
    policy = await loadUpstreamPolicy(join(dir, 'policy.yaml'))
  }, 120_000)

  afterAll(async () => {
    await client?.close()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('an image signed with the rule key (and logged) passes, naming the key and the log entry', async () => {
    const v = await verdict('keyed')
    expect(v).toEqual({image: `${host}/${prefix}/keyed:1.0`, digest: images.get('keyed')!.digest, rule: `${host}/${prefix}/keyed`, verified: true, keyFingerprint: policy.rules[0]!.kind === 'key' ? policy.rules[0]!.keyFingerprint : '', logIndex: 7, integratedTime: expect.any(Number)})
    expect(upstreamAction(v, policy.default)).toBe('accept')
  })

  it('tlog: optional accepts a key signature without a log entry; tlog: required refuses it', async () => {
    expect(await verdict('keyed-nolog')).toMatchObject({verified: true, keyFingerprint: expect.stringMatching(/^sha256:/)})
    const missing = await verdict('tlog-missing')
    expect(missing).toMatchObject({verified: false, rule: `${host}/${prefix}/tlog-missing`, reason: expect.stringMatching(/\.sig layer 1: no transparency-log entry, and the rule requires one \(tlog: required\)/)})
    expect(upstreamAction(missing, policy.default)).toBe('reject')
  })

  it('a signature by another key is refused', async () => {
    expect(await verdict('other-key')).toMatchObject({verified: false, reason: expect.stringMatching(/the signature does not verify with the rule's key sha256:[0-9a-f]{64}/)})
  })

  it("a valid signature whose payload names another digest never counts", async () => {
    expect(await verdict('other-digest')).toMatchObject({verified: false, reason: expect.stringMatching(new RegExp(`signed content names sha256:(ab){32}, not this image's ${images.get('other-digest')!.digest}`))})
  })

  it("a log entry not signed by the trusted root's log key is refused", async () => {
    expect(await verdict('forged-log')).toMatchObject({verified: false, reason: expect.stringMatching(/SignedEntryTimestamp does not verify with a log key of the trusted root/)})
  })

  it('one valid signature among several suffices', async () => {
    expect(await verdict('two-signatures')).toMatchObject({verified: true})
  })

  it('a keyless .sig signature chaining to the trusted root passes with its identity and issuer (v2 and legacy issuer extensions)', async () => {
    expect(await verdict('keyless')).toMatchObject({verified: true, rule: 'acme releases', identity: IDENTITY, issuer: ISSUER, logIndex: 7})
    expect(await verdict('keyless-legacy')).toMatchObject({verified: true, identity: 'https://ci.acme.test/release', issuer: ISSUER})
  })

  it('a keyless Sigstore bundle referrer (DSSE, cosign sign/v1) passes; an attestation alone does not', async () => {
    const v = await verdict('keyless-bundle')
    expect(v).toMatchObject({verified: true, rule: 'acme releases', identity: IDENTITY, issuer: ISSUER})
    expect(v.keyFingerprint).toBeUndefined()
    expect(await verdict('attestation-only')).toMatchObject({verified: false, reason: expect.stringMatching(/an attestation \(predicate "https:\/\/slsa\.dev\/provenance\/v1"\), not an image signature/)})
  })

  it('a wrong identity, a wrong issuer or an untrusted CA is refused', async () => {
    expect(await verdict('wrong-identity')).toMatchObject({verified: false, reason: expect.stringMatching(/identity "intruder@acme\.test" does not match \/release@acme\\\.test\//)})
    expect(await verdict('wrong-issuer')).toMatchObject({verified: false, reason: expect.stringMatching(/issuer "https:\/\/evil\.test" does not match "https:\/\/issuer\.test"/)})
    expect(await verdict('stranger-ca')).toMatchObject({verified: false, reason: expect.stringMatching(/does not chain to a certificate authority of the trusted root/)})
  })

  it('tlog: optional does not make a keyless signature without a log entry valid: its certificate has no verified time', async () => {
    expect(await verdict('keyless-nolog')).toMatchObject({verified: false, reason: expect.stringMatching(/no verified signing time for the keyless certificate/)})
  })

  it('an unsigned image under a rule is refused; one no rule covers follows the default', async () => {
    const covered = await verdict('unsigned')
    expect(covered).toMatchObject({verified: false, rule: `${host}/${prefix}/un*`, reason: expect.stringMatching(/no signature found/)})
    expect(upstreamAction(covered, 'accept')).toBe('reject')
    const repo = client.repository(`other-${prefix}/free`)
    const img = await makeImage({seed: `${prefix}-free`, layers: 1, fileSize: 512})
    await loadInto(repo, img, '1.0')
    const name = `${host}/other-${prefix}/free`
    const v = await verifyUpstream({image: `${name}:1.0`, repository: name, target: repo, signatures: await findSignatures(repo, name, img.root.digest)}, img.root.digest, policy)
    expect(v).toMatchObject({rule: 'default', verified: false, reason: expect.stringMatching(/no rule of .*policy\.yaml covers .*; the policy's default is warn/)})
    expect(['reject', 'warn', 'accept'].map((d) => upstreamAction(v, d as 'reject'))).toEqual(['reject', 'warn', 'accept'])
  })
})
