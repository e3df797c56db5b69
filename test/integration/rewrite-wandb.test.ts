/**
 * `airgap rewrite` end to end on a W&B channel against the REAL services, every step the spawned
 * CLI (needs ../shared): pull (the REAL operator-wandb 0.43.8 and operator 1.4.8 charts as published,
 * from the real nginx Helm repo; one tiny image per discovered reference in the real plain registry,
 * reached with --registry-mirror) → push (plain registry under a path prefix, charts into nginx with
 * WebDAV PUT) → rewrite (channel values read from the bundle; the chart the bundle carries rendered
 * with the CR's values and proven, issue 16). Then every image reference anywhere
 * in operator.yaml, operator-values.yaml and the rewritten user files is resolved against the
 * mirror with skopeo, the CR is checked against the real CRD schema, and containerd (private
 * socket) pulls every source reference of the bundle by its ORIGINAL name through the generated
 * hosts.toml folder (override_path under the prefix, plain HTTP).
 */
import {execFile} from 'node:child_process'
import {existsSync, readFileSync} from 'node:fs'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import pLimit from 'p-limit'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse, parseAllDocuments} from 'yaml'
import {discoverImages, groupFindings} from '../../src/discover/index.js'
import {indexEntryFor, loadChartArchive, mergeIndex} from '../../src/helm/index.js'
import {digestOf} from '../../src/oci/digest.js'
import {parseReference} from '../../src/oci/reference.js'
import type {PushReceipt} from '../../src/mirror/receipt.js'
import {validateCr} from '../../src/rewrite/index.js'
import {mirrorSetProblems} from '../../src/rewrite/openshift.js'
import type {RewriteReleaseResult} from '../../src/usecases/rewrite.js'
import {jsonOf, runCli} from '../support/cli.js'
import {loadInto, makeImage, makeIndex, makeLayer} from '../support/images.js'
import {basicAuth, describeWithServices, services, startContainerd} from '../support/services.js'
import {clientFor} from './registry-support.js'

const run = promisify(execFile)
const LICENSE = 'lic-e2e-SECRET-7d1f'
const MIRROR_OF: Record<string, string> = {'docker.io': 'dockerhub', 'quay.io': 'quay', 'ghcr.io': 'ghcr', 'us-docker.pkg.dev': 'gar', 'registry.k8s.io': 'k8s'}
const SHARED = join(import.meta.dirname, '../../../shared/fixtures/charts')
const CHARTS = ['operator-wandb-0.43.8.tgz', 'operator-1.4.8.tgz'].map((f) => join(SHARED, f))
const noShared = CHARTS.every((f) => existsSync(f)) ? undefined : `${SHARED} is absent (the shared fixtures are not mounted)`
if (noShared) process.stderr.write(`[rewrite wandb] skipped: ${noShared}\n`)
const CHANNEL_VALUES = {global: {extraEnv: {CHANNEL_MARK: 'from-channel'}}, console: {image: {tag: '2.13.1'}}}
const SITE = `# Site settings for wandb.corp: this comment must survive into operator.yaml
global:
  host: https://wandb.corp # the public URL
  license: ${LICENSE}
  bucket:
    provider: s3
    name: wandb-bucket
`
const USER_VALUES = `# my extra values (comments must survive)
app:
  # pinned app image, written short
  image:
    repository: wandb/local # short name
    tag: latest
sidecar:
  image: quay.io/prometheus/prometheus:v2.47.0 # a string reference
`
const USER_JOB = `apiVersion: batch/v1
kind: Job
metadata:
  name: migrate # keep me
spec:
  template:
    spec:
      initContainers:
        - name: wait
          image: mysql:latest
      containers:
        - name: run
          image: "docker.io/wandb/megabinary:latest"
      restartPolicy: Never
`

interface Walked {
  ref: string
  where: string
}

/** Every image reference in a values/manifest tree: strings under `image`, {repository,tag,digest}, Bitnami {registry,repository,…}, {name,tag} (reloader). */
function imageRefs(node: unknown, where: string, out: Walked[] = []): Walked[] {
  if (Array.isArray(node)) node.forEach((n, i) => imageRefs(n, `${where}[${i}]`, out))
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
      const here = where ? `${where}.${k}` : k
      if (k === 'image' && typeof v === 'string' && v !== '') out.push({ref: v, where: here})
      else if (k === 'image' && v !== null && typeof v === 'object' && typeof ((v as Record<string, unknown>)['repository'] ?? (v as Record<string, unknown>)['name']) === 'string') {
        const i = v as Record<string, string>
        const path = i['repository'] ?? i['name']!
        const repo = i['registry'] ? `${i['registry']}/${path}` : path
        out.push({ref: i['digest'] ? `${repo}${i['tag'] ? `:${i['tag']}` : ''}@${i['digest']}` : `${repo}:${i['tag'] || 'latest'}`, where: here})
      } else imageRefs(v, here, out)
    }
  }
  return out
}

const describeShared = noShared === undefined ? describeWithServices : describe.skip
describeShared('airgap rewrite after pull and push of the real W&B charts (needs ../shared; real registry, nginx Helm repo, skopeo, containerd)', () => {
  let dir: string
  let prefix: string
  let mirror: string
  let receipt: PushReceipt
  let receiptFile: string
  let sources: string[]
  let rewriteJson: RewriteReleaseResult
  let hostsDir: string
  const out = (name: string): string => join(dir, name)

  async function put(url: string, body: Buffer): Promise<void> {
    const res = await fetch(url, {method: 'PUT', body, headers: {authorization: basicAuth(services().credentials.uploader)}})
    if (res.status !== 201 && res.status !== 204) throw new Error(`PUT ${url}: HTTP ${res.status}`)
  }

  beforeAll(async () => {
    const s = services()
    const plain = s.registries.plain
    dir = await mkdtemp(join(tmpdir(), 'airgap-rewrite-'))
    prefix = `rw-${process.pid}-${Date.now()}`
    mirror = `${plain.host}/${prefix}/mirror`

    // Upstream: charts in nginx, one tiny image per reference in the plain registry.
    const srcRepo = `${s.nginx.url}/${prefix}-upstream`
    const entries = []
    const found: string[] = []
    for (const path of CHARTS) {
      const tgz = readFileSync(path)
      const c = await loadChartArchive(tgz, path)
      const file = `${c.metadata.name}-${c.metadata.version}.tgz`
      await put(`${srcRepo}/${file}`, tgz)
      entries.push(indexEntryFor(c.metadata, tgz, file, '2024-01-01T00:00:00Z'))
      const values = c.metadata.name === 'operator-wandb' ? CHANNEL_VALUES : {}
      found.push(...groupFindings(discoverImages(c, {values, includeDisabled: true})).map((g) => g.reference))
    }
    await put(`${srcRepo}/index.yaml`, Buffer.from(mergeIndex(undefined, entries, '2024-01-01T00:00:00Z')))
    // the controller comes from the operator chart's values (wandb/controller:latest), not added by the channel pull
    expect(found).toContain('docker.io/wandb/controller:latest')
    sources = [...new Set(found)].sort()
    const client = clientFor(plain)
    try {
      const base = await makeLayer({seed: 'rw-base', files: 1, fileSize: 1024})
      await Promise.all(
        sources.map(async (reference, i) => {
          const ref = parseReference(reference)
          const repo = client.repository(`${prefix}/upstream/${MIRROR_OF[ref.registry]}/${ref.repository}`)
          const image = reference === 'docker.io/wandb/local:latest' ? await makeIndex({seed: `rw-${i}`, files: 1, fileSize: 256}) : await makeImage({seed: `rw-${i}`, baseLayers: [base], layers: 1, files: 1, fileSize: 256})
          await loadInto(repo, image, ref.tag)
        }),
      )
    } finally {
      await client.close()
    }
    const channel = out('channel.json')
    await writeFile(channel, JSON.stringify({metadata: {version: '0.74.1'}, chart: {url: srcRepo, name: 'operator-wandb', version: '0.43.8'}, values: CHANNEL_VALUES}))

    // pull → push → rewrite, each the spawned CLI.
    const mirrorFlags = Object.entries(MIRROR_OF).flatMap(([src, name]) => ['--registry-mirror', `${src}=${plain.host}/${prefix}/upstream/${name}`])
    const bundle = out('wandb.tar')
    const pulled = await runCli(['pull', channel, '-o', bundle, '-q', ...mirrorFlags, '--plain-http', plain.host], {env: {SOURCE_DATE_EPOCH: '1700000000'}})
    expect(pulled.code, pulled.stderr).toBe(0)
    receiptFile = out('wandb.receipt.json')
    const pushed = await runCli(
      ['push', bundle, '--allow-unsigned', '--registry', mirror, '--plain-http', plain.host, '--helm-repo', `${s.nginx.url}/${prefix}-mirror`, '--helm-username', s.nginx.username, '--receipt', receiptFile, '-q'],
      {env: {AIRGAP_HELM_PASSWORD: s.nginx.password}},
    )
    expect(pushed.code, pushed.stderr).toBe(0)
    receipt = JSON.parse(await readFile(receiptFile, 'utf8')) as PushReceipt

    await writeFile(out('site.yaml'), SITE)
    await writeFile(out('user-values.yaml'), USER_VALUES)
    await writeFile(out('job.yaml'), USER_JOB)
    hostsDir = out('certs.d')
    const r = await runCli([
      'rewrite', '--receipt', receiptFile, '--values', out('site.yaml'), '-o', out('operator.yaml'), '--operator-values', out('operator-values.yaml'),
      '--containerd-hosts', hostsDir, '--registries-conf', out('registries.conf'), '--idms', out('mirror-sets.yaml'), '--plain-http', plain.host, '--pull-secret', 'mirror-pull',
      '--json', out('user-values.yaml'), out('job.yaml'),
    ])
    expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0)
    for (const text of [r.stdout, r.stderr, pulled.stdout, pulled.stderr]) expect(text).not.toContain(LICENSE)
    rewriteJson = jsonOf<RewriteReleaseResult>(r)
  }, 180_000)

  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('writes a CR that passes the CRD schema, carries the channel values from the bundle and the site values with their comments', async () => {
    expect(receipt.complete).toBe(true)
    // pull recorded how each image was found and its values shape; push carried it into the receipt
    const origins = receipt.images.flatMap((i) => i.discoveredBy)
    expect(origins.find((d) => d.valuesPath === 'redis.image')).toEqual(expect.objectContaining({kind: 'values', shape: 'bitnami'}))
    expect(origins.find((d) => d.valuesPath === 'app.image')).toEqual(expect.objectContaining({kind: 'values', shape: 'repository-tag'}))
    expect(origins.find((d) => d.template === 'templates/tests/test-connection.yaml')).toEqual(expect.objectContaining({kind: 'template'}))
    expect(rewriteJson.channelValues.from).toBe('bundle')
    // the proof rendered the chart the bundle carries with the CR's values
    expect(rewriteJson.proof).toEqual(expect.objectContaining({chart: 'operator-wandb 0.43.8'}))
    expect(rewriteJson.proof.objects).toBeGreaterThan(30)
    expect(rewriteJson.proof.containers).toBeGreaterThan(10)
    expect(rewriteJson.operatorRequirement.needs).toBe('any v1 operator (1.x)')
    expect(rewriteJson.chart).toEqual(expect.objectContaining({name: 'operator-wandb', version: '0.43.8', source: 'repo', location: `${services().nginx.url}/${prefix}-mirror`}))
    expect(rewriteJson.files.map((f) => f.kind).sort()).toEqual(expect.arrayContaining(['operator-cr', 'operator-values', 'registries-conf', 'rewritten', 'containerd-hosts']))
    const text = await readFile(out('operator.yaml'), 'utf8')
    expect(validateCr(text)).toEqual([])
    expect(text).toContain('# Site settings for wandb.corp: this comment must survive into operator.yaml')
    expect(text).toContain('# the public URL')
    const cr = parse(text) as {spec: {chart: Record<string, string>; values: Record<string, Record<string, unknown>>}}
    expect(cr.spec.chart).toEqual({url: `${services().nginx.url}/${prefix}-mirror`, name: 'operator-wandb', version: '0.43.8'})
    expect(cr.spec.values['global']!['license']).toBe(LICENSE) // kept for the user, never printed
    expect(cr.spec.values['global']!['extraEnv']).toEqual({CHANNEL_MARK: 'from-channel'}) // channel values from airgap/spec.yaml
    expect(cr.spec.values['global']!['imagePullSecrets']).toEqual([{name: 'mirror-pull'}])
    // the mirrored chart is downloadable from the mirror Helm repository
    const index = await (await fetch(`${services().nginx.url}/${prefix}-mirror/index.yaml`)).text()
    expect(index).toContain('operator-wandb')
  })

  it('writes an ImageDigestMirrorSet and an ImageTagMirrorSet that fit their CRD schema, one entry per mirrored source repository', async () => {
    const docs = parseAllDocuments(await readFile(out('mirror-sets.yaml'), 'utf8')).map((d) => d.toJS() as {kind: string; spec: Record<string, Array<{source: string; mirrors: string[]}>>})
    expect(docs.map((d) => d.kind)).toEqual(['ImageDigestMirrorSet', 'ImageTagMirrorSet'])
    for (const doc of docs) expect(mirrorSetProblems(doc)).toEqual([])
    const entries = docs[0]!.spec['imageDigestMirrors']!
    expect(entries.length).toBeGreaterThan(10)
    for (const image of receipt.images.filter((i) => i.status === 'pushed')) {
      const ref = parseReference(image.source)
      const entry = entries.find((e) => e.source === `${ref.registry}/${ref.repository}`)
      expect(entry, image.source).toBeDefined()
      const mirror = parseReference(image.mirror)
      expect(entry!.mirrors).toContain(`${mirror.registry}/${mirror.repository}`)
    }
  })

  it('every image reference in operator.yaml, operator-values.yaml and the rewritten files resolves in the mirror (skopeo)', async () => {
    const cr = parse(await readFile(out('operator.yaml'), 'utf8')) as Record<string, unknown>
    const values = parse(await readFile(out('operator-values.yaml'), 'utf8')) as Record<string, unknown>
    const user = parse(await readFile(out('user-values.yaml'), 'utf8')) as Record<string, unknown>
    const job = parse(await readFile(out('job.yaml'), 'utf8')) as Record<string, unknown>
    const refs = [...imageRefs(cr, 'operator.yaml'), ...imageRefs(values, 'operator-values.yaml'), ...imageRefs(user, 'user-values.yaml'), ...imageRefs(job, 'job.yaml')]
    // every values path of the receipt is in the CR, disabled components, hooks, prometheus.instance.*, otel.* and Bitnami subcharts included
    const paths = new Set(receipt.images.flatMap((i) => i.discoveredBy.filter((d) => d.chart.split('/')[0] === 'operator-wandb' && d.valuesPath && !/\[\d+\]/.test(d.valuesPath)).map((d) => `operator.yaml.spec.values.${d.valuesPath}`)))
    const seen = new Set(refs.map((r) => r.where))
    for (const p of paths) expect(seen.has(p), p).toBe(true)
    for (const p of ['prometheus.instance.server.image', 'otel.daemonset.image', 'redis.image', 'kafka.zookeeper.image', 'appRenamePreHook.image', 'lumen-agent.image']) expect(seen.has(`operator.yaml.spec.values.${p}`), p).toBe(true)
    expect(refs.length).toBeGreaterThan(40)

    const limit = pLimit(6)
    const failures = (
      await Promise.all(
        refs.map((r) =>
          limit(async () => {
            if (!r.ref.startsWith(`${mirror}/`)) return `${r.where}: ${r.ref} is not in the mirror`
            try {
              // skopeo takes a tag or a digest, not both (the controller is pinned by digest next to its tag)
              await run('skopeo', ['--insecure-policy', 'inspect', '--raw', '--tls-verify=false', `docker://${r.ref.replace(/:[^/@]+@/, '@')}`])
              return undefined
            } catch (err) {
              return `${r.where}: ${r.ref}: ${(err as {stderr?: string}).stderr?.trim() ?? String(err)}`
            }
          }),
        ),
      )
    ).filter((f) => f !== undefined)
    expect(failures).toEqual([])
  }, 120_000)

  it('rewrites the user files in place keeping comments; digests pinned by the controller stay consistent', async () => {
    const user = await readFile(out('user-values.yaml'), 'utf8')
    expect(user).toContain('# my extra values (comments must survive)')
    expect(user).toContain('# pinned app image, written short')
    expect(user).toContain(`repository: ${mirror}/wandb/local # short name`)
    expect(user).toContain(`image: ${mirror}/prometheus/prometheus:v2.47.0 # a string reference`)
    const job = await readFile(out('job.yaml'), 'utf8')
    expect(job).toContain('name: migrate # keep me')
    expect(job).toContain(`image: ${mirror}/library/mysql:latest`)
    expect(rewriteJson.rewritten.map((f) => f.changes.length)).toEqual([2, 2])
    const values = parse(await readFile(out('operator-values.yaml'), 'utf8')) as {image: {repository: string; tag: string; pullSecrets: string[]}; airgapped: boolean}
    expect(values).toEqual(expect.objectContaining({airgapped: true, image: expect.objectContaining({repository: `${mirror}/wandb/controller`, tag: 'latest', pullSecrets: ['mirror-pull']}) as unknown}))
    const conf = await readFile(out('registries.conf'), 'utf8')
    expect(conf).toContain(`location = "${mirror}"`)
    expect(conf).toContain('insecure = true')
  })

  it.skipIf(process.getuid?.() !== 0)('containerd pulls every source reference of the bundle by its original name through the generated hosts.toml folder', async () => {
    const hosts = await readFile(join(hostsDir, 'docker.io', 'hosts.toml'), 'utf8')
    expect(hosts).toContain(`[host."http://${services().registries.plain.host}/v2/${prefix}/mirror"]`)
    expect(hosts).toContain('override_path = true')
    const ctrd = await startContainerd()
    try {
      const limit = pLimit(4)
      await Promise.all(receipt.images.map((i) => limit(() => ctrd.ctr(['-n', ctrd.namespace, 'images', 'pull', '--hosts-dir', hostsDir, i.source], {timeout: 60_000}))))
      const {stdout} = await ctrd.ctr(['-n', ctrd.namespace, 'images', 'ls'])
      const listed = new Map(
        stdout
          .split('\n')
          .slice(1)
          .map((l) => l.trim().split(/\s+/))
          .filter((cols) => cols.length >= 3)
          .map((cols) => [cols[0]!, cols[2]!]),
      )
      for (const image of receipt.images) expect(listed.get(image.source), image.source).toBe(image.digest)
      expect(receipt.images.map((i) => i.source).sort()).toEqual(sources)
    } finally {
      await ctrd.stop()
    }
  }, 120_000)

  it('the configmap route reads the chart package from the bundle and embeds exactly it; --channel replaces the stored channel values', async () => {
    await writeFile(out('channel2.json'), JSON.stringify({chart: {url: 'https://charts.wandb.ai', name: 'operator-wandb', version: '0.43.8'}, values: {global: {extraEnv: {CHANNEL_MARK: 'from-file'}}}}))
    const r = await runCli(['rewrite', '--receipt', receiptFile, '--channel', out('channel2.json'), '--chart-source', 'configmap', '-o', out('cm/operator.yaml'), '--operator-values', out('cm/operator-values.yaml'), '--containerd-hosts', out('cm/certs.d'), '--json'])
    expect(r.code, r.stderr).toBe(0)
    expect(jsonOf<RewriteReleaseResult>(r).channelValues).toEqual({from: 'channel', file: out('channel2.json')})
    expect((parse(await readFile(out('cm/operator.yaml'), 'utf8')) as {spec: {values: {global: {extraEnv: unknown}}}}).spec.values.global.extraEnv).toEqual({CHANNEL_MARK: 'from-file'})
    const cr = parse(await readFile(out('cm/operator.yaml'), 'utf8')) as {spec: {chart: unknown}}
    expect(cr.spec.chart).toEqual({path: '/charts/operator-wandb'})
    expect(validateCr(await readFile(out('cm/operator.yaml'), 'utf8'))).toEqual([])
    const cm = parse(await readFile(out('cm/wandb-charts.yaml'), 'utf8')) as {kind: string; metadata: {name: string}; data: Record<string, string>}
    expect(cm.metadata.name).toBe('wandb-charts')
    const tgz = Buffer.from(cm.data['operator-wandb']!, 'base64')
    expect(digestOf(tgz)).toBe(receipt.charts.find((c) => c.name === 'operator-wandb')!.tgzDigest)
  })

  it('--explain prints every rendered container and how it reaches the node; a failed proof names the object and template and writes nothing', async () => {
    const explained = await runCli(['rewrite', '--receipt', receiptFile, '--containerd-hosts', out('e/certs.d'), '-o', out('e/operator.yaml'), '--operator-values', out('e/operator-values.yaml'), '--pull-secret', 'mirror-pull', '--explain'])
    expect(explained.code, explained.stderr).toBe(0)
    expect(explained.stdout).toMatch(/COMPONENT\s+OBJECT\s+CONTAINER\s+IMAGE\s+REDIRECTED BY/)
    expect(explained.stdout).toContain(`${mirror}/wandb/local:latest`)
    expect(explained.stdout).toMatch(/^app\s+Deployment\/wandb-app\S*\s+app\s+\S+\/wandb\/local:latest\s+values \(points at the mirror\)$/m)
    expect(explained.stdout).toMatch(/^prometheus\/instance\s+Deployment\/wandb-prometheus-server\s+prometheus-server\s+\S+\/prometheus\/prometheus:v2\.47\.0\s+values/m)
    expect(explained.stdout).toMatch(/Pod\/wandb-operator-wandb-test-connection \[hook test\]\s+wandb-verify\s+us-docker\.pkg\.dev\/wandb-production\/public\/python:3\.12\s+containerd hosts\.toml/)
    // a stale digest in the site values: the rendered prometheus server would pull what the mirror does not hold
    await writeFile(out('stale.yaml'), `prometheus:\n  instance:\n    server:\n      image:\n        digest: sha256:${'f'.repeat(64)}\n`)
    const refused = await runCli(['rewrite', '--receipt', receiptFile, '--values', out('stale.yaml'), '--containerd-hosts', out('f/certs.d'), '-o', out('f/operator.yaml'), '--operator-values', out('f/operator-values.yaml')])
    expect(refused.code, refused.stderr).toBe(3)
    expect(refused.stderr).toMatch(/Deployment\/wandb-prometheus-server \(operator-wandb\/charts\/prometheus\/charts\/instance\/templates\/deploy\.yaml\) container prometheus-server: \S+@sha256:f{64} points into the mirror, but the receipt holds only v2\.47\.0 there/)
    for (const f of ['f/operator.yaml', 'f/operator-values.yaml', 'f/certs.d']) expect(existsSync(out(f)), f).toBe(false)
  }, 60_000)

  it('refuses, writing nothing, when a user file names an image that is not mirrored, unless --allow-external names it', async () => {
    await writeFile(out('extra.yaml'), 'image: docker.io/acme/unknown:1.0\n')
    const args = ['rewrite', '--receipt', receiptFile, '-o', out('x/operator.yaml'), '--operator-values', out('x/operator-values.yaml'), '--containerd-hosts', out('x/certs.d'), out('extra.yaml')]
    const refused = await runCli(args)
    expect(refused.code).toBe(3)
    expect(refused.stderr).toMatch(/docker\.io\/acme\/unknown:1\.0 at .*extra\.yaml:1/)
    await expect(readFile(out('x/operator.yaml'))).rejects.toThrow()
    const allowed = await runCli([...args, '--allow-external', 'docker.io/acme/*'])
    expect(allowed.code, allowed.stderr).toBe(0)
    // hard-coded template images fail without node-level mirror config
    const noNode = await runCli(['rewrite', '--receipt', receiptFile, '-o', out('y/operator.yaml'), '--operator-values', out('y/operator-values.yaml')])
    expect(noNode.code).toBe(3)
    expect(noNode.stderr).toMatch(/hard-coded in .*templates\/tests/)
    expect(noNode.stderr).toContain('--containerd-hosts')
  })
})
