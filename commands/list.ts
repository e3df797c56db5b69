import {Args} from '@oclif/core'
import {readBundleContents, type BundleContents} from '../src/usecases/verify.js'
import {BaseCommand} from '../src/cli/base.js'
import {formatBytes} from '../src/cli/progress.js'
import {upstreamLines} from '../src/cli/upstream-text.js'

export default class List extends BaseCommand<typeof List> {
  static override summary = "List a bundle's images and charts (fast: does not verify blobs)"
  static override description = `Reads the tar headers and airgap/lock.json only. Run \`airgap verify\` to check digests
and the signature.

${BaseCommand.exitCodesHelp}`
  static override examples = ['<%= config.bin %> list bundle.tar', '<%= config.bin %> list bundle.tar --json']
  static override args = {
    bundle: Args.string({description: 'the bundle tarball', required: true}),
  }

  async run(): Promise<BundleContents> {
    const {args} = await this.parse(List)
    const c = await readBundleContents(args.bundle)
    this.log(`${c.path}: bundle format ${c.formatVersion}, created ${c.created} by ${c.createdBy}, ${c.signed ? `signed${c.signerHint ? ` (key ${c.signerHint}, not verified)` : ''}` : 'not signed'}`)
    this.log(`IMAGES (${c.images.length})`)
    for (const i of c.images) {
      this.log(`  ${i.source}`)
      this.log(`    ${i.digest}  ${i.platforms.join(', ') || '-'}  ${formatBytes(i.bytes)}`)
    }
    this.log(`CHARTS (${c.charts.length})`)
    for (const ch of c.charts) this.log(`  ${ch.name} ${ch.version}  ${ch.digest}  from ${ch.source}`)
    const m = c.serverManifest
    if (m) {
      this.log(`SERVER MANIFEST (W&B ${m.version} for the v2 operator)`)
      this.log(`  ${m.source}`)
      this.log(`    ${m.digest}${m.requiredOperatorVersion ? `  requiredOperatorVersion ${m.requiredOperatorVersion}` : ''}${m.operatorChartVersion ? `, operator chart ${m.operatorChartVersion}` : ''}`)
    }
    if (c.upstreamVerification) for (const line of upstreamLines(c.upstreamVerification)) this.log(line)
    this.log(`${c.blobs.count} blobs, ${formatBytes(c.blobs.bytes)}${c.spec ? '; spec included' : ''}`)
    return c
  }
}
