/**
 * `airgap copy` and `airgap inspect` end to end through the built CLI, against the real registries
 * and with skopeo as the independent client that checks our output.
 */
import {execFile} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, rm, writeFile, mkdir} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {OciLayout} from '../../src/layout/index.js'
import {loadInto, makeHelmChart, makeIndex, type GeneratedIndex} from '../support/images.js'
import {describeWithServices, services, uniqueName} from '../support/services.js'
import {jsonOf, runCli} from '../support/cli.js'

const run = promisify(execFile)
const skopeo = async (...args: string[]): Promise<string> =>
  (await run('skopeo', ['--insecure-policy', ...args], {maxBuffer: 64 * 1024 * 1024})).stdout

interface CopyJson {
  digest: string
  stats: {blobsCopied: number; bytesCopied: number; blobsSkipped: number; manifestsCopied: number; manifestsSkipped: number}
}

describeWithServices('airgap copy and inspect against real registries, checked with skopeo', () => {
  let dir: string
  let multi: GeneratedIndex
  let plain: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-cli-copy-'))
    plain = services().registries.plain.host
    multi = await makeIndex({seed: uniqueName('cli-multi'), sharedLayers: 2, layers: 1, fileSize: 50_000})
    const layout = await OciLayout.open(join(dir, 'src'), {create: true})
    await loadInto(layout, multi, 'docker.io/acme/multi:v1')
  })
  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('four copies running at once into one OCI layout keep all four names (index.json is locked across processes)', async () => {
    const target = join(dir, 'shared-layout')
    const names = ['one', 'two', 'three', 'four']
    const runs = await Promise.all(names.map((n) => runCli(['copy', '--json', `oci:${dir}/src:docker.io/acme/multi:v1`, `oci:${target}:docker.io/acme/multi:${n}`])))
    for (const r of runs) expect(r.code, r.stderr).toBe(0)
    const layout = await OciLayout.open(target)
    const tags: string[] = []
    for await (const t of layout.tags()) tags.push(t)
    expect(tags.sort()).toEqual(names.map((n) => `docker.io/acme/multi:${n}`).sort())
    expect(await skopeo('inspect', '--raw', `oci:${target}:docker.io/acme/multi:three`)).toContain('"manifests"')
  })

  it('pushes a two-platform index with shared layers: each unique blob once, then nothing on a second copy', async () => {
    const repo = `${plain}/${uniqueName('acme')}/multi:v1`
    const uniqueBlobs = new Set(multi.images.flatMap((i) => [...i.layers.map((l) => l.descriptor.digest), i.config.descriptor.digest]))
    const first = await runCli(['copy', '--json', '--plain-http', plain, `oci:${dir}/src:docker.io/acme/multi:v1`, repo])
    expect(first.code, first.stderr).toBe(0)
    const a = jsonOf<CopyJson>(first)
    expect(a.digest).toBe(multi.root.digest)
    expect(a.stats.blobsCopied).toBe(uniqueBlobs.size)
    expect(a.stats.manifestsCopied).toBe(3)
    const second = await runCli(['copy', '--json', '--plain-http', plain, `oci:${dir}/src:docker.io/acme/multi:v1`, repo])
    expect(second.code, second.stderr).toBe(0)
    const b = jsonOf<CopyJson>(second)
    expect(b.stats.blobsCopied).toBe(0)
    expect(b.stats.bytesCopied).toBe(0)
    // skopeo sees the same index digest and the raw bytes we generated.
    const raw = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${repo}`)
    expect(Buffer.from(raw).equals(multi.index.bytes)).toBe(true)
    // and skopeo copies every platform out of it with the index digest kept.
    await skopeo('copy', '--all', '--src-tls-verify=false', `docker://${repo}`, `oci:${dir}/by-skopeo:x`)
    const back = await OciLayout.open(join(dir, 'by-skopeo'))
    expect((await back.resolve('x')).digest).toBe(multi.root.digest)
  })

  it('copies an index that skopeo pushed into an OCI layout that skopeo reads back with identical digests', async () => {
    const img = await makeIndex({seed: uniqueName('skopeo-pushed'), layers: 1})
    const layout = await OciLayout.open(join(dir, 'sk-src'), {create: true})
    await loadInto(layout, img, 'pushed')
    const repo = `${plain}/${uniqueName('sk')}/app:2`
    await skopeo('copy', '--all', '--preserve-digests', '--dest-tls-verify=false', `oci:${dir}/sk-src:pushed`, `docker://${repo}`)
    const r = await runCli(['copy', '--json', '--plain-http', plain, repo, `oci:${dir}/ours`])
    expect(r.code, r.stderr).toBe(0)
    expect(jsonOf<CopyJson>(r).digest).toBe(img.root.digest)
    const raw = await skopeo('inspect', '--raw', `oci:${dir}/ours:${repo}`)
    expect(Buffer.from(raw).equals(img.index.bytes)).toBe(true)
    await skopeo('copy', '--all', `oci:${dir}/ours:${repo}`, `oci:${dir}/roundtrip:y`)
    const rt = await OciLayout.open(join(dir, 'roundtrip'))
    expect((await rt.resolve('y')).digest).toBe(img.root.digest)
  })

  it('mounts blobs instead of copying them between two repositories of one registry', async () => {
    const from = `${plain}/${uniqueName('mnt')}/multi:v1`
    const to = `${plain}/${uniqueName('mnt')}/copy:v1`
    expect((await runCli(['copy', '--plain-http', plain, `oci:${dir}/src:docker.io/acme/multi:v1`, from])).code).toBe(0)
    const r = await runCli(['copy', '--json', '--plain-http', plain, from, to])
    expect(r.code, r.stderr).toBe(0)
    const {stats} = jsonOf<CopyJson & {stats: {blobsMounted: number}}>(r)
    expect(stats.blobsCopied).toBe(0)
    expect(stats.blobsMounted).toBeGreaterThan(0)
    const raw = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${to}`)
    expect(Buffer.from(raw).equals(multi.index.bytes)).toBe(true)
  })

  it('keeps one platform with --platform and writes a smaller index', async () => {
    const repo = `${plain}/${uniqueName('acme')}/one:v1`
    const r = await runCli(['copy', '--json', '--plain-http', plain, '--platform', 'linux/arm64', `oci:${dir}/src:docker.io/acme/multi:v1`, repo])
    expect(r.code, r.stderr).toBe(0)
    const raw = JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${repo}`)) as {manifests: {platform: {architecture: string}}[]}
    expect(raw.manifests.map((m) => m.platform.architecture)).toEqual(['arm64'])
    expect(jsonOf<CopyJson>(r).digest).not.toBe(multi.root.digest)
  })

  it('round-trips a Helm chart OCI artifact through the registry with skopeo', async () => {
    const chart = await makeHelmChart({name: 'demo', version: '0.1.0'})
    const layout = await OciLayout.open(join(dir, 'chart'), {create: true})
    await loadInto(layout, chart, 'demo')
    const repo = `${plain}/${uniqueName('charts')}/demo:0.1.0`
    const r = await runCli(['copy', '--json', '--plain-http', plain, `oci:${dir}/chart:demo`, repo])
    expect(r.code, r.stderr).toBe(0)
    const raw = await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${repo}`)
    expect(Buffer.from(raw).equals(chart.blobs.at(-1)!.bytes)).toBe(true)
    await skopeo('copy', '--src-tls-verify=false', `docker://${repo}`, `oci:${dir}/chart-back:c`)
    const back = await OciLayout.open(join(dir, 'chart-back'))
    expect((await back.resolve('c')).digest).toBe(chart.root.digest)
  })

  it('copies through the token and TLS registries with credentials from a Docker config.json', async () => {
    const s = services()
    const cfgDir = join(dir, 'docker')
    await mkdir(cfgDir, {recursive: true})
    const auth = Buffer.from(`${s.credentials.admin.username}:${s.credentials.admin.password}`).toString('base64')
    await writeFile(
      join(cfgDir, 'config.json'),
      JSON.stringify({auths: {[s.registries.token.host]: {auth}, [`https://${s.registries.tls.host}`]: {auth}}}),
    )
    const env = {DOCKER_CONFIG: cfgDir}
    for (const [reg, flags] of [
      [s.registries.token.host, ['--plain-http', s.registries.token.host]],
      [s.registries.tls.host, ['--ca-file', s.tls.caFile]],
    ] as const) {
      const repo = `${reg}/${uniqueName('auth')}/multi:v1`
      const r = await runCli(['copy', '--json', ...flags, `oci:${dir}/src:docker.io/acme/multi:v1`, repo], {env})
      expect(r.code, r.stderr).toBe(0)
      const i = await runCli(['inspect', '--json', ...flags, repo], {env})
      expect(i.code, i.stderr).toBe(0)
      expect(jsonOf<{digest: string}>(i).digest).toBe(multi.root.digest)
    }
  })
})

describeWithServices('one clear line and a distinct exit code for each kind of failure', () => {
  it('invalid reference: exit 2, names the reference and the reason', async () => {
    const r = await runCli(['inspect', 'Acme/App:1'])
    expect(r.code).toBe(2)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/invalid image reference "Acme\/App:1".*lowercase/)
  })

  it('missing manifest: exit 7, names image and registry', async () => {
    const plain = services().registries.plain.host
    const r = await runCli(['inspect', '--plain-http', plain, `${plain}/nope/missing:1`])
    expect(r.code).toBe(7)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain(`${plain}/nope/missing:1`)
  })

  it('wrong credentials: exit 4, names the registry, says what to do, never prints the password', async () => {
    const s = services()
    const host = s.registries.htpasswd.host
    const cfg = await mkdtemp(join(tmpdir(), 'airgap-badcreds-'))
    await writeFile(join(cfg, 'config.json'), JSON.stringify({auths: {[host]: {auth: Buffer.from('admin:not-the-password').toString('base64')}}}))
    const r = await runCli(['inspect', '--plain-http', host, `${host}/x/y:1`], {env: {DOCKER_CONFIG: cfg}})
    await rm(cfg, {recursive: true, force: true})
    expect(r.code).toBe(4)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toContain(host)
    expect(r.stderr).toMatch(/wrong username or password/)
    expect(r.stderr).not.toContain('not-the-password')
  })

  it('unknown CA: exit 8 with the --ca-file hint; with the CA it gets through', async () => {
    const s = services()
    const host = s.registries.tls.host
    const r = await runCli(['inspect', `${host}/x/y:1`])
    expect(r.code).toBe(8)
    expect(r.stderr.trim().split('\n')).toHaveLength(1)
    expect(r.stderr).toMatch(/--ca-file/)
    const ok = await runCli(['inspect', '--ca-file', s.tls.caFile, `${host}/x/y:1`])
    expect(ok.code).toBe(4) // past TLS: now the registry asks for credentials
  })

  it('HTTPS spoken to a plain-HTTP registry: exit 8 with the --plain-http hint', async () => {
    const host = services().registries.plain.host
    const r = await runCli(['inspect', `${host}/x/y:1`])
    expect(r.code).toBe(8)
    expect(r.stderr).toContain(`--plain-http ${host}`)
  })

  it('a bad flag value: exit 2, one line naming the flag and the value, before anything is read', async () => {
    const dir = join(tmpdir(), uniqueName('bad-flags'))
    // NODE_ENV as users have it: under test, oclif adds a development warning to every parse error
    const env = {NODE_ENV: ''}
    const platform = await runCli(['copy', '--platform', 'linux', 'docker.io/acme/app:1', `oci:${dir}/never`], {env})
    expect(platform.code).toBe(2)
    expect(platform.stderr.trim().split('\n'), platform.stderr).toHaveLength(1)
    expect(platform.stderr).toContain('Error: invalid --platform "linux": expected OS/ARCH[/VARIANT]. Write a platform like linux/amd64')
    expect(existsSync(join(dir, 'never'))).toBe(false)
    const size = await runCli(['pull', join(dir, 'no-spec.yaml'), '-o', join(dir, 'never.tar'), '--max-part-size', '4 parsecs', '--json'], {env})
    expect(size.code).toBe(2)
    expect(jsonOf<{error: {code: string; message: string; exitCode: number}}>(size).error).toMatchObject({
      code: 'USAGE',
      message: 'invalid --max-part-size "4 parsecs": unknown unit "parsecs"',
      exitCode: 2,
    })
    const registry = await runCli(['inventory', '-o', join(dir, 'never.json'), '--registry', 'registry.corp/Upper'], {env})
    expect(registry.code).toBe(2)
    expect(registry.stderr).toContain('invalid --registry "registry.corp/Upper": path component "Upper"')
  })

  it('--json errors are machine-readable with the same code', async () => {
    const r = await runCli(['inspect', '--json', 'Acme/App'])
    expect(r.code).toBe(2)
    expect(jsonOf<{error: {code: string; exitCode: number}}>(r).error).toMatchObject({code: 'INVALID_REFERENCE', exitCode: 2})
  })
})
