import {chmod, mkdir, mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {AuthError, SpecError} from '../errors.js'
import {
  DockerConfigStore,
  StaticCredentialStore,
  configFiles,
  defaultCredentialStore,
  helperServerUrl,
  normalizeRegistryKey,
  runCredentialHelper,
} from './store.js'

const b64 = (s: string) => Buffer.from(s).toString('base64')

let dir: string
let binDir: string
let env: NodeJS.ProcessEnv

/**
 * A real docker-credential helper (the documented stdin/stdout protocol), written as a shell
 * script: it records the server URL it was asked about and answers from a small table.
 */
const HELPER = `#!/bin/sh
[ "$1" = get ] || { echo "unsupported verb $1" >&2; exit 2; }
read -r url
echo "$url" >> "$HELPER_LOG"
case "$url" in
  https://index.docker.io/v1/) echo '{"ServerURL":"https://index.docker.io/v1/","Username":"hubuser","Secret":"hub:pw:with:colons"}' ;;
  helper.example:5000) echo '{"ServerURL":"helper.example:5000","Username":"<token>","Secret":"refresh-123"}' ;;
  broken.example) echo "keychain locked" >&2; exit 1 ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
`

async function writeConfig(name: string, config: unknown): Promise<string> {
  const d = join(dir, name)
  await mkdir(d, {recursive: true})
  await writeFile(join(d, 'config.json'), JSON.stringify(config))
  return d
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-auth-'))
  binDir = join(dir, 'bin')
  await mkdir(binDir)
  await writeFile(join(binDir, 'docker-credential-airgaptest'), HELPER)
  await chmod(join(binDir, 'docker-credential-airgaptest'), 0o755)
  env = {PATH: `${binDir}:${process.env.PATH ?? ''}`, HOME: join(dir, 'home'), HELPER_LOG: join(dir, 'helper.log')}
})
afterAll(async () => rm(dir, {recursive: true, force: true}))

describe('normalizeRegistryKey', () => {
  it('strips scheme and path, lower-cases, and folds Docker Hub aliases', () => {
    expect(normalizeRegistryKey('https://index.docker.io/v1/')).toBe('docker.io')
    expect(normalizeRegistryKey('registry-1.docker.io')).toBe('docker.io')
    expect(normalizeRegistryKey('http://Reg.Example:5000/v2/')).toBe('reg.example:5000')
    expect(normalizeRegistryKey('reg.example')).toBe('reg.example')
    expect(helperServerUrl('docker.io')).toBe('https://index.docker.io/v1/')
    expect(helperServerUrl('reg.example:5000')).toBe('reg.example:5000')
  })
})

describe('config file location', () => {
  it('uses an explicit file alone, else REGISTRY_AUTH_FILE then DOCKER_CONFIG or ~/.docker', () => {
    expect(configFiles({file: '/x/auth.json', env: {REGISTRY_AUTH_FILE: '/y'}})).toEqual(['/x/auth.json'])
    expect(configFiles({env: {REGISTRY_AUTH_FILE: '/r/auth.json', DOCKER_CONFIG: '/d'}})).toEqual(['/r/auth.json', '/d/config.json'])
    expect(configFiles({env: {HOME: '/home/u'}})).toEqual(['/home/u/.docker/config.json'])
  })
})

describe('DockerConfigStore', () => {
  it('decodes auth (split on the first colon), username/password, identitytoken and registrytoken', async () => {
    const d = await writeConfig('auths', {
      auths: {
        'https://index.docker.io/v1/': {auth: b64('hub:pa:ss')},
        'reg.example:5000': {username: 'u', password: 'p'},
        'http://acr.example/v2/': {identitytoken: 'refresh'},
        'tok.example': {registrytoken: 'bearer-abc'},
        'store.example': {},
      },
    })
    const store = new DockerConfigStore(join(d, 'config.json'), false, env)
    expect(await store.get('docker.io')).toEqual({username: 'hub', password: 'pa:ss'})
    expect(await store.get('registry-1.docker.io')).toEqual({username: 'hub', password: 'pa:ss'})
    expect(await store.get('reg.example:5000')).toEqual({username: 'u', password: 'p'})
    expect(await store.get('acr.example')).toEqual({identityToken: 'refresh'})
    expect(await store.get('tok.example')).toEqual({registryToken: 'bearer-abc'})
    expect(await store.get('store.example')).toBeUndefined()
    expect(await store.get('unknown.example')).toBeUndefined()
  })

  it('finds the file through DOCKER_CONFIG and REGISTRY_AUTH_FILE (containers auth.json)', async () => {
    const docker = await writeConfig('docker', {auths: {'a.example': {auth: b64('from:docker')}}})
    const containers = await writeConfig('containers', {auths: {'a.example': {auth: b64('from:containers')}, 'b.example': {auth: b64('b:b')}}})
    const store = defaultCredentialStore({env: {...env, DOCKER_CONFIG: docker, REGISTRY_AUTH_FILE: join(containers, 'config.json')}})
    expect(await store.get('a.example')).toEqual({username: 'from', password: 'containers'})
    expect(await (defaultCredentialStore({env: {...env, DOCKER_CONFIG: docker}})).get('a.example')).toEqual({username: 'from', password: 'docker'})
    expect(await (defaultCredentialStore({env: {...env, DOCKER_CONFIG: join(dir, 'nowhere')}})).get('a.example')).toBeUndefined()
  })

  it('explicit credentials win over files', async () => {
    const docker = await writeConfig('explicit', {auths: {'a.example': {auth: b64('file:pw')}}})
    const store = defaultCredentialStore({env: {...env, DOCKER_CONFIG: docker}, credentials: {'a.example': {username: 'cli', password: 'x'}}})
    expect(await store.get('a.example')).toEqual({username: 'cli', password: 'x'})
  })

  it('asks credHelpers[host] first, then credsStore, then auths', async () => {
    const d = await writeConfig('helpers', {
      auths: {'helper.example:5000': {auth: b64('auths:pw')}, 'plain.example': {auth: b64('auths:plain')}},
      credHelpers: {'helper.example:5000': 'airgaptest'},
      credsStore: 'airgaptest',
    })
    const store = new DockerConfigStore(join(d, 'config.json'), false, env)
    // credHelpers: Username "<token>" means an identity token
    expect(await store.get('helper.example:5000')).toEqual({identityToken: 'refresh-123'})
    // credsStore answers for Docker Hub, asked with the https://index.docker.io/v1/ key
    expect(await store.get('docker.io')).toEqual({username: 'hubuser', password: 'hub:pw:with:colons'})
    // credsStore says "credentials not found" -> fall back to auths
    expect(await store.get('plain.example')).toEqual({username: 'auths', password: 'plain'})
    // the helper was asked with the server URL on stdin, Docker Hub by its legacy key
    const asked = (await readFile(env.HELPER_LOG!, 'utf8')).trim().split('\n')
    expect(asked).toEqual(expect.arrayContaining(['helper.example:5000', 'https://index.docker.io/v1/', 'plain.example']))
  })

  it('reports a failing helper as AuthError without echoing its output beyond one line', async () => {
    const err = await runCredentialHelper('airgaptest', 'broken.example', env).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AuthError)
    expect((err as Error).message).toBe('authentication failed for broken.example: credential helper docker-credential-airgaptest failed: keychain locked')
    const missing = await runCredentialHelper('does-not-exist', 'x.example', env).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(AuthError)
    expect((missing as AuthError).hint).toMatch(/install docker-credential-does-not-exist/)
  })

  it('rejects a broken config file with a SpecError naming it; a required explicit file must exist', async () => {
    await writeFile(join(dir, 'bad.json'), '{nope')
    await expect(new DockerConfigStore(join(dir, 'bad.json')).get('x')).rejects.toBeInstanceOf(SpecError)
    await expect(defaultCredentialStore({file: join(dir, 'absent.json')}).get('x')).rejects.toThrow(/absent\.json/)
  })
})

describe('StaticCredentialStore', () => {
  it('normalises keys', async () => {
    const s = new StaticCredentialStore({'https://index.docker.io/v1/': {username: 'a', password: 'b'}})
    expect(await s.get('docker.io')).toEqual({username: 'a', password: 'b'})
  })
})
