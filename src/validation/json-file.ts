/**
 * The first steps every JSON input file shares (push receipts, inventories, --since files): parse
 * it, and report a bad field, both as a SpecError naming the file (and the field's JSON path).
 */
import {SpecError} from '../errors.js'

/** JSON.parse of `text`, or a SpecError naming `file` with `hint`. */
export function parseJsonFile(text: string, file: string, hint: string): unknown {
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new SpecError(`${file}: not valid JSON (${(err as Error).message})`, file, undefined, {hint, cause: err})
  }
}

/** A thrower for one file: `fail('$.images[0].digest', 'must be a digest')`. */
export function fieldFailure(file: string, hint: string): (path: string, problem: string) => never {
  return (path, problem) => {
    throw new SpecError(`${file}: ${path} ${problem}`, file, path, {hint})
  }
}
