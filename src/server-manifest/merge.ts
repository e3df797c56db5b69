/**
 * The operator's merge of the manifest files (manifest.go `mergeSimple`), reproduced on the
 * decoded documents, files in byte order of their names:
 *
 *  - requiredOperatorVersion, generatedSecrets, kafka.topics: the first file that sets them wins;
 *  - features, commonEnvvars, commonVolumeMounts, migrations, kafka.sizing, kafka.images: per key,
 *    a later file replaces the earlier value of that key;
 *  - bucket, clickhouse, clickhouseKeeper, mysql, redis (`<section>.<name>`): an entry first seen
 *    in a later file is taken whole; for an entry an earlier file already has, a later file adds
 *    only `ingress` (replacing it) and `sizing` keys — its `images` are IGNORED;
 *  - applications.<name>: likewise, a later file adds only `ingress`, `sizing` keys and new
 *    `commonEnvs` entries — its `image`, containers and everything else are ignored.
 *
 * Keys the operator does not know are merged generically (maps per key, a later scalar or list
 * wins) so that what they name can still be listed; the operator itself drops them.
 */
import {isPlainObject} from '../validation/json-schema.js'

type Doc = Record<string, unknown>

export const INFRA_SECTIONS = ['bucket', 'clickhouse', 'clickhouseKeeper', 'mysql', 'redis'] as const
export const KNOWN_KEYS: ReadonlySet<string> = new Set([
  'requiredOperatorVersion',
  'features',
  'generatedSecrets',
  'commonEnvvars',
  'commonVolumeMounts',
  ...INFRA_SECTIONS,
  'kafka',
  'applications',
  'migrations',
])

const asMap = (v: unknown): Doc | undefined => (isPlainObject(v) ? v : undefined)
const emptyString = (v: unknown): boolean => v === undefined || v === null || v === ''
const emptyList = (v: unknown): boolean => !Array.isArray(v) || v.length === 0

/** Merge decoded files (already in merge order) into one document. Inputs are not modified. */
export function mergeManifestDocuments(files: readonly Doc[]): Doc {
  const dst: Doc = {}
  for (const file of files) mergeOne(dst, structuredClone(file))
  return dst
}

function mergeOne(dst: Doc, src: Doc): void {
  if (emptyString(dst['requiredOperatorVersion']) && src['requiredOperatorVersion'] !== undefined) dst['requiredOperatorVersion'] = src['requiredOperatorVersion']
  const features = asMap(dst['features'])
  if (features === undefined) {
    if (src['features'] !== undefined) dst['features'] = src['features']
  } else if (asMap(src['features'])) Object.assign(features, src['features'])

  for (const section of INFRA_SECTIONS) {
    const from = asMap(src[section])
    if (from === undefined) continue
    dst[section] = mergeEntries(asMap(dst[section]) ?? {}, from, mergeInfra)
  }

  const srcKafka = asMap(src['kafka'])
  if (srcKafka !== undefined) {
    const kafka = asMap(dst['kafka']) ?? {}
    dst['kafka'] = kafka
    for (const key of ['sizing', 'images']) {
      const from = asMap(srcKafka[key])
      if (from !== undefined) kafka[key] = {...(asMap(kafka[key]) ?? {}), ...from}
    }
    if (emptyList(kafka['topics']) && srcKafka['topics'] !== undefined) kafka['topics'] = srcKafka['topics']
    for (const [k, v] of Object.entries(srcKafka)) if (!['sizing', 'images', 'topics'].includes(k) && !(k in kafka)) kafka[k] = v
  }

  const apps = asMap(src['applications'])
  if (apps !== undefined) dst['applications'] = mergeEntries(asMap(dst['applications']) ?? {}, apps, mergeApplication)

  for (const key of ['migrations', 'commonEnvvars', 'commonVolumeMounts']) {
    const from = asMap(src[key])
    if (from !== undefined) dst[key] = {...(asMap(dst[key]) ?? {}), ...from}
  }
  if (emptyList(dst['generatedSecrets']) && src['generatedSecrets'] !== undefined) dst['generatedSecrets'] = src['generatedSecrets']

  for (const [k, v] of Object.entries(src)) if (!KNOWN_KEYS.has(k)) dst[k] = deepMerge(dst[k], v)
}

/** `<section>.<name>` entries: a new name is taken whole, an existing one goes through `merge`. */
function mergeEntries(dst: Doc, src: Doc, merge: (earlier: Doc, later: Doc) => Doc): Doc {
  for (const [name, value] of Object.entries(src)) {
    const later = asMap(value) ?? {}
    const earlier = name in dst ? (asMap(dst[name]) ?? {}) : undefined
    dst[name] = earlier === undefined ? later : merge(earlier, later)
  }
  return dst
}

/** mergeInfraConfigs: ingress (replaced when the later file has one) and sizing keys; images stay the earlier file's. */
function mergeInfra(earlier: Doc, later: Doc): Doc {
  const merged = {...earlier}
  if (later['ingress'] !== undefined && later['ingress'] !== null) merged['ingress'] = later['ingress']
  const sizing = asMap(later['sizing'])
  if (sizing !== undefined) merged['sizing'] = {...(asMap(merged['sizing']) ?? {}), ...sizing}
  return merged
}

/** mergeApplications: as mergeInfra, plus commonEnvs entries the earlier file lacks (checked against the earlier list only). */
function mergeApplication(earlier: Doc, later: Doc): Doc {
  const merged = mergeInfra(earlier, later)
  const envs = Array.isArray(later['commonEnvs']) ? later['commonEnvs'] : []
  if (envs.length > 0) {
    const before = Array.isArray(merged['commonEnvs']) ? merged['commonEnvs'] : []
    const known = new Set(before)
    merged['commonEnvs'] = [...before, ...envs.filter((e) => !known.has(e))]
  }
  return merged
}

function deepMerge(a: unknown, b: unknown): unknown {
  const am = asMap(a)
  const bm = asMap(b)
  if (am === undefined || bm === undefined) return b
  const out = {...am}
  for (const [k, v] of Object.entries(bm)) out[k] = deepMerge(out[k], v)
  return out
}
