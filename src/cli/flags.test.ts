/**
 * The typed command-line flags, parsed by oclif's own parser as a command parses them: good values
 * become what the use cases take, and each kind of bad value is a UsageError (exit 2) whose message
 * names the flag and the value once BaseCommand has taken off oclif's "Parsing --FLAG" prefix.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {Parser} from '@oclif/core'
import {afterAll, afterEach, beforeAll, describe, expect, it, vi} from 'vitest'
import {AirgapError, ExitCode, SpecError, UsageError} from '../errors.js'
import {generateKeyPair, keyFingerprint, KeyFormatError, KeyPasswordError} from '../signing/index.js'
import {renderError, withoutFlagParsingPrefix} from './base.js'
import {cliExitCodeFor} from './exit-codes.js'
import {parseSize, platformFlag, publicKeyFlag, registryFlag, signingKeyFlag, sizeFlag, sourceDateEpoch, pullTime} from './flags.js'

const flags = {
  platform: platformFlag({multiple: true, multipleNonGreedy: true}),
  'max-part-size': sizeFlag({}),
  registry: registryFlag({env: 'AIRGAP_TEST_REGISTRY'}),
  key: publicKeyFlag({}),
  'sign-key': signingKeyFlag({}),
}

afterEach(() => {
  vi.unstubAllEnvs()
})

/** The flags as a command gets them from `argv`. */
async function parse(argv: string[]) {
  return (await Parser.parse(argv, {flags, strict: true})).flags
}

/** The error a command reports for `argv`: the AirgapError with oclif's prefix taken off. */
async function failure(argv: string[]): Promise<AirgapError> {
  const err = await parse(argv).then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(AirgapError)
  return withoutFlagParsingPrefix(err as AirgapError)
}

describe('--platform', () => {
  it('parses each value once into a normalised Platform', async () => {
    const parsed = await parse(['--platform', 'linux/amd64', '--platform', 'Linux/AArch64', '--platform', 'linux/arm/7', '--platform', 'linux/armhf'])
    expect(parsed.platform).toEqual([
      {os: 'linux', architecture: 'amd64'},
      {os: 'linux', architecture: 'arm64'},
      {os: 'linux', architecture: 'arm', variant: 'v7'},
      {os: 'linux', architecture: 'arm', variant: 'v7'},
    ])
  })

  it.each([
    ['linux', 'one part'],
    ['linux/amd64/v8/x', 'four parts'],
    ['linux/am d64', 'a space'],
    ['linux//v8', 'an empty part'],
  ])('refuses %j (%s): exit 2, naming the flag and the value', async (value) => {
    const err = await failure(['--platform', value])
    expect(err).toBeInstanceOf(UsageError)
    expect(cliExitCodeFor(err)).toBe(ExitCode.USAGE)
    expect(err.message).toBe(`invalid --platform "${value}": expected OS/ARCH[/VARIANT]`)
    expect(err.hint).toMatch(/linux\/amd64/)
    expect(renderError(err, 2)).toBe(`Error: invalid --platform "${value}": expected OS/ARCH[/VARIANT]. Write a platform like linux/amd64 or linux/arm64/v8.`)
  })
})

describe('--max-part-size', () => {
  it('parses binary and decimal sizes into bytes', async () => {
    expect((await parse(['--max-part-size', '4GiB']))['max-part-size']).toBe(4 * 1024 ** 3)
    expect(parseSize('200KiB', '--x')).toBe(200 * 1024)
    expect(parseSize('700 MiB', '--x')).toBe(700 * 1024 ** 2)
    expect(parseSize('1.5G', '--x')).toBe(1.5 * 1024 ** 3)
    expect(parseSize('4GB', '--x')).toBe(4e9)
    expect(parseSize('1048576', '--x')).toBe(1048576)
    expect(parseSize('1k', '--x')).toBe(1024)
  })

  it.each([
    ['', 'not a size'],
    ['GiB', 'not a size'],
    ['-1GiB', 'not a size'],
    ['1e9', 'not a size'],
    ['4 parsecs', 'unknown unit "parsecs"'],
    ['4PiB', 'unknown unit "PiB"'],
    ['0', 'the size must be at least 1 byte'],
    ['0.1', 'the size must be at least 1 byte'],
    ['9999999TiB', 'too large'],
  ])('refuses %j: %s (exit 2, naming the flag and the value)', async (value, reason) => {
    const err = await failure([`--max-part-size=${value}`])
    expect(err).toBeInstanceOf(UsageError)
    expect(cliExitCodeFor(err)).toBe(ExitCode.USAGE)
    expect(err.message).toBe(`invalid --max-part-size "${value}": ${reason}`)
    expect(err.hint).toMatch(/KiB, MiB, GiB or TiB/)
  })
})

describe('--registry', () => {
  it('splits HOST[:PORT][/PREFIX] once into host and prefix', async () => {
    expect((await parse(['--registry', 'registry.corp:5000/mirror/x/'])).registry).toEqual({host: 'registry.corp:5000', prefix: 'mirror/x'})
    expect((await parse(['--registry', 'https://r.corp/m'])).registry).toEqual({host: 'r.corp', prefix: 'm'})
    expect((await parse(['--registry', '127.0.0.1:5000'])).registry).toEqual({host: '127.0.0.1:5000', prefix: ''})
    expect((await parse(['--registry', '[::1]:5000/a'])).registry).toEqual({host: '[::1]:5000', prefix: 'a'})
  })

  it('reads it from the environment variable too', async () => {
    vi.stubEnv('AIRGAP_TEST_REGISTRY', 'env.corp/p')
    expect((await parse([])).registry).toEqual({host: 'env.corp', prefix: 'p'})
    vi.stubEnv('AIRGAP_TEST_REGISTRY', 'env.corp/P')
    expect((await failure([])).message).toBe('invalid --registry "env.corp/P": path component "P" must be lower-case letters, digits and separators (. _ __ -)')
  })

  it.each([
    ['', '"" is not a host[:port]'],
    ['bad host', '"bad host" is not a host[:port]'],
    ['r.corp:port', '"r.corp:port" is not a host[:port]'],
    ['r.corp/Mirror', 'path component "Mirror" must be lower-case letters, digits and separators (. _ __ -)'],
    ['r.corp/a//b', 'path component "" must be lower-case letters, digits and separators (. _ __ -)'],
  ])('refuses %j: %s (exit 2)', async (value, reason) => {
    const err = await failure([`--registry=${value}`])
    expect(err).toBeInstanceOf(UsageError)
    expect(cliExitCodeFor(err)).toBe(ExitCode.USAGE)
    expect(err.message).toBe(`invalid --registry "${value}": ${reason}`)
    expect(err.hint).toBe('write it as HOST[:PORT][/PREFIX], e.g. registry.corp:5000/mirror')
  })
})

describe('--key and --sign-key', () => {
  let dir: string
  let pair: ReturnType<typeof generateKeyPair>
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-key-flags-'))
    pair = generateKeyPair('flag-test-pw', {scryptN: 32768})
    await writeFile(join(dir, 'cosign.key'), pair.privateKeyPem)
    await writeFile(join(dir, 'cosign.pub'), pair.publicKeyPem)
    await writeFile(join(dir, 'junk.pem'), 'not a key\n')
  })
  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('--key reads the public key once', async () => {
    const {key} = await parse(['--key', join(dir, 'cosign.pub')])
    expect(key?.type).toBe('public')
  })

  it('--key: a missing file is exit 2 naming it; a file holding no public key is exit 3 naming it', async () => {
    const missing = await failure(['--key', join(dir, 'nope.pub')])
    expect(missing).toBeInstanceOf(UsageError)
    expect(missing.message).toBe(`cannot read the public key ${join(dir, 'nope.pub')}: ENOENT`)
    expect(missing.hint).toBe('pass the cosign.pub of the signer with --key (or AIRGAP_KEY)')
    const privateKey = await failure(['--key', join(dir, 'cosign.key')])
    expect(privateKey).toBeInstanceOf(KeyFormatError)
    expect(cliExitCodeFor(privateKey)).toBe(ExitCode.SPEC)
    expect(privateKey.message).toBe(`invalid key file ${join(dir, 'cosign.key')}: no public key (found ENCRYPTED SIGSTORE PRIVATE KEY)`)
    expect((await failure(['--key', join(dir, 'junk.pem')])).message).toBe(`invalid key file ${join(dir, 'junk.pem')}: no public key (found no PEM block)`)
  })

  it('--sign-key decrypts the key with the password from the environment, and gives its public half', async () => {
    vi.stubEnv('AIRGAP_KEY_PASSWORD', 'flag-test-pw')
    const signKey = (await parse(['--sign-key', join(dir, 'cosign.key')]))['sign-key']!
    expect(signKey.privateKey.type).toBe('private')
    const pub = (await parse(['--key', join(dir, 'cosign.pub')])).key!
    expect(keyFingerprint(signKey.publicKey)).toBe(keyFingerprint(pub))
    vi.stubEnv('AIRGAP_KEY_PASSWORD', undefined)
    vi.stubEnv('COSIGN_PASSWORD', 'flag-test-pw')
    expect((await parse(['--sign-key', join(dir, 'cosign.key')]))['sign-key']!.privateKey.type).toBe('private')
  })

  it('--sign-key: a wrong password is exit 2 and never printed; a missing file is exit 3; no password and no terminal is exit 2', async () => {
    vi.stubEnv('AIRGAP_KEY_PASSWORD', 'not-the-password')
    const wrong = await failure(['--sign-key', join(dir, 'cosign.key')])
    expect(wrong).toBeInstanceOf(KeyPasswordError)
    expect(cliExitCodeFor(wrong)).toBe(ExitCode.USAGE)
    expect(wrong.message).toBe(`cannot decrypt the private key ${join(dir, 'cosign.key')}: wrong password (AIRGAP_KEY_PASSWORD / COSIGN_PASSWORD)`)
    expect(renderError(wrong, 2)).not.toContain('not-the-password')

    const missing = await failure(['--sign-key', join(dir, 'nope.key')])
    expect(missing).toBeInstanceOf(SpecError)
    expect(cliExitCodeFor(missing)).toBe(ExitCode.SPEC)
    expect(missing.message).toBe(`cannot read signing key ${join(dir, 'nope.key')} (ENOENT)`)
    expect(missing.hint).toBe('check the --sign-key path (airgap key generate writes one)')

    vi.stubEnv('AIRGAP_KEY_PASSWORD', undefined)
    vi.stubEnv('COSIGN_PASSWORD', undefined)
    const noPassword = await failure(['--sign-key', join(dir, 'cosign.key')])
    expect(noPassword).toBeInstanceOf(UsageError)
    expect(noPassword.message).toBe('no key password given and no terminal to ask for one')
  })
})

describe('oclif parse errors', () => {
  it('keep a message of their own (not ours) and exit 2', async () => {
    const err = await Parser.parse(['--max-part-size'], {flags, strict: true}).catch((e: unknown) => e as Error)
    expect(err).not.toBeInstanceOf(AirgapError)
    expect(cliExitCodeFor(err)).toBe(ExitCode.USAGE)
    expect(renderError(withoutFlagParsingPrefix(err as Error), 2)).toBe('Error: Flag --max-part-size expects a value. See --help.')
  })
})

describe('SOURCE_DATE_EPOCH', () => {
  it('is 0 when unset, whole seconds otherwise, and a UsageError naming the value when not a number', () => {
    expect(sourceDateEpoch({})).toBe(0)
    expect(pullTime({}, () => 1_800_000_000_999)).toBe(1_800_000_000)
    expect(pullTime({SOURCE_DATE_EPOCH: '1700000000'}, () => 1_800_000_000_999)).toBe(1_700_000_000)
    expect(sourceDateEpoch({SOURCE_DATE_EPOCH: ''})).toBe(0)
    expect(sourceDateEpoch({SOURCE_DATE_EPOCH: '1700000000'})).toBe(1_700_000_000)
    expect(() => sourceDateEpoch({SOURCE_DATE_EPOCH: '-1'})).toThrow(UsageError)
    expect(() => sourceDateEpoch({SOURCE_DATE_EPOCH: 'yesterday'})).toThrow(/SOURCE_DATE_EPOCH="yesterday"/)
  })
})
