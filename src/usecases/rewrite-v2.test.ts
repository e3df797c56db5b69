/**
 * What rewrite-v2 decides before anything is written: v1-only options refused, the v1 CR's
 * conversion setting, and a proof that says why it could not render. The whole v2 flow against the
 * real registry, skopeo and containerd is test/integration/wandb-v2.test.ts.
 */
import {describe, expect, it} from 'vitest'
import {parse} from 'yaml'
import {NotFoundError, UsageError} from '../errors.js'
import type {PushReceipt, ReceiptServerManifest} from '../mirror/receipt.js'
import {LazyBundle} from './rewrite-bundle.js'
import {proveOperatorChartRendering, refuseV1Options, withV1Conversion} from './rewrite-v2.js'

const D = `sha256:${'d'.repeat(64)}`
const manifest: ReceiptServerManifest = {
  source: 'us-docker.pkg.dev/wandb-production/public/wandb/server-manifest:0.99.0',
  version: '0.99.0',
  digest: D,
  mirror: 'mirror.corp:5000/wandb/wandb/server-manifest:0.99.0',
  layout: 'operator-v2',
  imageRegistry: 'mirror.corp:5000/wandb',
  manifestRepository: 'oci://mirror.corp:5000/wandb/wandb/server-manifest',
  images: [],
}

describe('refuseV1Options', () => {
  it('names every v1-only option given, and accepts none', () => {
    expect(() => refuseV1Options({}, '0.99.0')).not.toThrow()
    let err: unknown
    try {
      refuseV1Options({chartSource: 'oci', channel: 'channel.json'}, '0.99.0')
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).message).toMatch(/--channel, --chart-source apply to the v1 operator/)
  })
})

describe('withV1Conversion', () => {
  it('points global.imageRegistry of a v1 CR at the mirror for the conversion webhook, keeping comments', () => {
    const v1 = '# site CR\napiVersion: apps.wandb.com/v1\nkind: WeightsAndBiases\nmetadata: {name: wandb}\nspec:\n  values:\n    global:\n      host: https://wandb.corp # the URL\n'
    const warnings: string[] = []
    const out = withV1Conversion(v1, manifest, (m) => warnings.push(m))
    expect(out).toContain('# site CR')
    expect(out).toContain('# the URL')
    const values = (parse(out) as {spec: {values: {global: {imageRegistry: string; host: string}}}}).spec.values
    expect(values.global.imageRegistry).toContain('mirror.corp:5000/wandb')
    expect(values.global.host).toBe('https://wandb.corp')
  })
})

describe('proveOperatorChartRendering', () => {
  it('refuses when the bundle cannot be read (nothing is written unproven)', async () => {
    const receipt = {bundle: {path: '/nonexistent/v2.tar', lockDigest: D, authenticity: 'verified'}} as unknown as PushReceipt
    const bundle = new LazyBundle('/nonexistent/v2.tar', receipt)
    const err = await proveOperatorChartRendering({values: {}, map: {registry: 'mirror.corp:5000/wandb', keepSourceHost: false, images: [], charts: []}, bundle, pinDigests: false, allowExternal: [], pullSecrets: [], operatorValuesPath: '/o/operator-values.yaml', namespace: 'default'}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NotFoundError)
    expect((err as NotFoundError).message).toBe('bundle /nonexistent/v2.tar does not exist')
    await bundle.close()
  })
})
