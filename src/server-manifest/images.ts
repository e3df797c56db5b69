/**
 * Every image a (decoded or merged) manifest document names, with its key path. The known places
 * (what the operator reads) are:
 *
 *   <bucket|clickhouse|clickhouseKeeper|mysql|redis>.<name>.images.<k>
 *   kafka.images.<k>
 *   applications.<name>.image, applications.<name>.initContainers[i].image, applications.<name>.containers[i].image
 *   migrations.<name>.image
 *
 * and the walk is generic besides: any `images` map of image entries and any `image` entry found
 * anywhere else is listed too (readByOperator false), so an image a newer manifest adds under a
 * new key is still carried. An image entry is a map with a non-empty string `repository`.
 */
import {SpecError} from '../errors.js'
import {parseReference} from '../oci/reference.js'
import {isPlainObject} from '../validation/json-schema.js'
import type {FieldPath} from '../release/yaml.js'
import {formatPath} from '../release/yaml.js'
import {INFRA_SECTIONS} from './merge.js'
import type {ManifestImage, ManifestImageRef} from './types.js'

const IMAGE_REF_KEYS = new Set(['registry', 'repository', 'tag', 'digest'])

/** True when the operator reads an image at `path`. */
export function isOperatorImageKey(path: FieldPath): boolean {
  const [section, name, third, fourth, fifth, sixth] = path
  const len = path.length
  if ((INFRA_SECTIONS as readonly unknown[]).includes(section)) return len === 4 && typeof name === 'string' && third === 'images' && typeof fourth === 'string'
  if (section === 'kafka') return len === 3 && name === 'images' && typeof third === 'string'
  if (section === 'migrations') return len === 3 && typeof name === 'string' && third === 'image'
  if (section !== 'applications' || typeof name !== 'string') return false
  if (len === 3) return third === 'image'
  return len === 5 && (third === 'initContainers' || third === 'containers') && typeof fourth === 'number' && fifth === 'image' && sixth === undefined
}

/** What the operator writes after `imageRegistry + "/"`: `registry/repository`, or `repository` when registry is blank. */
export function operatorPathOf(ref: Pick<ManifestImageRef, 'registry' | 'repository'>): string {
  return ref.registry === '' ? ref.repository : `${ref.registry}/${ref.repository}`
}

/** `ImageRef.GetImage(imageRegistry)`: the reference the operator puts in the pod spec. */
export function operatorImage(ref: ManifestImageRef, imageRegistry = ''): string {
  const path = operatorPathOf(ref)
  const image = imageRegistry === '' ? path : `${imageRegistry}/${path}`
  if (ref.digest !== '') return `${image}@${ref.digest}`
  if (ref.tag !== '') return `${image}:${ref.tag}`
  return image
}

/** A map that looks like an image entry: a non-empty string repository, every field a string, no other keys. */
function asImageRef(v: unknown): ManifestImageRef | undefined {
  if (!isPlainObject(v) || typeof v['repository'] !== 'string' || v['repository'] === '') return undefined
  if (Object.keys(v).some((k) => !IMAGE_REF_KEYS.has(k))) return undefined
  const field = (k: string): string | undefined => (v[k] === undefined || v[k] === null ? '' : typeof v[k] === 'string' ? (v[k] as string) : undefined)
  const [registry, tag, digest] = [field('registry'), field('tag'), field('digest')]
  if (registry === undefined || tag === undefined || digest === undefined) return undefined
  return {registry, repository: v['repository'] as string, tag, digest}
}

export interface ImageProblem {
  path: FieldPath
  message: string
}

export interface FoundImages {
  images: ManifestImage[]
  /** Image entries that cannot be pulled as written (bad reference, blank repository at a known key). */
  problems: ImageProblem[]
}

/** Every image `doc` names, sorted by key. */
export function findImages(doc: Record<string, unknown>): FoundImages {
  const images: ManifestImage[] = []
  const problems: ImageProblem[] = []
  const add = (value: unknown, path: FieldPath): void => {
    const known = isOperatorImageKey(path)
    const ref = asImageRef(value)
    if (ref === undefined) {
      const blank = isPlainObject(value) && (value['repository'] === '' || value['repository'] === undefined || value['repository'] === null)
      // a container without its own image runs the application's image: not a problem
      const containerFallback = path.length === 5 && path[0] === 'applications'
      if (known && blank && !containerFallback) problems.push({path, message: 'the image has no repository, so the operator would start a container without an image'})
      return
    }
    const reference = [operatorPathOf(ref), ref.tag !== '' ? `:${ref.tag}` : '', ref.digest !== '' ? `@${ref.digest}` : ''].join('')
    try {
      const source = parseReference(reference)
      images.push({key: formatPath(path), ref, operatorPath: operatorPathOf(ref), source, readByOperator: known})
    } catch (err) {
      if (known) problems.push({path, message: `"${reference}" is not a valid image reference: ${(err as Error).message.replace(/^invalid image reference "[^"]*": /, '')}`})
    }
  }
  const walk = (value: unknown, path: FieldPath): void => {
    if (Array.isArray(value)) return value.forEach((x, i) => walk(x, [...path, i]))
    if (!isPlainObject(value)) return
    for (const [k, v] of Object.entries(value)) {
      const at = [...path, k]
      if (k === 'image' && isPlainObject(v)) {
        add(v, at)
        continue
      }
      if (k === 'images' && isPlainObject(v) && Object.values(v).every((x) => isPlainObject(x) || x === null)) {
        for (const [name, entry] of Object.entries(v)) if (entry !== null) add(entry, [...at, name])
        continue
      }
      walk(v, at)
    }
  }
  walk(doc, [])
  images.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return {images, problems}
}

/** Throw a SpecError naming every image entry the merged document cannot be pulled with. */
export function refuseImageProblems(problems: readonly ImageProblem[], where: string): void {
  if (problems.length === 0) return
  const lines = problems.map((p) => `${formatPath(p.path)}: ${p.message}`)
  throw new SpecError(`server manifest ${where}: ${lines.join('; ')}`, where, formatPath(problems[0]!.path), {
    hint: 'the server manifest is damaged or was edited by hand; pull a published version or fix the entries named',
  })
}
