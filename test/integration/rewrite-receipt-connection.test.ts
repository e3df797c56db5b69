/**
 * `airgap rewrite` from a receipt alone (issue 19), spawned CLI against a real registry: the demo's
 * W&B-shaped bundle (`airgap demo --keep`) pushed over plain HTTP under a prefix with
 * --max-nested-paths 2, then rewritten WITHOUT --plain-http: hosts.toml uses http://, registries.conf
 * says insecure and maps every shortened repository, the OpenShift mirror sets validate and name
 * the shortened repositories, every image of operator.yaml and operator-values.yaml is one the
 * receipt lists, and containerd pulls each of them through the generated hosts.toml folder.
 */
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {parseAllDocuments} from 'yaml'
import type {PushReceipt} from '../../src/mirror/receipt.js'
import {mirrorSetProblems} from '../../src/rewrite/openshift.js'
import type {RewriteReleaseResult} from '../../src/usecases/rewrite.js'
import {jsonOf, runCli} from '../support/cli.js'
import {describeWithServices, startContainerd, startRegistry, type RegistryHandle} from '../support/services.js'

describeWithServices('rewrite reaches the mirror as the receipt records (CLI, real registry)', () => {
  let dir: string
  let mirror: RegistryHandle
  let receipt: PushReceipt
  let receiptFile: string
  let result: RewriteReleaseResult
  const out = (f: string): string => join(dir, 'rw', f)

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-rw-receipt-'))
    const demo = await runCli(['demo', '--keep', join(dir, 'demo'), '--quiet'], {timeoutMs: 120_000})
    expect(demo.code, demo.stderr).toBe(0)
    mirror = await startRegistry({mode: 'plain'})
    receiptFile = join(dir, 'r.json')
    const push = await runCli([
      'push', join(dir, 'demo', 'wandb.tar'), '--key', join(dir, 'demo', 'cosign.pub'),
      '--registry', `${mirror.host}/m`, '--max-nested-paths', '2', '--plain-http', mirror.host,
      '--helm-repo', `oci://${mirror.host}/charts`, '--receipt', receiptFile, '--quiet',
    ])
    expect(push.code, push.stderr).toBe(0)
    receipt = JSON.parse(await readFile(receiptFile, 'utf8')) as PushReceipt
    const rewrite = await runCli([
      'rewrite', '--receipt', receiptFile, '-o', out('operator.yaml'), '--operator-values', out('operator-values.yaml'),
      '--containerd-hosts', out('certs.d'), '--registries-conf', out('registries.conf'), '--idms', out('mirror-sets.yaml'), '--json',
    ])
    expect(rewrite.code, rewrite.stderr).toBe(0)
    result = jsonOf<RewriteReleaseResult>(rewrite)
  }, 240_000)

  afterAll(async () => {
    await mirror?.stop()
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('the push put every image within two path components and recorded plain HTTP', () => {
    expect(receipt.pathRules).toEqual({maxNestedPaths: 2})
    expect(receipt.connection?.plainHttp).toEqual([mirror.host])
    for (const image of receipt.images) expect(image.mirror.slice(mirror.host.length + 1).split(/[:@]/)[0]!.split('/')).toHaveLength(2)
  })

  it('writes http:// hosts and insecure registries without --plain-http, saying so', async () => {
    expect(result.plainHttp).toEqual({mirror: true, from: 'receipt'})
    const docker = await readFile(out('certs.d/docker.io/hosts.toml'), 'utf8')
    expect(docker).toContain(`[host."http://${mirror.host}/v2/m"]`)
    expect(docker).not.toContain('https://127.0.0.1')
    const own = await readFile(out(`certs.d/${mirror.host}/hosts.toml`), 'utf8')
    expect(own).toContain(`server = "http://${mirror.host}"`)
    const conf = await readFile(out('registries.conf'), 'utf8')
    expect(conf).toContain('insecure = true')
    expect(conf).not.toMatch(/location = "[^"]*\/wandb\/local"\n\ninsecure/)
    expect(conf).toContain(`prefix = "docker.io/wandb/local"\nlocation = "docker.io/wandb/local"\n\n[[registry.mirror]]\nlocation = "${mirror.host}/m/wandb-local"\ninsecure = true`)
  })

  it('the OpenShift mirror sets validate and point each source repository at its shortened name', async () => {
    const docs = parseAllDocuments(await readFile(out('mirror-sets.yaml'), 'utf8')).map((d) => d.toJS() as {spec: {imageDigestMirrors?: Array<{source: string; mirrors: string[]}>}})
    for (const doc of docs) expect(mirrorSetProblems(doc)).toEqual([])
    const entries = docs[0]!.spec.imageDigestMirrors!
    expect(entries.find((e) => e.source === 'docker.io/wandb/local')?.mirrors).toEqual([`${mirror.host}/m/wandb-local`])
    expect(entries).toHaveLength(new Set(receipt.images.map((i) => i.source.replace(/[:@].*$/, ''))).size)
  })

  it('every image operator.yaml and operator-values.yaml name is a receipt mirror reference, and containerd pulls each through the hosts.toml folder', async () => {
    const texts = (await readFile(out('operator.yaml'), 'utf8')) + (await readFile(out('operator-values.yaml'), 'utf8'))
    const mirrored = new Set(receipt.images.map((i) => i.mirror.replace(/:[^:/]+$/, '')))
    const named = [...texts.matchAll(new RegExp(`${mirror.host.replace(/\./g, '\\.')}/m/[a-z0-9._-]+`, 'g'))].map((m) => m[0])
    expect(named.length).toBeGreaterThan(5)
    for (const n of named) expect(mirrored.has(n), n).toBe(true)
    if (process.getuid?.() !== 0) return // containerd needs root
    const ctrd = await startContainerd()
    try {
      for (const image of receipt.images) await ctrd.ctr(['-n', ctrd.namespace, 'images', 'pull', '--hosts-dir', out('certs.d'), image.mirror], {timeout: 60_000})
      const {stdout} = await ctrd.ctr(['-n', ctrd.namespace, 'images', 'ls'])
      const listed = new Map(
        stdout
          .split('\n')
          .slice(1)
          .map((l) => l.trim().split(/\s+/))
          .filter((cols) => cols.length >= 3)
          .map((cols) => [cols[0]!, cols[2]!]),
      )
      for (const image of receipt.images) expect(listed.get(image.mirror), image.mirror).toBe(image.digest)
    } finally {
      await ctrd.stop()
    }
  }, 180_000)
})
