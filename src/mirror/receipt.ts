/**
 * The push receipt (`airgap push --receipt`, default `<bundle>.receipt.json`): what went where.
 * Versioned JSON (apiVersion airgap.dev/v1alpha1, kind PushReceipt). It is the input of
 * `airgap check` and `airgap rewrite` (receiptToMirrorMap). It never holds a secret: URLs are
 * stored without user info or query, errors as their one-line messages.
 */
import {UnsupportedError} from '../errors.js'
import {writeFileAtomic} from '../files/atomic-write.js'
import {readInputText, type InputFileKind} from '../files/input-file.js'
import {fieldFailure, parseJsonFile} from '../validation/json-file.js'
import {JsonSchema} from '../validation/json-schema.js'
import type {LockDiscovery} from '../bundle/lock.js'
import type {PathRules} from './mapping.js'
import type {ImageOrigin, MirrorMap} from './types.js'

export const RECEIPT_API_VERSION = 'airgap.dev/v1alpha1'
export const RECEIPT_KIND = 'PushReceipt'

/** `skipped`: deliberately not published (e.g. charts without --helm-repo); does not make a receipt incomplete. */
export type ItemStatus = 'pushed' | 'failed' | 'not-attempted' | 'skipped'

export interface ReceiptImage {
  source: string
  /** Full mirror reference with tag (or @digest when the source had no tag). */
  mirror: string
  digest: string
  mediaType: string
  platforms: string[]
  status: ItemStatus
  /** One-line reason when status is not `pushed`. */
  error?: string
  discoveredBy: LockDiscovery[]
}

export interface ReceiptChart {
  name: string
  version: string
  /** Digest of the chart's OCI artifact manifest. */
  digest: string
  /** sha256 of the .tgz. */
  tgzDigest: string
  /** Classic repository base URL (http(s)://, chartmuseum+https://, file://) where it was published. */
  repoUrl?: string
  /** `oci://HOST/PATH/name` (without version) where it was published. */
  ociRef?: string
  status: ItemStatus
  error?: string
}

export interface ReceiptStats {
  blobsPushed: number
  blobsSkipped: number
  blobsMounted: number
  manifestsPushed: number
  manifestsSkipped: number
  /** Bytes sent to the registry (blobs and manifests). */
  bytes: number
}

/** How push reached the mirror, so that `check` and `rewrite` need not be told again. */
export interface ReceiptConnection {
  /** Hosts of this push (the mirror registry, an oci:// chart registry) spoken to over plain HTTP. */
  plainHttp: string[]
  /** CA files (absolute paths on the machine that pushed) trusted besides the system CAs. */
  caFiles: string[]
}

/**
 * The W&B v2 server manifest of the bundle and the v2 layout it was pushed in (issue 17): each
 * manifest image at `imageRegistry/<its literal registry/repository>` (the operator prepends
 * imageRegistry), the manifest at `mirror`, the same digest as upstream.
 */
export interface ReceiptServerManifest {
  source: string
  version: string
  digest: string
  /** `HOST/PREFIX/wandb/server-manifest:<version>`. */
  mirror: string
  layout: 'operator-v2'
  /** `spec.global.imageRegistry` of the v2 WeightsAndBiases: `HOST[:PORT][/PREFIX]`. */
  imageRegistry: string
  /** `spec.wandb.manifestRepository`: `oci://HOST[:PORT][/PREFIX]/wandb/server-manifest`. */
  manifestRepository: string
  /** Every manifest image: its keys and where it went. */
  images: Array<{keys: string[]; source: string; mirror: string}>
  /** Whether the manifest itself made it. */
  status?: ItemStatus
}

export interface PushReceipt {
  apiVersion: typeof RECEIPT_API_VERSION
  kind: typeof RECEIPT_KIND
  /** False when some image or chart did not make it (rerun the same push to finish). */
  complete: boolean
  bundle: {
    path: string
    /** sha256 of airgap/lock.json (what the signature covers). */
    lockDigest: string
    /** Fingerprint of the key that verified the signature; absent when authenticity was not checked. */
    signer?: string
    authenticity: 'verified' | 'not-checked' | 'unsigned'
  }
  /** `HOST[:PORT][/PREFIX]` the images were pushed under. */
  registry: string
  keepSourceHost: boolean
  /** Path rules the images were placed under (`--max-nested-paths`, `--flatten`); absent: none (and in older receipts). */
  pathRules?: PathRules
  /** How the mirror was reached; absent in receipts written before it was recorded. */
  connection?: ReceiptConnection
  /** Where charts were published (credentials removed). */
  helmRepo?: string
  images: ReceiptImage[]
  charts: ReceiptChart[]
  stats: ReceiptStats
  started: string
  finished: string
  seconds: number
  /** A bundle with a W&B v2 server manifest: the v2 layout (absent otherwise). */
  serverManifest?: ReceiptServerManifest
}

const TEXT = {type: 'string', minLength: 1, expected: 'a non-empty string'}
const STATUS = {enum: ['pushed', 'failed', 'not-attempted', 'skipped']}
const COUNT = {type: 'integer', minimum: 0, expected: 'a whole number'}
const STRINGS = {type: 'array', items: {type: 'string'}}

/**
 * What readers of a receipt rely on. Fields of later releases are let through (a receipt is a
 * report, read by `check` and `rewrite` of other releases); the fields known here must have their type.
 */
export const RECEIPT_SCHEMA = new JsonSchema<PushReceipt>('push-receipt', {
  type: 'object',
  required: ['apiVersion', 'kind', 'complete', 'bundle', 'registry', 'keepSourceHost', 'images', 'charts'],
  properties: {
    apiVersion: {const: RECEIPT_API_VERSION},
    kind: {const: RECEIPT_KIND},
    complete: {type: 'boolean'},
    bundle: {
      type: 'object',
      required: ['path', 'lockDigest', 'authenticity'],
      properties: {path: TEXT, lockDigest: TEXT, signer: TEXT, authenticity: {enum: ['verified', 'not-checked', 'unsigned']}},
    },
    registry: TEXT,
    keepSourceHost: {type: 'boolean'},
    pathRules: {type: 'object', properties: {maxNestedPaths: {type: 'integer', minimum: 1, expected: 'a whole number of at least 1'}, flatten: {type: 'boolean'}}},
    connection: {type: 'object', required: ['plainHttp', 'caFiles'], properties: {plainHttp: STRINGS, caFiles: STRINGS}},
    helmRepo: TEXT,
    images: {
      type: 'array',
      items: {
        type: 'object',
        required: ['source', 'mirror', 'digest', 'status'],
        properties: {source: TEXT, mirror: TEXT, digest: TEXT, mediaType: {type: 'string'}, platforms: STRINGS, status: STATUS, error: {type: 'string'}, discoveredBy: {type: 'array', items: {type: 'object'}}},
      },
    },
    charts: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'version', 'tgzDigest', 'status'],
        properties: {name: TEXT, version: TEXT, digest: TEXT, tgzDigest: TEXT, repoUrl: TEXT, ociRef: TEXT, status: STATUS, error: {type: 'string'}},
      },
    },
    stats: {type: 'object', additionalProperties: COUNT},
    started: {type: 'string'},
    finished: {type: 'string'},
    seconds: {type: 'number', minimum: 0},
    serverManifest: {
      type: 'object',
      required: ['source', 'version', 'digest', 'mirror', 'layout', 'imageRegistry', 'manifestRepository', 'images'],
      properties: {
        source: TEXT,
        version: TEXT,
        digest: TEXT,
        mirror: TEXT,
        layout: {const: 'operator-v2'},
        imageRegistry: TEXT,
        manifestRepository: TEXT,
        images: {type: 'array', items: {type: 'object', required: ['keys', 'source', 'mirror'], properties: {keys: STRINGS, source: TEXT, mirror: TEXT}}},
        status: STATUS,
      },
    },
  },
})

/** Deterministic JSON text (two-space indent, trailing newline). */
export function serializeReceipt(receipt: PushReceipt): string {
  return `${JSON.stringify(receipt, null, 2)}\n`
}

/** Write the receipt atomically (src/files/atomic-write.ts). */
export async function writeReceipt(file: string, receipt: PushReceipt): Promise<void> {
  await writeFileAtomic(file, serializeReceipt(receipt), {mode: 0o644, syncFolder: true})
}

/** A push receipt named on the command line; missing is exit 7 (not found), as it always was. */
export const RECEIPT_FILE: InputFileKind = {
  what: 'push receipt',
  maxBytes: 256 * 1024 * 1024,
  refusal: 'input',
  missingIsNotFound: true,
  hint: 'pass the receipt `airgap push` wrote (default <bundle>.receipt.json)',
}

/** Read and check a receipt file (apiVersion/kind, required fields). */
export async function readReceipt(file: string): Promise<PushReceipt> {
  return parseReceipt(await readInputText(file, RECEIPT_FILE), file)
}

/** Parse receipt text; SpecError naming the file and field on anything malformed. */
export function parseReceipt(text: string, file: string): PushReceipt {
  const raw = parseJsonFile(text, file, 'pass the receipt `airgap push` wrote')
  const fail = fieldFailure(file, 'the receipt was damaged or edited; run the push again to rewrite it')
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('$', 'must be a JSON object')
  const r = raw as Record<string, unknown>
  if (r.apiVersion !== RECEIPT_API_VERSION || r.kind !== RECEIPT_KIND) {
    throw new UnsupportedError(`${file}: apiVersion ${JSON.stringify(r.apiVersion ?? null)} kind ${JSON.stringify(r.kind ?? null)} is not a push receipt (want ${RECEIPT_API_VERSION} ${RECEIPT_KIND})`, {
      hint: 'pass the receipt `airgap push` wrote',
    })
  }
  return RECEIPT_SCHEMA.check(raw, fail)
}

/** How an image was found: the lock's recorded kind and shape; for older locks (no kind) guessed from the fields present. */
function originOf(d: LockDiscovery): ImageOrigin {
  const kind = d.kind ?? (d.valuesPath ? 'values' : d.template ? 'template' : 'spec')
  const o: ImageOrigin = {chart: d.chart, source: kind}
  if (d.valuesPath !== undefined) o.valuesPath = d.valuesPath
  if (d.template !== undefined) o.template = d.template
  if (d.shape !== undefined) o.shape = d.shape
  return o
}

/** The MirrorMap `airgap rewrite` consumes: pushed images and published charts only. */
export function receiptToMirrorMap(receipt: PushReceipt): MirrorMap {
  return {
    registry: receipt.registry,
    keepSourceHost: receipt.keepSourceHost,
    images: receipt.images
      .filter((i) => i.status === 'pushed')
      .map((i) => ({source: i.source, mirror: i.mirror, digest: i.digest, origins: (i.discoveredBy ?? []).map(originOf)})),
    charts: receipt.charts
      .filter((c) => c.status === 'pushed')
      .map((c) => ({name: c.name, version: c.version, ...(c.repoUrl ? {repoUrl: c.repoUrl} : {}), ...(c.ociRef ? {ociRef: c.ociRef} : {})})),
  }
}
