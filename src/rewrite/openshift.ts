/**
 * OpenShift mirror configuration (`airgap rewrite --idms FILE`): an ImageDigestMirrorSet and an
 * ImageTagMirrorSet (config.openshift.io/v1) with one entry per source repository of the mirror
 * map, each pointing at the repository the image was pushed to. Per repository, not per registry,
 * so that `NeverContactSource` cannot cut a cluster off images the mirror does not hold.
 * Both documents are validated against the schema of their CRDs (openshift/api, config/v1: the
 * same `source` and `mirrors` patterns, the `mirrorSourcePolicy` enum) before they are returned.
 */
import {UsageError} from '../errors.js'
import {parseReference} from '../oci/reference.js'
import type {MirrorMap} from '../mirror/types.js'
import {formatJsonPath, JsonSchema} from '../validation/json-schema.js'

export type MirrorSourcePolicy = 'NeverContactSource' | 'AllowContactingSource'

export interface MirrorSetOptions {
  /** metadata.name of both objects (default `airgap-mirror`). */
  name?: string
  /** Fallback when the mirror fails (default: unset, i.e. the source may be contacted). */
  sourcePolicy?: MirrorSourcePolicy
}

interface MirrorEntry {
  source: string
  mirrors: string[]
  mirrorSourcePolicy?: MirrorSourcePolicy
}

export interface MirrorSetDocument {
  apiVersion: 'config.openshift.io/v1'
  kind: 'ImageDigestMirrorSet' | 'ImageTagMirrorSet'
  metadata: {name: string}
  spec: {imageDigestMirrors?: MirrorEntry[]; imageTagMirrors?: MirrorEntry[]}
}

// The patterns of the CRDs' `source` and `mirrors` fields (host[:port][/namespace…]; source may also be `*.host`).
const LOCATION = String.raw`((?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))+)?(?::[0-9]+)?)(?:(?:/[a-z0-9]+(?:(?:(?:[._]|__|[-]*)[a-z0-9]+)+)?)+)?$`
const SOURCE_PATTERN = String.raw`^\*(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))+$|^` + LOCATION
const MIRROR_PATTERN = `^${LOCATION}`

const entriesSchema = {
  type: 'array',
  items: {
    type: 'object',
    required: ['source'],
    properties: {
      source: {type: 'string', pattern: SOURCE_PATTERN},
      mirrors: {type: 'array', uniqueItems: true, items: {type: 'string', pattern: MIRROR_PATTERN}},
      mirrorSourcePolicy: {type: 'string', enum: ['NeverContactSource', 'AllowContactingSource']},
    },
    additionalProperties: false,
  },
}

const documentSchema = {
  type: 'object',
  required: ['apiVersion', 'kind', 'metadata', 'spec'],
  properties: {
    apiVersion: {const: 'config.openshift.io/v1'},
    kind: {enum: ['ImageDigestMirrorSet', 'ImageTagMirrorSet']},
    metadata: {type: 'object', required: ['name'], properties: {name: {type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$', maxLength: 253}}},
    spec: {type: 'object', properties: {imageDigestMirrors: entriesSchema, imageTagMirrors: entriesSchema}, additionalProperties: false},
  },
}

/** The part of the ImageDigestMirrorSet / ImageTagMirrorSet CRD schemas that airgap's output must fit. */
export const MIRROR_SET_SCHEMA = new JsonSchema<MirrorSetDocument>('openshift-mirror-set', documentSchema)

/** Check one document against the CRD schema; the problems, each `$.path message`. */
export function mirrorSetProblems(doc: unknown): string[] {
  return MIRROR_SET_SCHEMA.problems(doc).map((p) => `${formatJsonPath(p.path)} ${p.message}`)
}

/** `registry/repository` of a reference (no tag, no digest). */
function repositoryOf(ref: string): string {
  const r = parseReference(ref)
  return `${r.registry}/${r.repository}`
}

/** The ImageDigestMirrorSet and ImageTagMirrorSet for every source repository of the map. */
export function buildMirrorSets(map: MirrorMap, opts: MirrorSetOptions = {}): {digest: MirrorSetDocument; tag: MirrorSetDocument} {
  const bySource = new Map<string, Set<string>>()
  for (const image of map.images) {
    const source = repositoryOf(image.source)
    if (!bySource.has(source)) bySource.set(source, new Set())
    bySource.get(source)!.add(repositoryOf(image.mirror))
  }
  const entries: MirrorEntry[] = [...bySource.keys()].sort().map((source) => {
    const entry: MirrorEntry = {source, mirrors: [...bySource.get(source)!].sort()}
    if (opts.sourcePolicy) entry.mirrorSourcePolicy = opts.sourcePolicy
    return entry
  })
  const name = opts.name ?? 'airgap-mirror'
  const digest: MirrorSetDocument = {apiVersion: 'config.openshift.io/v1', kind: 'ImageDigestMirrorSet', metadata: {name}, spec: {imageDigestMirrors: entries}}
  const tag: MirrorSetDocument = {apiVersion: 'config.openshift.io/v1', kind: 'ImageTagMirrorSet', metadata: {name}, spec: {imageTagMirrors: entries.map((e) => ({...e, mirrors: [...e.mirrors]}))}}
  for (const doc of [digest, tag]) {
    const problems = mirrorSetProblems(doc)
    if (problems.length > 0) {
      throw new UsageError(`the ${doc.kind} for mirror ${map.registry} does not fit its CRD schema: ${problems.join('; ')}`, {
        hint: 'OpenShift takes only lower-case repository paths and host[:port] locations; check the mirror registry name',
      })
    }
  }
  return {digest, tag}
}
