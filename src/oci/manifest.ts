/**
 * Manifest and index parsing. Bytes are never re-serialised: callers keep the original bytes and
 * use the parsed value only to walk the graph. Unknown artifact, config and layer media types are
 * opaque and never an error; Docker schema 1 is refused.
 */
import {IntegrityError, UnsupportedError} from '../errors.js'
import {digestProblem} from './digest.js'
import {MediaType} from './types.js'
import type {Descriptor, ImageIndex, ImageManifest} from './types.js'

export type ParsedManifest =
  | {kind: 'index'; index: ImageIndex; mediaType: string}
  | {kind: 'manifest'; manifest: ImageManifest; mediaType: string}

const INDEX_TYPES: ReadonlySet<string> = new Set([MediaType.OciIndex, MediaType.DockerManifestList])
const MANIFEST_TYPES: ReadonlySet<string> = new Set([MediaType.OciManifest, MediaType.DockerManifest])
/** Schema 1 is also detected by `schemaVersion: 1` (very old registries serve it as application/json). */
const SCHEMA1_TYPES: ReadonlySet<string> = new Set([MediaType.DockerSchema1, MediaType.DockerSchema1Signed])

/** The bare media type: parameters (`; charset=…`) removed, lower case, trimmed. */
export function bareMediaType(mt: string | undefined | null): string {
  return (mt ?? '').split(';', 1)[0]!.trim().toLowerCase()
}

/** OCI index or Docker manifest list. */
export function isIndexMediaType(mt: string): boolean {
  return INDEX_TYPES.has(bareMediaType(mt))
}

/** OCI image manifest or Docker schema 2 manifest (not an index). */
export function isManifestMediaType(mt: string): boolean {
  return MANIFEST_TYPES.has(bareMediaType(mt))
}

/** Index or manifest: content whose bytes must be parsed to find its children. */
export function isGraphMediaType(mt: string): boolean {
  return isIndexMediaType(mt) || isManifestMediaType(mt)
}

function schema1Error(where: string): UnsupportedError {
  return new UnsupportedError(`manifest ${where} is a Docker schema 1 manifest: Docker schema 1 manifests are not supported`, {
    hint: 're-push the image with a current client (docker, skopeo, crane) so that it gets a schema 2 or OCI manifest',
  })
}

function decode(bytes: Uint8Array, where: string): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
  } catch (err) {
    throw new IntegrityError(`manifest ${where} is not valid JSON: ${(err as Error).message}`, {
      hint: 'the registry or file returned damaged content; fetch it again or re-push the image',
      cause: err,
    })
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new IntegrityError(`manifest ${where} is not a JSON object`, {
      hint: 'the registry or file returned damaged content; fetch it again or re-push the image',
    })
  }
  return value as Record<string, unknown>
}

function invalid(where: string, path: string, problem: string): IntegrityError {
  return new IntegrityError(`manifest ${where} is invalid at ${path}: ${problem}`, {
    hint: 'the manifest was produced by a broken tool or damaged; re-push the image with a current client',
  })
}

/**
 * Check the required fields of a descriptor (mediaType string, valid digest, non-negative integer
 * size, well-typed optional fields) and report the JSON path of a bad one.
 */
export function validateDescriptor(value: unknown, where: string, path: string): Descriptor {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(where, path, 'descriptor must be an object')
  const d = value as Record<string, unknown>
  if (typeof d.mediaType !== 'string' || d.mediaType === '') throw invalid(where, `${path}.mediaType`, 'must be a non-empty string')
  if (typeof d.digest !== 'string') throw invalid(where, `${path}.digest`, 'must be a string')
  const problem = digestProblem(d.digest)
  if (problem !== undefined) throw invalid(where, `${path}.digest`, `"${d.digest}": ${problem}`)
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) {
    throw invalid(where, `${path}.size`, `must be a non-negative integer, got ${JSON.stringify(d.size)}`)
  }
  if (d.urls !== undefined && (!Array.isArray(d.urls) || d.urls.some((u) => typeof u !== 'string'))) {
    throw invalid(where, `${path}.urls`, 'must be an array of strings')
  }
  if (d.annotations !== undefined) checkAnnotations(d.annotations, where, `${path}.annotations`)
  if (d.artifactType !== undefined && typeof d.artifactType !== 'string') throw invalid(where, `${path}.artifactType`, 'must be a string')
  if (d.data !== undefined && typeof d.data !== 'string') throw invalid(where, `${path}.data`, 'must be a base64 string')
  if (d.platform !== undefined) {
    const p = d.platform as Record<string, unknown> | null
    if (p === null || typeof p !== 'object' || Array.isArray(p)) throw invalid(where, `${path}.platform`, 'must be an object')
    if (typeof p.os !== 'string') throw invalid(where, `${path}.platform.os`, 'must be a string')
    if (typeof p.architecture !== 'string') throw invalid(where, `${path}.platform.architecture`, 'must be a string')
    if (p.variant !== undefined && typeof p.variant !== 'string') throw invalid(where, `${path}.platform.variant`, 'must be a string')
  }
  return value as Descriptor
}

function checkAnnotations(value: unknown, where: string, path: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalid(where, path, 'must be an object of strings')
  for (const [k, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw invalid(where, `${path}["${k}"]`, 'must be a string')
  }
}

function descriptorArray(value: unknown, where: string, path: string): Descriptor[] {
  if (!Array.isArray(value)) throw invalid(where, path, 'must be an array of descriptors')
  return value.map((d, i) => validateDescriptor(d, where, `${path}[${i}]`))
}

/** Decide index vs manifest from the given type, then the body's mediaType, then the shape. */
function kindOf(body: Record<string, unknown>, given: string, where: string): {kind: 'index' | 'manifest'; mediaType: string} {
  const bodyType = body.mediaType === undefined ? undefined : body.mediaType
  if (bodyType !== undefined && typeof bodyType !== 'string') throw invalid(where, 'mediaType', 'must be a string')
  const bodyBare = bodyType === undefined ? '' : bareMediaType(bodyType)
  if (SCHEMA1_TYPES.has(given) || SCHEMA1_TYPES.has(bodyBare) || body.schemaVersion === 1) throw schema1Error(where)
  if (given === MediaType.OciArtifactManifest || bodyBare === MediaType.OciArtifactManifest) {
    throw new UnsupportedError(`manifest ${where} is an OCI artifact manifest (${MediaType.OciArtifactManifest}), which image-spec 1.1 removed`, {
      hint: 're-push the artifact as an OCI image manifest with artifactType (oras >= 1.0 does this)',
    })
  }
  if (body.schemaVersion !== 2) {
    throw new UnsupportedError(`manifest ${where} has schemaVersion ${JSON.stringify(body.schemaVersion)}; only schemaVersion 2 is supported`, {
      hint: 're-push the image with a current client',
    })
  }
  const givenKnown = isGraphMediaType(given)
  if (givenKnown && bodyBare !== '' && bodyBare !== given) {
    throw new IntegrityError(`manifest ${where} says its mediaType is "${bodyBare}" but it was served or referenced as "${given}"`, {
      hint: 'the registry or the parent descriptor disagrees with the content; re-push the image',
    })
  }
  const hasManifests = Array.isArray(body.manifests)
  const hasConfig = body.config !== undefined
  const mediaType = givenKnown
    ? given
    : isGraphMediaType(bodyBare)
      ? bodyBare
      : hasManifests && !hasConfig
        ? MediaType.OciIndex
        : hasConfig && !hasManifests
          ? MediaType.OciManifest
          : ''
  if (mediaType === '') {
    throw new IntegrityError(`content ${where} is neither an image index nor an image manifest`, {
      hint: 'check that the reference names an image or a chart, not a blob',
    })
  }
  return {kind: isIndexMediaType(mediaType) ? 'index' : 'manifest', mediaType}
}

/**
 * Parse manifest or index bytes. `mediaType` comes from Content-Type or the parent descriptor
 * (parameters ignored); when it is not a manifest type, the body's mediaType and then its shape
 * decide. Throws UnsupportedError for Docker schema 1 and IntegrityError for invalid content, a
 * body mediaType contradicting `mediaType`, or a bad descriptor (naming its JSON path).
 * `where` names the content in messages (e.g. `docker.io/library/redis:7 (source)`).
 */
export function parseManifest(bytes: Uint8Array, mediaType: string, where: string): ParsedManifest {
  const body = decode(bytes, where)
  const {kind, mediaType: effective} = kindOf(body, bareMediaType(mediaType), where)
  if (body.annotations !== undefined) checkAnnotations(body.annotations, where, 'annotations')
  if (body.artifactType !== undefined && typeof body.artifactType !== 'string') throw invalid(where, 'artifactType', 'must be a string')
  if (body.subject !== undefined) validateDescriptor(body.subject, where, 'subject')
  if (kind === 'index') {
    if (!Array.isArray(body.manifests)) throw invalid(where, 'manifests', 'an index must have a manifests array')
    descriptorArray(body.manifests, where, 'manifests')
    return {kind, index: body as unknown as ImageIndex, mediaType: effective}
  }
  if (body.config === undefined) throw invalid(where, 'config', 'an image manifest must have a config descriptor')
  validateDescriptor(body.config, where, 'config')
  descriptorArray(body.layers, where, 'layers')
  return {kind, manifest: body as unknown as ImageManifest, mediaType: effective}
}

/** The children of a parsed manifest or index, in document order (subject last). */
export function childrenOf(parsed: ParsedManifest): Descriptor[] {
  const own = parsed.kind === 'index' ? [...parsed.index.manifests] : [parsed.manifest.config, ...parsed.manifest.layers]
  const subject = parsed.kind === 'index' ? parsed.index.subject : parsed.manifest.subject
  if (subject !== undefined) own.push(subject)
  return own
}

/**
 * The descriptors `desc` points to: index -> manifests (+ subject); manifest -> config, layers
 * (+ subject); anything else (blobs) -> []. `bytes` are the content of `desc`.
 */
export function successors(bytes: Uint8Array, desc: Descriptor): Descriptor[] {
  if (!isGraphMediaType(desc.mediaType)) return []
  return childrenOf(parseManifest(bytes, desc.mediaType, desc.digest))
}

/** The media type of manifest bytes from the body's mediaType or its shape; never throws. */
export function manifestMediaTypeOf(bytes: Uint8Array): string | undefined {
  let body: Record<string, unknown>
  try {
    body = decode(bytes, '')
  } catch {
    return undefined
  }
  if (typeof body.mediaType === 'string' && body.mediaType !== '') return bareMediaType(body.mediaType)
  if (body.schemaVersion === 1) return MediaType.DockerSchema1
  if (Array.isArray(body.manifests)) return MediaType.OciIndex
  if (body.config !== undefined && typeof body.config === 'object') return MediaType.OciManifest
  return undefined
}
