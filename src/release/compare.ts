/**
 * What changes between two carried releases (`airgap diff`): images added, removed and moved to
 * another tag or digest, charts and their versions, the inline values of each chart (as paths), and
 * how many bytes are new. Pure: the records are read by src/usecases/diff.ts.
 */
import {parseReference} from '../oci/reference.js'

/** One side of a diff: what a bundle, a bundle lock or a push receipt says was carried. */
export interface ReleaseRecord {
  /** The file it was read from. */
  file: string
  kind: 'bundle' | 'lock' | 'receipt'
  images: ReadonlyArray<{source: string; digest: string; bytes?: number}>
  charts: ReadonlyArray<{name: string; version: string; digest: string}>
  /** Inline values per chart name (bundles and locks whose spec is at hand); absent when unknown. */
  values?: Readonly<Record<string, Record<string, unknown>>>
  /** Every blob of the bundle with its size (bundles only): what is new can then be counted exactly. */
  blobs?: ReadonlyMap<string, number>
}

export interface ImageEntry {
  source: string
  digest: string
  bytes?: number
}

export interface ImageMove {
  /** The image on the first side and on the second (the same name when only the digest moved). */
  from: string
  to: string
  fromDigest: string
  toDigest: string
  bytes?: number
}

export interface ChartChange {
  name: string
  from?: {version: string; digest: string}
  to?: {version: string; digest: string}
}

export interface ValueChange {
  chart: string
  /** `app.image.tag`, `ingress.hosts[0]`, `annotations["a.b/c"]`. */
  path: string
  change: 'added' | 'removed' | 'changed'
  from?: unknown
  to?: unknown
}

export interface ReleaseDiff {
  from: {file: string; kind: ReleaseRecord['kind']}
  to: {file: string; kind: ReleaseRecord['kind']}
  images: {added: ImageEntry[]; removed: ImageEntry[]; moved: ImageMove[]; unchanged: number}
  charts: {added: ChartChange[]; removed: ChartChange[]; changed: ChartChange[]; unchanged: number}
  /** Undefined when either side carries no values (a receipt, or a bundle without its spec). */
  values?: ValueChange[]
  /**
   * Bytes the second side carries that the first does not: exact when both are bundles (blob by
   * blob), else the sizes of the added and moved images (an upper bound: shared layers count), or
   * undefined when the records do not say (receipts).
   */
  newBytes?: {bytes: number; exact: boolean}
  /** True when nothing differs. */
  same: boolean
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Compare two records; entries come out sorted by name. */
export function compareReleases(a: ReleaseRecord, b: ReleaseRecord): ReleaseDiff {
  const images = compareImages(a.images, b.images)
  const charts = compareCharts(a.charts, b.charts)
  const values = a.values && b.values ? compareValues(a.values, b.values) : undefined
  const newBytes = countNewBytes(a, b, images)
  const same =
    images.added.length + images.removed.length + images.moved.length + charts.added.length + charts.removed.length + charts.changed.length + (values?.length ?? 0) === 0
  return {from: {file: a.file, kind: a.kind}, to: {file: b.file, kind: b.kind}, images, charts, values, newBytes, same}
}

/** `registry/repository` of a reference (tag and digest dropped); the whole text when it does not parse. */
function repositoryOf(source: string): string {
  try {
    const ref = parseReference(source)
    return `${ref.registry}/${ref.repository}`
  } catch {
    return source
  }
}

function compareImages(a: ReleaseRecord['images'], b: ReleaseRecord['images']): ReleaseDiff['images'] {
  const left = new Map(a.map((i) => [i.source, i]))
  const right = new Map(b.map((i) => [i.source, i]))
  const moved: ImageMove[] = []
  let unchanged = 0
  for (const [source, l] of left) {
    const r = right.get(source)
    if (!r) continue
    if (r.digest === l.digest) unchanged++
    else moved.push({from: source, to: source, fromDigest: l.digest, toDigest: r.digest, bytes: r.bytes})
    left.delete(source)
    right.delete(source)
  }
  // A repository left with exactly one image on each side moved to another tag (an upgrade).
  const byRepository = (m: Map<string, ImageEntry>): Map<string, ImageEntry[]> => {
    const out = new Map<string, ImageEntry[]>()
    for (const i of m.values()) out.set(repositoryOf(i.source), [...(out.get(repositoryOf(i.source)) ?? []), i])
    return out
  }
  const rightByRepository = byRepository(right)
  for (const [repository, ls] of byRepository(left)) {
    const rs = rightByRepository.get(repository)
    if (ls.length !== 1 || rs?.length !== 1) continue
    const [l, r] = [ls[0]!, rs[0]!]
    moved.push({from: l.source, to: r.source, fromDigest: l.digest, toDigest: r.digest, bytes: r.bytes})
    left.delete(l.source)
    right.delete(r.source)
  }
  const sorted = (m: Map<string, ImageEntry>): ImageEntry[] => [...m.values()].map((i) => ({...i})).sort((x, y) => byString(x.source, y.source))
  return {added: sorted(right), removed: sorted(left), moved: moved.sort((x, y) => byString(x.to, y.to)), unchanged}
}

function compareCharts(a: ReleaseRecord['charts'], b: ReleaseRecord['charts']): ReleaseDiff['charts'] {
  const group = (list: ReleaseRecord['charts']): Map<string, Array<{version: string; digest: string}>> => {
    const out = new Map<string, Array<{version: string; digest: string}>>()
    for (const c of list) out.set(c.name, [...(out.get(c.name) ?? []), {version: c.version, digest: c.digest}])
    return out
  }
  const left = group(a)
  const right = group(b)
  const out: ReleaseDiff['charts'] = {added: [], removed: [], changed: [], unchanged: 0}
  for (const name of [...new Set([...left.keys(), ...right.keys()])].sort(byString)) {
    const ls = [...(left.get(name) ?? [])]
    const rs = [...(right.get(name) ?? [])]
    // Versions present on both sides with the same digest are unchanged; the rest pair up in order.
    for (const l of [...ls]) {
      const same = rs.findIndex((r) => r.version === l.version && r.digest === l.digest)
      if (same === -1) continue
      out.unchanged++
      ls.splice(ls.indexOf(l), 1)
      rs.splice(same, 1)
    }
    while (ls.length > 0 && rs.length > 0) out.changed.push({name, from: ls.shift()!, to: rs.shift()!})
    for (const l of ls) out.removed.push({name, from: l})
    for (const r of rs) out.added.push({name, to: r})
  }
  return out
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** `a.b`, `a["x.y"]`: a key that is not a plain identifier is quoted. */
function childPath(parent: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) return parent === '' ? key : `${parent}.${key}`
  return `${parent}[${JSON.stringify(key)}]`
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}

/** Paths whose value differs, walking maps key by key; lists and scalars compare whole. */
export function compareValueTrees(chart: string, a: unknown, b: unknown, path = ''): ValueChange[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(byString)
    return keys.flatMap((k) => {
      const p = childPath(path, k)
      if (!(k in b)) return [{chart, path: p, change: 'removed' as const, from: a[k]}]
      if (!(k in a)) return [{chart, path: p, change: 'added' as const, to: b[k]}]
      return compareValueTrees(chart, a[k], b[k], p)
    })
  }
  return sameValue(a, b) ? [] : [{chart, path: path === '' ? '.' : path, change: 'changed', from: a, to: b}]
}

function compareValues(a: NonNullable<ReleaseRecord['values']>, b: NonNullable<ReleaseRecord['values']>): ValueChange[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort(byString).flatMap((chart) => compareValueTrees(chart, a[chart] ?? {}, b[chart] ?? {}))
}

function countNewBytes(a: ReleaseRecord, b: ReleaseRecord, images: ReleaseDiff['images']): ReleaseDiff['newBytes'] {
  if (a.blobs && b.blobs) {
    let bytes = 0
    for (const [digest, size] of b.blobs) if (!a.blobs.has(digest)) bytes += size
    return {bytes, exact: true}
  }
  const changed = [...images.added.map((i) => i.bytes), ...images.moved.map((m) => m.bytes)]
  if (changed.some((n) => n === undefined)) return undefined
  return {bytes: changed.reduce<number>((sum, n) => sum + (n ?? 0), 0), exact: false}
}
