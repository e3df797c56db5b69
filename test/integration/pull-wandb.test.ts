/**
 * `airgap pull` / `airgap images` end to end on a W&B-shaped channel, against the REAL services:
 * the operator-wandb chart built around the real fixture values (+ wandb-base, synthetic
 * subcharts; `reloader` left out of charts/ so that it is fetched as a dependency) and the
 * `operator` chart, published to the real nginx Helm repository (WebDAV PUT); one small generated
 * image per reference pushed into the real plain registry under per-source mirror prefixes, reached
 * with --registry-mirror. `wandb/mcp-server` is not pushed (it is not on Docker Hub either).
 * Every pull is the spawned CLI (bin/run.js); bundles are checked with airgap verify and skopeo.
 */
import {spawn} from 'node:child_process'
import {execFileSync} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, readFile, rm, stat, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {pullBundle} from '../../src/usecases/pull.js'
import {parseLock, type BundleLock} from '../../src/bundle/lock.js'
import {BundleReader} from '../../src/bundle/index.js'
import {discoverImages, groupFindings} from '../../src/discover/index.js'
import {buildChartArchive, indexEntryFor, mergeIndex} from '../../src/helm/index.js'
import type {LoadedChart} from '../../src/helm/types.js'
import {parseReference} from '../../src/oci/reference.js'
import {generateKeyPair} from '../../src/signing/index.js'
import type {RegistryClient} from '../../src/registry/index.js'
import {REPO, runCli, type CliResult} from '../support/cli.js'
import {loadInto, makeImage, makeIndex, makeLayer} from '../support/images.js'
import {basicAuth, describeWithServices, services} from '../support/services.js'
import {chartArchiveFiles, operatorChart, operatorWandb, subchart, TABLE, withoutSubchart} from '../support/wandb-chart.js'
import {clientFor} from './registry-support.js'

const EPOCH = '1700000000'
const PASSWORD = 'pull-test-pw'
const MIRROR_OF: Record<string, string> = {'docker.io': 'dockerhub', 'quay.io': 'quay', 'ghcr.io': 'ghcr', 'us-docker.pkg.dev': 'gar'}
const NOT_PUSHED = 'docker.io/wandb/mcp-server:0.3.5'

describeWithServices('airgap pull of a W&B-shaped channel (real registry, nginx Helm repo, spawned CLI)', () => {
  let dir: string
  let client: RegistryClient
  let repoUrl: string
  let mirrorFlags: string[]
  let channel: string
  let expected: string[]
  let keyFile: string
  let pubFile: string
  const env = {SOURCE_DATE_EPOCH: EPOCH, AIRGAP_KEY_PASSWORD: PASSWORD}

  const pull = (args: string[], extra: Record<string, string> = {}): Promise<CliResult> => runCli(['pull', ...args, ...mirrorFlags, '--plain-http', services().registries.plain.host], {env: {...env, ...extra}})

  beforeAll(async () => {
    const info = services()
    const plain = info.registries.plain
    dir = await mkdtemp(join(tmpdir(), 'airgap-pull-'))
    client = clientFor(plain)
    const prefix = `pull-${process.pid}-${Date.now()}`
    mirrorFlags = Object.entries(MIRROR_OF).flatMap(([src, name]) => ['--registry-mirror', `${src}=${plain.host}/${prefix}/${name}`])

    // Charts: operator-wandb without reloader in charts/ (fetched from the repo), reloader, operator.
    repoUrl = `${info.nginx.url}/${prefix}`
    const full = operatorWandb()
    const wandb = withoutSubchart(full, 'reloader', repoUrl)
    const charts: LoadedChart[] = [wandb, subchart(full, 'reloader'), operatorChart()]
    const entries = []
    for (const c of charts) {
      const tgz = await buildChartArchive(chartArchiveFiles(c), c.metadata.name)
      const file = `${c.metadata.name}-${c.metadata.version}.tgz`
      await put(`${repoUrl}/${file}`, tgz)
      entries.push(indexEntryFor(c.metadata, tgz, file, '2024-01-01T00:00:00Z'))
    }
    await put(`${repoUrl}/index.yaml`, Buffer.from(mergeIndex(undefined, entries, '2024-01-01T00:00:00Z')))

    // Images: every reference discovery finds (plus the controller), except mcp-server.
    const found = groupFindings(discoverImages(full, {includeDisabled: true})).map((g) => g.reference)
    expected = [...new Set([...found, 'docker.io/wandb/controller:latest'])].sort()
    const base = await makeLayer({seed: 'pull-base', files: 2, fileSize: 2048})
    for (const [i, reference] of expected.entries()) {
      if (reference === NOT_PUSHED) continue
      const ref = parseReference(reference)
      const repo = client.repository(`${prefix}/${MIRROR_OF[ref.registry]}/${ref.repository}`)
      if (reference === 'docker.io/wandb/local:latest') {
        await loadInto(repo, await makeIndex({seed: `pull-${i}`, files: 1, fileSize: 1024}), ref.tag)
      } else if (reference === 'docker.io/wandb/megabinary:latest') {
        // the largest blob, fetched first: the kill test stops the pull right after it
        await loadInto(repo, await makeImage({seed: `pull-${i}`, baseLayers: [base], layers: 1, files: 4, fileSize: 1024 * 1024, compress: false}), ref.tag)
      } else {
        await loadInto(repo, await makeImage({seed: `pull-${i}`, baseLayers: [base], layers: 1, files: 1, fileSize: 512}), ref.tag)
      }
    }

    channel = join(dir, 'channel.json')
    await writeFile(channel, JSON.stringify({metadata: {version: '0.74.1'}, chart: {url: repoUrl, name: 'operator-wandb', version: '0.43.8'}, values: {}}))
    const keys = generateKeyPair(PASSWORD)
    keyFile = join(dir, 'cosign.key')
    pubFile = join(dir, 'cosign.pub')
    await writeFile(keyFile, keys.privateKeyPem)
    await writeFile(pubFile, keys.publicKeyPem)
  }, 120_000)

  afterAll(async () => {
    await client?.close()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  async function put(url: string, body: Buffer): Promise<void> {
    const res = await fetch(url, {method: 'PUT', body, headers: {authorization: basicAuth(services().credentials.uploader)}})
    if (res.status !== 201 && res.status !== 204) throw new Error(`PUT ${url}: HTTP ${res.status}`)
  }

  async function lockOf(bundle: string): Promise<BundleLock> {
    const reader = await BundleReader.open(bundle)
    try {
      return parseLock(await reader.readFile('airgap/lock.json'), bundle)
    } finally {
      await reader.close()
    }
  }

  it('pulls every image of the reference table, records each values path, and the bundle verifies', async () => {
    const out = join(dir, 'signed.tar')
    const r = await pull([channel, '-o', out, '--sign-key', keyFile, '--json'])
    expect(r.code, r.stderr).toBe(0)
    const report = JSON.parse(r.stdout) as {images: Array<{reference: string}>; missing: Array<{reference: string; enabled: boolean}>; charts: Array<{name: string; bundleName: string; fetchedDependencies: string[]}>; signed: boolean}
    expect(report.signed).toBe(true)
    expect(report.charts.map((c) => c.name).sort()).toEqual(['operator', 'operator-wandb'])
    const host = new URL(repoUrl).host
    expect(report.charts.find((c) => c.name === 'operator-wandb')!.bundleName).toBe(`${host}${new URL(repoUrl).pathname}/operator-wandb:0.43.8`)
    expect(report.charts.find((c) => c.name === 'operator-wandb')!.fetchedDependencies).toEqual([`reloader@1.3.0 from ${repoUrl}`])
    // the disabled component's missing image is only a warning
    expect(report.missing).toEqual([expect.objectContaining({reference: NOT_PUSHED, enabled: false})])
    expect(r.stderr).toContain('"event":"warning"')

    const lock = await lockOf(out)
    expect(lock.images.map((i) => i.source)).toEqual(expected.filter((e) => e !== NOT_PUSHED))
    for (const [reference, valuesPath] of TABLE) {
      const entry = lock.images.find((i) => i.source === reference) ?? lock.missing?.find((m) => m.source === reference)
      expect(entry?.discoveredBy?.map((d) => d.valuesPath), `${reference} at ${valuesPath}`).toContain(valuesPath)
    }
    expect(lock.missing?.map((m) => [m.source, m.discoveredBy?.[0]?.valuesPath])).toEqual([[NOT_PUSHED, 'mcp-server.image']])
    expect(lock.images.find((i) => i.source === 'docker.io/wandb/local:latest')!.platforms).toEqual(['linux/amd64', 'linux/arm64/v8'])
    expect(lock.charts.map((c) => c.name).sort()).toEqual(['operator', 'operator-wandb'])

    const verify = await runCli(['verify', out, '--key', pubFile])
    expect(verify.code, verify.stderr).toBe(0)
    const layout = join(dir, 'skopeo-out')
    execFileSync('skopeo', ['--insecure-policy', 'copy', '--all', `oci-archive:${out}:docker.io/wandb/local:latest`, `oci:${layout}:local`], {stdio: 'pipe'})
    expect(existsSync(join(layout, 'index.json'))).toBe(true)
  })

  it('decrypts the signing key while parsing the command line: a wrong password fails the pull (exit 2) before any bundle is written', async () => {
    const out = join(dir, 'wrong-password.tar')
    const r = await pull([channel, '-o', out, '--sign-key', keyFile], {AIRGAP_KEY_PASSWORD: 'not-the-password'})
    expect(r.code, r.stderr).toBe(2)
    expect(r.stderr).toContain(`cannot decrypt the private key ${keyFile}: wrong password`)
    expect(r.stderr).not.toContain('not-the-password')
    expect(existsSync(out)).toBe(false)
    expect(existsSync(`${out}.partial`)).toBe(false)
  })

  it('gives byte-identical unsigned bundles for the same spec with SOURCE_DATE_EPOCH', async () => {
    const a = join(dir, 'a.tar')
    const b = join(dir, 'b.tar')
    expect((await pull([channel, '-o', a, '-q'])).code).toBe(0)
    const text = await pull([channel, '-o', b])
    expect(text.code, text.stderr).toBe(0)
    expect((await readFile(a)).equals(await readFile(b))).toBe(true)
    // the summary table a person reads
    expect(text.stdout).toMatch(/Wrote .*b\.tar \(.*\), unsigned/)
    for (const row of ['images ', 'charts ', 'unique bytes', 'saved by sharing', 'fetched this run', 'time ']) expect(text.stdout).toContain(row)
    expect(text.stdout).toMatch(new RegExp(String.raw`images\s+${expected.length - 1} carried, 1 missing \(not carried\)`))
    expect(text.stdout).toContain(`missing: ${NOT_PUSHED}`)
  })

  it('resumes after kill -9, fetching only what was incomplete, and ends with the same bytes as an uninterrupted run', async () => {
    const reference = join(dir, 'a.tar')
    if (!existsSync(reference)) expect((await pull([channel, '-o', reference, '-q'])).code).toBe(0)
    const out = join(dir, 'killed.tar')
    const args = ['pull', channel, '-o', out, '--json', '--concurrency', '1', ...mirrorFlags, '--plain-http', services().registries.plain.host]
    const killed = await new Promise<{blobsDone: number}>((resolve, reject) => {
      const child = spawn(process.execPath, [join(REPO, 'bin/run.js'), ...args], {cwd: REPO, env: {...process.env, ...env}, stdio: ['ignore', 'ignore', 'pipe']})
      let buffered = ''
      let blobsDone = 0
      child.stderr.on('data', (chunk: Buffer) => {
        buffered += chunk.toString()
        const lines = buffered.split('\n')
        buffered = lines.pop() ?? ''
        for (const line of lines) {
          if (!line.startsWith('{')) continue
          const e = JSON.parse(line) as {event?: string; size?: number}
          if (e.event === 'done') blobsDone++
          if (e.event === 'done' && (e.size ?? 0) >= 1024 * 1024) child.kill('SIGKILL') // right after the big layer
        }
      })
      child.on('error', reject)
      child.on('close', (_code, signal) => (signal === 'SIGKILL' ? resolve({blobsDone}) : reject(new Error(`pull was not killed (${signal})`))))
    })
    expect(killed.blobsDone).toBeGreaterThanOrEqual(1)
    expect(existsSync(out)).toBe(false)
    expect((await stat(`${out}.partial`)).size).toBeGreaterThan(1024 * 1024)

    const again = await pull([channel, '-o', out, '--json'])
    expect(again.code, again.stderr).toBe(0)
    const report = JSON.parse(again.stdout) as {stats: {bytesCopied: number; blobsSkipped: number}; uniqueBytes: number}
    expect(report.stats.blobsSkipped).toBeGreaterThanOrEqual(1)
    expect(report.stats.bytesCopied).toBeGreaterThan(0)
    expect(report.stats.bytesCopied).toBeLessThan(report.uniqueBytes - 1024 * 1024) // the big layer was not fetched again
    expect((await readFile(out)).equals(await readFile(reference))).toBe(true)
    expect((await runCli(['verify', out])).code).toBe(0)
  })

  it('fails with the image and its origin when an enabled component names a missing image; --skip-missing carries on', async () => {
    const broken = join(dir, 'broken.json')
    await writeFile(broken, JSON.stringify({chart: {url: repoUrl, name: 'operator-wandb', version: '0.43.8'}, values: {app: {image: {tag: 'gone-1'}}}}))
    const failed = await pull([broken, '-o', join(dir, 'broken.tar')])
    expect(failed.code).toBe(7)
    expect(failed.stderr).toMatch(/docker\.io\/wandb\/local:gone-1 \[not found at .*dockerhub\/wandb\/local:gone-1; needed by operator-wandb\/app values app\.image\]/)
    expect(failed.stderr).not.toContain(NOT_PUSHED) // disabled-only images are not part of the failure
    expect(existsSync(join(dir, 'broken.tar.partial'))).toBe(false) // failed before writing anything

    const skipped = await pull([broken, '-o', join(dir, 'broken.tar'), '--skip-missing', '--json'])
    expect(skipped.code, skipped.stderr).toBe(0)
    const report = JSON.parse(skipped.stdout) as {missing: Array<{reference: string; enabled: boolean; origins: string[]}>}
    expect(report.missing).toContainEqual({reference: 'docker.io/wandb/local:gone-1', enabled: true, reason: expect.stringContaining('not found') as unknown, origins: ['operator-wandb/app values app.image']})
    const lock = await lockOf(join(dir, 'broken.tar'))
    expect(lock.missing?.map((m) => m.source)).toEqual(['docker.io/wandb/local:gone-1', NOT_PUSHED])
  })

  it('refuses to overwrite a finished bundle without --force, and fails the disk-space preflight before downloading', async () => {
    const out = join(dir, 'a.tar')
    if (!existsSync(out)) expect((await pull([channel, '-o', out, '-q'])).code).toBe(0)
    const again = await pull([channel, '-o', out])
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/already exists\. Pass --force/)

    // test double for the free-space probe: a full disk cannot be arranged here
    const full = join(dir, 'full.tar')
    const error = await pullBundle({
      spec: channel,
      out: full,
      plainHttp: [services().registries.plain.host],
      registryMirrors: mirrorFlags.filter((f) => f !== '--registry-mirror'),
      freeSpace: () => 1024,
    }).catch((e: unknown) => e)
    expect(String((error as Error).message)).toMatch(/not enough disk space in .* MiB needed, 0\.0 MiB free/)
    expect((await stat(`${full}.partial`)).size).toBeLessThan(4096) // nothing downloaded
  })

  it('airgap images lists every chart and image with its origin, without touching any image', async () => {
    const r = await runCli(['images', channel, '--json'])
    expect(r.code, r.stderr).toBe(0)
    const listed = JSON.parse(r.stdout) as {charts: Array<{name: string}>; images: Array<{reference: string; enabled: boolean; origins: Array<{valuesPath?: string; where: string}>}>}
    expect(listed.charts.map((c) => c.name)).toEqual(['operator-wandb', 'operator'])
    expect(listed.images.map((i) => i.reference)).toEqual(expected)
    for (const [reference, valuesPath, enabled] of TABLE) {
      const image = listed.images.find((i) => i.reference === reference)!
      expect(image.origins.map((o) => o.valuesPath)).toContain(valuesPath)
      if (enabled) expect(image.enabled).toBe(true)
    }
    // the live channel (served by nginx at <base>/api/v1/operator/channel) gives the same list
    await put(`${repoUrl}/api/v1/operator/channel`, await readFile(channel))
    const live = await runCli(['images', '--channel-url', repoUrl, '--json'], {env: {WANDB_LICENSE: 'test-licence'}})
    expect(live.code, live.stderr).toBe(0)
    expect((JSON.parse(live.stdout) as {images: Array<{reference: string}>}).images.map((i) => i.reference)).toEqual(expected)

    const text = await runCli(['images', channel, '--only-enabled'])
    expect(text.code).toBe(0)
    expect(text.stdout).toContain('docker.io/wandb/local:latest')
    expect(text.stdout).not.toContain(NOT_PUSHED)
  })
})
