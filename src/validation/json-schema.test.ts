import {Ajv} from 'ajv'
import {describe, expect, it} from 'vitest'
import {LOCK_SCHEMA} from '../bundle/lock-model.js'
import {INVENTORY_SCHEMA} from '../delta/inventory.js'
import {RECEIPT_SCHEMA} from '../mirror/receipt.js'
import {CHANNEL_RESPONSE_SCHEMA, SPEC_DOCUMENT_SCHEMA} from '../release/spec-schema.js'
import {ANNOTATION_KEYWORDS} from './compile.js'
import {didYouMean, formatJsonPath, JsonSchema, typeName} from './json-schema.js'

const DIGEST = `sha256:${'a'.repeat(64)}`

const thing = new JsonSchema<{name: string; size: number; kind?: string; tags?: Record<string, string>; parts?: unknown[]}>(
  'test-thing',
  {
    type: 'object',
    additionalProperties: false,
    required: ['name', 'size'],
    properties: {
      name: {type: 'string', minLength: 1, expected: 'a non-empty string'},
      size: {type: 'integer', minimum: 0, expected: 'a whole number from 0'},
      digest: {type: 'string', pattern: '^sha256:[a-f0-9]{64}$', invalid: 'is not a valid digest'},
      kind: {enum: ['a', 'b']},
      version: {const: 1},
      tags: {type: 'object', propertyNames: {pattern: '^[a-z]+$', invalid: 'is not a valid tag'}},
      parts: {type: 'array', maxItems: 2},
      secret: {not: {}, refused: 'secrets are not allowed here'},
      chart: {
        type: 'object',
        expected: 'a map describing a chart',
        oneOf: [{required: ['repo']}, {required: ['path']}],
        invalid: 'a chart needs exactly one of "repo" or "path"',
        if: {required: ['repo']},
        then: {additionalProperties: false, properties: {repo: {type: 'string'}}},
        else: {additionalProperties: false, properties: {path: {type: 'string'}}},
      },
    },
  },
)

describe('JsonSchema', () => {
  it('accepts a conforming value, and check() returns it typed', () => {
    const value = {name: 'x', size: 1, digest: DIGEST, kind: 'a', version: 1, tags: {v: DIGEST}, chart: {repo: 'r'}}
    expect(thing.problems(value)).toEqual([])
    expect(thing.check(value, () => expect.unreachable())).toBe(value)
  })

  it('words machine-written JSON problems with the JSON path (`must` phrasing), first problem to check()', () => {
    const messages = (value: unknown): string[] => thing.problems(value).map((p) => `${formatJsonPath(p.path)} ${p.message}`)
    expect(messages({name: '', size: -1})).toEqual(['$.name must be a non-empty string', '$.size must be a whole number from 0'])
    expect(messages({size: 1})).toEqual(['$.name must be a non-empty string (it is missing)'])
    expect(messages({name: 'x', size: 1, digest: 'md5:1', kind: 'c', version: 2})).toEqual(['$.digest "md5:1" is not a valid digest', '$.kind must be one of "a", "b"', '$.version must be 1'])
    expect(messages({name: 'x', size: 1, tags: {ok: DIGEST, 'Bad Tag': DIGEST}, parts: [1, 2, 3]})).toEqual(['$.tags has "Bad Tag", which is not a valid tag', '$.parts has 3 entries, over the limit of 2'])
    expect(messages({name: 'x', size: 1, sise: 2})).toEqual(['$ has unknown field "sise" (did you mean "size"?)'])
    // a misspelt required field is reported once, as the unknown field
    expect(messages({name: 'x', siz: 2})).toEqual(['$ has unknown field "siz" (did you mean "size"?)'])
    expect(() => thing.check({name: 'x'}, (path, problem) => {
      throw new Error(`${path} ${problem}`)
    })).toThrow('$.size must be a whole number from 0 (it is missing)')
  })

  it('words problems of files people write (`expected` phrasing): what was expected, what was found, unknown keys at the key', () => {
    const problems = thing.problems({name: 5, size: 1, secret: 'x', extra: 1}, 'expected')
    expect(problems.map((p) => [p.path, p.message, p.atKey])).toEqual([
      [['extra'], 'unknown field "extra"; allowed: name, size, digest, kind, version, tags, parts, secret, chart', true],
      [['name'], 'expected a non-empty string, got number 5', false],
      [['secret'], 'secrets are not allowed here', true],
    ])
  })

  it('a oneOf of required fields: one problem for the shape, none from the branches', () => {
    const at = (chart: unknown): string[] => thing.problems({name: 'x', size: 1, chart}, 'expected').map((p) => `${p.path.join('.')}: ${p.message}`)
    expect(at({repo: 'r', path: 'p'})).toEqual(['chart: a chart needs exactly one of "repo" or "path"; got repo and path'])
    expect(at({})).toEqual(['chart: a chart needs exactly one of "repo" or "path"; got none of them'])
    expect(at([1])).toEqual(['chart: expected a map describing a chart, got a list'])
    expect(at({path: 'p', repo2: 1})).toEqual(['chart.repo2: unknown field "repo2"; allowed: path'])
  })

  it('paths use list indexes only where the value is a list', () => {
    const lists = new JsonSchema('test-lists', {type: 'object', additionalProperties: {type: 'array', items: {type: 'string'}}})
    expect(lists.problems({'0': ['a', 1], 'a b': [2]}).map((p) => formatJsonPath(p.path))).toEqual(['$["0"][1]', '$["a b"][0]'])
  })

  it('the schemas of the code base are valid JSON Schemas (ajv skips that check at run time)', () => {
    const ajv = new Ajv({strictTypes: false, strictTuples: false, logger: false})
    for (const keyword of ANNOTATION_KEYWORDS) ajv.addKeyword({keyword})
    for (const schema of [LOCK_SCHEMA, RECEIPT_SCHEMA, INVENTORY_SCHEMA, SPEC_DOCUMENT_SCHEMA, CHANNEL_RESPONSE_SCHEMA, thing]) {
      expect(ajv.validateSchema(schema.schema), JSON.stringify(ajv.errors)).toBe(true)
    }
  })
})

describe('typeName and didYouMean', () => {
  it('names values the way a YAML author thinks of them', () => {
    expect([null, [], {}, 'x', 1, true].map(typeName)).toEqual(['null', 'a list', 'a map', 'the string "x"', 'number 1', 'boolean true'])
    expect(typeName('y'.repeat(50))).toBe(`the string "${'y'.repeat(40)}…"`)
  })

  it('suggests the closest candidate within two edits, or equal but for case and separators', () => {
    expect(didYouMean('versoin', ['name', 'version'])).toBe('version')
    expect(didYouMean('plain_http', ['plainHttp'])).toBe('plainHttp')
    expect(didYouMean('zzz', ['name', 'version'])).toBeUndefined()
  })
})
