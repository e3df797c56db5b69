import {Args, Flags} from '@oclif/core'
import {diffReleases, type ReleaseDiff} from '../src/usecases/diff.js'
import {BaseCommand} from '../src/cli/base.js'
import {diffMarkdown, diffTable} from '../src/cli/diff-text.js'

export default class Diff extends BaseCommand<typeof Diff> {
  static override summary = 'Show what changes between two releases: images, charts, values, new bytes'
  static override description = `Each side is a bundle, a bundle lock (airgap/lock.json) or a push receipt, recognised by
its content. Images are matched by name, then by repository (an image whose tag moved is one row,
not a removal and an addition). Chart values are compared path by path (bundles only: they carry
the release spec). New content is counted blob by blob between two bundles, and as the sizes of
the added and moved images otherwise. Nothing is verified: run \`airgap verify\` for that.
Exits 0 whether or not the releases differ.

${BaseCommand.exitCodesHelp}`
  static override examples = [
    '<%= config.bin %> diff wandb-0.74.tar wandb-0.75.tar',
    '<%= config.bin %> diff wandb-0.74.tar.receipt.json wandb-0.75.tar --markdown > change.md',
  ]
  static override args = {
    before: Args.string({description: 'the release before: bundle, lock or receipt', required: true}),
    after: Args.string({description: 'the release after: bundle, lock or receipt', required: true}),
  }
  static override flags = {
    markdown: Flags.boolean({description: 'print Markdown tables (for a change ticket)', default: false}),
  }

  async run(): Promise<ReleaseDiff> {
    const {args, flags} = await this.parse(Diff)
    const diff = await diffReleases(args.before, args.after)
    if (!this.jsonEnabled()) this.log(flags.markdown ? diffMarkdown(diff).trimEnd() : diffTable(diff).join('\n'))
    return diff
  }
}
