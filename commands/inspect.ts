import {Args} from '@oclif/core'
import {inspectImage, type InspectResult} from '../src/usecases/inspect.js'
import {BaseCommand} from '../src/cli/base.js'
import {connectionOptions} from '../src/cli/connection.js'
import {connectionFlags} from '../src/cli/flags.js'
import {formatBytes} from '../src/cli/progress.js'

const {concurrency: _unused, ...inspectConnectionFlags} = connectionFlags

export default class Inspect extends BaseCommand<typeof Inspect> {
  static override summary = 'Resolve an image reference to its digest and show what it holds'
  static override description = `Reads the manifest (with the full Accept list, so the digest is the one the registry
stores), verifies it against its digest, and lists platforms or layers.

${BaseCommand.exitCodesHelp}`
  static override examples = ['<%= config.bin %> inspect docker.io/library/redis:7', '<%= config.bin %> inspect --json oci:./layout:docker.io/library/redis:7']
  static override args = {
    reference: Args.string({description: 'REF, docker://REF or oci:DIR[:REF]', required: true}),
  }
  static override flags = {...inspectConnectionFlags}

  async run(): Promise<InspectResult> {
    const {args, flags} = await this.parse(Inspect)
    const result = await inspectImage({...connectionOptions(flags), reference: args.reference})
    if (!flags.quiet) {
      this.log(`${result.reference}`)
      this.log(`  digest     ${result.digest}`)
      this.log(`  mediaType  ${result.mediaType}`)
      if (result.manifests) {
        for (const m of result.manifests) this.log(`  ${(m.platform ?? 'unknown').padEnd(18)} ${m.digest}`)
      } else {
        this.log(`  layers     ${result.layers} (${formatBytes(result.layerBytes ?? 0)})`)
      }
    }
    return result
  }
}
