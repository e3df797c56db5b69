/**
 * Collecting the problems of an input document (structure from its JSON Schema, values from
 * fields.ts) with their field paths, then throwing one SpecError whose message starts with
 * `file:line:column:` of the first problem (problems are listed in document order).
 */
import {SpecError} from '../errors.js'
import {typeName, type JsonSchema} from '../validation/json-schema.js'
import type {FieldPath, SourceDocument} from './yaml.js'
import {formatPath, offsetOf, positionOf} from './yaml.js'

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

  /** Report every problem of `value` against `schema`; true when there was none. */
  schema(schema: JsonSchema<unknown>, value: unknown): boolean {
    const problems = schema.problems(value, 'expected')
    for (const p of problems) this.fail(p.path, p.message, p.atKey)
    return problems.length === 0
  }

  /** A non-empty string (or the problem, `expected` describing what was wanted). */
  string(value: unknown, path: FieldPath, expected = 'a non-empty string'): string | undefined {
    if (typeof value !== 'string' || value.trim() === '') return this.fail(path, `expected ${expected}, got ${typeName(value)}`)
    return value
  }

  /** A string, or a number written without quotes (versions such as `1.0`), as a string. */
  version(value: unknown, path: FieldPath): string | undefined {
    if (typeof value === 'number' && Number.isFinite(value)) return String(value)
    return this.string(value, path, 'a version string such as "0.43.8"')
  }

  where(issue: Issue): string {
    return this.src ? positionOf(this.src, issue.path, issue.atKey) : this.origin
  }

  /** Throw a SpecValidationError when anything was reported. */
  throwIfAny(what: string): void {
    if (this.issues.length === 0) return
    const src = this.src
    const issues = src ? [...this.issues].sort((a, b) => offsetOf(src.doc, a.path, a.atKey ?? false) - offsetOf(src.doc, b.path, b.atKey ?? false)) : this.issues
    const first = issues[0]!
    const problems = issues.map((i) => `${this.where(i)}: ${formatPath(i.path)}: ${i.message}`)
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
