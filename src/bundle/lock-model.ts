/**
 * The bundle lock, `airgap/lock.json` (format version 1): what a bundle holds and the one file
 * that is signed. It pins index.json by digest, and index.json pins every manifest and blob by
 * digest, so a valid signature over the lock covers the whole bundle.
 *
 * This file holds the model: the types, their limits and the JSON Schema of format 1 (one schema
 * per type, next to it). lock-parse.ts reads a lock (the schema, then the checks across fields),
 * lock-create.ts builds and serialises one; lock.ts is the module's face. Pure: no IO.
 */
import {DIGEST_PATTERN} from '../oci/digest.js'
import {JsonSchema} from '../validation/json-schema.js'
import {LOCK_UPSTREAM_DEFAULTS, type LockUpstreamVerification} from './lock-upstream.js'

export const LOCK_API_VERSION = 'airgap.dev/v1alpha1'
export const LOCK_KIND = 'BundleLock'
export const LOCK_FORMAT_VERSION = 1
/** Where the spec lives inside a bundle (the only value `spec.file` may take in format 1). */
export const LOCK_SPEC_FILE = 'airgap/spec.yaml'

/** Largest size accepted anywhere in a lock: 1 PiB. */
export const MAX_LOCK_SIZE = 2 ** 50
/** Most images or charts a lock may list. */
export const MAX_LOCK_ENTRIES = 100_000
/** Longest string accepted anywhere in a lock. */
export const MAX_LOCK_STRING = 4096

// Schema building blocks: every string non-empty and bounded, every size a whole number in range.
const TEXT = {type: 'string', pattern: `^[\\s\\S]{1,${MAX_LOCK_STRING}}$`, expected: `a non-empty string of at most ${MAX_LOCK_STRING} characters`}
const DIGEST = {type: 'string', pattern: DIGEST_PATTERN, expected: 'a digest', invalid: 'is not a valid digest'}
const SIZE = {type: 'integer', minimum: 0, maximum: MAX_LOCK_SIZE, expected: `a whole number from 0 to ${MAX_LOCK_SIZE}`}
const list = (items: object): object => ({type: 'array', maxItems: MAX_LOCK_ENTRIES, items})
/** A JSON object with exactly these fields, `required` among them. */
const record = (properties: Record<string, object>, required: readonly string[]): object => ({type: 'object', additionalProperties: false, required, properties})

/** How an image was found: a values key, a Chart.yaml annotation, a template literal, the spec's image list, a key of the W&B v2 server manifest. */
export type LockDiscoveryKind = 'values' | 'annotation' | 'template' | 'spec' | 'manifest'
/** The values shape at valuesPath: `{repository, tag}`, Bitnami `{registry, repository, tag}`, `{name, tag}` (stakater reloader), or a reference string. */
export type LockImageShape = 'repository-tag' | 'bitnami' | 'name-tag' | 'string'
export const LOCK_DISCOVERY_KINDS: readonly LockDiscoveryKind[] = ['values', 'annotation', 'template', 'spec', 'manifest']
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

const DISCOVERY_SCHEMA = record(
  {chart: TEXT, valuesPath: TEXT, template: TEXT, source: TEXT, kind: {enum: LOCK_DISCOVERY_KINDS}, shape: {enum: LOCK_IMAGE_SHAPES}},
  ['chart', 'source'],
)

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

const IMAGE_PROPERTIES = {source: TEXT, digest: DIGEST, mediaType: TEXT, size: SIZE, platforms: list(TEXT), bytes: SIZE, discoveredBy: list(DISCOVERY_SCHEMA)}
const IMAGE_REQUIRED = ['source', 'digest', 'mediaType', 'size', 'platforms', 'bytes']

/** An image the spec leads to that could not be found, so the bundle does not carry it (issue 4). */
export interface LockMissing {
  /** Full normalised source reference. */
  source: string
  /** Why it is not carried, e.g. `not found`. */
  reason: string
  discoveredBy?: LockDiscovery[]
}

const MISSING_SCHEMA = record({source: TEXT, reason: TEXT, discoveredBy: list(DISCOVERY_SCHEMA)}, ['source', 'reason'])

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

const EXPECTED_BLOB_SCHEMA = record({digest: DIGEST, size: SIZE, mediaType: TEXT, repositories: list(TEXT)}, ['digest', 'size', 'mediaType'])

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

const SIGNATURE_SCHEMA = record(
  {subject: TEXT, ref: TEXT, digest: DIGEST, mediaType: TEXT, size: SIZE, kind: {enum: LOCK_SIGNATURE_KINDS}},
  ['subject', 'ref', 'digest', 'mediaType', 'size', 'kind'],
)

/** An image of a split set: its lock entry, the layer/config blobs it needs, and the parts holding them. */
export interface LockSplitImage extends LockImage {
  /** Non-manifest blobs the image needs (sorted). */
  blobs: string[]
  /** Parts that carry its blobs (and so its manifests), ascending. */
  parts: number[]
}

/** Part numbers are checked against `parts` by lock-parse.ts (a schema cannot compare two fields). */
const PART = {...SIZE, minimum: 1, expected: 'a part number, from 1 to the number of parts'}
const SPLIT_IMAGE_SCHEMA = record({...IMAGE_PROPERTIES, blobs: list(DIGEST), parts: list(PART)}, [...IMAGE_REQUIRED, 'blobs', 'parts'])

/** A layer or config blob of a split set and the one part that stores it. */
export interface LockSplitBlob {
  digest: string
  size: number
  part: number
}

const SPLIT_BLOB_SCHEMA = record({digest: DIGEST, size: SIZE, part: PART}, ['digest', 'size', 'part'])

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

const SPLIT_SCHEMA = record(
  {setId: DIGEST, part: PART, parts: {...PART, expected: `a number of parts from 1 to ${MAX_LOCK_SIZE}`}, maxPartSize: SIZE, blobs: list(SPLIT_BLOB_SCHEMA), images: list(SPLIT_IMAGE_SCHEMA)},
  ['setId', 'part', 'parts', 'maxPartSize', 'blobs', 'images'],
)

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

const CHART_SCHEMA = record({name: TEXT, version: TEXT, source: TEXT, digest: DIGEST, tgzDigest: DIGEST}, ['name', 'version', 'source', 'digest', 'tgzDigest'])

/**
 * The W&B v2 server manifest a bundle carries (issue 17): an OCI artifact stored unchanged under
 * its full source name (`source`, also its ref.name in index.json), pinned by digest. Push puts it
 * at MIRROR/wandb/server-manifest:<version> at this digest. Absent in bundles without one.
 */
export interface LockServerManifest {
  /** Full source reference, `HOST/PATH/wandb/server-manifest:<version>`. */
  source: string
  /** The W&B server version (the manifest's tag). */
  version: string
  /** Digest of the root (an index or a manifest) as published. */
  digest: string
  mediaType: string
  size: number
  /** requiredOperatorVersion of the manifest, and the operator chart version it was checked against. */
  requiredOperatorVersion?: string
  operatorChartVersion?: string
}

const SERVER_MANIFEST_SCHEMA = record(
  {source: TEXT, version: TEXT, digest: DIGEST, mediaType: TEXT, size: SIZE, requiredOperatorVersion: TEXT, operatorChartVersion: TEXT},
  ['source', 'version', 'digest', 'mediaType', 'size'],
)

export interface BundleLock {
  apiVersion: typeof LOCK_API_VERSION
  kind: typeof LOCK_KIND
  formatVersion: typeof LOCK_FORMAT_VERSION
  /** Tool and version that wrote the bundle, e.g. `airgap/0.1.0`. */
  createdBy: string
  /** When the release was pulled (ISO 8601, UTC); SOURCE_DATE_EPOCH when it was set. */
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
  /** The W&B v2 server manifest carried (absent when none). */
  serverManifest?: LockServerManifest
}

const UPSTREAM_VERIFICATION_SCHEMA = record(
  {
    policy: record({digest: DIGEST, default: {enum: [...LOCK_UPSTREAM_DEFAULTS]}}, ['digest', 'default']),
    images: list(
      record(
        {source: TEXT, digest: DIGEST, rule: TEXT, verified: {type: 'boolean'}, identity: TEXT, issuer: TEXT, keyFingerprint: DIGEST, logIndex: SIZE, integratedTime: SIZE, reason: TEXT},
        ['source', 'digest', 'rule', 'verified'],
      ),
    ),
  },
  ['policy', 'images'],
)

/** `2024-05-01T12:00:00Z` (fractions allowed): ISO 8601 in UTC (lock-parse.ts checks that it is a real date). */
const UTC_TIME_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$'

/**
 * Format 1 of lock.json (apiVersion, kind and formatVersion are checked before it, so that another
 * version is refused as unsupported rather than as damaged).
 */
export const LOCK_SCHEMA = new JsonSchema<BundleLock>(
  'bundle-lock',
  record(
    {
      apiVersion: {const: LOCK_API_VERSION},
      kind: {const: LOCK_KIND},
      formatVersion: {const: LOCK_FORMAT_VERSION},
      createdBy: TEXT,
      created: {type: 'string', pattern: UTC_TIME_PATTERN, expected: 'an ISO 8601 UTC time'},
      index: record({digest: DIGEST, size: SIZE}, ['digest', 'size']),
      images: list(record(IMAGE_PROPERTIES, IMAGE_REQUIRED)),
      charts: list(CHART_SCHEMA),
      blobs: record({count: SIZE, bytes: SIZE}, ['count', 'bytes']),
      spec: record({file: {const: LOCK_SPEC_FILE}, digest: DIGEST}, ['file', 'digest']),
      missing: list(MISSING_SCHEMA),
      expectedInMirror: list(EXPECTED_BLOB_SCHEMA),
      signatures: list(SIGNATURE_SCHEMA),
      split: SPLIT_SCHEMA,
      upstreamVerification: UPSTREAM_VERIFICATION_SCHEMA,
      serverManifest: SERVER_MANIFEST_SCHEMA,
    },
    ['apiVersion', 'kind', 'formatVersion', 'createdBy', 'created', 'index', 'images', 'charts', 'blobs'],
  ),
)

