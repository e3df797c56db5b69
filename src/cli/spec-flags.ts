import {Flags} from '@oclif/core'

/** Flags that say where a release spec comes from and what it carries (`airgap pull`, `airgap images`). */
export const specFlags = {
  'channel-url': Flags.string({description: 'fetch the W&B release channel live from this deploy server base URL (e.g. https://deploy.wandb.ai)', env: 'AIRGAP_CHANNEL_URL', helpValue: 'URL'}),
  release: Flags.string({description: 'pinned release id of the channel (with --channel-url)', helpValue: 'ID'}),
  license: Flags.string({description: 'W&B licence for the channel (default $WANDB_LICENSE); never printed', env: 'WANDB_LICENSE', helpValue: 'LICENSE'}),
  'only-enabled': Flags.boolean({description: 'only images of components the values enable (default: every component, enabled or not)', default: false}),
  'skip-test-images': Flags.boolean({description: 'leave out images that only `helm test` hooks run (helm.sh/hook: test); listed as left out', default: false}),
}
