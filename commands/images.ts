import {Args, Flags} from '@oclif/core'
import {listImages, type ListImagesResult} from '../src/usecases/images.js'
import {BaseCommand} from '../src/cli/base.js'
import {connectionOptions} from '../src/cli/connection.js'
import {connectionFlags} from '../src/cli/flags.js'
import {imageListLines, whyLines} from '../src/cli/images-text.js'
import {registryMirrorFlag, specFlags, wandbFlags, wandbInput} from '../src/cli/spec-flags.js'

export default class Images extends BaseCommand<typeof Images> {
  static override summary = 'List every chart and image a release spec leads to, with where each was found'
  static override description = `Fetches the charts of SPEC (an airgap.yaml or a saved W&B channel response; or the live channel with --channel-url) and lists every image they can run, for enabled and disabled components (disabled ones marked). No image is pulled or resolved. With --wandb-version (W&B for the v2 operator) the server manifest is read and every image it names is listed with its manifest key, next to the operator chart's.

Two ways of finding images, merged:
  - the values walk: image-shaped values, chart annotations, references written in templates;
  - rendering: each chart rendered like \`helm template\` with the release's values, once as given and once with every disabled component switched on; every container image of every rendered workload (init and ephemeral containers, hooks, CronJobs, prometheus-operator spec.image), with the object that runs it.

A template that fails to render is a warning naming the chart, template and line; the other templates and the values walk go on. Images that only \`helm test\` hooks run are marked "helm test only"; --skip-test-images leaves them out. --why REF explains one image: every origin, and which render found it.

${BaseCommand.exitCodesHelp}`
  static override examples = [
    '<%= config.bin %> images airgap.yaml',
    '<%= config.bin %> images channel.json --only-enabled --json',
    '<%= config.bin %> images airgap.yaml --why bitnami/redis-exporter',
    '<%= config.bin %> images --wandb-version 0.99.0',
  ]
  static override args = {
    spec: Args.string({description: 'release spec: airgap.yaml or a saved W&B channel response', required: false}),
  }
  static override flags = {
    ...connectionFlags,
    ...specFlags,
    'registry-mirror': registryMirrorFlag,
    ...wandbFlags,
    why: Flags.string({description: 'explain one image: every place it was found and which render found it (REF without a tag matches every tag, without a registry every registry)', helpValue: 'REF'}),
  }

  async run(): Promise<ListImagesResult> {
    const {args, flags} = await this.parse(Images)
    const result = await listImages({
      ...connectionOptions(flags),
      spec: args.spec || undefined,
      channelUrl: flags['channel-url'] || undefined,
      release: flags.release || undefined,
      license: flags.license || undefined,
      wandb: wandbInput(flags),
      registryMirrors: flags['registry-mirror'] ?? [],
      onlyEnabled: flags['only-enabled'],
      skipTestImages: flags['skip-test-images'],
      why: flags.why,
      onWarning: (m) => {
        if (!this.jsonEnabled() && !flags.quiet) this.warn(m)
      },
    })
    if (!this.jsonEnabled()) for (const line of result.why ? whyLines(result.why) : imageListLines(result)) this.log(line)
    return result
  }
}
