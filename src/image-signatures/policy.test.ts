import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {SpecError} from '../errors.js'
import {generateKeyPair} from '../signing/index.js'
import {parsePolicy, ruleFor} from './policy.js'
import {loadUpstreamPolicy} from './policy-file.js'

const head = 'apiVersion: airgap.dev/v1alpha1\nkind: UpstreamPolicy\ndefault: reject\ntrustedRoot: root.json\n'

function problemOf(text: string): string {
  try {
    parsePolicy(text, '/p/policy.yaml')
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError)
    return (err as Error).message
  }
  throw new Error('expected the policy to be refused')
}

describe('upstream policy: parse', () => {
  it('reads key and keyless rules, resolving files next to the policy', () => {
    const policy = parsePolicy(
      `${head}rules:\n  - name: wandb\n    match: docker.io/wandb/**\n    key: keys/wandb.pub\n    tlog: optional\n  - match: ghcr.io/acme/*\n    keyless:\n      issuer: https://issuer.test\n      identityRegExp: .+@acme\\.test\n`,
      '/p/policy.yaml',
    )
    expect(policy.default).toBe('reject')
    expect(policy.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
    const [key, keyless] = policy.rules
    expect(key).toMatchObject({kind: 'key', name: 'wandb', keyFile: '/p/keys/wandb.pub', tlog: 'optional', trustedRootFile: '/p/root.json', position: '/p/policy.yaml:6:5'})
    expect(keyless).toMatchObject({kind: 'keyless', name: 'ghcr.io/acme/*', tlog: 'required', trustedRootFile: '/p/root.json'})
    if (keyless?.kind !== 'keyless') throw new Error('keyless rule expected')
    expect([keyless.issuer.test('https://issuer.test'), keyless.issuer.test('https://issuer.test/x')]).toEqual([true, false])
    // regular expressions match the whole value
    expect([keyless.identity.test('dev@acme.test'), keyless.identity.test('dev@acme.test.evil'), keyless.identity.test('x dev@acme.test')]).toEqual([true, false, true])
  })

  it('refuses with the line and column of every problem', () => {
    const message = problemOf(`${head}rules:\n  - match: docker.io/a/*\n    keyy: a.pub\n`)
    expect(message).toMatch(/^\/p\/policy\.yaml:7:5: rules\[0\]\.keyy: unknown field "keyy" \(did you mean "key"\?\)/)
    expect(problemOf(`${head}rules:\n  - match: docker.io/a/*\n    key: a.pub\n    tlog: sometimes\n`)).toMatch(/policy\.yaml:8:11: rules\[0\]\.tlog: expected one of "required", "optional", got the string "sometimes"/)
    expect(problemOf(`${head}rules:\n  - match: docker.io/a/*\n`)).toMatch(/policy\.yaml:6:5: rules\[0\]: a rule needs exactly one of "key".*got neither/)
    expect(problemOf(`${head}rules:\n  - match: x\n    keyless: {issuer: a, issuerRegExp: b, identity: c}\n`)).toMatch(/rules\[0\]\.keyless: give exactly one of "issuer" .*got both/)
    expect(problemOf(`${head}rules:\n  - match: x\n    keyless: {issuer: a, identityRegExp: "("}\n`)).toMatch(/rules\[0\]\.keyless\.identityRegExp: not a valid regular expression/)
    expect(problemOf(`${head}rules:\n  - {match: x, key: a.pub}\n  - {match: x, key: b.pub}\n`)).toMatch(/policy\.yaml:7:\d+: rules\[1\]\.match: the pattern "x" is already the match of rules\[0\]/)
    expect(problemOf('apiVersion: airgap.dev/v1alpha1\nkind: UpstreamPolicy\ndefault: reject\nrules:\n  - {match: x, key: a.pub}\n')).toMatch(/rules\[0\]\.tlog: tlog: required needs a trustedRoot/)
    expect(problemOf('apiVersion: airgap.dev/v1alpha1\nkind: UpstreamPolicy\ndefault: reject\nrules:\n  - {match: x, keyless: {issuer: a, identity: b}, tlog: optional}\n')).toMatch(/a keyless rule needs a trustedRoot/)
    const both = problemOf(`apiVersion: v9\nkind: UpstreamPolicy\ndefault: maybe\nrules: []\n`)
    // Problems are listed in document order (src/release/check.ts).
    expect(both).toBe('/p/policy.yaml:1:13: apiVersion: unsupported apiVersion "v9"; supported: airgap.dev/v1alpha1 (and 1 more problem)')
    expect(() => parsePolicy(`apiVersion: v9\nkind: UpstreamPolicy\ndefault: maybe\nrules: []\n`, '/p/policy.yaml')).toThrow(
      expect.objectContaining({problems: [expect.stringContaining('/p/policy.yaml:1:13: apiVersion'), expect.stringMatching(/^\/p\/policy\.yaml:3:10: default: expected one of "reject", "warn", "accept"/)]}),
    )
    expect(problemOf(`${head}rules:\n  - {name: default, match: x, key: a.pub}\n`)).toMatch(/"default" names the policy's default/)
    expect(problemOf(`${head}rules:\n  - {match: "docker.io/a b", key: a.pub}\n`)).toMatch(/is not a repository glob/)
  })
})

describe('upstream policy: the most specific rule wins', () => {
  const policy = parsePolicy(
    `${head}rules:\n${['docker.io/**', 'docker.io/wandb/*', 'docker.io/wandb/local', '**', 'docker.io/wandb/loc*', 'docker.io/*/local'].map((m) => `  - {match: "${m}", key: k.pub}`).join('\n')}\n`,
    '/p/policy.yaml',
  )
  it.each([
    ['docker.io/wandb/local', 'docker.io/wandb/local'], // exact beats every glob
    ['docker.io/wandb/locale', 'docker.io/wandb/loc*'], // more literal characters
    ['docker.io/wandb/console', 'docker.io/wandb/*'],
    ['docker.io/acme/local', 'docker.io/*/local'],
    ['docker.io/library/nginx', 'docker.io/**'],
    ['ghcr.io/acme/x', '**'],
  ])('%s -> %s', (repository, rule) => {
    expect(ruleFor(policy, repository)?.match).toBe(rule)
  })

  it('ties go to fewer wildcards, then to the rule written first; no match is undefined', () => {
    const tie = parsePolicy(`${head}rules:\n  - {match: "a.io/x/**", key: k.pub}\n  - {match: "a.io/*/y", key: k.pub}\n  - {match: "a.io/x/*", key: k.pub}\n  - {match: "a.io/?/y", key: k.pub}\n`, '/p/p.yaml')
    expect(ruleFor(tie, 'a.io/x/y')?.match).toBe('a.io/*/y') // 7 literals each; no ** beats x/**; */y was written before x/* and ?/y
    expect(ruleFor(tie, 'a.io/x/z')?.match).toBe('a.io/x/*') // same literals as x/**, but no **
    expect(ruleFor(tie, 'a.io/z/y')?.match).toBe('a.io/*/y')
    expect(ruleFor(tie, 'a.io/x/z/w')?.match).toBe('a.io/x/**')
    expect(ruleFor(tie, 'b.io/x/z')).toBeUndefined()
  })
})

describe('upstream policy: loading keys and trusted roots', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-policy-'))
    await writeFile(join(dir, 'k.pub'), generateKeyPair('pw').publicKeyPem)
    await writeFile(join(dir, 'root.json'), JSON.stringify({mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1', tlogs: [{publicKey: {rawBytes: 'not base64!'}, logId: {keyId: 'AA=='}}]}))
  })
  afterAll(() => rm(dir, {recursive: true, force: true}))

  it('loads a key rule and names the key by fingerprint', async () => {
    await writeFile(join(dir, 'ok.yaml'), 'apiVersion: airgap.dev/v1alpha1\nkind: UpstreamPolicy\ndefault: warn\nrules:\n  - {match: "**", key: k.pub, tlog: optional}\n')
    const policy = await loadUpstreamPolicy(join(dir, 'ok.yaml'))
    expect(policy.rules[0]).toMatchObject({kind: 'key', keyFingerprint: expect.stringMatching(/^sha256:[0-9a-f]{64}$/)})
  })

  it('names the file and where the policy named it when a key or a trusted root is bad', async () => {
    await writeFile(join(dir, 'missing.yaml'), 'apiVersion: airgap.dev/v1alpha1\nkind: UpstreamPolicy\ndefault: warn\nrules:\n  - match: "**"\n    key: nope.pub\n    tlog: optional\n')
    await expect(loadUpstreamPolicy(join(dir, 'missing.yaml'))).rejects.toThrow(/nope\.pub: cannot read the public key \(ENOENT\) \(named at .*missing\.yaml:6:10\)/)
    await writeFile(join(dir, 'root.yaml'), 'apiVersion: airgap.dev/v1alpha1\nkind: UpstreamPolicy\ndefault: warn\ntrustedRoot: root.json\nrules:\n  - {match: "**", key: k.pub}\n')
    await expect(loadUpstreamPolicy(join(dir, 'root.yaml'))).rejects.toThrow(/root\.json: \$\.tlogs\[0\]\.publicKey\.rawBytes: .*is not base64 text.*\(named at .*root\.yaml:4:14\)/)
  })
})
