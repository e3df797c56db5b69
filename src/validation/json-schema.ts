/**
 * Validating a parsed JSON/YAML document against a JSON Schema with ajv, and turning ajv's errors
 * into problems a person can act on: the field path, and what was expected there.
 *
 * Schemas are TypeScript objects next to the types they describe (bundle/lock-model.ts,
 * mirror/receipt.ts, delta/inventory.ts, release/spec-schema.ts). They may carry annotations
 * that the messages use:
 *   - `expected`: what the value must be, as a phrase (`a version string such as "0.43.8"`);
 *   - `invalid`: what is wrong with a string that has the right type but fails `pattern` or
 *     `format` (`is not a valid digest`), or, beside `exactlyOneOf`, what the object needs;
 *   - `refused`: why a field that must not be there (`not: {}`) is refused;
 * and one keyword of our own, `exactlyOneOf: [keys]` (an object has exactly one of these keys).
 *
 * Start-up: ajv is loaded with the modules that validate documents, but nothing is compiled until
 * a document is validated; each schema is compiled once, on first use (ajv generates code for it,
 * which costs milliseconds: see compileOnce). Schemas are trusted code, so ajv does not validate
 * them against the meta-schema at run time (a unit test does).
 */
import {Ajv, type ErrorObject, type SchemaObject, type ValidateFunction} from 'ajv'

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

export interface JsonSchemaOptions {
  /** Formats the schema names (`format: 'digest'`), as functions of the string. */
  formats?: Record<string, (value: string) => boolean>
}

/** A schema, compiled on first use. */
export class JsonSchema<T> {
  private validate: ValidateFunction | undefined

  constructor(
    readonly schema: SchemaObject,
    private readonly options: JsonSchemaOptions = {},
  ) {}

  /** Whether `value` conforms (the type guard; problems() says why not). */
  accepts(value: unknown): value is T {
    return this.compiled()(value)
  }

  /** Every problem of `value`, in ajv's order (by schema); empty when it conforms. */
  problems(value: unknown, phrasing: Phrasing = 'must'): SchemaProblem[] {
    const validate = this.compiled()
    if (validate(value)) return []
    return toProblems(validate.errors ?? [], value, phrasing)
  }

  /** `value` as T, or `fail(JSON path, problem)` with its first problem (machine-written JSON files). */
  check(value: unknown, fail: (path: string, problem: string) => never): T {
    const [first] = this.problems(value, 'must')
    if (first) fail(formatJsonPath(first.path), first.message)
    return value as T
  }

  private compiled(): ValidateFunction {
    this.validate ??= compileOnce(this.schema, this.options)
    return this.validate
  }
}

let shared: Ajv | undefined
const formats = new Map<string, (value: string) => boolean>()

/** Annotation keywords (no validation of their own) that messages read. */
const ANNOTATIONS = ['expected', 'invalid', 'refused'] as const

function ajv(): Ajv {
  if (shared) return shared
  shared = new Ajv({allErrors: true, verbose: true, messages: false, validateSchema: false, strictTypes: false, strictTuples: false, logger: false})
  for (const keyword of ANNOTATIONS) shared.addKeyword({keyword, schemaType: 'string'})
  shared.addKeyword({
    keyword: 'exactlyOneOf',
    type: 'object',
    schemaType: 'array',
    validate: (keys: string[], data: Record<string, unknown>) => keys.filter((k) => k in data).length === 1,
  })
  return shared
}

function compileOnce(schema: SchemaObject, options: JsonSchemaOptions): ValidateFunction {
  const instance = ajv()
  for (const [name, test] of Object.entries(options.formats ?? {})) {
    const known = formats.get(name)
    if (known === test) continue
    if (known) throw new Error(`json-schema: format "${name}" is already defined differently`)
    formats.set(name, test)
    instance.addFormat(name, test)
  }
  return instance.compile(schema)
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

/** Keywords about a value (one problem per value is enough: the first). */
const VALUE_KEYWORDS = new Set(['type', 'const', 'enum', 'pattern', 'format', 'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'])

function toProblems(errors: readonly ErrorObject[], root: unknown, phrasing: Phrasing): SchemaProblem[] {
  // A value of the wrong shape (exactlyOneOf) makes every other problem at or below it noise.
  const shapeless = errors.filter((e) => e.keyword === 'exactlyOneOf').map((e) => e.instancePath)
  // A misspelt field is reported once, as the unknown field with its suggestion, not also as missing.
  const misspelt = new Set(errors.filter((e) => e.keyword === 'additionalProperties').map((e) => `${e.instancePath}/${suggestionFor(e) ?? ''}`))
  const seenValues = new Set<string>()
  const out: SchemaProblem[] = []
  for (const e of errors) {
    // `if` only says which branch failed; `propertyNames` repeats its inner error.
    if (e.keyword === 'if' || e.keyword === 'propertyNames') continue
    if (e.keyword === 'required' && misspelt.has(`${e.instancePath}/${String(e.params.missingProperty)}`)) continue
    if (e.keyword !== 'exactlyOneOf' && shapeless.some((p) => e.instancePath === p || e.instancePath.startsWith(`${p}/`))) continue
    if (VALUE_KEYWORDS.has(e.keyword) && e.propertyName === undefined) {
      if (seenValues.has(e.instancePath)) continue
      seenValues.add(e.instancePath)
    }
    out.push(toProblem(e, pathOf(e.instancePath, root), phrasing))
  }
  return out
}

/** The path of a JSON pointer; a segment is a list index when the value there is a list. */
function pathOf(pointer: string, root: unknown): FieldPath {
  const path: Array<string | number> = []
  let value = root
  for (const raw of pointer === '' ? [] : pointer.slice(1).split('/')) {
    const segment = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    const index = Array.isArray(value) ? Number(segment) : undefined
    path.push(index ?? segment)
    value = (value as Record<string, unknown> | undefined)?.[index ?? segment]
  }
  return path
}

type Annotated = SchemaObject & {expected?: string; invalid?: string; refused?: string}

function toProblem(e: ErrorObject, path: FieldPath, phrasing: Phrasing): SchemaProblem {
  const schema = (e.parentSchema ?? {}) as Annotated
  const problem = (message: string, extra: Partial<SchemaProblem> = {}): SchemaProblem => ({path, message, atKey: false, keyword: e.keyword, ...extra})
  const wrong = (expected: string): SchemaProblem => problem(phrasing === 'must' ? `must be ${expected}` : `expected ${expected}, got ${typeName(e.data)}`)
  switch (e.keyword) {
    case 'required': {
      const field = String(e.params.missingProperty)
      if (phrasing === 'expected') return problem(`missing required field "${field}"`, {field})
      const property = (schema.properties as Record<string, Annotated> | undefined)?.[field]
      return {...problem(`must be ${expectedOf(property)} (it is missing)`, {field}), path: [...path, field]}
    }
    case 'additionalProperties': {
      const field = String(e.params.additionalProperty)
      const suggestion = suggestionFor(e)
      const unknown = `unknown field ${JSON.stringify(field)}${suggestion ? ` (did you mean "${suggestion}"?)` : ''}`
      if (phrasing === 'must') return problem(`has ${unknown}`, {field, suggestion})
      return {...problem(`${unknown}; allowed: ${Object.keys(schema.properties ?? {}).join(', ')}`, {field, atKey: true, suggestion}), path: [...path, field]}
    }
    case 'not':
      return problem(schema.refused ?? 'is not allowed here', {atKey: true})
    case 'exactlyOneOf': {
      const keys = e.schema as string[]
      const present = keys.filter((k) => k in (e.data as object))
      return problem(`${schema.invalid ?? `needs exactly one of ${keys.join(', ')}`}; got ${present.length ? present.join(' and ') : 'none of them'}`)
    }
    case 'const':
      return wrong(JSON.stringify(e.schema))
    case 'enum':
      return wrong(`one of ${(e.schema as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`)
    case 'maxItems':
      return problem(`has ${(e.data as unknown[]).length} entries, over the limit of ${String(e.schema)}`)
    case 'maxLength':
      return problem(`is longer than ${String(e.schema)} characters`)
    case 'pattern':
    case 'format':
      if (e.propertyName !== undefined) return problem(`has ${JSON.stringify(e.propertyName)}, which ${schema.invalid ?? `is not ${expectedOf(schema)}`}`)
      if (schema.invalid !== undefined) return problem(`${JSON.stringify(e.data)} ${schema.invalid}`)
      return wrong(expectedOf(schema))
    default:
      return wrong(expectedOf(schema))
  }
}

/** For an unknown field, the known field of its object it is probably a misspelling of. */
function suggestionFor(e: ErrorObject): string | undefined {
  return didYouMean(String(e.params.additionalProperty), Object.keys((e.parentSchema as SchemaObject | undefined)?.properties ?? {}))
}

/** The schema's `expected` phrase, or one made of its type. */
function expectedOf(schema: Annotated | undefined): string {
  if (schema?.expected !== undefined) return schema.expected
  const types = ([] as unknown[]).concat(schema?.type ?? [])
  const phrase: Record<string, string> = {object: 'a JSON object', array: 'an array', string: 'a string', number: 'a number', integer: 'a whole number', boolean: 'true or false', null: 'null'}
  return types.length ? types.map((t) => phrase[String(t)] ?? String(t)).join(' or ') : 'valid'
}
