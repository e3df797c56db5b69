/**
 * The bundle lock, `airgap/lock.json` (format version 1): what a bundle holds and the one file
 * that is signed. It pins index.json by digest, and index.json pins every manifest and blob by
 * digest, so a valid signature over the lock covers the whole bundle.
 *
 * Serialisation is deterministic (keys sorted at every level, entries sorted, two-space indent,
 * trailing newline) so that the same content and SOURCE_DATE_EPOCH give the same bytes. Parsing is
 * strict: unknown fields, bad digests and out-of-range sizes are refused; an unknown
 * `formatVersion` is refused with UnsupportedError. Pure: no IO.
 */
import {IntegrityError, UnsupportedError} from '../errors.js'
import {digestOf, isDigest} from '../oci/digest.js'
import {parseUpstreamVerification, sortedUpstreamVerification, type LockUpstreamVerification} from './lock-upstream.js'

export const LOCK_API_VERSION = 'airgap.dev/v1alpha1'
export const LOCK_KIND = 'BundleLock'
export const LOCK_FORMAT_VERSION = 1
/** Where the spec lives inside a bundle (the only value `spec.file` may take in format 1). */
export const LOCK_SPEC_FILE = 'airgap/spec.yaml'

/** Largest size accepted anywhere in a lock: 1 PiB. */
export const MAX_LOCK_SIZE = 2 ** 50
/** Most images or charts a lock may list. */
export const MAX_LOCK_ENTRIES = 100_000
const MAX_STRING = 4096

/** Where an image reference was found (chart discovery, issue 4). */
/** How an image was found: a values key, a Chart.yaml annotation, a template literal, the spec's image list. */
export type LockDiscoveryKind = 'values' | 'annotation' | 'template' | 'spec'
/** The values shape at valuesPath: `{repository, tag}`, Bitnami `{registry, repository, tag}`, `{name, tag}` (stakater reloader), or a reference string. */
export type LockImageShape = 'repository-tag' | 'bitnami' | 'name-tag' | 'string'
export const LOCK_DISCOVERY_KINDS: readonly LockDiscoveryKind[] = ['values', 'annotation', 'template', 'spec']
export const LOCK_IMAGE_SHAPES: readonly LockImageShape[] = ['repository-tag', 'bitnami', 'name-tag', 'string']

export interface LockDiscovery {
  chart: string
  valuesPath?: string
  template?: string
  /** The reference as it was written in the chart. */
  source: string
  /** How it was found (absent in locks written before it was recorded). */
  kind?: LockDiscoveryKind
  /** Shape of the value at valuesPath (absent in older locks and for non-values origins). */
  shape?: LockImageShape
}

export interface LockImage {
  /** Full normalised source reference; also the image's ref.name in index.json. */
  source: string
  /** Digest of the stored root (an index narrowed to `platforms` gets a new digest). */
  digest: string
  mediaType: string
  size: number
  /** Platforms stored, `os/arch[/variant]`, sorted; empty for artifacts without a platform. */
  platforms: string[]
  /** Bytes of every node of the image's graph (manifests, configs, layers), each once. */
  bytes: number
  discoveredBy?: LockDiscovery[]
}

/** An image the spec leads to that could not be found, so the bundle does not carry it (issue 4). */
export interface LockMissing {
  /** Full normalised source reference. */
  source: string
  /** Why it is not carried, e.g. `not found`. */
  reason: string
  discoveredBy?: LockDiscovery[]
}

/**
 * A blob a delta bundle leaves out because the mirror already holds it (`airgap pull --since`,
 * issue 10). Push checks that each is in the mirror before it writes anything.
 */
export interface LockExpectedBlob {
  digest: string
  size: number
  mediaType: string
  /** Mirror repositories (paths inside the mirror host) known to hold it: mount candidates. */
  repositories?: string[]
}

/** Kinds of upstream signature artifacts: cosign tag schema (`.sig`, `.att`, `.sbom`) or an OCI 1.1 referrer. */
export type LockSignatureKind = 'sig' | 'att' | 'sbom' | 'referrer'
export const LOCK_SIGNATURE_KINDS: readonly LockSignatureKind[] = ['sig', 'att', 'sbom', 'referrer']

/** An upstream signature, attestation, SBOM or referrer carried with an image (`--with-signatures`). */
export interface LockSignature {
  /** The image it is attached to: `registry/repository@digest` (source reference). */
  subject: string
  /** Its ref.name in index.json: `registry/repository:sha256-<hex>.sig`, or `registry/repository@<digest>` for a referrer. */
  ref: string
  digest: string
  mediaType: string
  size: number
  kind: LockSignatureKind
}

/** An image of a split set: its lock entry, the layer/config blobs it needs, and the parts holding them. */
export interface LockSplitImage extends LockImage {
  /** Non-manifest blobs the image needs (sorted). */
  blobs: string[]
  /** Parts that carry its blobs (and so its manifests), ascending. */
  parts: number[]
}

/** A layer or config blob of a split set and the one part that stores it. */
export interface LockSplitBlob {
  digest: string
  size: number
  part: number
}

/**
 * Split media (`airgap pull --max-part-size`, issue 10): this bundle is part `part` of `parts`.
 * Every part's lock describes the whole set, so a part knows what the others hold.
 */
export interface LockSplit {
  /** Same content and limit, same id (sha256 over the plan). */
  setId: string
  part: number
  parts: number
  maxPartSize: number
  /** Every layer/config blob of the set stored in exactly one part (sorted by digest). */
  blobs: LockSplitBlob[]
  /** Every image of the set (sorted by source); charts and signatures travel in every part. */
  images: LockSplitImage[]
}

export interface LockChart {
  name: string
  version: string
  /** Repository URL, `oci://` reference or local path the chart came from. */
  source: string
  /** Digest of the chart's OCI artifact manifest in the bundle. */
  digest: string
  /** sha256 of the chart `.tgz`. */
  tgzDigest: string
}

export interface BundleLock {
  apiVersion: typeof LOCK_API_VERSION
  kind: typeof LOCK_KIND
  formatVersion: typeof LOCK_FORMAT_VERSION
  /** Tool and version that wrote the bundle, e.g. `airgap/0.1.0`. */
  createdBy: string
  /** ISO 8601 time from SOURCE_DATE_EPOCH (1970-01-01T00:00:00Z when unset). */
  created: string
  /** sha256 and size of the exact index.json bytes. */
  index: {digest: string; size: number}
  images: LockImage[]
  charts: LockChart[]
  /** Every blob entry of the bundle (manifests included), each once. */
  blobs: {count: number; bytes: number}
  spec?: {file: typeof LOCK_SPEC_FILE; digest: string}
  /** Images found but not carried (only needed by disabled components, or skipped); absent when none. */
  missing?: LockMissing[]
  /** Delta bundles: blobs left out because the mirror holds them (absent in full bundles). */
  expectedInMirror?: LockExpectedBlob[]
  /** Upstream signatures and attestations carried (absent when none). */
  signatures?: LockSignature[]
  /** Split media: which part of which set this bundle is (absent in whole bundles). */
  split?: LockSplit
  /** `pull --verify-upstream`: the verdict on each image's upstream signatures (lock-upstream.ts). */
  upstreamVerification?: LockUpstreamVerification
}

export interface LockInput {
  createdBy: string
  /** Seconds since the epoch (SOURCE_DATE_EPOCH). */
  epoch: number
  indexJson: Uint8Array
  images: readonly LockImage[]
  charts?: readonly LockChart[]
  blobs: {count: number; bytes: number}
  specBytes?: Uint8Array
  missing?: readonly LockMissing[]
  expectedInMirror?: readonly LockExpectedBlob[]
  signatures?: readonly LockSignature[]
  split?: LockSplit
  upstreamVerification?: LockUpstreamVerification | undefined
}

/** Build a lock from its parts (sorted; `created` from the epoch; index and spec digests computed). */
export function createLock(input: LockInput): BundleLock {
  const lock: BundleLock = {
    apiVersion: LOCK_API_VERSION,
    kind: LOCK_KIND,
    formatVersion: LOCK_FORMAT_VERSION,
    createdBy: input.createdBy,
    created: new Date(input.epoch * 1000).toISOString().replace('.000Z', 'Z'),
    index: {digest: digestOf(input.indexJson), size: input.indexJson.length},
    images: [...input.images].map(sortedImage).sort((a, b) => compare(a.source, b.source)),
    charts: [...(input.charts ?? [])].sort((a, b) => compare(a.name, b.name) || compare(a.version, b.version) || compare(a.source, b.source)),
    blobs: {...input.blobs},
  }
  if (input.specBytes) lock.spec = {file: LOCK_SPEC_FILE, digest: digestOf(input.specBytes)}
  if (input.missing?.length) lock.missing = [...input.missing].sort((a, b) => compare(a.source, b.source))
  if (input.expectedInMirror?.length) {
    lock.expectedInMirror = [...input.expectedInMirror]
      .map((e) => (e.repositories ? {...e, repositories: [...new Set(e.repositories)].sort()} : {...e}))
      .sort((a, b) => compare(a.digest, b.digest))
  }
  if (input.signatures?.length) lock.signatures = [...input.signatures].sort((a, b) => compare(a.ref, b.ref))
  if (input.split) lock.split = sortedSplit(input.split)
  if (input.upstreamVerification) lock.upstreamVerification = sortedUpstreamVerification(input.upstreamVerification)
  // Round-trip through the validator so that we never write a lock we would refuse to read.
  return parseLock(serializeLock(lock), 'the new lock')
}

function sortedSplit(split: LockSplit): LockSplit {
  return {
    ...split,
    blobs: [...split.blobs].sort((a, b) => compare(a.digest, b.digest)),
    images: split.images
      .map((i) => ({...sortedImage(i), blobs: [...new Set(i.blobs)].sort(), parts: [...new Set(i.parts)].sort((a, b) => a - b)}))
      .sort((a, b) => compare(a.source, b.source)),
  }
}

function sortedImage<T extends LockImage>(image: T): T {
  return {...image, platforms: [...new Set(image.platforms)].sort()}
}

/** Deterministic bytes: keys sorted at every level, two-space indent, trailing newline. */
export function serializeLock(lock: BundleLock): Buffer {
  return Buffer.from(JSON.stringify(sortKeys(lock), null, 2) + '\n', 'utf8')
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys)
  if (value === null || typeof value !== 'object') return value
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(value).sort()) {
    const v = (value as Record<string, unknown>)[key]
    if (v !== undefined) out[key] = sortKeys(v)
  }
  return out
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

type Json = Record<string, unknown>

/**
 * Parse and validate lock bytes. Throws IntegrityError naming `where` and the JSON path of the
 * first problem, or UnsupportedError for another `apiVersion`/`kind`/`formatVersion`.
 */
export function parseLock(bytes: Uint8Array, where: string): BundleLock {
  let raw: unknown
  try {
    raw = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch (err) {
    throw new IntegrityError(`${where}: not valid JSON (${(err as Error).message})`, {hint: 'the bundle is damaged; copy it again', cause: err})
  }
  const v = new Validator(where)
  const top = v.object(raw, '$')
  checkVersion(top, where)
  v.onlyKeys(top, '$', ['apiVersion', 'kind', 'formatVersion', 'createdBy', 'created', 'index', 'images', 'charts', 'blobs', 'spec', 'missing', 'expectedInMirror', 'signatures', 'split', 'upstreamVerification'])
  const created = v.string(top.created, '$.created')
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(created) || Number.isNaN(Date.parse(created))) v.fail('$.created', 'must be an ISO 8601 UTC time')
  const index = v.object(top.index, '$.index')
  v.onlyKeys(index, '$.index', ['digest', 'size'])
  const blobs = v.object(top.blobs, '$.blobs')
  v.onlyKeys(blobs, '$.blobs', ['count', 'bytes'])
  const lock: BundleLock = {
    apiVersion: LOCK_API_VERSION,
    kind: LOCK_KIND,
    formatVersion: LOCK_FORMAT_VERSION,
    createdBy: v.string(top.createdBy, '$.createdBy'),
    created,
    index: {digest: v.digest(index.digest, '$.index.digest'), size: v.size(index.size, '$.index.size')},
    images: v.array(top.images, '$.images').map((x, i) => parseImage(v, x, `$.images[${i}]`)),
    charts: v.array(top.charts, '$.charts').map((x, i) => parseChart(v, x, `$.charts[${i}]`)),
    blobs: {count: v.size(blobs.count, '$.blobs.count'), bytes: v.size(blobs.bytes, '$.blobs.bytes')},
  }
  if (top.spec !== undefined) {
    const spec = v.object(top.spec, '$.spec')
    v.onlyKeys(spec, '$.spec', ['file', 'digest'])
    if (spec.file !== LOCK_SPEC_FILE) v.fail('$.spec.file', `must be "${LOCK_SPEC_FILE}"`)
    lock.spec = {file: LOCK_SPEC_FILE, digest: v.digest(spec.digest, '$.spec.digest')}
  }
  if (top.missing !== undefined) {
    lock.missing = v.array(top.missing, '$.missing').map((x, i) => parseMissing(v, x, `$.missing[${i}]`))
    unique(v, lock.missing.map((m) => m.source), '$.missing', 'source')
    const carried = new Set(lock.images.map((i) => i.source))
    for (const [i, m] of lock.missing.entries()) if (carried.has(m.source)) v.fail(`$.missing[${i}]`, `names ${JSON.stringify(m.source)}, which is also carried in $.images`)
  }
  if (top.expectedInMirror !== undefined) {
    lock.expectedInMirror = v.array(top.expectedInMirror, '$.expectedInMirror').map((x, i) => parseExpected(v, x, `$.expectedInMirror[${i}]`))
    unique(v, lock.expectedInMirror.map((e) => e.digest), '$.expectedInMirror', 'digest')
  }
  if (top.signatures !== undefined) {
    lock.signatures = v.array(top.signatures, '$.signatures').map((x, i) => parseSignature(v, x, `$.signatures[${i}]`))
    unique(v, lock.signatures.map((s) => s.ref), '$.signatures', 'ref')
  }
  if (top.split !== undefined) lock.split = parseSplit(v, top.split, lock.images)
  if (top.upstreamVerification !== undefined) {
    const listed = new Set([...lock.images, ...(lock.split?.images ?? [])].map((i) => i.source))
    lock.upstreamVerification = parseUpstreamVerification(v, top.upstreamVerification, listed)
  }
  unique(v, lock.images.map((i) => i.source), '$.images', 'source')
  unique(v, lock.charts.map((c) => `${c.name}@${c.version}`), '$.charts', 'name@version')
  return lock
}

function checkVersion(top: Json, where: string): void {
  const hint = 'use an airgap release that reads this bundle format, or write the bundle with this release'
  if (top.apiVersion !== LOCK_API_VERSION || top.kind !== LOCK_KIND) {
    throw new UnsupportedError(
      `${where}: apiVersion ${JSON.stringify(top.apiVersion ?? null)} kind ${JSON.stringify(top.kind ?? null)} is not an airgap bundle lock (want ${LOCK_API_VERSION} ${LOCK_KIND})`,
      {hint},
    )
  }
  if (top.formatVersion !== LOCK_FORMAT_VERSION) {
    throw new UnsupportedError(`${where}: bundle format version ${JSON.stringify(top.formatVersion ?? null)} is not supported (this airgap reads version ${LOCK_FORMAT_VERSION})`, {hint})
  }
}

function parseImage(v: Validator, raw: unknown, path: string): LockImage {
  const o = v.object(raw, path)
  v.onlyKeys(o, path, ['source', 'digest', 'mediaType', 'size', 'platforms', 'bytes', 'discoveredBy'])
  const image: LockImage = {
    source: v.string(o.source, `${path}.source`),
    digest: v.digest(o.digest, `${path}.digest`),
    mediaType: v.string(o.mediaType, `${path}.mediaType`),
    size: v.size(o.size, `${path}.size`),
    platforms: v.array(o.platforms, `${path}.platforms`).map((p, i) => v.string(p, `${path}.platforms[${i}]`)),
    bytes: v.size(o.bytes, `${path}.bytes`),
  }
  if (o.discoveredBy !== undefined) {
    image.discoveredBy = v.array(o.discoveredBy, `${path}.discoveredBy`).map((d, i) => parseDiscovery(v, d, `${path}.discoveredBy[${i}]`))
  }
  return image
}

function parseMissing(v: Validator, raw: unknown, path: string): LockMissing {
  const o = v.object(raw, path)
  v.onlyKeys(o, path, ['source', 'reason', 'discoveredBy'])
  const m: LockMissing = {source: v.string(o.source, `${path}.source`), reason: v.string(o.reason, `${path}.reason`)}
  if (o.discoveredBy !== undefined) {
    m.discoveredBy = v.array(o.discoveredBy, `${path}.discoveredBy`).map((d, i) => parseDiscovery(v, d, `${path}.discoveredBy[${i}]`))
  }
  return m
}

function parseDiscovery(v: Validator, raw: unknown, path: string): LockDiscovery {
  const o = v.object(raw, path)
  v.onlyKeys(o, path, ['chart', 'valuesPath', 'template', 'source', 'kind', 'shape'])
  const d: LockDiscovery = {chart: v.string(o.chart, `${path}.chart`), source: v.string(o.source, `${path}.source`)}
  if (o.valuesPath !== undefined) d.valuesPath = v.string(o.valuesPath, `${path}.valuesPath`)
  if (o.template !== undefined) d.template = v.string(o.template, `${path}.template`)
  if (o.kind !== undefined) d.kind = v.oneOf(o.kind, `${path}.kind`, LOCK_DISCOVERY_KINDS)
  if (o.shape !== undefined) d.shape = v.oneOf(o.shape, `${path}.shape`, LOCK_IMAGE_SHAPES)
  return d
}

function parseExpected(v: Validator, raw: unknown, path: string): LockExpectedBlob {
  const o = v.object(raw, path)
  v.onlyKeys(o, path, ['digest', 'size', 'mediaType', 'repositories'])
  const e: LockExpectedBlob = {digest: v.digest(o.digest, `${path}.digest`), size: v.size(o.size, `${path}.size`), mediaType: v.string(o.mediaType, `${path}.mediaType`)}
  if (o.repositories !== undefined) e.repositories = v.array(o.repositories, `${path}.repositories`).map((r, i) => v.string(r, `${path}.repositories[${i}]`))
  return e
}

function parseSignature(v: Validator, raw: unknown, path: string): LockSignature {
  const o = v.object(raw, path)
  v.onlyKeys(o, path, ['subject', 'ref', 'digest', 'mediaType', 'size', 'kind'])
  return {
    subject: v.string(o.subject, `${path}.subject`),
    ref: v.string(o.ref, `${path}.ref`),
    digest: v.digest(o.digest, `${path}.digest`),
    mediaType: v.string(o.mediaType, `${path}.mediaType`),
    size: v.size(o.size, `${path}.size`),
    kind: v.oneOf(o.kind, `${path}.kind`, LOCK_SIGNATURE_KINDS),
  }
}

/** The split section: part numbers in range, every image's blobs placed, this part's images listed with the same digest. */
function parseSplit(v: Validator, raw: unknown, carried: readonly LockImage[]): LockSplit {
  const o = v.object(raw, '$.split')
  v.onlyKeys(o, '$.split', ['setId', 'part', 'parts', 'maxPartSize', 'blobs', 'images'])
  const parts = v.size(o.parts, '$.split.parts')
  if (parts < 1) v.fail('$.split.parts', 'must be at least 1')
  const partNo = (x: unknown, path: string): number => {
    const n = v.size(x, path)
    if (n < 1 || n > parts) v.fail(path, `must be a part number from 1 to ${parts}`)
    return n
  }
  const split: LockSplit = {
    setId: v.digest(o.setId, '$.split.setId'),
    part: partNo(o.part, '$.split.part'),
    parts,
    maxPartSize: v.size(o.maxPartSize, '$.split.maxPartSize'),
    blobs: v.array(o.blobs, '$.split.blobs').map((x, i) => {
      const path = `$.split.blobs[${i}]`
      const b = v.object(x, path)
      v.onlyKeys(b, path, ['digest', 'size', 'part'])
      return {digest: v.digest(b.digest, `${path}.digest`), size: v.size(b.size, `${path}.size`), part: partNo(b.part, `${path}.part`)}
    }),
    images: v.array(o.images, '$.split.images').map((x, i) => {
      const path = `$.split.images[${i}]`
      const img = v.object(x, path)
      const {blobs, parts: imageParts, ...rest} = img
      const base = parseImage(v, rest, path)
      return {
        ...base,
        blobs: v.array(blobs, `${path}.blobs`).map((d, j) => v.digest(d, `${path}.blobs[${j}]`)),
        parts: v.array(imageParts, `${path}.parts`).map((n, j) => partNo(n, `${path}.parts[${j}]`)),
      }
    }),
  }
  unique(v, split.blobs.map((b) => b.digest), '$.split.blobs', 'digest')
  unique(v, split.images.map((i) => i.source), '$.split.images', 'source')
  const bySource = new Map(split.images.map((i) => [i.source, i]))
  for (const [i, image] of carried.entries()) {
    const entry = bySource.get(image.source)
    if (!entry || entry.digest !== image.digest) v.fail(`$.images[${i}]`, `${JSON.stringify(image.source)} is not listed with digest ${image.digest} in $.split.images`)
    if (!entry.parts.includes(split.part)) v.fail(`$.images[${i}]`, `${JSON.stringify(image.source)} is carried, but $.split.images does not list part ${split.part} for it`)
  }
  return split
}

function parseChart(v: Validator, raw: unknown, path: string): LockChart {
  const o = v.object(raw, path)
  v.onlyKeys(o, path, ['name', 'version', 'source', 'digest', 'tgzDigest'])
  return {
    name: v.string(o.name, `${path}.name`),
    version: v.string(o.version, `${path}.version`),
    source: v.string(o.source, `${path}.source`),
    digest: v.digest(o.digest, `${path}.digest`),
    tgzDigest: v.digest(o.tgzDigest, `${path}.tgzDigest`),
  }
}

function unique(v: Validator, keys: string[], path: string, what: string): void {
  const seen = new Set<string>()
  for (const [i, k] of keys.entries()) {
    if (seen.has(k)) v.fail(`${path}[${i}]`, `duplicate ${what} ${JSON.stringify(k)}`)
    seen.add(k)
  }
}

/** Small strict JSON checks; every failure is an IntegrityError naming the file and JSON path. */
class Validator {
  constructor(private readonly where: string) {}

  fail(path: string, problem: string): never {
    throw new IntegrityError(`${this.where}: ${path} ${problem}`, {hint: 'the lock was damaged or edited; copy the bundle again from its source'})
  }

  object(x: unknown, path: string): Json {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) this.fail(path, 'must be a JSON object')
    return x as Json
  }

  array(x: unknown, path: string): unknown[] {
    if (!Array.isArray(x)) this.fail(path, 'must be an array')
    if (x.length > MAX_LOCK_ENTRIES) this.fail(path, `has ${x.length} entries, over the limit of ${MAX_LOCK_ENTRIES}`)
    return x
  }

  string(x: unknown, path: string): string {
    if (typeof x !== 'string' || x === '') this.fail(path, 'must be a non-empty string')
    if (x.length > MAX_STRING) this.fail(path, `is longer than ${MAX_STRING} characters`)
    return x
  }

  digest(x: unknown, path: string): string {
    const s = this.string(x, path)
    if (!isDigest(s)) this.fail(path, `${JSON.stringify(s)} is not a valid digest`)
    return s
  }

  size(x: unknown, path: string): number {
    if (typeof x !== 'number' || !Number.isSafeInteger(x) || x < 0 || x > MAX_LOCK_SIZE) this.fail(path, `must be a whole number from 0 to ${MAX_LOCK_SIZE}`)
    return x
  }

  oneOf<T extends string>(x: unknown, path: string, allowed: readonly T[]): T {
    if (typeof x !== 'string' || !(allowed as readonly string[]).includes(x)) this.fail(path, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`)
    return x as T
  }

  onlyKeys(o: Json, path: string, allowed: readonly string[]): void {
    const extra = Object.keys(o).filter((k) => !allowed.includes(k))
    if (extra.length > 0) this.fail(path, `has unknown field${extra.length > 1 ? 's' : ''} ${extra.map((k) => JSON.stringify(k)).join(', ')}`)
  }
}
