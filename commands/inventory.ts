import {Flags} from '@oclif/core'
import {takeInventory, type InventoryResult} from '../src/usecases/inventory.js'
import {BaseCommand} from '../src/cli/base.js'
import {connectionOptions} from '../src/cli/connection.js'
import {connectionFlags, registryFlag} from '../src/cli/flags.js'

export default class Inventory extends BaseCommand<typeof Inventory> {
  static override summary = 'Record what a mirror registry holds, for `airgap pull --since`'
  static override description = `Walks the catalog of --registry HOST[:PORT][/PREFIX] (repositories under PREFIX), the tags
of each repository and every manifest they reach, and writes a small JSON file (kind
MirrorInventory: repositories with tag -> digest, every manifest and blob digest). It holds no
credentials. Carry it out of the enclave and pass it to \`airgap pull --since\` to build a bundle
that holds only what the mirror lacks. Needs catalog access (registry:catalog:* with token auth).

${BaseCommand.exitCodesHelp}`
  static override examples = ['<%= config.bin %> inventory --registry registry.corp:5000/mirror -o inventory.json']
  static override flags = {
    ...connectionFlags,
    registry: registryFlag({description: 'mirror registry and optional path prefix', required: true, env: 'AIRGAP_REGISTRY'}),
    output: Flags.string({char: 'o', description: 'inventory file to write', required: true, helpValue: 'FILE'}),
  }

  async run(): Promise<InventoryResult> {
    const {flags} = await this.parse(Inventory)
    const result = await takeInventory({
      ...connectionOptions(flags, (m, r) => this.warn(`${r}: ${m}`)),
      registry: flags.registry,
      output: flags.output,
      concurrency: flags.concurrency,
    })
    if (!flags.quiet && !this.jsonEnabled()) {
      this.log(`Wrote ${result.path}: ${result.repositories} repositories, ${result.tags} tags, ${result.manifests} manifests, ${result.blobs} blobs (${result.seconds.toFixed(2)} s)`)
    }
    return result
  }
}
