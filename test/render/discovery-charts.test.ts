/**
 * `airgap images` on the real operator-wandb 0.43.8 (needs ../shared and the Go oracle): every
 * container image Go's rendering shows with every component on (test/render/everything-on.yaml)
 * must be in `airgap images --json` for the chart with its default values (discovery switches the
 * disabled components on itself), each with an origin; and `--why` explains one of them.
 */
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseAllDocuments} from 'yaml'
import {formatReference, parseReference} from '../../src/oci/reference.js'
import type {ListImagesResult} from '../../src/usecases/images.js'
import {jsonOf, runCli} from '../support/cli.js'
import {RenderOracle, oracleUnavailable} from '../support/render-oracle.js'
import {API_VERSIONS, KUBE, RELEASE} from './harness.js'

const CHART = join(import.meta.dirname, '../../../shared/fixtures/charts/operator-wandb-0.43.8.tgz')
const unavailable = oracleUnavailable()
if (unavailable && process.env.CI === 'true') throw new Error(`the Go render oracle is required in CI: ${unavailable}`)
const noShared = existsSync(CHART) ? undefined : `${CHART} is absent (the shared fixtures are not mounted)`
if (noShared) process.stderr.write(`[discovery charts] skipped: ${noShared}\n`)
else if (unavailable) process.stderr.write(`[discovery charts] skipped: ${unavailable}\n`)

const EVERYTHING_ON = parseAllDocuments(readFileSync(join(import.meta.dirname, 'everything-on.yaml'), 'utf8'))[0]!.toJS() as Record<string, unknown>

/** Every string under an `image` key of every rendered document: deliberately wider than discovery's own walk. */
function imagesOf(manifests: Record<string, string>): Map<string, string> {
  const out = new Map<string, string>()
  const walk = (node: unknown, file: string): void => {
    if (Array.isArray(node)) node.forEach((n) => walk(n, file))
    else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) {
        if (k === 'image' && typeof v === 'string' && v.trim() !== '') {
          const ref = parseReference(v.trim())
          if (ref.tag === undefined && ref.digest === undefined) ref.tag = 'latest'
          out.set(formatReference(ref), file)
        } else walk(v, file)
      }
    }
  }
  for (const [file, text] of Object.entries(manifests)) {
    if (file.endsWith('NOTES.txt')) continue
    for (const doc of parseAllDocuments(text)) walk(doc.toJS(), file)
  }
  return out
}

describe.skipIf(unavailable !== undefined || noShared !== undefined)('airgap images on the real operator-wandb 0.43.8 (needs ../shared)', () => {
  let oracle: RenderOracle
  let dir: string
  let spec: string
  beforeAll(() => {
    oracle = new RenderOracle()
    dir = mkdtempSync(join(tmpdir(), 'airgap-discovery-'))
    spec = join(dir, 'airgap.yaml')
    writeFileSync(spec, `apiVersion: airgap.dev/v1alpha1\nkind: ReleaseSpec\nmetadata:\n  name: owb\nspec:\n  includeDisabled: true\n  charts:\n    - path: ${CHART}\n`)
  })
  afterAll(() => {
    oracle?.close()
    if (dir) rmSync(dir, {recursive: true, force: true})
  })

  it('lists every image Go renders with every component on, each with its origin (needs ../shared)', async () => {
    const go = await oracle.render({archive: CHART, values: EVERYTHING_ON, release: RELEASE, kubeVersion: KUBE, apiVersions: API_VERSIONS, helmVersion: 'v3.19.0', seed: 7})
    expect(go.error).toBeUndefined()
    const expected = imagesOf(go.manifests ?? {})
    expect(expected.size).toBeGreaterThan(30)

    const r = await runCli(['images', spec, '--json'], {timeoutMs: 300_000})
    expect(r.code, r.stderr).toBe(0)
    const result = jsonOf<ListImagesResult>(r)
    expect(result.renders[0]!.variants.map((v) => v.variant)).toEqual(['values as given', 'disabled components on', 'operator-wandb/bufstream on with its defaults'])
    const listed = new Map(result.images.map((i) => [i.reference, i]))
    const missing = [...expected].filter(([ref]) => !listed.has(ref)).map(([ref, file]) => `${ref} (${file})`)
    expect(missing).toEqual([])
    for (const ref of expected.keys()) expect(listed.get(ref)!.origins.length).toBeGreaterThan(0)
    // Images in pod specs come with the rendered object that runs them.
    const rendered = [...expected.keys()].filter((ref) => listed.get(ref)!.origins.some((o) => o.rendered))
    process.stderr.write(`[discovery charts] ${expected.size} images in Go's rendering, all listed; ${rendered.length} with a rendered origin\n`)
    expect(listed.get('registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.10.0')!.origins).toEqual(
      expect.arrayContaining([
        expect.objectContaining({source: 'values', valuesPath: 'prometheus.instance.kube-state-metrics.image', valuesWalkReference: 'registry.k8s.io/kube-state-metrics/kube-state-metrics:2.10.0'}),
        expect.objectContaining({source: 'render', template: 'templates/deployment.yaml', rendered: expect.objectContaining({kind: 'Deployment', container: 'containers[kube-state-metrics]', testHook: false})}),
      ]),
    )
    expect(listed.get('docker.io/library/busybox:latest')?.testOnly).toBe(true)
    expect(listed.get('us-docker.pkg.dev/wandb-production/public/python:3.12')?.testOnly).toBe(true)
    expect(listed.get('docker.io/wandb/local:latest')?.testOnly).toBe(false)
  })

  it('--why explains one image; --skip-test-images leaves out what only helm test hooks run (needs ../shared)', async () => {
    const why = await runCli(['images', spec, '--why', 'bitnami/redis-exporter'], {timeoutMs: 300_000})
    expect(why.code, why.stderr).toBe(0)
    expect(why.stdout).toContain('docker.io/bitnami/redis-exporter:1.58.0-debian-12-r4: carried; only disabled components use it')
    expect(why.stdout).toContain('operator-wandb/redis values redis.metrics.image (disabled component)')
    expect(why.stdout).toContain('operator-wandb/redis templates/master/application.yaml StatefulSet/release-name-redis-master containers[metrics]')
    expect(why.stdout).toContain('found by the render: disabled components on (switches that were off for this chart: ')
    expect(why.stdout).toContain('redis.metrics.enabled')

    const skipped = await runCli(['images', spec, '--skip-test-images', '--json'], {timeoutMs: 300_000})
    const result = jsonOf<ListImagesResult>(skipped)
    expect(result.testOnlySkipped).toContain('docker.io/library/busybox:latest')
    expect(result.images.map((i) => i.reference)).not.toContain('docker.io/library/busybox:latest')

    const unknown = await runCli(['images', spec, '--why', 'acme/nothing:1'], {timeoutMs: 300_000})
    expect(unknown.code).toBe(7)
    expect(unknown.stderr).toContain('acme/nothing:1 is not an image of owb')
  })
})
