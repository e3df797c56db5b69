// Part of the bundle (bundle.mjs): the JSON Schemas of airgap's documents (lock, receipt, inventory,
// airgap.yaml, channel response) compiled by ajv at BUILD time. Compiling the lock's schema at run
// time costs tens of milliseconds (ajv generates and compiles code) in every verify, push and pull;
// the bundled CLI instead carries ajv's standalone code for every schema:
//   - src/validation/precompiled.ts becomes that code (`PRECOMPILED`, validators by schema id);
//   - src/validation/compile.ts (which loads ajv and compiles) becomes a stub that fails loudly, so
//     reading a lock does not even load ajv;
//   - a module that defines a schema (`new JsonSchema(`) but is not in SCHEMA_MODULES fails the build.
// The module tree (development, tests, AIRGAP_NO_BUNDLE=1) compiles each schema on first use.
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {join, relative, sep} from 'node:path'
import {pathToFileURL} from 'node:url'
import {build} from 'esbuild'

/** The modules that define document schemas (JsonSchema instances among their exports). */
export const SCHEMA_MODULES = ['src/bundle/lock-model.ts', 'src/mirror/receipt.ts', 'src/delta/inventory.ts', 'src/release/spec-schema.ts', 'src/image-signatures/policy-schema.ts', 'src/image-signatures/trusted-root-schema.ts', 'src/rewrite/openshift.ts']

const PRECOMPILED = 'src/validation/precompiled.ts'
const COMPILE = 'src/validation/compile.ts'
const SCHEMA_CLASS = 'src/validation/json-schema.ts'

/** Every schema of SCHEMA_MODULES as ajv standalone code (an ES module exporting PRECOMPILED). */
async function precompiledModule(root) {
  // The schema modules are TypeScript: bundle them with ajv's compiler into one temporary module.
  const dir = mkdtempSync(join(root, 'dist', '.schemas-'))
  try {
    const at = (file) => JSON.stringify(join(root, file))
    const entry = [
      ...SCHEMA_MODULES.map((m, i) => `export * as m${i} from ${at(m)}`),
      `export {JsonSchema} from ${at(SCHEMA_CLASS)}`,
      `export {createAjv} from ${at(COMPILE)}`,
      `export {default as standaloneCode} from 'ajv/dist/standalone/index.js'`,
    ].join('\n')
    const outfile = join(dir, 'schemas.mjs')
    await build({stdin: {contents: entry, resolveDir: root, loader: 'js'}, bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile, logLevel: 'warning'})
    const mod = await import(pathToFileURL(outfile).href)
    const schemas = SCHEMA_MODULES.flatMap((_, i) => Object.values(mod[`m${i}`]).filter((v) => v instanceof mod.JsonSchema))
    if (schemas.length === 0) throw new Error(`bundle: no JsonSchema found in ${SCHEMA_MODULES.join(', ')}`)
    const ajv = mod.createAjv({code: {source: true, esm: true}})
    for (const s of schemas) ajv.addSchema(s.schema, s.id)
    const names = Object.fromEntries(schemas.map((s, i) => [`validator${i}`, s.id]))
    const code = mod.standaloneCode(ajv, names)
    const table = Object.entries(names).map(([name, id]) => `${JSON.stringify(id)}: ${name}`).join(', ')
    return {code: `${code}\nexport const PRECOMPILED = {${table}}\n`, ids: schemas.map((s) => s.id)}
  } finally {
    rmSync(dir, {recursive: true, force: true})
  }
}

/** The esbuild plugin; see the file comment. */
export function precompiledSchemas(root) {
  const known = new Set([...SCHEMA_MODULES, SCHEMA_CLASS].map((m) => join(root, m)))
  let generated
  return {
    name: 'airgap-precompiled-schemas',
    setup(b) {
      b.onLoad({filter: /[\\/]src[\\/].*\.ts$/}, async (args) => {
        const rel = relative(root, args.path).split(sep).join('/')
        if (rel === PRECOMPILED) {
          generated ??= await precompiledModule(root)
          return {contents: generated.code, loader: 'js', resolveDir: root}
        }
        if (rel === COMPILE) {
          return {
            contents: "export function compileSchema() { throw new Error('airgap bundle: a JSON Schema was not precompiled (scripts/single-file/precompiled-schemas.mjs)') }",
            loader: 'js',
          }
        }
        if (!known.has(args.path) && /\bnew JsonSchema\b/.test(readFileSync(args.path, 'utf8'))) {
          throw new Error(`bundle: ${rel} defines a JsonSchema; add it to SCHEMA_MODULES in scripts/single-file/precompiled-schemas.mjs so that it is precompiled`)
        }
        return undefined
      })
    },
  }
}
