/**
 * The proof of `airgap rewrite` on the REAL operator-wandb 0.43.8 chart (needs ../shared): the CR
 * rewrite builds is rendered with the values the operator will use, every component on, and
 * proven; then each install-breaking case of issue 16 is put back into the CR by hand (what
 * rewrite wrote before the fixes) and the proof must refuse it, naming the object and template.
 */
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {beforeAll, describe, expect, it} from 'vitest'
import {parse, stringify} from 'yaml'
import {discoverImages, groupFindings} from '../discover/index.js'
import {loadChartArchive} from '../helm/index.js'
import type {ChartPackage} from '../helm/publish.js'
import type {LoadedChart} from '../helm/types.js'
import {buildOperatorCr, type MirrorMap} from '../rewrite/index.js'
import {checkOperatorRoute, ProofError, proveOperatorCr, renderForOperator, type ProofInput} from './rewrite-proof.js'

const CHART = join(import.meta.dirname, '../../../shared/fixtures/charts/operator-wandb-0.43.8.tgz')
const EVERYTHING_ON = join(import.meta.dirname, '../../test/render/everything-on.yaml')
const noShared = existsSync(CHART) ? undefined : `${CHART} is absent (the shared fixtures are not mounted)`
if (noShared) process.stderr.write(`[rewrite proof] skipped: ${noShared}\n`)

const MIRROR = 'registry.corp:5000/wandb'

/** A receipt-like map: every image discovery finds in the chart (disabled ones included), pushed with a made-up digest. */
function mirrorMapOf(chart: LoadedChart, keepSourceHost: boolean, extra: string[] = []): MirrorMap {
  const groups = groupFindings(discoverImages(chart, {includeDisabled: true}))
  const images = [...groups.map((g) => ({reference: g.reference, origins: g.origins})), ...extra.map((reference) => ({reference, origins: [{chart: 'operator', valuesPath: 'image', source: 'values' as const}]}))]
  return {
    registry: MIRROR,
    keepSourceHost,
    charts: [{name: 'operator-wandb', version: '0.43.8', repoUrl: 'https://charts.corp/wandb'}],
    images: images.map((g, n) => {
      const path = keepSourceHost ? g.reference : g.reference.slice(g.reference.indexOf('/') + 1)
      return {
        source: g.reference,
        mirror: `${MIRROR}/${path}`,
        digest: `sha256:${String(n + 1).padStart(64, '0')}`,
        origins: g.origins.map((o) => ({chart: o.chart, valuesPath: 'valuesPath' in o ? o.valuesPath : undefined, template: 'template' in o ? o.template : undefined, source: o.source === 'render' ? ('template' as const) : o.source, shape: 'shape' in o ? o.shape : undefined})),
      }
    }),
  }
}

describe.skipIf(noShared !== undefined)('rewrite proof on the real operator-wandb 0.43.8 (needs ../shared)', () => {
  let chart: LoadedChart
  let pkg: ChartPackage
  const everythingOn = parse(readFileSync(EVERYTHING_ON, 'utf8')) as Record<string, Record<string, unknown>>
  // the site writes its pull secret as a plain name, as site values often do
  const site = stringify({...everythingOn, global: {...everythingOn['global'], imagePullSecrets: ['site-pull']}})

  beforeAll(async () => {
    const tgz = readFileSync(CHART)
    chart = await loadChartArchive(tgz, 'operator-wandb-0.43.8.tgz')
    pkg = {name: 'operator-wandb', version: '0.43.8', tgz, metadata: chart.metadata}
  })

  function input(map: MirrorMap, operatorYaml: string, pinDigests: boolean): ProofInput {
    return {
      operatorYaml,
      operatorYamlPath: 'operator.yaml',
      chart: pkg,
      map,
      pinDigests,
      nodeMirrors: {containerd: true, crio: false, openshift: false},
      allowExternal: [],
      mirrorPullSecrets: ['mirror-pull'],
      operatorNamespace: 'wandb',
    }
  }

  function crFor(map: MirrorMap, pinDigests: boolean): string {
    return buildOperatorCr({map, chartSource: 'repo', pinDigests, siteValues: site, pullSecrets: ['mirror-pull'], name: 'wandb', namespace: 'default'}).operatorYaml
  }

  /** Edit spec.values of a CR (what rewrite wrote before a fix) and return the CR text. */
  function edited(operatorYaml: string, edit: (values: Record<string, Record<string, unknown>>) => void): string {
    const cr = parse(operatorYaml) as {spec: {values: Record<string, Record<string, unknown>>}}
    edit(cr.spec.values)
    return stringify(cr)
  }

  async function prove(map: MirrorMap, operatorYaml: string, pinDigests = true) {
    const i = input(map, operatorYaml, pinDigests)
    return proveOperatorCr(i, await renderForOperator(i))
  }

  async function refusal(map: MirrorMap, operatorYaml: string, pinDigests = true): Promise<ProofError> {
    const err = await prove(map, operatorYaml, pinDigests).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ProofError)
    return err as ProofError
  }

  it('the CR rewrite writes proves clean with every component on: pull secrets as objects, prometheus with its own, reloader at its base, digests pinned where templates read them', async () => {
    const map = mirrorMapOf(chart, false)
    const cr = crFor(map, true)
    const values = (parse(cr) as {spec: {values: Record<string, Record<string, unknown>>}}).spec.values
    expect(values['global']!['imagePullSecrets']).toEqual([{name: 'site-pull'}, {name: 'mirror-pull'}])
    expect((values['prometheus']!['instance'] as Record<string, unknown>)['imagePullSecrets']).toEqual([{name: 'site-pull'}, {name: 'mirror-pull'}])
    const report = await prove(map, cr)
    expect(report.objects).toBeGreaterThan(150)
    const containers = report.rows.map((r) => `${r.object} ${r.container}`)
    for (const c of ['Deployment/wandb-app-bc app', 'Deployment/wandb-app-bc init-db (init)', 'CronJob/wandb-parquet-backfill backfill-job', 'Job/wandb-app-rename-pre-hook app-rename-pre-hook', 'Deployment/wandb-prometheus-server prometheus-server', 'Deployment/wandb-reloader wandb-reloader', 'StatefulSet/wandb-redis-master volume-permissions (init)']) {
      expect(containers).toContain(c)
    }
    const reloader = report.rows.find((r) => r.object === 'Deployment/wandb-reloader')!
    expect(reloader.image).toMatch(/^registry\.corp:5000\/wandb\/stakater\/reloader:v1\.2\.1@sha256:0{40,}\d+$/)
    expect(report.rows.find((r) => r.object === 'Deployment/wandb-app-bc')!.redirection).toEqual(['values'])
    expect(report.rows.find((r) => r.object === 'Pod/wandb-operator-wandb-test-connection')).toEqual(expect.objectContaining({hook: 'test', redirection: ['containerd hosts.toml']}))
    expect(report.rows.every((r) => !r.redirection.includes('none'))).toBe(true)
    // templates that render repository:tag only are named; latest tags are warned about
    expect(report.warnings.some((w) => /--pin-digests: registry\.corp:5000\/wandb\/otel\/opentelemetry-collector-contrib:0\.97\.0 is pulled by tag/.test(w) && w.includes('otel/charts/daemonset/templates/deamonset.yaml'))).toBe(true)
    expect(report.warnings.some((w) => w.includes('stakater/reloader'))).toBe(false)
    expect(report.warnings.some((w) => /wandb\/local@sha256:.*latest|wandb\/local:latest/.test(w) || /uses the tag "latest"/.test(w))).toBe(true)
  }, 60_000)

  it('refuses plain-string pull secrets copied verbatim into pod specs (otel, mysql, exporters, stackdriver, yace, reloader), naming object and template', async () => {
    const map = mirrorMapOf(chart, false)
    const cr = edited(crFor(map, true), (v) => {
      v['global']!['imagePullSecrets'] = ['site-pull', {name: 'mirror-pull'}]
    })
    const err = await refusal(map, cr)
    expect(err.message).toMatch(/DaemonSet\/wandb-otel-daemonset \(operator-wandb\/charts\/otel\/charts\/daemonset\/templates\/deamonset\.yaml\): imagePullSecrets\[0\] is "site-pull", not an object with a name/)
    const objects = err.findings.map((f) => f.object)
    for (const o of ['Deployment/wandb-stackdriver', 'Deployment/wandb-yace', 'Deployment/wandb-reloader', 'StatefulSet/wandb-mysql']) expect(objects).toContain(o)
  }, 60_000)

  it('refuses the prometheus server without its own pull secret when the mirror is authenticated', async () => {
    const map = mirrorMapOf(chart, false)
    const cr = edited(crFor(map, true), (v) => {
      delete (v['prometheus']!['instance'] as Record<string, unknown>)['imagePullSecrets']
    })
    const err = await refusal(map, cr)
    expect(err.message).toMatch(/Deployment\/wandb-prometheus-server \(operator-wandb\/charts\/prometheus\/charts\/instance\/templates\/deploy\.yaml\) pulls registry\.corp:5000\/wandb\/.* from the authenticated mirror without a pull secret/)
  }, 60_000)

  it('reloader renders global.imageRegistry/base:tag (name and digest ignored): the pinned digest rides in the tag; without it the proof names the template that drops it', async () => {
    const map = mirrorMapOf(chart, false)
    const cr = crFor(map, true)
    const image = (v: Record<string, Record<string, unknown>>) => ((v['reloader']!['reloader'] as Record<string, unknown>)['deployment'] as Record<string, unknown>)['image'] as Record<string, unknown>
    expect(image((parse(cr) as {spec: {values: Record<string, Record<string, unknown>>}}).spec.values)).toEqual(expect.objectContaining({base: 'stakater/reloader', tag: expect.stringMatching(/^v1\.2\.1@sha256:/) as unknown}))
    const before = edited(cr, (v) => {
      delete image(v)['base']
      image(v)['tag'] = 'v1.2.1'
    })
    const report = await prove(map, before)
    expect(report.warnings.some((w) => /--pin-digests: registry\.corp:5000\/wandb\/stakater\/reloader:v1\.2\.1 is pulled by tag, not digest.*Deployment\/wandb-reloader \(operator-wandb\/charts\/reloader\/templates\/deployment\.yaml\)/.test(w))).toBe(true)
    // source host kept: Bitnami-shaped images come from two registries (yace from ghcr.io), global.imageRegistry is cleared, reloader reads name@digest
    const kept = mirrorMapOf(chart, true)
    expect((await prove(kept, crFor(kept, true))).rows.find((r) => r.object === 'Deployment/wandb-reloader')!.image).toMatch(/^registry\.corp:5000\/wandb\/ghcr\.io\/stakater\/reloader@sha256:/)
  }, 60_000)

  it('refuses an image a template builds that is not mirrored, and a digest the mirror does not hold', async () => {
    const map = mirrorMapOf(chart, false)
    const withoutPython = {...map, images: map.images.filter((i) => !i.source.includes('/python:'))}
    const err = await refusal(withoutPython, crFor(withoutPython, true))
    expect(err.message).toMatch(/Pod\/wandb-operator-wandb-test-connection \(operator-wandb\/templates\/tests\/test-connection\.yaml\) container wandb-verify: us-docker\.pkg\.dev\/wandb-production\/public\/python:3\.12 is not in the mirror/)
    const stale = edited(crFor(map, false), (v) => {
      ;((v['app']!['image'] as Record<string, unknown>)['digest'] = `sha256:${'f'.repeat(64)}`)
    })
    const wrong = await refusal(map, stale, false)
    expect(wrong.message).toMatch(/Deployment\/wandb-app-bc \(operator-wandb\/charts\/app\/templates\/deployment\.yaml\) container .*: registry\.corp:5000\/wandb\/wandb\/local@sha256:f{64} points into the mirror, but the receipt holds only latest there/)
  }, 60_000)

  it('a template failure with the CR values is a proof error naming the template', async () => {
    const map = mirrorMapOf(chart, false)
    const cr = edited(crFor(map, false), (v) => {
      v['redis'] = {...v['redis'], tls: {enabled: true}}
    })
    const err = await renderForOperator(input(map, cr, false)).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(ProofError)
    expect((err as Error).message).toMatch(/the operator-wandb 0\.43\.8 chart does not render with the values of operator\.yaml in operator-wandb\/charts\/redis\//)
  }, 60_000)

  it('--chart-source oci needs operator 1.22.0: refused for an older controller, accepted from 1.22.0, a warning for a moving tag', () => {
    const operatorChart = {name: 'operator', version: '1.4.8', tgz: Buffer.alloc(0), metadata: {apiVersion: 'v2', name: 'operator', version: '1.4.8', appVersion: '1.0.0'}}
    const withController = (tag: string): MirrorMap => ({...mirrorMapOf(chart, false, [`docker.io/wandb/controller:${tag}`])})
    expect(() => checkOperatorRoute('oci', withController('1.13.3'), operatorChart)).toThrow(/spec\.chart\.url is oci:\/\/, which the v1 operator reads only from 1\.22\.0, but the bundle's operator is 1\.13\.3 \(controller image docker\.io\/wandb\/controller:1\.13\.3\): it would put the CR into InvalidConfig/)
    expect(checkOperatorRoute('oci', withController('v1.22.0'), operatorChart)).toEqual(expect.objectContaining({needs: '>= 1.22.0', bundled: '1.22.0'}))
    expect(checkOperatorRoute('oci', withController('latest'), operatorChart).warning).toMatch(/appVersion 1\.0\.0, and its controller docker\.io\/wandb\/controller:latest is a moving tag/)
    expect(checkOperatorRoute('repo', withController('1.13.3'), operatorChart)).toEqual(expect.objectContaining({needs: 'any v1 operator (1.x)', bundled: '1.13.3'}))
  })
})
