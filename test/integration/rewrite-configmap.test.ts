/**
 * `airgap rewrite --chart-source configmap` with an operator-wandb chart too big for a Kubernetes
 * object: the spawned CLI refuses with the size and the 1 MiB limit and writes nothing. The bundle
 * (writeBundle) is pushed into the real plain registry with the spawned `airgap push` (charts not
 * published: the configmap route reads the chart package from the bundle).
 */
import {randomBytes} from 'node:crypto'
import {existsSync} from 'node:fs'
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {writeBundle} from '../../src/usecases/write-bundle.js'
import {MemoryTarget} from '../../src/content/memory.js'
import {buildChartArchive, chartToOciArtifact} from '../../src/helm/index.js'
import {digestOf} from '../../src/oci/digest.js'
import type {PushReceipt} from '../../src/mirror/receipt.js'
import {runCli} from '../support/cli.js'
import {loadInto, makeImage, type Generated} from '../support/images.js'
import {describeWithServices, services} from '../support/services.js'

describeWithServices('airgap rewrite: the ConfigMap chart route and the 1 MiB object limit (spawned CLI, real registry)', () => {
  let dir: string
  let receiptFile: string

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-rewrite-cm-'))
    const src = new MemoryTarget()
    await loadInto(src, await makeImage({seed: `cm-${process.pid}`, layers: 1, files: 1, fileSize: 128}), 'controller')
    // random data barely compresses: the .tgz is ~900 KiB, ~1.2 MiB as base64
    const chartYaml = 'apiVersion: v2\nname: operator-wandb\nversion: 0.43.8\n'
    const tgz = await buildChartArchive({'Chart.yaml': chartYaml, 'values.yaml': 'app: {}\n', 'files/blob.b64': randomBytes(900 * 1024).toString('base64')}, 'operator-wandb')
    const artifact = chartToOciArtifact(tgz, {apiVersion: 'v2', name: 'operator-wandb', version: '0.43.8'})
    const graph: Generated = {root: artifact.manifest.descriptor, blobs: [artifact.config, ...artifact.layers, artifact.manifest]}
    await loadInto(src, graph, 'chart')
    const bundle = join(dir, 'big.tar')
    await writeBundle({
      images: [{source: src, ref: 'controller', name: 'docker.io/wandb/controller:1.0', discoveredBy: [{chart: '(spec)', source: 'docker.io/wandb/controller:1.0'}]}],
      charts: [{source: src, ref: 'chart', name: 'charts.example/operator-wandb:0.43.8', chart: {name: 'operator-wandb', version: '0.43.8', source: 'https://charts.example', tgzDigest: digestOf(tgz)}}],
      out: bundle,
      epoch: 1_700_000_000,
    })
    const plain = services().registries.plain
    receiptFile = join(dir, 'big.receipt.json')
    const pushed = await runCli(['push', bundle, '--allow-unsigned', '--registry', `${plain.host}/cm-${process.pid}`, '--plain-http', plain.host, '--receipt', receiptFile, '-q'])
    expect(pushed.code, pushed.stderr).toBe(0)
  }, 60_000)

  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('refuses an oversized chart with the size and the limit, and writes nothing', async () => {
    const receipt = JSON.parse(await readFile(receiptFile, 'utf8')) as PushReceipt
    expect(receipt.charts[0]?.status).toBe('skipped')
    const r = await runCli(['rewrite', '--receipt', receiptFile, '--chart-source', 'configmap', '-o', join(dir, 'operator.yaml'), '--operator-values', join(dir, 'operator-values.yaml')])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/chart operator-wandb 0\.43\.8 is too big for the ConfigMap route: ConfigMap wandb-charts would be \d+ bytes .* over the Kubernetes limit of 1 MiB \(1048576 bytes\)/)
    expect(r.stderr.split('\n').filter((l) => l.startsWith('Error:')), r.stderr).toHaveLength(1) // one error line (after the no-spec warning)
    expect(existsSync(join(dir, 'operator.yaml'))).toBe(false)
    expect(existsSync(join(dir, 'operator-values.yaml'))).toBe(false)
  })

  it('without the chart in any repository, the default chart source is the ConfigMap and repo is refused with a hint', async () => {
    const r = await runCli(['rewrite', '--receipt', receiptFile, '--chart-source', 'repo', '-o', join(dir, 'r.yaml'), '--operator-values', join(dir, 'rv.yaml')])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/chart operator-wandb is not in the mirror map|no Helm repository URL/)
    const other = await runCli(['rewrite', '--receipt', receiptFile, '-o', join(dir, 'd.yaml'), '--operator-values', join(dir, 'dv.yaml'), '--json'])
    expect(other.code).toBe(2) // default route = configmap, which refuses the oversized chart
    expect(other.stdout).toContain('1048576 bytes')
  })
})
