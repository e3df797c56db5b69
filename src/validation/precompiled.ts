/**
 * Validators generated from the document schemas at build time, by schema id. Empty here: the
 * bundle build (scripts/single-file/precompiled-schemas.mjs) replaces this module with ajv's
 * standalone code for every JsonSchema, so the bundled CLI compiles nothing at run time.
 */
import type {ValidateFunction} from 'ajv'

export const PRECOMPILED: Readonly<Record<string, ValidateFunction>> = {}
