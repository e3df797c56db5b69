/**
 * A small field checker for input documents: collects every problem with its field path, then
 * throws one SpecError whose message starts with `file:line:column:` of the first problem.
 */
import {SpecError} from '../errors.js'
import type {FieldPath, SourceDocument} from './yaml.js'
import {formatPath, positionOf} from './yaml.js'

export interface Issue {
  path: FieldPath
  message: string
  /** Point at the key rather than the value (unknown fields). */
  atKey?: boolean
}

/** A SpecError that carries every problem found, not only the first. */
export class SpecValidationError extends SpecError {
  constructor(
    message: string,
    file: string,
    path: string,
    /** One line per problem: `file:line:column: path: message`. */
    readonly problems: readonly string[],
    hint: string,
  ) {
    super(message, file, path, {hint})
  }
}

export type PlainObject = Record<string, unknown>

export function isPlainObject(v: unknown): v is PlainObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.getPrototypeOf(v) === Object.prototype
}

/** Name a value's type the way a YAML author thinks of it. */
export function typeName(v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (isPlainObject(v)) return 'a map'
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`
  return `a ${typeof v === 'object' ? (v as object).constructor?.name ?? 'value' : typeof v}`
}

export class Checker {
  readonly issues: Issue[] = []

  constructor(
    /** Name used when there is no source document (a parsed JSON object). */
    readonly origin: string,
    readonly src?: SourceDocument,
  ) {}

  fail(path: FieldPath, message: string, atKey = false): undefined {
    this.issues.push({path, message, atKey})
    return undefined
  }

  /** A map with only the given keys; unknown keys are reported with a suggestion. */
  object(value: unknown, path: FieldPath, keys: {required?: readonly string[]; optional?: readonly string[]}): PlainObject | undefined {
    if (!isPlainObject(value)) return this.fail(path, `expected a map, got ${typeName(value)}`)
    const required = keys.required ?? []
    const known = [...required, ...(keys.optional ?? [])]
    const suggested = new Set<string>()
    for (const k of Object.keys(value)) {
      if (!known.includes(k)) {
        const near = didYouMean(k, known)
        if (near) suggested.add(near)
        this.fail([...path, k], `unknown field "${k}"${near ? ` (did you mean "${near}"?)` : ''}; allowed: ${known.join(', ')}`, true)
      }
    }
    for (const k of required) {
      // a misspelt required field is reported once, as the unknown field with its suggestion
      if ((value[k] === undefined || value[k] === null) && !suggested.has(k)) this.fail(path, `missing required field "${k}"`)
    }
    return value
  }

  string(value: unknown, path: FieldPath, expected = 'a non-empty string'): string | undefined {
    if (typeof value !== 'string' || value.trim() === '') return this.fail(path, `expected ${expected}, got ${typeName(value)}`)
    return value
  }

  /** A string, or a number written without quotes (versions such as `1.0`), as a string. */
  version(value: unknown, path: FieldPath): string | undefined {
    if (typeof value === 'number' && Number.isFinite(value)) return String(value)
    return this.string(value, path, 'a version string such as "0.43.8"')
  }

  boolean(value: unknown, path: FieldPath): boolean | undefined {
    if (typeof value !== 'boolean') return this.fail(path, `expected true or false, got ${typeName(value)}`)
    return value
  }

  list(value: unknown, path: FieldPath): unknown[] | undefined {
    if (!Array.isArray(value)) return this.fail(path, `expected a list, got ${typeName(value)}`)
    return value
  }

  stringList(value: unknown, path: FieldPath, expected?: string): string[] {
    const list = this.list(value, path) ?? []
    const out: string[] = []
    list.forEach((item, i) => {
      const s = this.string(item, [...path, i], expected)
      if (s !== undefined) out.push(s)
    })
    return out
  }

  stringMap(value: unknown, path: FieldPath): Record<string, string> | undefined {
    if (!isPlainObject(value)) return this.fail(path, `expected a map of strings, got ${typeName(value)}`)
    const out: Record<string, string> = {}
    for (const [k, v] of Object.entries(value)) {
      if (typeof v === 'string') out[k] = v
      else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v)
      else this.fail([...path, k], `expected a string, got ${typeName(v)}`)
    }
    return out
  }

  /** A tree of plain values (maps, lists, strings, numbers, booleans, null). */
  tree(value: unknown, path: FieldPath): PlainObject | undefined {
    if (!isPlainObject(value)) return this.fail(path, `expected a map of values, got ${typeName(value)}`)
    const walk = (v: unknown, p: FieldPath): void => {
      if (v === null || ['string', 'number', 'boolean'].includes(typeof v)) return
      if (Array.isArray(v)) return v.forEach((x, i) => walk(x, [...p, i]))
      if (isPlainObject(v)) return Object.entries(v).forEach(([k, x]) => walk(x, [...p, k]))
      this.fail(p, `expected a plain value (map, list, string, number, boolean), got ${typeName(v)}`)
    }
    walk(value, path)
    return value
  }

  where(issue: Issue): string {
    return this.src ? positionOf(this.src, issue.path, issue.atKey) : this.origin
  }

  /** Throw a SpecValidationError when anything was reported. */
  throwIfAny(what: string): void {
    const first = this.issues[0]
    if (!first) return
    const problems = this.issues.map((i) => `${this.where(i)}: ${formatPath(i.path)}: ${i.message}`)
    const more = problems.length > 1 ? ` (and ${problems.length - 1} more problem${problems.length > 2 ? 's' : ''})` : ''
    throw new SpecValidationError(
      `${problems[0]}${more}`,
      this.src?.file ?? this.origin,
      formatPath(first.path),
      problems,
      `fix the ${what} at the position shown${more ? '; every problem is listed below' : ''}`,
    )
  }
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
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.length]!
}
