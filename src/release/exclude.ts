/**
 * `spec.exclude` globs on image references. `*` matches within one path component (not `/`),
 * `**` matches anything, `?` one character other than `/`. A pattern is matched against the
 * normalised reference (`docker.io/library/mysql:8.0`) and against Docker's short form (`mysql:8.0`).
 */
import {familiarName, parseReference} from '../oci/reference.js'

/** Compile a glob; throws Error on an empty pattern. */
export function globToRegExp(glob: string): RegExp {
  if (glob === '') throw new Error('an exclude pattern must not be empty')
  let re = ''
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        re += '.*'
        i++
      } else {
        re += '[^/]*'
      }
    } else if (ch === '?') {
      re += '[^/]'
    } else {
      re += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&')
    }
  }
  return new RegExp(`^${re}$`)
}

/** A predicate telling whether a normalised reference matches any of the globs. */
export function excluder(globs: readonly string[]): (reference: string) => boolean {
  const patterns = globs.map(globToRegExp)
  return (reference) => {
    if (patterns.length === 0) return false
    let short: string | undefined
    try {
      short = familiarName(parseReference(reference))
    } catch {
      short = undefined
    }
    return patterns.some((p) => p.test(reference) || (short !== undefined && p.test(short)))
  }
}
