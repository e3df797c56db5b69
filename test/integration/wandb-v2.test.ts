/**
 * W&B for the v2 operator end to end (issue 17), with the spawned CLI against the real registry:
 * our made-up server manifest (test/fixtures/wandb-v2, in its three artifact forms) and operator
 * chart are pushed into a registry that stands in for upstream (every image under
 * PREFIX/<registry>/<repository>, reached with --registry-mirror), then `airgap images`,
 * `pull --wandb-version`, `push` and `rewrite` run as a user would. The mirror is checked with
 * skopeo (the manifest at its upstream digest; every manifest image at imageRegistry +
 * registry/repository + tag, resolving to the upstream digest), the v2 resources against the
 * schema, and containerd pulls every manifest image through the mirror.
 */
import {execFile} from 'node:child_process'
import {createHash} from 'node:crypto'
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {promisify} from 'node:util'
import {parse} from 'yaml'
import {afterAll, beforeAll, expect, it} from 'vitest'
import type {BundleLock} from '../../src/bundle/lock.js'
import type {PushReceipt} from '../../src/mirror/receipt.js'
import {formatReference, parseReference} from '../../src/oci/reference.js'
import type {RegistryClient} from '../../src/registry/index.js'
import {validateWandbV2} from '../../src/rewrite/wandb-v2-cr.js'
import {operatorImage} from '../../src/server-manifest/index.js'
import {jsonOf, runCli} from '../support/cli.js'
import {loadInto} from '../support/images.js'
import {imageSources, makeServerManifest, MANIFEST_VARIANTS, OPERATOR_V2_IMAGES, operatorV2ChartTgz, pushOperatorV2Charts, seedUpstreamImages, upstreamRepository, type ServerManifestArtifact} from '../support/server-manifest.js'
import {describeWithServices, services, startContainerd} from '../support/services.js'
import {clientFor, repoName} from './registry-support.js'

const run = promisify(execFile)
const VERSION = '0.99.0'
const REGISTRIES = ['docker.io', 'quay.io', 'ghcr.io', 'registry.example.com', 'us-docker.pkg.dev']
const MISSING = 'quay.io/acme/kv-store:v3.5.9'

interface ImagesJson {
  images: Array<{reference: string; origins: Array<{chart: string; valuesPath?: string; source: string; where: string}>}>
  charts: Array<{name: string; version: string}>
  serverManifest: {source: string; digest: string; images: number; operatorCheck?: string}
}

describeWithServices('W&B v2: images, pull, push, rewrite of a server-manifest release (real registry, skopeo, containerd)', () => {
  let dir: string
  let client: RegistryClient
  let host: string
  const up = repoName('v2-up')
  const upMissing = repoName('v2-up-missing')
  const mirrorPrefix = repoName('v2-mirror')
  const built = new Map<string, ServerManifestArtifact>()
  const out = (f: string): string => join(dir, f)
  const mirrorFlags = (prefix: string): string[] => REGISTRIES.flatMap((r) => ['--registry-mirror', `${r}=${host}/${prefix}/${r}`])
  const v2Flags = (variant: string, prefix = up): string[] => [
    '--wandb-version', VERSION,
    '--manifest-repository', `oci://${host}/${prefix}/${variant}/wandb/server-manifest`,
    '--operator-chart', `oci://${host}/${up}/charts/operator`,
    '--plain-http', host,
    ...mirrorFlags(prefix),
  ]
  let lock: BundleLock
  let receipt: PushReceipt

  /** Every image of the server manifest, where the v2 operator looks for it under `mirror`, is the upstream image (skopeo reads each manifest; its digest must match). */
  async function expectOperatorLayout(mirror: string): Promise<void> {
    const m = await (await import('../../src/server-manifest/index.js')).loadServerManifest(client.repository(`${up}/layers/wandb/server-manifest`), VERSION)
    expect(m.images.length).toBe(17)
    for (const image of m.images) {
      const ref = operatorImage(image.ref, mirror)
      const want = (await client.repository(upstreamRepository(up, image.source)).resolve(image.source.tag ?? 'latest')).digest
      const {stdout: raw} = await run('skopeo', ['--insecure-policy', 'inspect', '--raw', '--tls-verify=false', `docker://${ref}`])
      expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`, `${image.key}: ${ref}`).toBe(want)
    }
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-v2-'))
    const plain = services().registries.plain
    host = plain.host
    client = clientFor(plain)
    for (const variant of MANIFEST_VARIANTS) built.set(variant, await makeServerManifest(variant))
    const sources = imageSources([...built.get('layers')!.texts, ...built.get('single')!.texts])
    const operatorImages = OPERATOR_V2_IMAGES.map((r) => parseReference(r))
    await seedUpstreamImages(client, up, [...sources, ...operatorImages])
    await seedUpstreamImages(client, upMissing, [...sources, ...operatorImages], new Set([MISSING]))
    for (const prefix of [up, upMissing]) {
      for (const [variant, artifact] of built) await loadInto(client.repository(`${prefix}/${variant}/wandb/server-manifest`), artifact, VERSION)
    }
    // 3.0.0 does not satisfy the manifest's ^2.0.0; 2.0.0-beta.3 does by its release version.
    await pushOperatorV2Charts(client, `${up}/charts/operator`, ['1.9.0', '2.0.0-beta.3', '3.0.0'])
  }, 120_000)
  afterAll(async () => {
    await client?.close()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('airgap images --wandb-version lists every image of the manifest (index form) with its key, and the operator chart that satisfies it', async () => {
    const r = await runCli(['images', ...v2Flags('index'), '--json'])
    expect(r.code, r.stderr).toBe(0)
    const listed = jsonOf<ImagesJson>(r)
    expect(listed.serverManifest).toMatchObject({source: `${host}/${up}/index/wandb/server-manifest:${VERSION}`, digest: built.get('index')!.root.digest, images: 17})
    expect(listed.serverManifest.operatorCheck).toBe('2.0.0-beta.3 satisfies ^2.0.0 by its release version 2.0.0')
    expect(listed.charts.map((c) => `${c.name}@${c.version}`)).toEqual(['operator@2.0.0-beta.3'])
    const byKey = new Map<string, string>()
    for (const image of listed.images) for (const o of image.origins) if (o.source === 'manifest') byKey.set(o.valuesPath!, image.reference)
    expect(byKey.get('kafka.images.etcd')).toBe(MISSING)
    expect(byKey.get('kafka.images.bucketEnsure')).toBe('docker.io/acme/cloud-cli:2.1.0')
    expect(byKey.get('applications.web.initContainers[0].image')).toBe('docker.io/acme/toolbox:1.4')
    expect(byKey.size).toBe(17)
    const sources = imageSources(built.get('single')!.texts).map(formatReference)
    expect([...new Set(byKey.values())].sort()).toEqual(sources.filter((s) => !s.includes('never-read')).sort())
    // the operator chart's own images are listed with their values paths
    expect(listed.images.find((i) => i.reference === OPERATOR_V2_IMAGES[0])?.origins.map((o) => o.where)).toContain('operator values wandb-operator.image')
    // the human listing names the key too
    const text = await runCli(['images', ...v2Flags('index')])
    expect(text.code, text.stderr).toBe(0)
    expect(text.stdout).toContain(`server manifest ${VERSION} key kafka.images.etcd`)
  }, 120_000)

  it('pull --wandb-version carries the manifest (multi-layer form) unchanged under its full name, pinned in the lock; verify passes', async () => {
    const r = await runCli(['pull', ...v2Flags('layers'), '-o', out('v2.tar'), '--json'], {env: {SOURCE_DATE_EPOCH: '1700000000'}})
    expect(r.code, r.stderr).toBe(0)
    const result = jsonOf<{serverManifest: {source: string; digest: string; images: number}; images: Array<{reference: string}>}>(r)
    const artifact = built.get('layers')!
    expect(result.serverManifest).toMatchObject({source: `${host}/${up}/layers/wandb/server-manifest:${VERSION}`, digest: artifact.root.digest, images: 17})
    const list = await runCli(['list', out('v2.tar'), '--json'])
    expect(list.code, list.stderr).toBe(0)
    const verify = await runCli(['verify', out('v2.tar'), '--json'])
    expect(verify.code, verify.stderr).toBe(0)
    const {stdout} = await run('tar', ['-xOf', out('v2.tar'), 'airgap/lock.json'])
    lock = JSON.parse(stdout) as BundleLock
    expect(lock.serverManifest).toMatchObject({source: result.serverManifest.source, version: VERSION, digest: artifact.root.digest, requiredOperatorVersion: '^2.0.0', operatorChartVersion: '2.0.0-beta.3'})
    const etcd = lock.images.find((i) => i.source === 'registry.example.com/streams/broker:1.2.1')
    expect(etcd?.discoveredBy).toEqual([{chart: `${host}/${up}/layers/wandb/server-manifest:${VERSION}`, valuesPath: 'kafka.images.bufstream', source: 'registry.example.com/streams/broker:1.2.1', kind: 'manifest'}])
    // the artifact itself, byte for byte, under its full source name (skopeo reads the bundle as an OCI archive)
    const {stdout: raw} = await run('skopeo', ['--insecure-policy', 'inspect', '--raw', `oci-archive:${out('v2.tar')}:${result.serverManifest.source}`])
    expect(Buffer.from(raw)).toEqual(artifact.manifest.bytes)
  }, 180_000)

  it('push lays the mirror out as the v2 operator reads it: manifest at the same digest, each image at imageRegistry/<registry/repository>:<tag> = the upstream digest', async () => {
    const mirror = `${host}/${mirrorPrefix}`
    // Path rules would rename images the v2 operator looks up by their own registry/repository: refused before anything is written.
    const shortened = await runCli(['push', out('v2.tar'), '--registry', mirror, '--allow-unsigned', '--plain-http', host, '--max-nested-paths', '3'])
    expect(shortened.code).toBe(2)
    expect(shortened.stderr).toMatch(/W&B v2 server manifest, whose images cannot be renamed/)
    const r = await runCli(['push', out('v2.tar'), '--registry', mirror, '--allow-unsigned', '--plain-http', host, '--json'])
    expect(r.code, r.stderr).toBe(0)
    receipt = JSON.parse(await readFile(`${out('v2.tar')}.receipt.json`, 'utf8')) as PushReceipt
    expect(receipt.serverManifest).toMatchObject({
      layout: 'operator-v2',
      imageRegistry: mirror,
      manifestRepository: `oci://${mirror}/wandb/server-manifest`,
      mirror: `${mirror}/wandb/server-manifest:${VERSION}`,
      digest: built.get('layers')!.root.digest,
      status: 'pushed',
    })
    const inspectDigest = async (ref: string): Promise<string> => {
      const {stdout} = await run('skopeo', ['--insecure-policy', 'inspect', '--raw', '--tls-verify=false', `docker://${ref}`])
      return `sha256:${createHash('sha256').update(stdout).digest('hex')}`
    }
    expect(await inspectDigest(`${mirror}/wandb/server-manifest:${VERSION}`)).toBe(built.get('layers')!.root.digest)
    // every image the manifest names, where the operator will look for it
    await expectOperatorLayout(mirror)
    // the layout keeps docker.io/ where the manifest writes it and adds nothing to a blank registry
    const mirrors = receipt.serverManifest!.images.map((i) => i.mirror)
    expect(mirrors).toContain(`${mirror}/docker.io/acme/objstore:3.1`)
    expect(mirrors).toContain(`${mirror}/acme/cloud-cli:2.1.0`)
    expect(mirrors).toContain(`${mirror}/registry.example.com/acme/public/platform/server:0.99.0`)
    // the operator chart's images keep the usual layout
    expect(receipt.images.find((i) => i.source === OPERATOR_V2_IMAGES[0])?.mirror).toBe(`${mirror}/wandb-production/public/wandb/operator:v2.0.0-beta.3`)
    const check = await runCli(['check', `${out('v2.tar')}.receipt.json`, '--plain-http', host])
    expect(check.code, check.stderr + check.stdout).toBe(0)
  }, 180_000)

  it('a --since delta of the release carries no layer the mirror holds but the server manifest whole; pushed to a second mirror path, every left-out blob is mounted from the first into the operator layout', async () => {
    expect(receipt).toBeDefined()
    const since = `${out('v2.tar')}.receipt.json`
    const r = await runCli(['pull', ...v2Flags('layers'), '--since', since, '-o', out('v2-delta.tar'), '--json'])
    expect(r.code, r.stderr).toBe(0)
    const pulled = jsonOf<{delta: {expectedBlobs: number; expectedBytes: number}; uniqueBytes: number; serverManifest: {digest: string}}>(r)
    expect(pulled.delta.expectedBlobs, 'blobs left out because the mirror holds them').toBeGreaterThan(10)
    expect(pulled.serverManifest.digest).toBe(built.get('layers')!.root.digest)
    const {stdout} = await run('tar', ['-xOf', out('v2-delta.tar'), 'airgap/lock.json'])
    const deltaLock = JSON.parse(stdout) as BundleLock
    expect(deltaLock.serverManifest?.digest).toBe(lock.serverManifest?.digest)
    // the server manifest's own blobs are never left out: push and rewrite read it from the bundle
    const artifact = built.get('layers')!
    const left = new Set((deltaLock.expectedInMirror ?? []).map((e) => e.digest))
    for (const b of artifact.blobs) expect(left.has(b.descriptor.digest), `server manifest blob ${b.descriptor.digest}`).toBe(false)
    expect(deltaLock.blobs.bytes).toBeLessThan(lock.blobs.bytes)
    // a second mirror path on the same host: the expected blobs are not in place there, so push mounts them
    const second = `${host}/${mirrorPrefix}-delta`
    const pushed = await runCli(['push', out('v2-delta.tar'), '--registry', second, '--allow-unsigned', '--plain-http', host, '--json'])
    expect(pushed.code, pushed.stderr + pushed.stdout).toBe(0)
    const result = jsonOf<{delta: {expected: number; present: number; mounted: number}}>(pushed)
    expect(result.delta.expected).toBe(deltaLock.expectedInMirror!.length)
    expect(result.delta.mounted, 'left-out blobs mounted from the first mirror path').toBeGreaterThan(0)
    const deltaReceipt = JSON.parse(await readFile(`${out('v2-delta.tar')}.receipt.json`, 'utf8')) as PushReceipt
    expect(deltaReceipt.serverManifest).toMatchObject({layout: 'operator-v2', imageRegistry: second, digest: artifact.root.digest, status: 'pushed'})
    // every manifest image where the v2 operator looks for it, whole: skopeo copies each out of the mirror
    await expectOperatorLayout(second)
    const check = await runCli(['check', `${out('v2-delta.tar')}.receipt.json`, '--plain-http', host])
    expect(check.code, check.stderr + check.stdout).toBe(0)
  }, 240_000)

  it.skipIf(process.getuid?.() !== 0)('containerd pulls every manifest image through the mirror as the operator names it', async () => {
    expect(receipt).toBeDefined()
    const ctrd = await startContainerd()
    try {
      for (const image of receipt.serverManifest!.images) {
        await ctrd.ctr(['-n', ctrd.namespace, 'images', 'pull', '--plain-http', image.mirror], {timeout: 60_000})
      }
      const {stdout} = await ctrd.ctr(['-n', ctrd.namespace, 'images', 'ls', '-q'])
      const listed = stdout.split('\n').map((l) => l.trim())
      for (const image of receipt.serverManifest!.images) expect(listed, image.mirror).toContain(image.mirror)
    } finally {
      await ctrd.stop()
    }
  }, 180_000)

  it('a split v2 release: each part verifies alone and carries the server manifest; pushed in reverse order, the last part completes the operator layout', async () => {
    const r = await runCli(['pull', ...v2Flags('layers'), '--max-part-size', '120KiB', '-o', out('v2-split.tar'), '--json'])
    expect(r.code, r.stdout.slice(-1500)).toBe(0)
    const pulled = jsonOf<{split: {parts: Array<{path: string; part: number}>}}>(r)
    const parts = pulled.split.parts
    expect(parts.length, 'parts').toBeGreaterThanOrEqual(2)
    const digest = built.get('layers')!.root.digest
    for (const part of parts) {
      const verify = await runCli(['verify', part.path, '--json'])
      expect(verify.code, verify.stderr).toBe(0)
      const {stdout} = await run('tar', ['-xOf', part.path, 'airgap/lock.json'])
      expect((JSON.parse(stdout) as BundleLock).serverManifest?.digest, `part ${part.part}`).toBe(digest)
    }
    const mirror = `${host}/${mirrorPrefix}-split`
    // What a person sees first: the dry run names the v2 layout (not path rules); a part that leaves
    // images waiting says to push the rest before rewriting.
    const dry = await runCli(['push', parts[0]!.path, '--registry', mirror, '--allow-unsigned', '--plain-http', host, '--dry-run'])
    expect(dry.code, dry.stderr).toBe(0)
    expect(dry.stdout).toContain(`${mirror}/docker.io/acme/objstore:3.1 *`)
    expect(dry.stdout).toContain(`* where the W&B ${VERSION} v2 operator looks for it`)
    expect(dry.stdout).not.toContain('shortened by the path rules')
    let last: PushReceipt | undefined
    for (const part of [...parts].reverse()) {
      const pushed = await runCli(['push', part.path, '--registry', mirror, '--allow-unsigned', '--plain-http', host])
      expect(pushed.code, `part ${part.part}: ${pushed.stderr}${pushed.stdout}`).toBe(0)
      const complete = part.part === parts[0]!.part
      expect(pushed.stdout.includes('next: airgap rewrite --receipt'), `part ${part.part} suggests rewrite only when the set is complete`).toBe(complete)
      if (!complete) expect(pushed.stdout).toContain('next: push the parts still missing')
      last = JSON.parse(await readFile(`${part.path}.receipt.json`, 'utf8')) as PushReceipt
      expect(last.serverManifest, `part ${part.part}: the manifest goes up with any part`).toMatchObject({layout: 'operator-v2', digest, status: 'pushed'})
    }
    // after the last part every image of the set is in place, where the v2 operator looks
    expect(last!.images.filter((i) => i.status !== 'pushed').map((i) => `${i.source}: ${i.status}`)).toEqual([])
    await expectOperatorLayout(mirror)
    const check = await runCli(['check', `${parts[0]!.path}.receipt.json`, '--plain-http', host])
    expect(check.code, check.stderr + check.stdout).toBe(0)
  }, 240_000)

  it('one manifest image missing upstream fails the pull, naming its key', async () => {
    const r = await runCli(['pull', ...v2Flags('single', upMissing), '-o', out('missing.tar')])
    expect(r.code).toBe(7)
    expect(r.stderr).toContain(MISSING)
    expect(r.stderr).toContain(`server manifest ${VERSION} key kafka.images.etcd`)
  }, 120_000)

  it('an operator chart that does not satisfy requiredOperatorVersion is refused, naming both', async () => {
    const args = v2Flags('single')
    args[args.indexOf('--operator-chart') + 1] = `oci://${host}/${up}/charts/operator:1.9.0`
    const r = await runCli(['images', ...args])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('needs an operator ^2.0.0, but the operator chart is 1.9.0')
    // a local .tgz is checked the same way, and one that satisfies it is carried
    const {tgz} = await operatorV2ChartTgz('2.1.0')
    await writeFile(out('operator-2.1.0.tgz'), tgz)
    args[args.indexOf('--operator-chart') + 1] = out('operator-2.1.0.tgz')
    const local = await runCli(['images', ...args, '--json'])
    expect(local.code, local.stderr).toBe(0)
    expect(jsonOf<ImagesJson>(local).charts.map((c) => `${c.name}@${c.version}`)).toEqual(['operator@2.1.0'])
    expect(jsonOf<ImagesJson>(local).serverManifest.operatorCheck).toBe('2.1.0 satisfies ^2.0.0')
  }, 120_000)

  it('rewrite writes the v2 WeightsAndBiases and the operator chart values at the mirror, both valid', async () => {
    expect(receipt).toBeDefined()
    // The push reached the test registry over plain HTTP, and rewrite reads that from the receipt (the
    // oci:// route is then refused, next test). This copy records HTTPS, as a push to a TLS mirror does.
    const receiptFile = out('v2-https.receipt.json')
    const recorded = JSON.parse(await readFile(`${out('v2.tar')}.receipt.json`, 'utf8')) as PushReceipt
    await writeFile(receiptFile, JSON.stringify({...recorded, connection: {...recorded.connection, plainHttp: []}}))
    const mirror = `${host}/${mirrorPrefix}`
    const r = await runCli(['rewrite', '--receipt', receiptFile, '--hostname', 'https://wandb.corp.example', '--pull-secret', 'mirror-pull', '-o', out('v2/operator.yaml'), '--operator-values', out('v2/operator-values.yaml'), '--json'])
    expect(r.code, r.stderr).toBe(0)
    const result = jsonOf<{operator: string; registry: string; files: Array<{kind: string}>; rendering: {checked: boolean}}>(r)
    // The operator chart in the bundle rendered with these values: every container pulls from the mirror, with the pull secret.
    expect(result).toMatchObject({operator: 'v2', registry: mirror, rendering: {checked: true, containers: 1}})
    const cr = parse(await readFile(out('v2/operator.yaml'), 'utf8')) as {apiVersion: string; spec: {wandb: Record<string, unknown>; global: Record<string, unknown>}}
    expect(validateWandbV2(cr)).toEqual([])
    expect(cr.apiVersion).toBe('apps.wandb.com/v2')
    expect(cr.spec.wandb).toMatchObject({version: VERSION, manifestRepository: `oci://${mirror}/wandb/server-manifest`, hostname: 'https://wandb.corp.example'})
    expect(cr.spec.global).toEqual({imageRegistry: mirror, imagePullSecrets: [{name: 'mirror-pull'}]})
    const values = parse(await readFile(out('v2/operator-values.yaml'), 'utf8')) as Record<string, Record<string, unknown>>
    expect(values['wandb']).toEqual({install: false})
    expect(values['wandb-operator']!['image']).toEqual({repository: `${mirror}/wandb-production/public/wandb/operator`, tag: 'v2.0.0-beta.3'})
    expect(values['moco']!['image']).toEqual({repository: `${mirror}/cybozu-go/moco`, tag: '0.26.0'})
    // every image the values name resolves in the mirror
    for (const image of [values['wandb-operator']!['image'], values['moco']!['image']] as Array<{repository: string; tag: string}>) {
      await run('skopeo', ['--insecure-policy', 'inspect', '--raw', '--tls-verify=false', `docker://${image.repository}:${image.tag}`])
    }
  }, 120_000)

  it('rewrite refuses a plain-HTTP mirror for the oci:// manifest route with the reason; --manifest-route file writes the ConfigMap route', async () => {
    const receiptFile = `${out('v2.tar')}.receipt.json`
    const base = ['rewrite', '--receipt', receiptFile, '--hostname', 'https://wandb.corp.example', '--plain-http', host]
    const refused = await runCli([...base, '-o', out('plain/operator.yaml'), '--operator-values', out('plain/operator-values.yaml')])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toContain('never pulls the server manifest over plain HTTP')
    expect(refused.stderr).toContain('file:// route')
    // the receipt's record alone says so too: no --plain-http needed
    const recorded = await runCli(['rewrite', '--receipt', receiptFile, '--hostname', 'https://wandb.corp.example', '-o', out('plain/operator.yaml'), '--operator-values', out('plain/operator-values.yaml')])
    expect(recorded.code, recorded.stderr).toBe(2)
    expect(recorded.stderr).toContain('never pulls the server manifest over plain HTTP')
    const r = await runCli([...base, '--manifest-route', 'file', '-o', out('file/operator.yaml'), '--operator-values', out('file/operator-values.yaml'), '--json'])
    expect(r.code, r.stderr).toBe(0)
    const cr = parse(await readFile(out('file/operator.yaml'), 'utf8')) as {spec: {wandb: {manifestRepository: string}}}
    expect(validateWandbV2(cr)).toEqual([])
    expect(cr.spec.wandb.manifestRepository).toBe('file:///etc/wandb/server-manifest')
    const cm = parse(await readFile(out('file/wandb-server-manifest.yaml'), 'utf8')) as {kind: string; data: Record<string, string>}
    expect(cm.kind).toBe('ConfigMap')
    expect(Object.keys(cm.data)).toEqual(['manifest.yaml', 'sizing.yaml', 'zz-patch.yaml'])
    const values = parse(await readFile(out('file/operator-values.yaml'), 'utf8')) as {'wandb-operator': {volumes: Array<{name: string}>}}
    expect(values['wandb-operator'].volumes.map((v) => v.name)).toContain('wandb-server-manifest')
  }, 120_000)

  it('rewrite --operator v1 on a bundle without a v1 release is refused with what to do', async () => {
    const r = await runCli(['rewrite', '--receipt', `${out('v2.tar')}.receipt.json`, '--operator', 'v1', '-o', out('v1/operator.yaml')])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('carries no operator-wandb chart')
    const v1Only = await runCli(['rewrite', '--receipt', `${out('v2.tar')}.receipt.json`, '--hostname', 'https://w.example', '--chart-source', 'oci', '-o', out('v1/operator.yaml')])
    expect(v1Only.code).toBe(2)
    expect(v1Only.stderr).toContain('--chart-source apply to the v1 operator; this bundle carries W&B 0.99.0 for the v2 operator')
  }, 60_000)

  it('node configs for a v2 mirror: containerd pulls every manifest image by its upstream name through the hosts.toml folder (a registry under two paths: the next one after a 404); registries.conf and the mirror sets list the same places', async () => {
    const receiptFile = `${out('v2.tar')}.receipt.json`
    const mirror = `${host}/${mirrorPrefix}`
    const hostsDir = out('v2-certs.d')
    const r = await runCli([
      'rewrite', '--receipt', receiptFile, '--hostname', 'https://wandb.corp.example', '--manifest-route', 'file',
      '-o', out('nodes/operator.yaml'), '--operator-values', out('nodes/operator-values.yaml'),
      '--containerd-hosts', hostsDir, '--registries-conf', out('nodes/registries.conf'), '--idms', out('nodes/mirror-sets.yaml'), '--json',
    ])
    expect(r.code, r.stderr).toBe(0)
    const kinds = jsonOf<{files: Array<{kind: string}>}>(r).files.map((f) => f.kind)
    expect(kinds).toEqual(expect.arrayContaining(['operator-cr', 'operator-values', 'server-manifest-configmap', 'registries-conf', 'openshift-mirror-sets', 'containerd-hosts']))
    // docker.io images sit under MIRROR/docker.io (the manifest names the registry) and under MIRROR (it names none)
    const docker = await readFile(join(hostsDir, 'docker.io', 'hosts.toml'), 'utf8')
    expect(docker).toContain(`[host."http://${host}/v2/${mirrorPrefix}/docker.io"]`)
    expect(docker).toContain(`[host."http://${host}/v2/${mirrorPrefix}"]`)
    const conf = await readFile(out('nodes/registries.conf'), 'utf8')
    expect(conf).toContain(`location = "${mirror}/docker.io"`)
    expect(conf).toContain(`location = "${mirror}"`)
    const sets = await readFile(out('nodes/mirror-sets.yaml'), 'utf8')
    expect(sets).toContain(`${mirror}/docker.io/acme/objstore`)
    // what the mirror sets cannot say for a plain-HTTP mirror is said
    expect(jsonOf<{warnings: string[]}>(r).warnings.join('\n')).toContain('spec.registrySources.insecureRegistries')
    if (process.getuid?.() !== 0) {
      process.stdout.write('containerd pull through the v2 node configs skipped: containerd needs root (CI runs as root)\n')
      return
    }
    const ctrd = await startContainerd()
    try {
      const m = await (await import('../../src/server-manifest/index.js')).loadServerManifest(client.repository(`${up}/layers/wandb/server-manifest`), VERSION)
      const sources = [...new Set(m.images.map((i) => formatReference(i.source)))]
      for (const source of sources) await ctrd.ctr(['-n', ctrd.namespace, 'images', 'pull', '--hosts-dir', hostsDir, source], {timeout: 60_000})
      const {stdout} = await ctrd.ctr(['-n', ctrd.namespace, 'images', 'ls', '-q'])
      const listed = stdout.split('\n').map((l) => l.trim())
      for (const source of sources) expect(listed, source).toContain(source)
    } finally {
      await ctrd.stop()
    }
  }, 180_000)
})
