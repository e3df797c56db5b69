// Entry point of the single-file executable (bundled by scripts/build-exe.mjs, never run from source).
// Inside a Node SEA there is no package.json on disk and no commands folder to glob, so the oclif
// Config is built from the package.json embedded at build time and a static command map
// (generated from the files in commands/ by the build script: the virtual module below).
import {dirname} from 'node:path'
import {Config, Plugin, flush, handle, run} from '@oclif/core'
import {COMMANDS, PJSON} from 'airgap-sea:commands'

async function main() {
  const root = dirname(process.execPath)
  const plugin = new Plugin({isRoot: true, pjson: PJSON, root, ignoreManifest: true})
  // Preset the explicit-strategy command cache: oclif then never imports a command file.
  plugin.commandCache = COMMANDS
  await plugin.load()
  const config = await Config.load({root, pjson: PJSON, plugins: new Map([[plugin.name, plugin]])})
  await run(process.argv.slice(2), config)
  await flush()
}

main().catch(async (error) => handle(error))
