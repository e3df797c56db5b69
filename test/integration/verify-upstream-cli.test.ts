/**
 * `airgap pull --verify-upstream`, `verify`/`list` showing the verdicts and
 * `push --require-upstream-verified` (issue 19), spawned CLI against the real registry. The source
 * holds one image signed with a key made here (cosign `.sig` layout) and one unsigned image.
 */
import {mkdtemp, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {BundleReader} from '../../src/bundle/index.js'
import {parseLock} from '../../src/bundle/lock.js'
import {MediaType} from '../../src/oci/types.js'
import type {RegistryClient} from '../../src/registry/index.js'
import {jsonOf, runCli} from '../support/cli.js'
import {blob, jsonBlob, loadInto, makeImage} from '../support/images.js'
import {describeWithServices, services, startRegistry, type RegistryHandle} from '../support/services.js'
import {cosignLayer, simpleSigningPayload} from '../support/sigstore.js'
import {ecKeyPair} from '../support/x509.js'
import {clientFor} from './registry-support.js'

describeWithServices('airgap pull --verify-upstream / verify / list / push --require-upstream-verified (real registry, spawned CLI)', () => {
  let dir: string
  let client: RegistryClient
  let mirror: RegistryHandle
  let host: string
  let signed: string
  let unsigned: string
  const key = ecKeyPair()

  const spec = (name: string, refs: string[]) => `apiVersion: airgap.dev/v1alpha1\nkind: ReleaseSpec\nmetadata:\n  name: ${name}\nspec:\n  images:\n${refs.map((r) => `    - ${r}\n`).join('')}`
  const policy = (fallback: string) =>
    `apiVersion: airgap.dev/v1alpha1\nkind: UpstreamPolicy\ndefault: ${fallback}\nrules:\n  - name: acme signed\n    match: "${signed.slice(0, signed.lastIndexOf(':'))}"\n    key: cosign.pub\n    tlog: optional\n`

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-upstream-cli-'))
    const plain = services().registries.plain
    host = plain.host
    client = clientFor(plain)
    const prefix = `upcli-${process.pid}-${Date.now()}`
    const signedImage = await makeImage({seed: `${prefix}-signed`, layers: 1, fileSize: 2048})
    await loadInto(client.repository(`${prefix}/signed`), signedImage, '1.0')
    const layer = cosignLayer({payload: simpleSigningPayload(`${host}/${prefix}/signed`, signedImage.root.digest), key})
    const payload = blob(layer.payload, MediaType.CosignSimpleSigning, {annotations: layer.annotations})
    const config = jsonBlob({architecture: '', os: '', config: {}, rootfs: {type: 'layers', diff_ids: [payload.descriptor.digest]}}, MediaType.OciConfig)
    const manifest = jsonBlob({schemaVersion: 2, mediaType: MediaType.OciManifest, config: config.descriptor, layers: [payload.descriptor]}, MediaType.OciManifest)
    await loadInto(client.repository(`${prefix}/signed`), {root: manifest.descriptor, blobs: [payload, config, manifest]}, `sha256-${signedImage.root.digest.slice(7)}.sig`)
    await loadInto(client.repository(`${prefix}/unsigned`), await makeImage({seed: `${prefix}-unsigned`, layers: 1, fileSize: 2048}), '1.0')
    signed = `${host}/${prefix}/signed:1.0`
    unsigned = `${host}/${prefix}/unsigned:1.0`
    await writeFile(join(dir, 'cosign.pub'), key.publicKey.export({type: 'spki', format: 'pem'}))
    await writeFile(join(dir, 'warn.yaml'), policy('warn'))
    await writeFile(join(dir, 'reject.yaml'), policy('reject'))
    await writeFile(join(dir, 'both.yaml'), spec('both', [signed, unsigned]))
    await writeFile(join(dir, 'signed.yaml'), spec('signed', [signed]))
    mirror = await startRegistry({mode: 'plain'})
  }, 120_000)

  afterAll(async () => {
    await mirror?.stop()
    await client?.close()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  const pull = (specFile: string, policyFile: string, out: string, ...extra: string[]) =>
    runCli(['pull', join(dir, specFile), '-o', join(dir, out), '--verify-upstream', join(dir, policyFile), '--plain-http', host, ...extra])

  it('default: reject fails the pull (exit 5) naming the image, the rule and the reason, and writes no bundle', async () => {
    const r = await pull('both.yaml', 'reject.yaml', 'rejected.tar', '--json')
    expect(r.code, r.stderr).toBe(5)
    const error = JSON.parse(r.stdout) as {error: {message: string}}
    expect(error.error.message).toMatch(new RegExp(`1 image\\(s\\) refused by the upstream-signature policy .*reject\\.yaml: ${unsigned.replace(/[.]/g, '\\.')} \\[rule default: no rule of .* covers`))
    await expect(stat(join(dir, 'rejected.tar'))).rejects.toThrow(/ENOENT/)
  })

  it('pull --dry-run names the refused image in wouldFail with each verdict, exit 0, and writes no bundle', async () => {
    const r = await pull('both.yaml', 'reject.yaml', 'dry.tar', '--dry-run', '--json')
    expect(r.code, r.stderr).toBe(0)
    const plan = JSON.parse(r.stdout) as {wouldFail: string[]; upstreamVerification: Array<{image: string; verified: boolean}>}
    expect(plan.wouldFail).toHaveLength(1)
    expect(plan.wouldFail[0]).toContain(unsigned)
    expect(plan.upstreamVerification.find((v) => v.image === unsigned)?.verified).toBe(false)
    await expect(stat(join(dir, 'dry.tar'))).rejects.toThrow(/ENOENT/)
  })

  it('default: warn carries the unsigned image with a warning; the verdicts are in the signed lock and shown by verify and list; push --require-upstream-verified refuses it', async () => {
    const r = await pull('both.yaml', 'warn.yaml', 'warned.tar', '--json')
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain(`upstream signature not verified for ${unsigned}`)
    const pulled = jsonOf<{upstreamVerification: Array<{image: string; verified: boolean; rule: string}>}>(r)
    expect(pulled.upstreamVerification.map((v) => [v.image, v.rule, v.verified])).toEqual([
      [signed, 'acme signed', true],
      [unsigned, 'default', false],
    ])

    const reader = await BundleReader.open(join(dir, 'warned.tar'))
    const lock = parseLock(await reader.readFile('airgap/lock.json'), 'warned.tar')
    await reader.close()
    expect(lock.upstreamVerification).toMatchObject({policy: {default: 'warn', digest: expect.stringMatching(/^sha256:/)}, images: [{source: signed, verified: true, keyFingerprint: expect.stringMatching(/^sha256:/)}, {source: unsigned, verified: false}]})

    const verify = await runCli(['verify', join(dir, 'warned.tar'), '--json'])
    expect(verify.code, verify.stderr).toBe(0)
    expect(jsonOf<{upstreamVerification: unknown}>(verify).upstreamVerification).toEqual(lock.upstreamVerification)
    const list = await runCli(['list', join(dir, 'warned.tar')])
    expect(list.stdout).toMatch(/UPSTREAM SIGNATURES \(1 of 2 verified; policy sha256:[0-9a-f]{64}, default warn\)/)
    expect(list.stdout).toContain(`  verified      ${signed}  rule acme signed: key sha256:`)
    expect(list.stdout).toContain(`  NOT verified  ${unsigned}  rule default: no rule of`)

    const push = await runCli(['push', join(dir, 'warned.tar'), '--allow-unsigned', '--require-upstream-verified', '--registry', `${mirror.host}/m`, '--plain-http', mirror.host])
    expect(push.code, push.stderr).toBe(5)
    expect(push.stderr).toContain(`1 image(s) in ${join(dir, 'warned.tar')} are not upstream-verified: ${unsigned} [rule default:`)
  })

  it('a bundle whose every image is verified pushes with --require-upstream-verified; one pulled without a policy is refused', async () => {
    expect((await pull('signed.yaml', 'reject.yaml', 'signed.tar')).code).toBe(0)
    const push = await runCli(['push', join(dir, 'signed.tar'), '--allow-unsigned', '--require-upstream-verified', '--registry', `${mirror.host}/m`, '--plain-http', mirror.host, '--json'])
    expect(push.code, push.stderr).toBe(0)
    const plain = await runCli(['pull', join(dir, 'signed.yaml'), '-o', join(dir, 'plain.tar'), '--plain-http', host])
    expect(plain.code, plain.stderr).toBe(0)
    const refused = await runCli(['push', join(dir, 'plain.tar'), '--allow-unsigned', '--require-upstream-verified', '--registry', `${mirror.host}/m`, '--plain-http', mirror.host])
    expect(refused.code).toBe(5)
    expect(refused.stderr).toMatch(/records no upstream-signature verification: it was pulled without --verify-upstream/)
  })
})
