import {Flags} from '@oclif/core'
import {runDemo, type DemoResult, type DemoStep} from '../src/usecases/demo.js'
import {BaseCommand} from '../src/cli/base.js'
import {exitInterrupted, listenForInterrupt} from '../src/cli/interrupt.js'
import {formatBytes} from '../src/cli/progress.js'

export default class Demo extends BaseCommand<typeof Demo> {
  static override summary = 'Run the whole air-gap flow on this machine, offline: pull, verify, push, rewrite'
  static override description = `Starts a stand-in for the internet on 127.0.0.1 (a registry and a Helm repository holding small,
generated W&B-shaped images and charts, and a W&B release channel naming them), then does what you
would do for a real air-gapped install: pull the release into one signed bundle, verify it, push it
into a second, empty registry (the enclave's mirror), check the mirror, and write the operator.yaml
the cluster needs. With --v2, the same for W&B on the v2 operator: a server manifest release
(pull --wandb-version), pushed in the v2 operator's mirror layout, and the v2 WeightsAndBiases.
Prints each step in plain words, the operator.yaml and the time each step took.
Needs no network, no Docker and no credentials. Everything is deleted at the end (also on Ctrl-C)
unless --keep names a folder to keep it in.

${BaseCommand.exitCodesHelp}`
  static override examples = ['<%= config.bin %> demo', '<%= config.bin %> demo --keep ./demo-out', '<%= config.bin %> demo --json', '<%= config.bin %> demo --v2']
  static override flags = {
    keep: Flags.string({description: 'keep the bundle, keys, receipt, operator.yaml and both registries in this new or empty folder', helpValue: 'DIR'}),
    v2: Flags.boolean({description: 'W&B on the v2 operator: carry a server-manifest release (pull --wandb-version) and write the v2 WeightsAndBiases', default: false}),
  }

  async run(): Promise<DemoResult> {
    const {flags} = await this.parse(Demo)
    const text = !this.jsonEnabled() && !flags.quiet
    const interrupt = listenForInterrupt()
    if (text) this.log(`airgap demo${flags.v2 ? ' --v2' : ''}: the whole air-gap flow${flags.v2 ? ' for the W&B v2 operator' : ''} on this machine, offline, on made-up W&B images.\n`)
    let n = 0
    try {
      const result = await runDemo({
        keep: flags.keep || undefined,
        v2: flags.v2,
        signal: interrupt.signal,
        hooks: {
          onStepStart: (_id, title) => {
            n += 1
            if (text) this.log(`[${n}/7] ${title}…`)
          },
          onStepDone: (step) => {
            if (text) this.log(`${step.details.map((d) => `      ${d}`).join('\n')}\n      (${seconds(step.seconds)})\n`)
          },
          onWarning: (m) => {
            if (!this.jsonEnabled()) this.warn(m)
          },
        },
      })
      if (!flags.quiet && !this.jsonEnabled()) this.printResult(result)
      return result
    } catch (err) {
      if (!interrupt.signal.aborted) throw err
      // runDemo has already closed its servers and removed its folder (its finally ran).
      this.logToStderr('airgap demo: interrupted; servers stopped and temporary files removed')
      exitInterrupted()
    } finally {
      interrupt.release()
    }
  }

  private printResult(r: DemoResult): void {
    this.log('─'.repeat(72))
    this.log('operator.yaml (in a real enclave: kubectl apply -f operator.yaml, after installing the operator chart')
    this.log('with operator-values.yaml):\n')
    this.log(r.operatorYaml.trimEnd())
    this.log('─'.repeat(72))
    this.log('Summary')
    this.log(table(r.steps, r.totalSeconds))
    this.log('')
    this.log(`Bundle: ${r.bundle.images} image(s), ${r.bundle.charts} chart(s), ${r.bundle.blobs} blobs, ${formatBytes(r.bundle.size)}, signed by ${r.bundle.signer}`)
    this.log(`Mirror: images at ${r.mirror.registry}, charts at ${r.mirror.helmRepo}`)
    if (r.crProblems.length > 0) this.log(`CRD check: ${r.crProblems.join('; ')}`)
    this.log(
      r.kept
        ? `Kept in ${r.workDir}: wandb.tar (bundle), cosign.key/.pub, the push receipt, operator.yaml, operator-values.yaml, upstream/ and mirror/ (OCI layouts).`
        : 'All temporary files and servers are gone (use --keep DIR to keep the bundle, keys, receipt and operator.yaml).',
    )
    this.log('For a real install, run the same steps yourself: airgap pull, verify, push, rewrite (see README).')
  }
}

function seconds(s: number): string {
  return `${s.toFixed(s < 10 ? 2 : 1)} s`
}

/** The summary table: one row per step and the total. */
function table(steps: DemoStep[], total: number): string {
  const width = Math.max(...steps.map((s) => s.title.length), 5) + 2
  const rows = steps.map((s, i) => `  ${String(i + 1).padStart(2)}  ${s.title.padEnd(width)}${seconds(s.seconds).padStart(8)}`)
  return [`  ${'#'.padStart(2)}  ${'step'.padEnd(width)}${'time'.padStart(8)}`, ...rows, `      ${'total'.padEnd(width)}${seconds(total).padStart(8)}`].join('\n')
}
