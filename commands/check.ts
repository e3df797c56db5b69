import {Args, Flags} from '@oclif/core'
import {checkFailure, checkReceipt, type CheckResult} from '../src/usecases/check.js'
import {BaseCommand} from '../src/cli/base.js'
import {connectionOptions} from '../src/cli/connection.js'
import {connectionFlags} from '../src/cli/flags.js'

export default class Check extends BaseCommand<typeof Check> {
  static override summary = 'Check that the mirror holds everything a push receipt lists'
  static override description = `Every image of the receipt must resolve in the mirror at its recorded digest, and
every published chart must download from its Helm repository (or OCI registry) with the recorded
.tgz digest. Prints one row per item; exits 0 only when all hold (7 when something is missing,
5 when something has another digest).
The mirror is reached as the push reached it: the receipt records plain HTTP hosts and CA files, so
--plain-http and --ca-file are only needed to override it (each disagreement is stated). An image
deeper than the receipt's --max-nested-paths is an error.

${BaseCommand.exitCodesHelp}`
  static override examples = ['<%= config.bin %> check bundle.tar.receipt.json', '<%= config.bin %> check bundle.tar.receipt.json --ca-file /etc/pki/mirror-ca.pem']
  static override args = {
    receipt: Args.string({description: 'the receipt `airgap push` wrote', required: true}),
  }
  static override flags = {
    ...connectionFlags,
    'helm-username': Flags.string({description: 'Helm repository user (basic auth)', env: 'AIRGAP_HELM_USERNAME'}),
    'helm-password': Flags.string({description: 'Helm repository password (prefer the environment variable)', env: 'AIRGAP_HELM_PASSWORD'}),
  }

  async run(): Promise<CheckResult> {
    const {args, flags} = await this.parse(Check)
    const result = await checkReceipt({
      ...connectionOptions(flags, (m, r) => this.warn(`${r}: ${m}`)),
      receipt: args.receipt,
      helmAuth: {
        username: flags['helm-username'],
        password: flags['helm-password'],
      },
      concurrency: flags.concurrency,
    })
    if (!flags.quiet && !this.jsonEnabled()) this.printTable(result)
    const failure = checkFailure(result)
    if (failure) throw failure
    return result
  }

  private printTable(r: CheckResult): void {
    const recorded = [
      r.reached.from.plainHttp === 'receipt' ? `plain HTTP to ${r.reached.plainHttp.join(', ')}` : '',
      r.reached.from.caFiles === 'receipt' ? `CA file(s) ${r.reached.caFiles.join(', ')}` : '',
    ].filter((s) => s !== '')
    if (recorded.length) this.log(`Reaching the mirror as the push did (per the receipt): ${recorded.join('; ')}`)
    const rows = r.rows.map((x) => [x.state.toUpperCase(), x.kind, x.name, x.where, x.detail ?? x.got ?? x.want])
    const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i]!.length), 4))
    for (const row of rows) this.log(row.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join('  '))
    const c = r.counts
    this.log(`${c.ok} ok, ${c.missing} missing, ${c.mismatch} wrong digest, ${c.error} error(s)${c.skipped ? `, ${c.skipped} skipped` : ''}`)
  }
}
