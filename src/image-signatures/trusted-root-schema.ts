/**
 * The shape airgap needs of a Sigstore trusted root (trusted-root.ts reads the file): what is used
 * must be there, in the right shape; other fields pass. A module of its own, without the Sigstore
 * libraries, so that the build can precompile its validator (scripts/single-file/precompiled-schemas.mjs).
 */
import {JsonSchema} from '../validation/json-schema.js'

const base64 = {type: 'string', minLength: 1, pattern: '^[A-Za-z0-9+/]+={0,2}$', expected: 'base64 text', invalid: 'is not base64 text'}
const time = {type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$', expected: 'an RFC 3339 time', invalid: 'is not an RFC 3339 time'}
const validFor = {type: 'object', required: ['start'], properties: {start: time, end: time}}
const log = {
  type: 'object',
  required: ['publicKey', 'logId'],
  properties: {
    baseUrl: {type: 'string'},
    publicKey: {type: 'object', required: ['rawBytes'], properties: {rawBytes: base64, keyDetails: {type: 'string'}, validFor}},
    logId: {type: 'object', required: ['keyId'], properties: {keyId: base64}},
  },
}
const authority = {
  type: 'object',
  required: ['certChain'],
  properties: {
    uri: {type: 'string'},
    certChain: {type: 'object', required: ['certificates'], properties: {certificates: {type: 'array', minItems: 1, items: {type: 'object', required: ['rawBytes'], properties: {rawBytes: base64}}}}},
    validFor,
  },
}
const schema = {
  type: 'object',
  required: ['mediaType'],
  properties: {
    mediaType: {type: 'string', pattern: '^application/vnd\\.dev\\.sigstore\\.trustedroot(\\.v0\\.\\d+)?\\+json'},
    tlogs: {type: 'array', items: log},
    ctlogs: {type: 'array', items: log},
    certificateAuthorities: {type: 'array', items: authority},
    timestampAuthorities: {type: 'array', items: authority},
  },
}

/** What airgap uses of a trusted root, in the shape it needs (other fields pass). */
export const TRUSTED_ROOT_SCHEMA = new JsonSchema<unknown>('sigstore-trusted-root', schema)
