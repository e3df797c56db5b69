// The whole CLI as ONE CommonJS file, for two users:
//   - `npm run build` → dist/airgap.cjs, which bin/run.js loads with a V8 code cache (start-up in a
//     fraction of the time Node takes to resolve, read and compile ~500 modules one by one);
//   - `npm run build:exe` → dist/sea/airgap.cjs, the script of the single executable.
// esbuild bundles scripts/single-file/entry.mjs + every command in commands/ (found on disk, so the map
// can never drift) + @oclif/core and all runtime dependencies. Hand-written parts: the command map
// (oclif's explicit strategy), the embedded package.json, the files read at run time and the JSON
// Schema validators compiled at build time (precompiled-schemas.mjs).
import {execFileSync} from 'node:child_process'
import {readFileSync, readdirSync, rmSync, writeFileSync} from 'node:fs'
import {dirname, join, relative, sep} from 'node:path'
import {fileURLToPath} from 'node:url'
import {build} from 'esbuild'
import {precompiledSchemas} from './precompiled-schemas.mjs'

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
const VIRTUAL = 'airgap-bundle:commands'

/** Command files under commands/ → oclif ids (`key/generate.ts` → `key:generate`). */
function commandFiles(dir = join(ROOT, 'commands')) {
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

/** The package.json the bundle carries: oclif settings with an explicit command strategy, no plugins to load from disk. */
function embeddedPjson() {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'))
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

/**
 * The virtual module `airgap-bundle:commands`: every command + the help command, each behind a
 * getter that require()s it. esbuild turns a require()d ES module and everything it imports into
 * lazily initialised code, so `airgap push` never evaluates the modules only pull or serve use.
 */
function commandsModule() {
  const commands = commandFiles()
  // The package exports only its index; the help command file is required by path.
  const help = join(ROOT, 'node_modules', '@oclif', 'plugin-help', 'lib', 'commands', 'help.js')
  const entries = [...commands, {id: 'help', file: help}].map((c) => `  get ${JSON.stringify(c.id)}() { return require(${JSON.stringify(c.file)}).default },`)
  const lines = [`export const COMMANDS = {\n${entries.join('\n')}\n}`, `export const PJSON = ${JSON.stringify(embeddedPjson())}`]
  return {contents: lines.join('\n'), ids: [...commands.map((c) => c.id), 'help']}
}

const MANIFEST_PLACEHOLDER = '@@AIRGAP_MANIFEST@@'

/**
 * Escape every non-ASCII character (help texts, a regular expression, licence comments) as \uXXXX,
 * which means the same in strings, regular expressions, identifiers and comments: an ASCII file is
 * read as Latin-1, several times faster than decoding UTF-8 at every start.
 */
function asciiOnly(code) {
  return code.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)
}

/**
 * Put the oclif manifest (every command's id, summary, flags: what help and command lookup read)
 * into the bundle: run the bundle once to write it, then replace the placeholder with it.
 */
function embedManifest(outfile) {
  const tmp = `${outfile}.manifest.json`
  try {
    execFileSync(process.execPath, [outfile], {stdio: ['ignore', 'inherit', 'inherit'], env: {...process.env, AIRGAP_BUNDLE_WRITE_MANIFEST: tmp, NODE_OPTIONS: ''}})
    const manifest = JSON.parse(readFileSync(tmp, 'utf8'))
    const code = readFileSync(outfile, 'utf8')
    const parts = code.split(JSON.stringify(MANIFEST_PLACEHOLDER))
    if (parts.length !== 2) throw new Error(`bundle: expected the manifest placeholder once in ${outfile}, found it ${parts.length - 1} times`)
    writeFileSync(outfile, asciiOnly(parts.join(JSON.stringify(manifest))))
    return Object.keys(manifest.commands).length
  } finally {
    rmSync(tmp, {force: true})
  }
}

/**
 * Files the code reads from the package folder at run time do not exist beside the executable:
 * embed them. Each rule replaces one exact expression in one module with the file's text; the
 * build fails when the expression is gone, so a refactor cannot silently break the bundle.
 */
const RUNTIME_FILES = [
  {module: 'src/rewrite/io.ts', expression: "readFileSync(crdPath(), 'utf8')", file: 'manifests/crd-weightsandbiases-v1.yaml'},
]

function embedRuntimeFiles() {
  return {
    name: 'airgap-embed-runtime-files',
    setup(b) {
      for (const rule of RUNTIME_FILES) {
        const modulePath = join(ROOT, rule.module)
        b.onLoad({filter: new RegExp(`${rule.module.replaceAll('/', '[\\\\/]').replaceAll('.', '\\.')}$`)}, (args) => {
          if (args.path !== modulePath) return undefined
          const source = readFileSync(modulePath, 'utf8')
          if (!source.includes(rule.expression)) {
            throw new Error(`bundle: ${rule.module} no longer contains ${rule.expression}; update RUNTIME_FILES in scripts/single-file/bundle.mjs so that ${rule.file} is embedded`)
          }
          const text = JSON.stringify(readFileSync(join(ROOT, rule.file), 'utf8'))
          return {contents: source.replace(rule.expression, text), loader: 'ts'}
        })
      }
    },
  }
}

/**
 * undici's HTTP/2 client is reached only when TLS negotiates h2, which happens only with its
 * allowH2 option; airgap never sets it (registries and Helm repositories speak HTTP/1.1 to it). The
 * module loads node:http2 at start (~4 ms of every run), so the bundle carries a stand-in that
 * fails loudly should that ever change.
 */
function withoutHttp2() {
  return {
    name: 'airgap-no-http2',
    setup(b) {
      b.onLoad({filter: /[\\/]undici[\\/]lib[\\/]dispatcher[\\/]client-h2\.js$/}, () => ({
        contents: "module.exports = function connectH2() { throw new Error('airgap is built without HTTP/2 (undici allowH2 is never enabled)') }",
        loader: 'js',
      }))
    },
  }
}

/** The Node version package.json's engines asks for; only the `>=X.Y[.Z]` form is understood (the build fails on any other). */
function minimumNode() {
  const range = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).engines?.node
  const m = /^>=\s*(\d+)\.(\d+)(?:\.(\d+))?$/.exec(String(range ?? '').trim())
  if (!m) throw new Error(`bundle: package.json engines.node is ${JSON.stringify(range)}; scripts/single-file/entry.mjs checks only ">=X.Y[.Z]": extend it`)
  return {range, version: [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)]}
}

/**
 * Bundle the CLI into `outfile`. `kind` is 'dist' (dist/airgap.cjs: the package root is the
 * bundle's parent folder) or 'sea' (the executable's folder). Returns the number of modules and the
 * command ids.
 */
export async function bundleCli({kind, outfile}) {
  const mod = commandsModule()
  const result = await build({
    entryPoints: [join(ROOT, 'scripts', 'single-file', 'entry.mjs')],
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
    // oclif require()s typescript only to run .ts sources in development, inside a try: left out
    // (it would be 9.7 MB of the bundle's 11).
    external: ['typescript'],
    // ESM sources read import.meta.url; in the CJS bundle it becomes the bundle's own URL.
    define: {
      'import.meta.url': '__airgapImportMetaUrl',
      AIRGAP_BUNDLE_KIND: JSON.stringify(kind),
      AIRGAP_MANIFEST: JSON.stringify(MANIFEST_PLACEHOLDER),
      AIRGAP_NODE_MIN: JSON.stringify(minimumNode()),
    },
    // oclif's engine check require()s a package.json from disk (refused inside a SEA) and loads
    // semver (~3 ms of every start): off. The entry checks the package's engines itself (dist).
    banner: {js: "var __airgapImportMetaUrl = require('node:url').pathToFileURL(__filename).href; process.env.OCLIF_DISABLE_ENGINE_WARNING ??= 'true';"},
    plugins: [precompiledSchemas(ROOT), embedRuntimeFiles(), withoutHttp2(), {
      name: 'airgap-bundle-commands',
      setup(b) {
        b.onResolve({filter: /^airgap-bundle:commands$/}, () => ({path: VIRTUAL, namespace: 'airgap-bundle'}))
        b.onLoad({filter: /.*/, namespace: 'airgap-bundle'}, () => ({contents: mod.contents, loader: 'js', resolveDir: ROOT}))
      },
    }],
  })
  const listed = embedManifest(outfile)
  if (listed !== mod.ids.length) throw new Error(`bundle: the manifest lists ${listed} commands, the bundle has ${mod.ids.length}`)
  return {outfile, inputs: Object.keys(result.metafile.inputs).length, commands: mod.ids}
}
