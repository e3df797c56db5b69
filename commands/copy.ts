import {Args} from '@oclif/core'
import {copyImage, type CopyImageResult} from '../src/usecases/copy.js'
import {BaseCommand} from '../src/cli/base.js'
import {connectionOptions} from '../src/cli/connection.js'
import {connectionFlags, platformFlag} from '../src/cli/flags.js'
import {createProgress, formatBytes} from '../src/cli/progress.js'

export default class Copy extends BaseCommand<typeof Copy> {
  static override summary = 'Copy an image, index or artifact between registries and OCI layouts'
  static override description = `SOURCE and DESTINATION are image references (docker://REF or a bare REF) or OCI image
layout directories (oci:DIR[:REF]). Every blob is verified against its digest while it streams;
blobs the destination already has are skipped, so a rerun after an interruption resumes.

${BaseCommand.exitCodesHelp}`
  static override examples = [
    '<%= config.bin %> copy docker.io/library/redis:7 oci:./layout',
    '<%= config.bin %> copy --plain-http 127.0.0.1:5000 oci:./layout:docker.io/library/redis:7 127.0.0.1:5000/library/redis:7',
    '<%= config.bin %> copy --platform linux/amd64 quay.io/prometheus/prometheus:v2.48.0 registry.corp:443/mirror/prometheus:v2.48.0',
  ]
  static override args = {
    source: Args.string({description: 'what to copy: REF, docker://REF or oci:DIR[:REF]', required: true}),
    destination: Args.string({description: 'where to: REF, docker://REF or oci:DIR[:REF]', required: true}),
  }
  static override flags = {
    ...connectionFlags,
    platform: platformFlag({
      description: 'keep only this platform of a multi-platform image (os/arch[/variant]); repeatable; default all',
      multiple: true,
      multipleNonGreedy: true,
    }),
  }

  async run(): Promise<CopyImageResult> {
    const {args, flags} = await this.parse(Copy)
    const json = this.jsonEnabled()
    const progress = createProgress({json, quiet: flags.quiet})
    const warn = (message: string, registry: string): void => progress.warning(`${registry}: ${message}`, (m) => this.warn(m))
    try {
      const result = await copyImage({
        ...connectionOptions(flags, warn),
        source: args.source,
        destination: args.destination,
        platforms: flags.platform ?? [],
        concurrency: flags.concurrency,
        hooks: progress,
      })
      progress.end()
      if (!flags.quiet) {
        const s = result.stats
        this.log(`Copied ${result.source} -> ${result.destination}`)
        this.log(`  digest ${result.digest}`)
        this.log(
          `  ${s.blobsCopied} blobs copied (${formatBytes(s.bytesCopied)}), ${s.blobsSkipped} already present, ${s.blobsMounted} mounted, ${s.manifestsCopied} manifests; ${result.seconds.toFixed(2)} s`,
        )
        if (s.existenceUnanswered > 0) this.log(`  the destination answered ${s.existenceUnanswered} existence check(s) with a server error: what they asked about was copied again`)
      }
      return result
    } finally {
      progress.end()
    }
  }
}
