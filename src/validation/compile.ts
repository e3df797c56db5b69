/**
 * ajv as airgap's schemas need it, and compiling a schema at run time. The bundled CLI never
 * compiles: scripts/single-file/precompiled-schemas.mjs generates every schema's validator with
 * createAjv() at build time (precompiled.ts) and replaces this module by a stub, so that ajv is not
 * even loaded to read a lock. The module tree (development, tests, AIRGAP_NO_BUNDLE=1) compiles
 * each schema here, once, on first use.
 */
import {Ajv, type Options, type SchemaObject, type ValidateFunction} from 'ajv'

/** Schema annotations (no validation of their own) that the messages of json-schema.ts read. */
export const ANNOTATION_KEYWORDS = ['expected', 'invalid', 'refused'] as const

/**
 * An ajv instance with airgap's options: every error (a person fixes all at once), no messages
 * (json-schema.ts words them), no meta-schema check at run time (a unit test does it), nothing
 * printed (strict type warnings off: `if: {required: [...]}` is meant for objects only).
 */
export function createAjv(options: Options = {}): Ajv {
  const ajv = new Ajv({allErrors: true, messages: false, validateSchema: false, strictTypes: false, strictTuples: false, logger: false, ...options})
  for (const keyword of ANNOTATION_KEYWORDS) ajv.addKeyword({keyword, schemaType: 'string'})
  return ajv
}

let shared: Ajv | undefined

/** The validator of `schema`, compiled now (json-schema.ts calls this once per schema). */
export function compileSchema(schema: SchemaObject): ValidateFunction {
  shared ??= createAjv()
  return shared.compile(schema)
}
