#!/usr/bin/env node
// `npm run build:exe`: builds dist/airgap-linux-x64, a Node single executable application (SEA)
// that runs the whole CLI with no node_modules and no network.
//
//   1. esbuild bundles scripts/sea/entry.mjs + every command in commands/ (found on disk, so the
//      map can never drift) + @oclif/core and all dependencies into ONE CommonJS file;
//   2. `node --experimental-sea-config` turns it into a preparation blob (with a V8 code cache);
//   3. a copy of this very `node` binary gets the blob injected with postject (sentinel fuse).
// Then it smoke-tests the result (`--version`) and writes dist/airgap-linux-x64.sha256.
import {execFileSync} from 'node:child_process'
import {createHash} from 'node:crypto'
import {chmodSync, copyFileSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync} from 'node:fs'
import {dirname, join, relative, sep} from 'node:path'
import {fileURLToPath} from 'node:url'
import {build} from 'esbuild'
import {inject} from 'postject'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const outDir = join(root, 'dist', 'sea')
const exeName = `airgap-${process.platform}-${process.arch}`
const exe = join(root, 'dist', exeName)
const FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'
const VIRTUAL = 'airgap-sea:commands'

/** Command files under commands/ → oclif ids (`key/generate.ts` → `key:generate`). */
function commandFiles(dir = join(root, 'commands')) {
  const found = []
  const walk = (d) => {
    for (const entry of readdirSync(d, {withFileTypes: true})) {
      const p = join(d, entry.name)
      if (entry.isDirectory()) walk(p)
      else if (/\.[cm]?[jt]s$/.test(entry.name) && !/\.(test|d)\.[cm]?[jt]s$/.test(entry.name)) {
        const id = relative(dir, p).replace(/\.[cm]?[jt]s$/, '').split(sep).filter((s, i, a) => !(s === 'index' && i === a.length - 1)).join(':')
        found.push({id, file: p})
      }
    }
  }
  walk(dir)
  return found.sort((a, b) => a.id.localeCompare(b.id))
}

/** The package.json the executable carries: oclif settings with an explicit command strategy, no plugins to load from disk. */
function embeddedPjson() {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'))
  return {
    name: pkg.name,
    version: pkg.version,
    description: pkg.description,
    license: pkg.license,
    oclif: {
      ...pkg.oclif,
      commands: {strategy: 'explicit', target: './commands.js', identifier: 'COMMANDS'},
      plugins: [],
    },
  }
}

/** The virtual module `airgap-sea:commands`: static imports of every command + the help command. */
function commandsModule() {
  const commands = commandFiles()
  const lines = commands.map((c, i) => `import C${i} from ${JSON.stringify(c.file)}`)
  // The package exports only its index; the help command file is imported by path.
  lines.push(`import Help from ${JSON.stringify(join(root, 'node_modules', '@oclif', 'plugin-help', 'lib', 'commands', 'help.js'))}`)
  const entries = commands.map((c, i) => `  ${JSON.stringify(c.id)}: C${i},`)
  lines.push(`export const COMMANDS = {\n${entries.join('\n')}\n  help: Help,\n}`)
  lines.push(`export const PJSON = ${JSON.stringify(embeddedPjson())}`)
  return {contents: lines.join('\n'), ids: [...commands.map((c) => c.id), 'help']}
}

/**
 * Files the code reads from the package folder at run time do not exist beside the executable:
 * embed them. Each rule replaces one exact expression in one module with the file's text; the
 * build fails when the expression is gone, so a refactor cannot silently break the executable.
 */
const RUNTIME_FILES = [
  {module: 'src/rewrite/io.ts', expression: "readFileSync(crdPath(), 'utf8')", file: 'manifests/crd-weightsandbiases-v1.yaml'},
]

function embedRuntimeFiles() {
  return {
    name: 'airgap-embed-runtime-files',
    setup(b) {
      for (const rule of RUNTIME_FILES) {
        const modulePath = join(root, rule.module)
        b.onLoad({filter: new RegExp(`${rule.module.replaceAll('/', '[\\\\/]').replaceAll('.', '\\.')}$`)}, (args) => {
          if (args.path !== modulePath) return undefined
          const source = readFileSync(modulePath, 'utf8')
          if (!source.includes(rule.expression)) {
            throw new Error(`build-exe: ${rule.module} no longer contains ${rule.expression}; update RUNTIME_FILES in scripts/build-exe.mjs so that ${rule.file} is embedded`)
          }
          const text = JSON.stringify(readFileSync(join(root, rule.file), 'utf8'))
          return {contents: source.replace(rule.expression, text), loader: 'ts'}
        })
      }
    },
  }
}

async function bundle() {
  const mod = commandsModule()
  const outfile = join(outDir, 'airgap.cjs')
  const result = await build({
    entryPoints: [join(root, 'scripts', 'sea', 'entry.mjs')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    keepNames: true,
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
    // ESM sources read import.meta.url; in the CJS bundle it becomes the executable's own URL.
    define: {'import.meta.url': '__airgapImportMetaUrl'},
    // The embedded Node is fixed at build time: oclif's engine check (which require()s a
    // package.json from disk, refused inside a SEA with a warning) has nothing to check.
    banner: {js: `var __airgapImportMetaUrl = require('node:url').pathToFileURL(__filename).href; process.env.OCLIF_DISABLE_ENGINE_WARNING ??= 'true';`},
    plugins: [embedRuntimeFiles(), {
      name: 'airgap-sea-commands',
      setup(b) {
        b.onResolve({filter: /^airgap-sea:commands$/}, () => ({path: VIRTUAL, namespace: 'airgap-sea'}))
        b.onLoad({filter: /.*/, namespace: 'airgap-sea'}, () => ({contents: mod.contents, loader: 'js', resolveDir: root}))
      },
    }],
  })
  const inputs = Object.keys(result.metafile.inputs).length
  return {outfile, inputs, commands: mod.ids}
}

function seaBlob(main) {
  const blob = join(outDir, 'airgap.blob')
  const configFile = join(outDir, 'sea-config.json')
  writeFileSync(configFile, JSON.stringify({main, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true}, null, 2))
  execFileSync(process.execPath, ['--experimental-sea-config', configFile], {stdio: ['ignore', 'ignore', 'inherit']})
  return blob
}

async function injectBlob(blob) {
  rmSync(exe, {force: true})
  copyFileSync(process.execPath, exe)
  chmodSync(exe, 0o755)
  await inject(exe, 'NODE_SEA_BLOB', readFileSync(blob), {sentinelFuse: FUSE})
}

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex')
}

const started = Date.now()
mkdirSync(outDir, {recursive: true})
const {outfile, inputs, commands} = await bundle()
await injectBlob(seaBlob(outfile))
const version = execFileSync(exe, ['--version'], {encoding: 'utf8', env: {...process.env, NODE_OPTIONS: ''}}).trim()
const digest = sha256(exe)
writeFileSync(`${exe}.sha256`, `${digest}  ${exeName}\n`)
const mb = (statSync(exe).size / 1024 / 1024).toFixed(1)
console.log(`${relative(root, exe)}: ${mb} MiB, ${inputs} modules, commands: ${commands.join(', ')}`)
console.log(`  ${version}`)
console.log(`  sha256 ${digest} (${relative(root, exe)}.sha256), built in ${((Date.now() - started) / 1000).toFixed(1)} s`)
