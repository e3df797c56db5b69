import {Args} from '@oclif/core'
import {verifyBundleFile, type VerifyReport} from '../src/usecases/verify.js'
import {BaseCommand} from '../src/cli/base.js'
import {publicKeyFlag} from '../src/cli/flags.js'
import {formatBytes, formatRate} from '../src/cli/progress.js'
import {upstreamLines} from '../src/cli/upstream-text.js'

export default class Verify extends BaseCommand<typeof Verify> {
  static override summary = 'Verify a bundle: signature, lock, index, content graph and every blob digest'
  static override description = `Checks, in this order: the tar is a well-formed bundle; the Sigstore signature over
airgap/lock.json verifies with --key; the lock pins index.json; lock and index.json list the same
images and charts; every manifest, config and layer reachable from index.json is present with its
size; every blob hashes to its digest. Exits 0 only when all of it holds.
A part of a split bundle (pull --max-part-size) verifies alone: the blobs its lock places in
other parts are not required, every blob it holds is checked.
Without --key the content is checked but not who produced it ("authenticity NOT checked").

${BaseCommand.exitCodesHelp}`
  static override examples = [
    '<%= config.bin %> verify bundle.tar --key cosign.pub',
    'AIRGAP_KEY=cosign.pub <%= config.bin %> verify bundle.tar --json',
  ]
  static override args = {
    bundle: Args.string({description: 'the bundle tarball', required: true}),
  }
  static override flags = {
    key: publicKeyFlag({description: "the signer's public key (cosign.pub)", env: 'AIRGAP_KEY'}),
  }

  async run(): Promise<VerifyReport> {
    const {args, flags} = await this.parse(Verify)
    const report = await verifyBundleFile(args.bundle, {publicKey: flags.key})
    if (!flags.quiet) this.printSummary(report)
    return report
  }

  private printSummary(r: VerifyReport): void {
    this.log(`Verified ${r.path} (bundle format ${r.formatVersion}, created ${r.created} by ${r.createdBy})`)
    this.log(`  ${r.images.length} image(s), ${r.charts.length} chart(s)${r.serverManifest ? `, the W&B ${r.serverManifest.version} server manifest` : ''}, ${r.blobs} blobs, ${formatBytes(r.bytes)}; every digest matches`)
    if (r.split) {
      const elsewhere = r.split.blobs.filter((b) => b.part !== r.split!.part).length
      this.log(`  part ${r.split.part} of ${r.split.parts} of set ${r.split.setId}: ${elsewhere} blob(s) of the set are in the other parts (not required here)`)
    }
    if (r.authenticity === 'verified') this.log(`  signed by key ${r.signer}`)
    else if (r.authenticity === 'unsigned') this.log('  authenticity NOT checked: the bundle is not signed')
    else this.log(`  authenticity NOT checked: pass --key cosign.pub (or AIRGAP_KEY) to verify the signature${r.signerHint ? ` (it claims key ${r.signerHint})` : ''}`)
    this.log(`  ${r.seconds.toFixed(2)} s, ${formatRate(r.bytesPerSecond)}`)
    if (r.upstreamVerification) for (const line of upstreamLines(r.upstreamVerification)) this.log(line)
  }
}
