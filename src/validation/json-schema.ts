/**
 * Validating a parsed JSON/YAML document against a JSON Schema with ajv, and turning ajv's errors
 * into problems a person can act on: the field path, and what was expected there.
 *
 * Schemas are TypeScript objects next to the types they describe (bundle/lock-model.ts,
 * mirror/receipt.ts, delta/inventory.ts, release/spec-schema.ts), each a JsonSchema with an id.
 * They may carry annotations that the messages use:
 *   - `expected`: what the value must be, as a phrase (`a version string such as "0.43.8"`);
 *   - `invalid`: what is wrong with a string of the right type that fails its `pattern`
 *     (`is not a valid digest`), or, beside a `oneOf` of `required` lists, what the object needs;
 *   - `refused`: why a field that must not be there (`not: {}`) is refused.
 *
 * Start-up: compiling a schema is ajv generating and compiling code, tens of milliseconds for the
 * lock. The bundled CLI has every validator generated at build time (precompiled.ts); the module
 * tree compiles each schema once, on first use (compile.ts). Schemas are trusted code, so ajv does
 * not check them against the meta-schema at run time (a unit test does).
 */
import type {ErrorObject, SchemaObject, ValidateFunction} from 'ajv'
import {compileSchema} from './compile.js'
import {PRECOMPILED} from './precompiled.js'

/** A path into a document: map keys and list indexes. */
export type FieldPath = ReadonlyArray<string | number>

/**
 * How messages are worded: `must` for machine-written JSON files (`$.images[0].size must be a
 * whole number…`, `$ has unknown field "x"`), `expected` for files people write (`expected true or
 * false, got the string "yes"`, unknown fields reported at the key with a suggestion).
 */
export type Phrasing = 'must' | 'expected'

export interface SchemaProblem {
  path: FieldPath
  message: string
  /** The problem is the key itself (an unknown or refused field), not its value. */
  atKey: boolean
  /** The ajv keyword that failed (`required`, `additionalProperties`, `type`, …). */
  keyword: string
  /** `required`: the missing field; `additionalProperties`: the unknown one. */
  field?: string
  /** `additionalProperties`: the known field it is probably a misspelling of. */
  suggestion?: string
}

const ids = new Set<string>()

/** A schema and its validator (precompiled, or compiled on first use). */
export class JsonSchema<T> {
  private validate: ValidateFunction | undefined

  constructor(
    /** Unique name, the key of its precompiled validator. */
    readonly id: string,
    readonly schema: SchemaObject,
  ) {
    if (ids.has(id)) throw new Error(`json-schema: two schemas have the id "${id}"`)
    ids.add(id)
  }

  /** Every problem of `value`, in ajv's order (by schema); empty when it conforms. */
  problems(value: unknown, phrasing: Phrasing = 'must'): SchemaProblem[] {
    const validate = this.compiled()
    if (validate(value)) return []
    return toProblems(validate.errors ?? [], this.schema, value, phrasing)
  }

  /** `value` as T, or `fail(JSON path, problem)` with its first problem (machine-written JSON files). */
  check(value: unknown, fail: (path: string, problem: string) => never): T {
    const [first] = this.problems(value, 'must')
    if (first) fail(formatJsonPath(first.path), first.message)
    return value as T
  }

  private compiled(): ValidateFunction {
    this.validate ??= PRECOMPILED[this.id] ?? compileSchema(this.schema)
    return this.validate
  }
}

/** `$.images[0]["a b"]` for JSON files. */
export function formatJsonPath(path: FieldPath): string {
  let out = '$'
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : /^[A-Za-z_$][\w$]*$/.test(p) ? `.${p}` : `[${JSON.stringify(p)}]`
  return out
}

/** Name a value's type the way a YAML author thinks of it. */
export function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) return 'a map'
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`
  return `a ${typeof v === 'object' ? (v as object).constructor?.name ?? 'value' : typeof v}`
}

/** The closest candidate within edit distance 2 (or equal ignoring case and separators). */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const squash = (s: string): string => s.toLowerCase().replace(/[-_]/g, '')
  let best: string | undefined
  let bestDistance = 3
  for (const c of candidates) {
    const d = squash(c) === squash(word) ? 0 : editDistance(word.toLowerCase(), c.toLowerCase())
    if (d < bestDistance) {
      best = c
      bestDistance = d
    }
  }
  return best
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({length: b.length + 1}, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const cur = [i]
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    prev = cur
  }
  return prev[b.length]!
}

// ---- from ajv errors to problems ----------------------------------------------------------------
// Errors carry no data and no schema (ajv's `verbose` would put every schema into the generated
// code): both are found again from the error's instancePath and schemaPath.

/** Keywords about a value (one problem per value is enough: the first). */
const VALUE_KEYWORDS = new Set(['type', 'const', 'enum', 'pattern', 'format', 'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'])

type Annotated = SchemaObject & {expected?: string; invalid?: string; refused?: string}

/** An ajv error with the value it is about and the schema holding the failed keyword. */
interface Located {
  error: ErrorObject
  path: FieldPath
  data: unknown
  schema: Annotated
}

function toProblems(errors: readonly ErrorObject[], rootSchema: SchemaObject, root: unknown, phrasing: Phrasing): SchemaProblem[] {
  const located = errors.map((error): Located => ({error, ...valueAt(error.instancePath, root), schema: schemaAt(error.schemaPath, rootSchema)}))
  // A value of the wrong type needs no word on its shape (a oneOf of `required` lists passes twice on a list).
  const mistyped = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath))
  // A value of none or several of its shapes (oneOf) makes every other problem at or below it noise.
  const shapeless = errors.filter((e) => e.keyword === 'oneOf' && !mistyped.has(e.instancePath)).map((e) => e.instancePath)
  // A misspelt field is reported once, as the unknown field with its suggestion, not also as missing.
  const misspelt = new Set(located.filter((l) => l.error.keyword === 'additionalProperties').map((l) => `${l.error.instancePath}/${suggestionFor(l) ?? ''}`))
  const seenValues = new Set<string>()
  const out: SchemaProblem[] = []
  for (const l of located) {
    const e = l.error
    // `if` only says which branch failed; `propertyNames` repeats its inner error.
    if (e.keyword === 'if' || e.keyword === 'propertyNames' || (e.keyword === 'oneOf' && mistyped.has(e.instancePath))) continue
    if (e.keyword === 'required' && misspelt.has(`${e.instancePath}/${String(e.params.missingProperty)}`)) continue
    if (e.keyword !== 'oneOf' && shapeless.some((p) => e.instancePath === p || e.instancePath.startsWith(`${p}/`))) continue
    if (VALUE_KEYWORDS.has(e.keyword) && e.propertyName === undefined) {
      if (seenValues.has(e.instancePath)) continue
      seenValues.add(e.instancePath)
    }
    out.push(toProblem(l, phrasing))
  }
  return out
}

/** The path and value a JSON pointer names; a segment is a list index where the value is a list. */
function valueAt(pointer: string, root: unknown): {path: FieldPath; data: unknown} {
  const path: Array<string | number> = []
  let data = root
  for (const raw of pointer === '' ? [] : pointer.slice(1).split('/')) {
    const segment = unescapePointer(raw)
    const key = Array.isArray(data) ? Number(segment) : segment
    path.push(key)
    data = (data as Record<string | number, unknown> | undefined)?.[key]
  }
  return {path, data}
}

/** The schema object holding the keyword a schemaPath (`#/properties/a/type`) ends with. */
function schemaAt(schemaPath: string, root: SchemaObject): Annotated {
  let node: unknown = root
  for (const raw of schemaPath.replace(/^#\/?/, '').split('/').slice(0, -1)) {
    if (raw === '') continue
    node = (node as Record<string, unknown> | undefined)?.[unescapePointer(raw)]
  }
  return (typeof node === 'object' && node !== null ? node : {}) as Annotated
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~')
}

function toProblem({error: e, path, data, schema}: Located, phrasing: Phrasing): SchemaProblem {
  const problem = (message: string, extra: Partial<SchemaProblem> = {}): SchemaProblem => ({path, message, atKey: false, keyword: e.keyword, ...extra})
  const wrong = (expected: string): SchemaProblem => problem(phrasing === 'must' ? `must be ${expected}` : `expected ${expected}, got ${typeName(data)}`)
  const value = schema[e.keyword] as unknown
  switch (e.keyword) {
    case 'required': {
      const field = String(e.params.missingProperty)
      if (phrasing === 'expected') return problem(`missing required field "${field}"`, {field})
      const property = (schema.properties as Record<string, Annotated> | undefined)?.[field]
      return {...problem(`must be ${expectedOf(property)} (it is missing)`, {field}), path: [...path, field]}
    }
    case 'additionalProperties': {
      const field = String(e.params.additionalProperty)
      const suggestion = didYouMean(field, Object.keys(schema.properties ?? {}))
      const unknown = `unknown field ${JSON.stringify(field)}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`
      if (phrasing === 'must') return problem(`has ${unknown}`, {field, suggestion})
      return {...problem(`${unknown}; allowed: ${Object.keys(schema.properties ?? {}).join(', ')}`, {field, atKey: true, suggestion}), path: [...path, field]}
    }
    case 'not':
      return problem(schema.refused ?? 'is not allowed here', {atKey: true})
    case 'oneOf': {
      const keys = (value as SchemaObject[]).flatMap((branch) => (branch.required as string[] | undefined) ?? [])
      const present = keys.filter((k) => typeof data === 'object' && data !== null && k in data)
      return problem(`${schema.invalid ?? `needs exactly one of ${keys.join(', ')}`}; got ${present.length ? present.join(' and ') : 'none of them'}`)
    }
    case 'const':
      return wrong(JSON.stringify(value))
    case 'enum':
      return wrong(`one of ${(value as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`)
    case 'maxItems':
      return problem(`has ${(data as unknown[]).length} entries, over the limit of ${String(value)}`)
    case 'maxLength':
      return problem(`is longer than ${String(value)} characters`)
    case 'pattern':
    case 'format':
      if (e.propertyName !== undefined) return problem(`has ${JSON.stringify(e.propertyName)}, which ${schema.invalid ?? `is not ${expectedOf(schema)}`}`)
      if (schema.invalid !== undefined) return problem(`${JSON.stringify(data)} ${schema.invalid}`)
      return wrong(expectedOf(schema))
    default:
      return wrong(expectedOf(schema))
  }
}

/** For an unknown field, the known field of its object it is probably a misspelling of. */
function suggestionFor({error, schema}: Located): string | undefined {
  return didYouMean(String(error.params.additionalProperty), Object.keys(schema.properties ?? {}))
}

/** The schema's `expected` phrase, or one made of its type. */
function expectedOf(schema: Annotated | undefined): string {
  if (schema?.expected !== undefined) return schema.expected
  const types = ([] as unknown[]).concat(schema?.type ?? [])
  const phrase: Record<string, string> = {object: 'a JSON object', array: 'an array', string: 'a string', number: 'a number', integer: 'a whole number', boolean: 'true or false', null: 'null'}
  return types.length ? types.map((t) => phrase[String(t)] ?? String(t)).join(' or ') : 'valid'
}

/** A JSON/YAML map (not a list, not null, not a class instance). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype
}
