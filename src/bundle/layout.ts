/**
 * The bundle format (v1): which entry names a bundle may hold, their size caps, and the
 * deterministic index.json the writer's caller stores. Pure: no IO.
 */
import {IntegrityError, UnsupportedError} from '../errors.js'
import {parseDigest} from '../oci/digest.js'
import {Annotation, MediaType} from '../oci/types.js'
import type {Descriptor} from '../oci/types.js'

export const OCI_LAYOUT = 'oci-layout'
export const INDEX_JSON = 'index.json'
export const LOCK_JSON = 'airgap/lock.json'
export const SPEC_YAML = 'airgap/spec.yaml'
export const SIGNATURE = 'airgap/signature.sigstore.json'

/** The files under `airgap/` a bundle may hold, in the order the writer stores them. */
export const AIRGAP_FILES = [LOCK_JSON, SPEC_YAML, SIGNATURE] as const
export type AirgapFile = (typeof AIRGAP_FILES)[number]

/** Bytes of the `oci-layout` file every bundle starts with. */
export const OCI_LAYOUT_BYTES = Buffer.from('{"imageLayoutVersion":"1.0.0"}')

/** Default cap for every non-blob entry (oci-layout, index.json, airgap/*). */
export const MAX_METADATA_BYTES = 16 * 1024 * 1024

const HEX_LENGTH = {sha256: 64, sha512: 128} as const

export type EntryKind = 'blob' | 'metadata'

/**
 * Classify an entry name, or explain why it is not allowed in a bundle. Allowed: `oci-layout`,
 * `index.json`, `blobs/<alg>/<hex>` (lower-case hex of the algorithm's length) and the known
 * `airgap/` files. Returns a reason string for anything else.
 */
export function classifyEntryName(name: string): EntryKind | {reason: string} {
  if (name.includes('\u0000')) return {reason: 'name contains a NUL byte'}
  if (name.includes('\\')) return {reason: 'name contains a backslash'}
  if (name.startsWith('/')) return {reason: 'absolute path'}
  if (name.split('/').some((c) => c === '..')) return {reason: 'path contains a ".." component'}
  if (name.split('/').some((c) => c === '' || c === '.')) return {reason: 'path has an empty or "." component'}
  if (name === OCI_LAYOUT || name === INDEX_JSON) return 'metadata'
  if ((AIRGAP_FILES as readonly string[]).includes(name)) return 'metadata'
  const m = /^blobs\/(sha256|sha512)\/([0-9a-f]+)$/.exec(name)
  if (m) {
    const alg = m[1] as keyof typeof HEX_LENGTH
    if (m[2]!.length === HEX_LENGTH[alg]) return 'blob'
    return {reason: `blob name must be ${HEX_LENGTH[alg]} lower-case hex digits for ${alg}`}
  }
  return {reason: 'not part of the bundle layout (allowed: oci-layout, index.json, blobs/<alg>/<hex>, airgap/{lock.json,spec.yaml,signature.sigstore.json})'}
}

/**
 * The entry name of a blob: `blobs/<alg>/<hex>`. An invalid digest throws IntegrityError naming
 * `where` when given (a digest from content), else UsageError.
 */
export function blobEntryName(digest: string, where?: string): string {
  const {algorithm, hex} = parseDigest(digest, where)
  return `blobs/${algorithm}/${hex}`
}

/** The digest named by a blob entry (`blobs/sha256/<hex>` -> `sha256:<hex>`). */
export function digestOfEntryName(name: string): string {
  const [, alg, hex] = name.split('/')
  return `${alg}:${hex}`
}

/** Blob entry names must fit the ustar name field: sha512 blobs (142 bytes) cannot be stored. */
export function assertStorable(desc: Descriptor, where: string): void {
  const name = blobEntryName(desc.digest, where)
  if (Buffer.byteLength(name) > 100) {
    throw new UnsupportedError(`${where}: cannot store ${desc.digest}: its entry name exceeds the 100-byte ustar limit`, {
      hint: 'bundles store sha256 content only',
    })
  }
  if (!Number.isSafeInteger(desc.size) || desc.size < 0) {
    throw new IntegrityError(`${where}: descriptor ${desc.digest} has an invalid size ${desc.size}`)
  }
}

/** One image or chart named in the bundle's index.json. */
export interface IndexEntry {
  /** Full normalised source reference, e.g. `docker.io/wandb/local:0.62.2`. */
  ref: string
  /** The manifest or index the reference resolved to. */
  desc: Descriptor
}

/**
 * Build a deterministic index.json: entries sorted by reference, each descriptor keeping its
 * annotations plus `org.opencontainers.image.ref.name` and `io.containerd.image.name` = ref.
 */
export function buildIndexJson(entries: readonly IndexEntry[]): Buffer {
  const seen = new Set<string>()
  const manifests = [...entries]
    .sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0))
    .map(({ref, desc}) => {
      if (seen.has(ref)) throw new IntegrityError(`index.json: reference ${ref} is listed twice`)
      seen.add(ref)
      const out: Record<string, unknown> = {mediaType: desc.mediaType, digest: desc.digest, size: desc.size}
      if (desc.artifactType !== undefined) out.artifactType = desc.artifactType
      if (desc.platform !== undefined) out.platform = desc.platform
      out.annotations = {...desc.annotations, [Annotation.ContainerdImageName]: ref, [Annotation.RefName]: ref}
      return out
    })
  return Buffer.from(JSON.stringify({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests}, null, 2) + '\n')
}
