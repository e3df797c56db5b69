/**
 * The structure of an upstream-signature policy file (policy.ts parses it and checks the values).
 * A module of its own, without file or YAML code, so that the build can precompile its validator
 * (scripts/single-file/precompiled-schemas.mjs).
 */
import {JsonSchema} from '../validation/json-schema.js'

export const POLICY_DEFAULTS = ['reject', 'warn', 'accept'] as const
export type PolicyDefault = (typeof POLICY_DEFAULTS)[number]
export type TlogRequirement = 'required' | 'optional'

export interface RawRule {
  name?: string
  match: string
  key?: string
  keyless?: {issuer?: string; issuerRegExp?: string; identity?: string; identityRegExp?: string}
  trustedRoot?: string
  tlog?: TlogRequirement
}

export interface PolicyDocument {
  apiVersion: string
  kind: string
  default: PolicyDefault
  trustedRoot?: string
  rules: RawRule[]
}

const nonEmpty = {type: 'string', minLength: 1, expected: 'a non-empty string'}
const schema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'default', 'rules'],
  additionalProperties: false,
  properties: {
    apiVersion: nonEmpty,
    kind: nonEmpty,
    default: {enum: [...POLICY_DEFAULTS]},
    trustedRoot: nonEmpty,
    rules: {
      type: 'array',
      items: {
        type: 'object',
        required: ['match'],
        additionalProperties: false,
        properties: {
          name: nonEmpty,
          match: {type: 'string', minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9._:/*?-]+$', expected: 'a repository glob', invalid: 'is not a repository glob (letters, digits, . _ - : / and the wildcards * ** ?)'},
          key: nonEmpty,
          keyless: {
            type: 'object',
            additionalProperties: false,
            properties: {issuer: nonEmpty, issuerRegExp: nonEmpty, identity: nonEmpty, identityRegExp: nonEmpty},
          },
          trustedRoot: nonEmpty,
          tlog: {enum: ['required', 'optional']},
        },
      },
    },
  },
}

/** The policy document's structure; values (globs, regular expressions, files) are checked after. */
export const POLICY_SCHEMA = new JsonSchema<PolicyDocument>('upstream-policy', schema)
