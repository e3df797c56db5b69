// Entry point of the one-file CLI (bundled by scripts/single-file/bundle.mjs, never run from source), for
// both dist/airgap.cjs (started by bin/run.js) and the single executable (scripts/build-exe.mjs).
// The oclif Config is built from the package.json and the command manifest embedded at build time
// and a command map whose entries require() a command's modules only when oclif asks for that
// command (the virtual module below, generated from the files in commands/): oclif reads no
// package.json, manifest or plug-in from disk, and a command evaluates only the code it uses.
import {writeFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {Config, Plugin, flush, handle, run} from '@oclif/core'
import {COMMANDS, PJSON} from 'airgap-bundle:commands'

// Replaced at build time: AIRGAP_BUNDLE_KIND by 'sea' (the executable) or 'dist' (dist/airgap.cjs);
// AIRGAP_NODE_MIN by package.json's engines.node; AIRGAP_MANIFEST by the oclif manifest of every command, which the bundler gets by running this
// file once with AIRGAP_BUNDLE_WRITE_MANIFEST set (until then it is a placeholder string).
const MANIFEST = AIRGAP_MANIFEST

class BundledPlugin extends Plugin {
  async _manifest() {
    if (typeof MANIFEST !== 'object') return super._manifest()
    this.commandIDs = Object.keys(MANIFEST.commands)
    return MANIFEST
  }
}

/** package.json's engines, checked here instead of by oclif (which loads semver for it); not in the executable, whose Node is fixed. */
function checkNodeVersion() {
  const have = process.versions.node.split('.').map(Number)
  const want = AIRGAP_NODE_MIN.version
  const older = have[0] !== want[0] ? have[0] < want[0] : have[1] !== want[1] ? have[1] < want[1] : have[2] < want[2]
  if (older) process.emitWarning(`Node version must be ${AIRGAP_NODE_MIN.range} to use this CLI. Current node version: ${process.versions.node}`)
}

async function main() {
  if (AIRGAP_BUNDLE_KIND === 'dist') checkNodeVersion()
  const root = AIRGAP_BUNDLE_KIND === 'sea' ? dirname(process.execPath) : join(__dirname, '..')
  const writeManifest = typeof MANIFEST !== 'object' ? process.env.AIRGAP_BUNDLE_WRITE_MANIFEST : undefined
  const plugin = new BundledPlugin({isRoot: true, pjson: PJSON, root, ignoreManifest: true, errorOnManifestCreate: Boolean(writeManifest)})
  // Preset the explicit-strategy command cache: oclif then never imports a command file.
  plugin.commandCache = COMMANDS
  await plugin.load()
  if (writeManifest) {
    writeFileSync(writeManifest, JSON.stringify(plugin.manifest))
    return
  }
  const config = await Config.load({root, pjson: PJSON, plugins: new Map([[plugin.name, plugin]])})
  await run(process.argv.slice(2), config)
  await flush()
}

main().catch(async (error) => handle(error))
