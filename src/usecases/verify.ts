/**
 * verifyBundle() (`airgap verify`, and `push` / `serve --key` before they use the bundle) and
 * readBundleContents() (`airgap list`).
 *
 * Verification goes through a reader the caller opened: the caller then uses the SAME reader (one
 * file descriptor), so what is pushed or served is what was verified, whatever is renamed over the
 * path meanwhile. verifyBundleFile() opens, verifies and closes, for `airgap verify BUNDLE`.
 *
 * What verify establishes, cheapest first:
 *  1. the archive is a well-formed bundle (BundleReader refuses hostile or damaged tars);
 *  2. authenticity: the Sigstore signature over airgap/lock.json verifies with the given key;
 *  3. the lock parses (format version known) and pins index.json by sha256;
 *  4. lock and index.json name the same images and charts with the same digests, the spec matches
 *     its digest, and the blob count and bytes match the lock;
 *  5. every descriptor reachable from index.json is present with its declared size (manifests are
 *     read and digest-checked on the way);
 *  6. every blob hashes to the digest in its name (at disk/hash speed).
 * Problems found by the cheap checks (3–5) are collected and reported together; any failure is an
 * IntegrityError (exit code 5) naming the entry and digest.
 */
import type {KeyObject} from 'node:crypto'
import {IntegrityError} from '../errors.js'
import {digestOf} from '../oci/digest.js'
import {Annotation, type Descriptor} from '../oci/types.js'
import {parseBundle, verifyBlob} from '../signing/index.js'
import type {LockUpstreamVerification} from '../bundle/lock-upstream.js'
import {LOCK_FORMAT_VERSION, parseLock, type BundleLock, type LockChart, type LockExpectedBlob, type LockImage, type LockServerManifest, type LockSignature, type LockSplit} from '../bundle/lock.js'
import {BundleReader, INDEX_JSON, LOCK_JSON, SIGNATURE, SPEC_YAML, digestOfEntryName} from '../bundle/index.js'

export type Authenticity = 'verified' | 'not-checked' | 'unsigned'

export interface VerifyOptions {
  /** The signer's public key (cosign.pub). Without it authenticity is not checked. */
  publicKey?: KeyObject
  /** Called with the byte count of every chunk hashed (progress). */
  onBytes?: (n: number) => void
  /** Blobs hashed at once (default 2). */
  concurrency?: number
  signal?: AbortSignal
}

export interface VerifyBlobsOptions extends Omit<VerifyOptions, 'publicKey'> {
  /** Hash only these digests (push: exactly what it is about to send); default every blob. */
  only?: ReadonlySet<string>
}

/** What both `verify` and `list` report from a bundle's lock. */
export interface LockSummary {
  path: string
  formatVersion: number
  createdBy: string
  /** When the release was pulled. */
  created: string
  images: LockImage[]
  charts: LockChart[]
  /** `pull --verify-upstream`: the verdict on each image's upstream signatures. */
  upstreamVerification?: LockUpstreamVerification
  /** The W&B v2 server manifest carried (issue 17). */
  serverManifest?: LockServerManifest
}

export interface VerifyReport extends LockSummary {
  /** Delta bundles: blobs left out because the mirror holds them (push checks them first). */
  expectedInMirror?: LockExpectedBlob[]
  /** Upstream signatures and attestations carried. */
  signatures?: LockSignature[]
  /** Split media: this bundle is one part of a set; blobs of the other parts are not required. */
  split?: LockSplit
  blobs: number
  /** Bytes of blob content hashed. */
  bytes: number
  /** Size of the bundle file. */
  fileSize: number
  signed: boolean
  authenticity: Authenticity
  /** Fingerprint of the key that verified the signature (`sha256:` of its SPKI DER). */
  signer?: string
  /** Fingerprint named by the signature's key hint (claimed, not verified, when no key was given). */
  signerHint?: string
  lockDigest: string
  indexDigest: string
  seconds: number
  /** Blob bytes hashed per second. */
  bytesPerSecond: number
}

/** Verify a bundle completely through an open reader; resolves with the report only when everything holds. */
export async function verifyBundle(reader: BundleReader, opts: VerifyOptions = {}): Promise<VerifyReport> {
  return verifyBundleBlobs(reader, await verifyBundleMetadata(reader, opts), opts)
}

/** `airgap verify BUNDLE`: open the file, verify it completely, close it. */
export async function verifyBundleFile(path: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const reader = await BundleReader.open(path)
  try {
    return await verifyBundle(reader, opts)
  } finally {
    await reader.close()
  }
}

/**
 * Checks 1–5 (everything but hashing the blobs), cheap: the report counts no blob yet. Push runs
 * this first, then verifyBundleBlobs() on what it is about to send.
 */
export async function verifyBundleMetadata(reader: BundleReader, opts: Pick<VerifyOptions, 'publicKey'> = {}): Promise<VerifyReport> {
  const started = performance.now()
  const where = reader.location
  const lockBytes = await readRequired(reader, LOCK_JSON, where)
  const auth = await checkSignature(reader, lockBytes, opts.publicKey, where)
  const lock = parseLock(lockBytes, `${where} ${LOCK_JSON}`)
  const problems = [...checkIndexPin(reader, lock), ...checkEntries(reader, lock), ...checkBlobTotals(reader, lock), ...(await checkSpec(reader, lock)), ...checkSplit(reader, lock)]
  if (problems.length > 0) {
    throw new IntegrityError(`${where}: ${problems.length} problem(s): ${problems.join('; ')}`, {
      hint: 'the bundle is damaged or was edited; copy it again from its source',
    })
  }
  await reader.verifyGraph(absentAllowed(lock))
  return {
    path: reader.path,
    formatVersion: LOCK_FORMAT_VERSION,
    createdBy: lock.createdBy,
    created: lock.created,
    images: lock.images,
    charts: lock.charts,
    ...(lock.expectedInMirror ? {expectedInMirror: lock.expectedInMirror} : {}),
    ...(lock.signatures ? {signatures: lock.signatures} : {}),
    ...(lock.split ? {split: lock.split} : {}),
    upstreamVerification: lock.upstreamVerification,
    serverManifest: lock.serverManifest,
    blobs: 0,
    bytes: 0,
    fileSize: reader.size,
    ...auth,
    lockDigest: digestOf(lockBytes),
    indexDigest: lock.index.digest,
    seconds: round((performance.now() - started) / 1000),
    bytesPerSecond: 0,
  }
}

/** Check 6: hash the blobs (every one, or those in `only`) and complete the report of verifyBundleMetadata(). */
export async function verifyBundleBlobs(reader: BundleReader, report: VerifyReport, opts: VerifyBlobsOptions = {}): Promise<VerifyReport> {
  const started = performance.now()
  const only = opts.only
  const hashed = await reader.verifyAllBlobs({
    only: only ? (d: string) => only.has(d) : undefined,
    concurrency: opts.concurrency,
    onBytes: opts.onBytes,
    signal: opts.signal,
  })
  const seconds = (performance.now() - started) / 1000 + report.seconds
  return {...report, blobs: hashed.blobs, bytes: hashed.bytes, seconds: round(seconds), bytesPerSecond: Math.round(hashed.bytes / Math.max(seconds, 0.001))}
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000
}

interface AuthResult {
  signed: boolean
  authenticity: Authenticity
  signer?: string
  signerHint?: string
}

/** Check the signature over the lock bytes (exact bytes, before parsing). */
async function checkSignature(reader: BundleReader, lockBytes: Buffer, publicKey: KeyObject | undefined, where: string): Promise<AuthResult> {
  if (!reader.has(SIGNATURE)) {
    if (publicKey) {
      throw new IntegrityError(`${where}: bundle is not signed (no ${SIGNATURE}), so it cannot be verified with the given key`, {
        hint: 'get a signed bundle from its producer, or run verify without --key to check integrity only',
      })
    }
    return {signed: false, authenticity: 'unsigned'}
  }
  const bundle = parseBundle(await reader.readFile(SIGNATURE), `${where} ${SIGNATURE}`)
  const hint = signerHintOf(bundle)
  if (!publicKey) return {signed: true, authenticity: 'not-checked', ...(hint ? {signerHint: hint} : {})}
  const {keyFingerprint} = verifyBlob(lockBytes, bundle, publicKey, `${where} ${SIGNATURE} (over ${LOCK_JSON})`)
  return {signed: true, authenticity: 'verified', signer: keyFingerprint, ...(hint ? {signerHint: hint} : {})}
}

/** `sha256:<hex>` from the bundle's public-key hint (base64 sha256 of the SPKI DER), if well-formed. */
function signerHintOf(bundle: unknown): string | undefined {
  const hint = (bundle as {verificationMaterial?: {publicKey?: {hint?: unknown}}} | null)?.verificationMaterial?.publicKey?.hint
  if (typeof hint !== 'string') return undefined
  const raw = Buffer.from(hint, 'base64')
  return raw.length === 32 && raw.toString('base64') === hint ? `sha256:${raw.toString('hex')}` : undefined
}

function checkIndexPin(reader: BundleReader, lock: BundleLock): string[] {
  const got = digestOf(reader.indexBytes)
  if (got === lock.index.digest && reader.indexBytes.length === lock.index.size) return []
  return [`${INDEX_JSON} is ${got} (${reader.indexBytes.length} bytes) but ${LOCK_JSON} pins ${lock.index.digest} (${lock.index.size} bytes)`]
}

/**
 * Lock and index.json must list the same content: every lock image is the index.json entry of
 * the same name (ref.name = source) with the same digest, media type and size; every lock chart is
 * an index.json entry with its digest; and index.json names nothing else.
 */
function checkEntries(reader: BundleReader, lock: BundleLock): string[] {
  const problems: string[] = []
  const byName = new Map<string, Descriptor>()
  for (const m of reader.index.manifests) {
    const name = m.annotations?.[Annotation.RefName]
    const earlier = name === undefined ? undefined : byName.get(name)
    if (name === undefined) problems.push(`${INDEX_JSON} entry ${m.digest} has no ${Annotation.RefName}`)
    else if (earlier) problems.push(`${INDEX_JSON} names ${name} twice (${earlier.digest} and ${m.digest}): one name must lead to one image`)
    else byName.set(name, m)
  }
  const listed = new Set<string>()
  for (const image of lock.images) {
    listed.add(image.source)
    const m = byName.get(image.source)
    if (!m) problems.push(`image ${image.source} (${image.digest}) is in ${LOCK_JSON} but not in ${INDEX_JSON}`)
    else if (m.digest !== image.digest) problems.push(`image ${image.source} is ${m.digest} in ${INDEX_JSON} but ${image.digest} in ${LOCK_JSON}`)
    else if (m.mediaType !== image.mediaType || m.size !== image.size) {
      problems.push(`image ${image.source} (${image.digest}) is ${m.mediaType}, ${m.size} bytes in ${INDEX_JSON} but ${image.mediaType}, ${image.size} bytes in ${LOCK_JSON}`)
    }
  }
  for (const chart of lock.charts) {
    const entries = [...byName].filter(([, m]) => m.digest === chart.digest)
    if (entries.length === 0) problems.push(`chart ${chart.name}@${chart.version} (${chart.digest}) is in ${LOCK_JSON} but not in ${INDEX_JSON}`)
    for (const [name] of entries) listed.add(name)
  }
  for (const sig of lock.signatures ?? []) {
    listed.add(sig.ref)
    const m = byName.get(sig.ref)
    if (!m) problems.push(`signature ${sig.ref} (${sig.digest}) is in ${LOCK_JSON} but not in ${INDEX_JSON}`)
    else if (m.digest !== sig.digest || m.mediaType !== sig.mediaType || m.size !== sig.size) {
      problems.push(`signature ${sig.ref} is ${m.digest} (${m.mediaType}, ${m.size} bytes) in ${INDEX_JSON} but ${sig.digest} (${sig.mediaType}, ${sig.size} bytes) in ${LOCK_JSON}`)
    }
  }
  const manifest = lock.serverManifest
  if (manifest !== undefined) {
    listed.add(manifest.source)
    const m = byName.get(manifest.source)
    if (!m) problems.push(`server manifest ${manifest.source} (${manifest.digest}) is in ${LOCK_JSON} but not in ${INDEX_JSON}`)
    else if (m.digest !== manifest.digest || m.mediaType !== manifest.mediaType || m.size !== manifest.size) {
      problems.push(`server manifest ${manifest.source} is ${m.digest} (${m.mediaType}, ${m.size} bytes) in ${INDEX_JSON} but ${manifest.digest} (${manifest.mediaType}, ${manifest.size} bytes) in ${LOCK_JSON}`)
    }
  }
  for (const [name, m] of byName) {
    if (!listed.has(name)) problems.push(`${INDEX_JSON} names ${name} (${m.digest}), which ${LOCK_JSON} does not list`)
  }
  return problems
}

/**
 * Blobs the content graph may lack: a delta's blobs held by the mirror, and a split part's blobs
 * that the lock places in other parts (digest -> size; manifests are never allowed to be absent).
 */
function absentAllowed(lock: BundleLock): {expected?: Map<string, number>} {
  const expected = new Map<string, number>()
  for (const e of lock.expectedInMirror ?? []) expected.set(e.digest, e.size)
  for (const b of lock.split?.blobs ?? []) if (b.part !== lock.split!.part) expected.set(b.digest, b.size)
  return expected.size > 0 ? {expected} : {}
}

/** A split part stores exactly the blobs its lock assigns to it (plus manifests and charts, which no part owns). */
function checkSplit(reader: BundleReader, lock: BundleLock): string[] {
  const split = lock.split
  if (!split) return []
  const problems: string[] = []
  const entries = new Map(reader.entries().filter((e) => e.kind === 'blob').map((e) => [digestOfEntryName(e.name), e]))
  for (const b of split.blobs) {
    const entry = entries.get(b.digest)
    if (b.part === split.part && !entry) problems.push(`${LOCK_JSON} places ${b.digest} in this part (${split.part} of ${split.parts}) but the part has no such blob`)
    else if (b.part === split.part && entry!.size !== b.size) problems.push(`${entry!.name} is ${entry!.size} bytes but ${LOCK_JSON} says ${b.size}`)
    else if (b.part !== split.part && entry) problems.push(`the part holds ${b.digest}, which ${LOCK_JSON} places in part ${b.part}`)
  }
  return problems
}

function checkBlobTotals(reader: BundleReader, lock: BundleLock): string[] {
  const blobs = reader.entries().filter((e) => e.kind === 'blob')
  const bytes = blobs.reduce((n, e) => n + e.size, 0)
  if (blobs.length === lock.blobs.count && bytes === lock.blobs.bytes) return []
  return [`the bundle holds ${blobs.length} blobs (${bytes} bytes) but ${LOCK_JSON} lists ${lock.blobs.count} (${lock.blobs.bytes} bytes)`]
}

async function checkSpec(reader: BundleReader, lock: BundleLock): Promise<string[]> {
  const present = reader.has(SPEC_YAML)
  if (!lock.spec) return present ? [`${SPEC_YAML} is present but ${LOCK_JSON} does not pin it`] : []
  if (!present) return [`${LOCK_JSON} pins ${SPEC_YAML} (${lock.spec.digest}) but the bundle has no such entry`]
  const got = digestOf(await reader.readFile(SPEC_YAML))
  return got === lock.spec.digest ? [] : [`${SPEC_YAML} is ${got} but ${LOCK_JSON} pins ${lock.spec.digest}`]
}

async function readRequired(reader: BundleReader, name: string, where: string): Promise<Buffer> {
  if (!reader.has(name)) {
    throw new IntegrityError(`${where}: no ${name} entry; this is an OCI archive but not an airgap bundle`, {hint: 'write bundles with `airgap pull`'})
  }
  return reader.readFile(name)
}

export interface BundleContents extends LockSummary {
  blobs: {count: number; bytes: number}
  signed: boolean
  /** Fingerprint named by the signature's key hint (not verified: run verify with --key). */
  signerHint?: string
  spec: boolean
}

/** What a bundle holds, from its lock, without verifying blobs (fast: headers and metadata only). */
export async function readBundleContents(path: string): Promise<BundleContents> {
  const reader = await BundleReader.open(path)
  try {
    const where = `bundle ${path}`
    const lock = parseLock(await readRequired(reader, LOCK_JSON, where), `${where} ${LOCK_JSON}`)
    const signed = reader.has(SIGNATURE)
    const hint = signed ? signerHintOf(safeParse(await reader.readFile(SIGNATURE))) : undefined
    return {
      path,
      formatVersion: lock.formatVersion,
      createdBy: lock.createdBy,
      created: lock.created,
      images: lock.images,
      charts: lock.charts,
      blobs: lock.blobs,
      signed,
      ...(hint ? {signerHint: hint} : {}),
      spec: lock.spec !== undefined,
      upstreamVerification: lock.upstreamVerification,
      serverManifest: lock.serverManifest,
    }
  } finally {
    await reader.close()
  }
}

function safeParse(bytes: Buffer): unknown {
  try {
    return JSON.parse(bytes.toString('utf8'))
  } catch {
    return undefined
  }
}
