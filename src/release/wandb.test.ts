import {describe, expect, it} from 'vitest'
import {parseSpec} from './parse.js'
import {specForBundle} from './redact.js'
import {DEFAULT_WANDB_MANIFEST_REPOSITORY, DEFAULT_WANDB_OPERATOR_CHART} from './types.js'
import {checkWandbRelease, splitOperatorChart} from './wandb.js'

describe('W&B v2 release (spec.wandb and --wandb-version)', () => {
  it('fills in the published manifest repository and operator chart', () => {
    expect(checkWandbRelease({version: '0.99.0'}, '/work')).toEqual({
      release: {version: '0.99.0', manifestRepository: DEFAULT_WANDB_MANIFEST_REPOSITORY, operatorChart: DEFAULT_WANDB_OPERATOR_CHART, withCertManager: false},
      problems: [],
    })
  })

  it('takes an oci:// operator chart with or without version, and a .tgz resolved against the base folder', () => {
    const oci = checkWandbRelease({version: '0.99.0', operatorChart: 'oci://reg.corp/charts/operator:2.0.0-beta.3', manifestRepository: 'oci://reg.corp:5000/wandb/server-manifest/'}, '/w')
    expect(oci.release).toMatchObject({operatorChart: 'oci://reg.corp/charts/operator:2.0.0-beta.3', manifestRepository: 'oci://reg.corp:5000/wandb/server-manifest'})
    expect(splitOperatorChart('oci://reg.corp/charts/operator:2.0.0-beta.3')).toEqual({oci: 'oci://reg.corp/charts/operator', version: '2.0.0-beta.3'})
    expect(splitOperatorChart('oci://reg.corp:5000/charts/operator')).toEqual({oci: 'oci://reg.corp:5000/charts/operator'})
    expect(checkWandbRelease({version: '0.99.0', operatorChart: 'charts/operator-2.0.0.tgz'}, '/w').release?.operatorChart).toBe('/w/charts/operator-2.0.0.tgz')
  })

  it('names every bad field', () => {
    const {release, problems} = checkWandbRelease({version: 'latest', manifestRepository: 'https://reg/x', operatorChart: 'operator'}, '/w')
    expect(release).toBeUndefined()
    expect(problems.map((p) => p.field)).toEqual(['version', 'manifestRepository', 'operatorChart'])
    expect(checkWandbRelease({version: '0.99.0', manifestRepository: 'oci://reg.corp/wandb/server-manifest:0.99.0'}, '/w').problems[0]?.message).toContain('without tag')
  })

  it('airgap.yaml: a spec with only a wandb block parses, and spec.yaml in the bundle keeps it', () => {
    const text = 'apiVersion: airgap.dev/v1alpha1\nkind: ReleaseSpec\nmetadata: {name: wandb}\nspec:\n  wandb: {version: 0.99.0, withCertManager: true}\n'
    const spec = parseSpec(text, '/w/airgap.yaml')
    expect(spec.spec.wandb).toEqual({version: '0.99.0', manifestRepository: DEFAULT_WANDB_MANIFEST_REPOSITORY, operatorChart: DEFAULT_WANDB_OPERATOR_CHART, withCertManager: true})
    expect(parseSpec(specForBundle(spec), '/w/spec.yaml').spec.wandb).toEqual(spec.spec.wandb)
  })

  it('airgap.yaml: a bad wandb field is a positioned error naming it', () => {
    const text = 'apiVersion: airgap.dev/v1alpha1\nkind: ReleaseSpec\nmetadata: {name: wandb}\nspec:\n  wandb:\n    version: 0.99.0\n    manifestRepository: https://reg/x\n'
    expect(() => parseSpec(text, 'airgap.yaml')).toThrow(/airgap\.yaml:7:\d+: .*spec\.wandb\.manifestRepository.*expected oci:\/\/HOST\/PATH/)
  })
})
