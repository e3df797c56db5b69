/**
 * Sprig's semver and semverCompare with Masterminds/semver v3 rules: lenient versions
 * ("v1.2", "1"), constraints with ||, commas or spaces, hyphen ranges, x-ranges, ~ ^ and the
 * rule that a prerelease version only satisfies constraints that name a prerelease.
 */
import {FuncError, GoStruct, type GoFunc} from '../template/values.js'
import {goFunc} from './define.js'

interface Version {
  major: bigint
  minor: bigint
  patch: bigint
  pre: string
  metadata: string
  original: string
}

const VERSION = /^v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?(\+([0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*))?$/

export function parseVersion(s: string): Version {
  const m = VERSION.exec(s)
  if (!m) throw new FuncError('Invalid Semantic Version')
  const pre = m[5] ?? ''
  for (const part of pre === '' ? [] : pre.split('.')) {
    if (/^0\d+$/.test(part)) throw new FuncError('Version segment starts with 0')
  }
  return {
    major: BigInt(m[1]!),
    minor: BigInt((m[2] ?? '.0').slice(1)),
    patch: BigInt((m[3] ?? '.0').slice(1)),
    pre,
    metadata: m[8] ?? '',
    original: s,
  }
}

function versionString(v: Version): string {
  return `${v.major}.${v.minor}.${v.patch}${v.pre ? `-${v.pre}` : ''}${v.metadata ? `+${v.metadata}` : ''}`
}

function comparePrePart(a: string, b: string): number {
  if (a === b) return 0
  const an = /^\d+$/.test(a)
  const bn = /^\d+$/.test(b)
  if (an && bn) return BigInt(a) < BigInt(b) ? -1 : 1
  if (an) return -1
  if (bn) return 1
  return a < b ? -1 : 1
}

function comparePrerelease(a: string, b: string): number {
  if (a === b) return 0
  if (a === '') return 1
  if (b === '') return -1
  const ap = a.split('.')
  const bp = b.split('.')
  for (let i = 0; i < Math.max(ap.length, bp.length); i++) {
    if (i >= ap.length) return -1
    if (i >= bp.length) return 1
    const c = comparePrePart(ap[i]!, bp[i]!)
    if (c !== 0) return c
  }
  return 0
}

function compare(a: Version, b: Version): number {
  for (const k of ['major', 'minor', 'patch'] as const) if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1
  return comparePrerelease(a.pre, b.pre)
}

interface Constraint {
  op: string
  con: Version
  dirty: boolean
  minorDirty: boolean
  patchDirty: boolean
}

const CV = 'v?([0-9|x|X|\\*]+)(\\.[0-9|x|X|\\*]+)?(\\.[0-9|x|X|\\*]+)?(-([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?(\\+([0-9A-Za-z\\-]+(\\.[0-9A-Za-z\\-]+)*))?'
const OPS = '=||!=|>|<|>=|=>|<=|=<|~|~>|\\^'
const CONSTRAINT = new RegExp(`^\\s*(${OPS})\\s*(${CV})\\s*$`)
const RANGE = new RegExp(`\\s*(${CV})\\s+-\\s+(${CV})\\s*`, 'g')
const FIND = new RegExp(`(${OPS})\\s*(${CV})`, 'g')
const VALID = new RegExp(`^(\\s*(${OPS})\\s*(${CV})\\s*)((?:\\s+|,\\s*)(${OPS})\\s*(${CV})\\s*)*$`)
const isX = (x: string) => x === 'x' || x === '*' || x === 'X'

function parseConstraint(c: string): Constraint {
  const m = CONSTRAINT.exec(c)
  if (!m) throw new FuncError(`improper constraint: ${c}`)
  let ver = m[2]!
  let dirty = false
  let minorDirty = false
  let patchDirty = false
  const [m3, m4, m5, m6] = [m[3] ?? '', m[4] ?? '', m[5] ?? '', m[6] ?? '']
  if (isX(m3) || m3 === '') {
    ver = `0.0.0${m6}`
    dirty = true
  } else if (isX(m4.replace(/^\./, '')) || m4 === '') {
    minorDirty = dirty = true
    ver = `${m3}.0.0${m6}`
  } else if (isX(m5.replace(/^\./, '')) || m5 === '') {
    dirty = patchDirty = true
    ver = `${m3}${m4}.0${m6}`
  }
  let con: Version
  try {
    con = parseVersion(ver)
  } catch {
    throw new FuncError('constraint Parser Error')
  }
  return {op: m[1]!, con, dirty, minorDirty, patchDirty}
}

function check(v: Version, c: Constraint): boolean {
  const {con} = c
  if (c.op !== '!=' && v.pre !== '' && con.pre === '') return false
  const cmp = compare(v, con)
  const tilde = () => {
    if (cmp < 0) return false
    if (con.major === 0n && con.minor === 0n && con.patch === 0n && !c.minorDirty && !c.patchDirty) return true
    if (v.major !== con.major) return false
    return !(v.minor !== con.minor && !c.minorDirty)
  }
  switch (c.op) {
    case '':
    case '=':
      return c.dirty ? tilde() : cmp === 0
    case '!=':
      if (c.dirty) {
        if (v.pre !== '' && con.pre === '') return false
        if (con.major !== v.major) return true
        if (con.minor !== v.minor && !c.minorDirty) return true
        if (c.minorDirty) return false
        if (con.patch !== v.patch && !c.patchDirty) return true
        if (c.patchDirty) return (v.pre !== '' || con.pre !== '') && comparePrerelease(v.pre, con.pre) !== 0
      }
      return cmp !== 0
    case '>':
      if (!c.dirty) return cmp === 1
      if (v.major > con.major) return true
      if (v.major < con.major || c.minorDirty) return false
      if (c.patchDirty) return v.minor > con.minor
      return cmp === 1
    case '<':
      return cmp < 0
    case '>=':
    case '=>':
      return cmp >= 0
    case '<=':
    case '=<':
      if (!c.dirty) return cmp <= 0
      if (v.major > con.major) return false
      return !(v.major === con.major && v.minor > con.minor && !c.minorDirty)
    case '~':
    case '~>':
      return tilde()
    case '^':
      if (cmp < 0) return false
      if (con.major > 0n || c.minorDirty) return v.major === con.major
      if (con.major === 0n && v.major > 0n) return false
      if (con.minor > 0n || c.patchDirty) return v.minor === con.minor
      if (con.minor === 0n && v.minor > 0n) return false
      return con.patch === v.patch
    default:
      return false
  }
}

/** Masterminds semver v3 NewConstraint(c).Check(v). */
export function semverSatisfies(constraint: string, version: string): boolean {
  const rewritten = constraint.replace(RANGE, (_all, a: string, ...rest: unknown[]) => `>= ${a}, <= ${rest[9] as string}`)
  const ors = rewritten.split('||').map((part) => {
    if (!VALID.test(part)) throw new FuncError(`improper constraint: ${part}`)
    const found = part.match(FIND) ?? [part]
    return found.map(parseConstraint)
  })
  const v = parseVersion(version)
  return ors.some((and) => and.every((c) => check(v, c)))
}

/** The *semver.Version value templates see. */
function versionStruct(v: Version): GoStruct {
  const m = (name: string, fn: () => unknown): GoFunc => ({name, params: [], fn})
  return new GoStruct(
    '*semver.Version',
    {},
    {
      Major: m('Major', () => v.major),
      Minor: m('Minor', () => v.minor),
      Patch: m('Patch', () => v.patch),
      Prerelease: m('Prerelease', () => v.pre),
      Metadata: m('Metadata', () => v.metadata),
      Original: m('Original', () => v.original),
      String: m('String', () => versionString(v)),
    },
    () => versionString(v),
  )
}

export function semverFunctions(): GoFunc[] {
  return [
    goFunc('semver', ['string'], (s: string) => versionStruct(parseVersion(s))),
    goFunc('semverCompare', ['string', 'string'], semverSatisfies),
  ]
}
