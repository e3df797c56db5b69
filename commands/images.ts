import {Args} from '@oclif/core'
import {listImages, type ListImagesResult} from '../src/usecases/images.js'
import {BaseCommand} from '../src/cli/base.js'
import {connectionOptions} from '../src/cli/connection.js'
import {connectionFlags} from '../src/cli/flags.js'
import {registryMirrorFlag, specFlags, wandbFlags, wandbInput} from '../src/cli/spec-flags.js'

export default class Images extends BaseCommand<typeof Images> {
  static override summary = 'List every chart and image a release spec leads to, with where each was found'
  static override description = `Fetches the charts of SPEC (an airgap.yaml or a saved W&B channel response; or the live channel
with --channel-url) and lists every image they can run: values paths, chart annotations and
images written in templates, for enabled and disabled components (disabled ones marked).
No image is pulled or resolved. With --wandb-version (W&B for the v2 operator) the server manifest
is read and every image it names is listed with its manifest key, next to the operator chart's.

${BaseCommand.exitCodesHelp}`
  static override examples = ['<%= config.bin %> images airgap.yaml', '<%= config.bin %> images channel.json --only-enabled --json', '<%= config.bin %> images --wandb-version 0.99.0']
  static override args = {
    spec: Args.string({description: 'release spec: airgap.yaml or a saved W&B channel response', required: false}),
  }
  static override flags = {...connectionFlags, ...specFlags, 'registry-mirror': registryMirrorFlag, ...wandbFlags}

  async run(): Promise<ListImagesResult> {
    const {args, flags} = await this.parse(Images)
    const result = await listImages({
      ...connectionOptions(flags),
      ...(args.spec ? {spec: args.spec} : {}),
      ...(flags['channel-url'] ? {channelUrl: flags['channel-url']} : {}),
      ...(flags.release ? {release: flags.release} : {}),
      ...(flags.license ? {license: flags.license} : {}),
      wandb: wandbInput(flags),
      registryMirrors: flags['registry-mirror'] ?? [],
      onlyEnabled: flags['only-enabled'],
      onWarning: (m) => {
        if (!this.jsonEnabled() && !flags.quiet) this.warn(m)
      },
    })
    if (!this.jsonEnabled()) this.print(result)
    return result
  }

  private print(r: ListImagesResult): void {
    const m = r.serverManifest
    if (m) this.log(`Server manifest ${m.source} (${m.digest}): ${m.images} image(s)${m.operatorCheck ? `; operator ${m.operatorCheck}` : ''}`)
    this.log(`Charts (${r.charts.length}):`)
    for (const c of r.charts) this.log(`  ${c.name}@${c.version}  ${c.source}  -> ${c.bundleName}`)
    this.log(`Images (${r.images.length}; ${r.images.filter((i) => i.enabled).length} enabled):`)
    for (const i of r.images) {
      this.log(`  ${i.reference}${i.enabled ? '' : '  (disabled)'}`)
      for (const o of i.origins) this.log(`      ${o.where}${o.enabled ? '' : ' (disabled)'}`)
    }
    if (r.excluded.length) this.log(`Excluded by the spec: ${r.excluded.join(', ')}`)
  }
}
