import {Flags} from '@oclif/core'
import {generateKeyFiles, type GenerateKeyResult} from '../../src/usecases/key.js'
import {BaseCommand} from '../../src/cli/base.js'
import {newKeyPassword} from '../../src/cli/keys.js'

export default class KeyGenerate extends BaseCommand<typeof KeyGenerate> {
  static override summary = 'Generate a cosign-compatible key pair for signing bundles'
  static override description = `Writes PREFIX.key (ECDSA P-256, encrypted in cosign's format, mode 0600) and PREFIX.pub.
The password comes from AIRGAP_KEY_PASSWORD or COSIGN_PASSWORD, else it is asked for on the terminal.
Keep the private key on the connected side; carry only the .pub into the enclave.

${BaseCommand.exitCodesHelp}`
  static override examples = [
    '<%= config.bin %> key generate',
    'AIRGAP_KEY_PASSWORD=… <%= config.bin %> key generate --output-key-prefix release-signing',
  ]
  static override flags = {
    'output-key-prefix': Flags.string({description: 'write PREFIX.key and PREFIX.pub', default: 'cosign', helpValue: 'PREFIX'}),
    force: Flags.boolean({description: 'overwrite existing key files', default: false}),
  }

  async run(): Promise<GenerateKeyResult> {
    const {flags} = await this.parse(KeyGenerate)
    const password = await newKeyPassword()
    const result = await generateKeyFiles({prefix: flags['output-key-prefix'], password, force: flags.force})
    if (!flags.quiet) {
      this.log(`Private key written to ${result.privateKeyFile} (keep it secret)`)
      this.log(`Public key written to ${result.publicKeyFile}`)
      this.log(`Key fingerprint: ${result.fingerprint}`)
    }
    return result
  }
}
