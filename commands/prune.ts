import {Flags} from '@oclif/core'
import {applyPrunePlan, planPruneFromMirror, type PruneApplyResult, type PrunePlan} from '../src/usecases/prune.js'
import {BaseCommand} from '../src/cli/base.js'
import {UsageError} from '../src/errors.js'
import {connectionOptions} from '../src/cli/connection.js'
import {connectionFlags, registryFlag} from '../src/cli/flags.js'

export default class Prune extends BaseCommand<typeof Prune> {
  static override summary = 'Remove from the mirror what no kept release uses, in two phases: plan, then apply'
  static override description = `Phase 1 (--plan FILE): walks --registry HOST[:PORT][/PREFIX] (repositories under PREFIX only;
nothing outside the prefix is ever touched) and writes the plan: every manifest, with the tags
pointing at it, that none of the --keep-receipts references. Nothing is deleted. Review it.
Phase 2 (--apply FILE): deletes exactly the plan's manifests through the registry API, after
checking that each tag still points where the plan says (a tag moved since keeps its manifest).
A registry deletes a manifest with every tag pointing at it, so a tag no receipt names that
shares a kept manifest stays (the plan lists it as shared). Deleting frees no disk by itself: run
the registry's garbage collection afterwards (distribution: \`registry garbage-collect
--delete-untagged CONFIG\` while it is read-only or stopped). Needs catalog access and delete
permission (distribution: storage.delete.enabled).

${BaseCommand.exitCodesHelp}`
  static override examples = [
    '<%= config.bin %> prune --registry registry.corp:5000/wandb --keep-receipts wandb-0.75.tar.receipt.json wandb-0.74.tar.receipt.json --plan prune.json',
    '<%= config.bin %> prune --apply prune.json',
  ]
  static override flags = {
    ...connectionFlags,
    registry: registryFlag({description: 'mirror registry and path prefix to prune (with --plan)', env: 'AIRGAP_REGISTRY', dependsOn: ['plan']}),
    'keep-receipts': Flags.string({description: 'receipts of every release the mirror must keep serving (with --plan)', multiple: true, helpValue: 'RECEIPT', dependsOn: ['plan']}),
    plan: Flags.string({description: 'phase 1: write the plan to FILE (deletes nothing)', helpValue: 'FILE', exclusive: ['apply']}),
    apply: Flags.string({description: 'phase 2: delete exactly what the plan FILE lists', helpValue: 'FILE', exclusive: ['plan']}),
  }

  async run(): Promise<PrunePlan | PruneApplyResult> {
    const {flags} = await this.parse(Prune)
    const connection = connectionOptions(flags, (m, r) => this.warn(`${r}: ${m}`))
    if (flags.apply) {
      const result = await applyPrunePlan({...connection, planFile: flags.apply, concurrency: flags.concurrency})
      if (!flags.quiet && !this.jsonEnabled()) {
        for (const o of result.outcomes) this.log(`${o.status.toUpperCase().padEnd(7)}  ${o.repository}@${o.digest}  ${o.tags.join(', ')}${o.detail ? `  (${o.detail})` : ''}`)
        this.log(`Deleted ${result.deleted} manifest(s) in ${result.registry}. Run the registry's garbage collection to free the disk.`)
      }
      return result
    }
    if (!flags.plan || !flags.registry || !flags['keep-receipts']?.length) {
      throw new UsageError('prune needs --plan FILE with --registry and --keep-receipts, or --apply FILE', {hint: 'first write a plan, review it, then apply it'})
    }
    const plan = await planPruneFromMirror({...connection, registry: flags.registry, keepReceipts: flags['keep-receipts'], planFile: flags.plan, concurrency: flags.concurrency})
    if (!flags.quiet && !this.jsonEnabled()) {
      for (const d of plan.deletions) this.log(`DELETE  ${d.repository}@${d.digest}  ${d.tags.join(', ')}`)
      for (const s of plan.shared) this.log(`SHARED  ${s.repository}:${s.tag}  kept: it points at a kept manifest ${s.digest}`)
      this.log(`Wrote ${flags.plan}: ${plan.deletions.length} manifest(s) to delete, ${plan.keptTags} tag(s) kept. Review it, then: airgap prune --apply ${flags.plan}`)
    }
    return plan
  }
}
