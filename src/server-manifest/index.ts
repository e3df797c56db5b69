/**
 * The W&B v2 operator's server manifest: resolve the artifact through any content source (a
 * registry repository, a bundle), decode and check every YAML file with positions, merge them as
 * the operator does, and list every image the result names with its key.
 */
import {NotFoundError} from '../errors.js'
import type {Resolver} from '../content/types.js'
import {formatReference} from '../oci/reference.js'
import {readManifestArtifact, type ManifestSource} from './artifact.js'
import {decodeManifestFile} from './decode.js'
import {findImages, refuseImageProblems} from './images.js'
import {KNOWN_KEYS, mergeManifestDocuments} from './merge.js'
import type {ManifestFile, ManifestImage, ServerManifest} from './types.js'

export * from './types.js'
export {readManifestArtifact, ARTIFACT_LIMITS} from './artifact.js'
export type {ManifestSource} from './artifact.js'
export {decodeManifestFile, goScalarString} from './decode.js'
export {mergeManifestDocuments, INFRA_SECTIONS} from './merge.js'
export {findImages, isOperatorImageKey, operatorImage, operatorPathOf} from './images.js'
export {checkOperatorVersion} from './operator-version.js'
export type {OperatorVersionCheck} from './operator-version.js'

/** Images the operator reads with a built-in fallback when the manifest does not name them (pulled WITHOUT imageRegistry). */
export const FALLBACK_IMAGE_KEYS = [
  'bucket.default.images.seaweedfs',
  'clickhouse.default.images.server',
  'clickhouseKeeper.default.images.keeper',
  'kafka.images.bufstream',
  'kafka.images.etcd',
  'kafka.images.bucketEnsure',
  'mysql.default.images.mysql',
  'redis.default.images.standalone',
  'redis.default.images.sentinel',
  'redis.default.images.replication',
  'redis.default.images.exporter',
] as const

export interface LoadOptions {
  signal?: AbortSignal
}

/** `fileName (layer N)` as messages name a file. */
function fileLabel(file: ManifestFile): string {
  return `${file.name} (layer ${file.layer + 1})`
}

/**
 * Resolve `reference` in `source` (a tag for a registry repository, the full ref.name for a
 * bundle) and return the merged manifest and its images. `where` names the artifact in messages
 * (default: the reference).
 */
export async function loadServerManifest(source: ManifestSource, reference: string, where = reference, options: LoadOptions = {}): Promise<ServerManifest> {
  const {artifact, files} = await readManifestArtifact(source, reference, where, options.signal)
  return serverManifestOf(files, artifact, where)
}

/** Decode, merge and list images of files already read (pure). */
export function serverManifestOf(files: ManifestFile[], artifact: ServerManifest['artifact'], where: string): ServerManifest {
  const warnings: string[] = []
  const decoded = files.map((file) => {
    const d = decodeManifestFile(file.bytes.toString('utf8'), `${where}: ${fileLabel(file)}`)
    warnings.push(...d.warnings)
    return {file, value: d.value}
  })
  const document = mergeManifestDocuments(decoded.map((d) => d.value))
  const {images, problems} = findImages(document)
  refuseImageProblems(problems, where)
  warnings.push(...ignoredImages(decoded, images, where), ...unknownSections(document, where), ...fallbacks(images, where))
  const required = document['requiredOperatorVersion']
  const result: ServerManifest = {reference: where, artifact, files, document, images, warnings}
  if (typeof required === 'string' && required !== '') result.requiredOperatorVersion = required
  return result
}

const identity = (i: ManifestImage): string => `${i.key}|${i.operatorPath}|${i.ref.tag}|${i.ref.digest}`

/** Images a file names that the merge drops: the operator never runs them. */
function ignoredImages(decoded: ReadonlyArray<{file: ManifestFile; value: Record<string, unknown>}>, merged: readonly ManifestImage[], where: string): string[] {
  const kept = new Set(merged.map(identity))
  const out: string[] = []
  for (const {file, value} of decoded) {
    for (const image of findImages(value).images) {
      if (kept.has(identity(image))) continue
      const [section, name] = image.key.split('.')
      const reason =
        section === 'applications' || (section !== undefined && ['bucket', 'clickhouse', 'clickhouseKeeper', 'mysql', 'redis'].includes(section))
          ? `an earlier file (in name order) already defines ${section}.${name}, and the operator takes only ingress and sizing${section === 'applications' ? ' and commonEnvs' : ''} from later files`
          : 'a later file (in name order) sets the same key'
      out.push(`${where}: ${fileLabel(file)}: ${image.key} (${formatReference(image.source)}) is ignored by the operator: ${reason}`)
    }
  }
  return out
}

function unknownSections(document: Record<string, unknown>, where: string): string[] {
  return Object.keys(document)
    .filter((k) => !KNOWN_KEYS.has(k))
    .map((k) => `${where}: top-level key "${k}" is not read by this operator version; images under it are listed anyway`)
}

function fallbacks(images: readonly ManifestImage[], where: string): string[] {
  const keys = new Set(images.map((i) => i.key))
  const missing = FALLBACK_IMAGE_KEYS.filter((k) => !keys.has(k))
  if (missing.length === 0) return []
  return [
    `${where}: names no image at ${missing.join(', ')}; the operator then uses built-in images that it pulls WITHOUT spec.global.imageRegistry (a node-level registry mirror must serve them) if those components are managed`,
  ]
}

/** One image of the manifest that its registry does not have. */
export interface MissingImage {
  image: ManifestImage
  reason: string
}

/**
 * Resolve every image (by digest when pinned, else by tag) through `repositoryFor` and return
 * those that do not exist, each with its manifest key. Other failures (auth, network) are thrown.
 */
export async function findMissingImages(images: readonly ManifestImage[], repositoryFor: (image: ManifestImage) => Resolver, signal?: AbortSignal): Promise<MissingImage[]> {
  const missing: MissingImage[] = []
  for (const image of images) {
    const ref = image.source.digest ?? image.source.tag ?? 'latest'
    try {
      await repositoryFor(image).resolve(ref, signal)
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err
      missing.push({image, reason: err.message})
    }
  }
  return missing
}
