import {Flags} from '@oclif/core'
import type {WandbReleaseInput} from '../release/index.js'

/** Flags that say where a release spec comes from and what it carries (`airgap pull`, `airgap images`). */
export const specFlags = {
  'channel-url': Flags.string({description: 'fetch the W&B release channel live from this deploy server base URL (e.g. https://deploy.wandb.ai)', env: 'AIRGAP_CHANNEL_URL', helpValue: 'URL'}),
  release: Flags.string({description: 'pinned release id of the channel (with --channel-url)', helpValue: 'ID'}),
  license: Flags.string({description: 'W&B licence for the channel (default $WANDB_LICENSE); never printed', env: 'WANDB_LICENSE', helpValue: 'LICENSE'}),
  'only-enabled': Flags.boolean({description: 'only images of components the values enable (default: every component, enabled or not)', default: false}),
  'skip-test-images': Flags.boolean({description: 'leave out images that only `helm test` hooks run (helm.sh/hook: test); listed as left out', default: false}),
}

/** `--registry-mirror SOURCE=MIRROR` (`airgap pull`, `airgap images`). */
export const registryMirrorFlag = Flags.string({
  description: 'fetch images (and the W&B server manifest) of SOURCE (a registry, optionally with a path) through MIRROR, keeping the original reference; repeatable',
  multiple: true,
  multipleNonGreedy: true,
  env: 'AIRGAP_REGISTRY_MIRROR',
  delimiter: ',',
  helpValue: 'SOURCE=MIRROR',
})

/** A W&B release for the v2 operator: server manifest + operator chart (`airgap pull`, `airgap images`). */
export const wandbFlags = {
  'wandb-version': Flags.string({
    description: 'carry W&B server VERSION for the v2 operator: its server manifest (every image it names) and the operator chart; alone or with a SPEC (replaces its wandb block)',
    helpValue: 'VERSION',
  }),
  'manifest-repository': Flags.string({
    description: 'where the server manifest is (tag = the --wandb-version); default oci://us-docker.pkg.dev/wandb-production/public/wandb/server-manifest',
    dependsOn: ['wandb-version'],
    helpValue: 'oci://HOST/PATH',
  }),
  'operator-chart': Flags.string({
    description: 'the v2 operator chart (with --wandb-version); default: the newest version of oci://us-docker.pkg.dev/wandb-production/public/wandb/charts/operator that satisfies the manifest',
    dependsOn: ['wandb-version'],
    helpValue: 'oci://HOST/PATH/operator[:VERSION]|CHART.tgz',
  }),
  'with-cert-manager': Flags.boolean({description: 'also carry the cert-manager chart the v2 operator chart needs (with --wandb-version)', dependsOn: ['wandb-version']}),
}

/** The v2 release the flags ask for (undefined without --wandb-version). */
export function wandbInput(flags: {'wandb-version'?: string; 'manifest-repository'?: string; 'operator-chart'?: string; 'with-cert-manager'?: boolean}): WandbReleaseInput | undefined {
  const version = flags['wandb-version']
  if (version === undefined) return undefined
  return {version, manifestRepository: flags['manifest-repository'], operatorChart: flags['operator-chart'], withCertManager: flags['with-cert-manager'] === true}
}
