/**
 * Differential test on real charts (needs ../shared): every template file of operator-wandb
 * 0.43.8 as published (wandb-base under 25+ aliases, the Bitnami-derived redis / mysql / kafka /
 * etcd / clickhouse, prometheus 24.5.0 with its dependencies, reloader 1.3.0, otel, yace,
 * stackdriver, bufstream), rendered with default values and with every component on, must be
 * identical to Go's rendering, text and parsed YAML documents.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parseAllDocuments} from 'yaml'
import {loadChartArchive} from '../../src/helm/load.js'
import {parseManifests, renderChart} from '../../src/render/index.js'
import {RenderOracle, oracleUnavailable} from '../support/render-oracle.js'
import {API_VERSIONS, KUBE, RELEASE} from './harness.js'

const SHARED = join(import.meta.dirname, '../../../shared/fixtures/charts')
const CHART = join(SHARED, 'operator-wandb-0.43.8.tgz')
const unavailable = oracleUnavailable()
if (unavailable && process.env.CI === 'true') throw new Error(`the Go render oracle is required in CI: ${unavailable}`)
const noShared = existsSync(CHART) ? undefined : `${CHART} is absent (the shared fixtures are not mounted)`
if (noShared) process.stderr.write(`[render charts] skipped: ${noShared}\n`)
else if (unavailable) process.stderr.write(`[render charts] skipped: ${unavailable}\n`)

const EVERYTHING_ON = parseAllDocuments(readFileSync(join(import.meta.dirname, 'everything-on.yaml'), 'utf8'))[0]!.toJS() as Record<string, unknown>

function documents(text: string): unknown[] {
  return parseAllDocuments(text).map((d) => d.toJS() as unknown)
}

describe.skipIf(unavailable !== undefined || noShared !== undefined)('real charts from ../shared render exactly as Go renders them', () => {
  let oracle: RenderOracle
  beforeAll(() => {
    oracle = new RenderOracle()
  })
  afterAll(() => oracle.close())

  for (const [profile, values] of [['default values', {}], ['everything on', EVERYTHING_ON]] as const) {
    it(`operator-wandb 0.43.8 (needs ../shared), ${profile}: every template file`, async () => {
      const go = await oracle.render({archive: CHART, values, release: RELEASE, kubeVersion: KUBE, apiVersions: API_VERSIONS, helmVersion: 'v3.19.0', seed: 7})
      const chart = await loadChartArchive(readFileSync(CHART), 'operator-wandb-0.43.8.tgz')
      let ts: Map<string, string> | undefined
      let tsError: string | undefined
      try {
        ts = renderChart(chart, {values, release: RELEASE, capabilities: {kubeVersion: KUBE, apiVersions: API_VERSIONS, helmVersion: 'v3.19.0'}, seed: 7})
      } catch (err) {
        tsError = (err as Error).message
      }
      expect(tsError).toBe(go.error)
      const goFiles = Object.fromEntries(Object.entries(go.manifests ?? {}).filter(([k]) => !k.endsWith('NOTES.txt')))
      expect([...(ts?.keys() ?? [])].sort()).toEqual(Object.keys(goFiles).sort())
      const textDiffers = Object.keys(goFiles).filter((k) => ts?.get(k) !== goFiles[k])
      const documentsDiffer = Object.keys(goFiles).filter((k) => JSON.stringify(documents(ts?.get(k) ?? '')) !== JSON.stringify(documents(goFiles[k]!)))
      const objects = parseManifests(ts ?? new Map())
      process.stderr.write(`[render charts] ${profile}: ${Object.keys(goFiles).length - textDiffers.length}/${Object.keys(goFiles).length} files identical, ${objects.length} objects\n`)
      expect(documentsDiffer).toEqual([])
      expect(textDiffers).toEqual([])
    })
  }
})
