import {readFileSync} from 'node:fs'
import {it} from 'vitest'
import {loadChartArchive} from '../../src/helm/load.js'
import {renderChart} from '../../src/render/index.js'
import {RenderOracle} from '../support/render-oracle.js'
import {API_VERSIONS, KUBE, RELEASE} from './harness.js'

it('chart', async () => {
  const path = '/work/shared/fixtures/charts/operator-wandb-0.43.8.tgz'
  const oracle = new RenderOracle()
  const go = await oracle.render({archive: path, values: {}, release: RELEASE, kubeVersion: KUBE, apiVersions: API_VERSIONS, helmVersion: 'v3.19.0', seed: 7})
  oracle.close()
  const chart = await loadChartArchive(readFileSync(path), 'owb')
  let ts: Map<string, string> | undefined
  const t0 = Date.now()
  try { ts = renderChart(chart, {values: {}, release: RELEASE, capabilities: {kubeVersion: KUBE, apiVersions: API_VERSIONS, helmVersion: 'v3.19.0'}, seed: 7}) } catch (e) { console.log('TS ERROR', (e as Error).message) }
  console.log('ts ms', Date.now() - t0)
  if (go.error) console.log('GO ERROR', go.error)
  const gm = go.manifests ?? {}
  let same = 0, diff = 0
  for (const k of new Set([...Object.keys(gm), ...(ts?.keys() ?? [])])) {
    if (k.endsWith('NOTES.txt')) continue
    if (gm[k] === ts?.get(k)) same++
    else { diff++; const a = (gm[k] ?? '').split('\n'), b = (ts?.get(k) ?? '').split('\n'); const i = a.findIndex((l, j) => l !== b[j]); console.log('DIFF', k, i, '\nGO:', JSON.stringify(a.slice(i - 2, i + 3)), '\nTS:', JSON.stringify(b.slice(i - 2, i + 3))) }
  }
  console.log('same', same, 'diff', diff)
})
