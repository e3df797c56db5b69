/**
 * The mirror inventory (`airgap inventory`, issue 10): what a private registry holds, as a small
 * versioned JSON file that can be carried out of the enclave and given to `airgap pull --since`.
 *
 *   {apiVersion: airgap.dev/v1alpha1, kind: MirrorInventory, registry: "HOST[/PREFIX]",
 *    repositories: {name: {tags: {tag: digest}}}, manifests: [digest…], blobs: [digest…]}
 *
 * Repository names are the catalog's (full paths inside the mirror host, prefix included).
 * Deterministic (keys and lists sorted, two-space indent, trailing newline); no time stamp, no
 * credentials. Parsing is strict (unknown fields refused). Pure: no IO.
 */
import {UnsupportedError} from '../errors.js'
import {fieldFailure, parseJsonFile} from '../validation/json-file.js'
import {DIGEST_PATTERN} from '../oci/digest.js'
import {TAG_PATTERN} from '../oci/reference.js'
import {JsonSchema} from '../validation/json-schema.js'

export const INVENTORY_API_VERSION = 'airgap.dev/v1alpha1'
export const INVENTORY_KIND = 'MirrorInventory'

export interface InventoryRepository {
  /** Tag -> digest of the manifest or index it points at. */
  tags: Record<string, string>
}

export interface MirrorInventory {
  apiVersion: typeof INVENTORY_API_VERSION
  kind: typeof INVENTORY_KIND
  /** `HOST[:PORT][/PREFIX]` that was walked. */
  registry: string
  repositories: Record<string, InventoryRepository>
  /** Every manifest and index reachable from a tag, sorted. */
  manifests: string[]
  /** Every other blob (configs, layers) reachable from a tag, sorted. */
  blobs: string[]
}

const DIGEST = {type: 'string', pattern: DIGEST_PATTERN, expected: 'a digest', invalid: 'is not a valid digest'}
const DIGESTS = {type: 'array', items: DIGEST, expected: 'an array of digests'}

/** The inventory format (apiVersion and kind are checked before it: another one is unsupported, not damaged). */
export const INVENTORY_SCHEMA = new JsonSchema<MirrorInventory>(
  'mirror-inventory',
  {
    type: 'object',
    additionalProperties: false,
    required: ['apiVersion', 'kind', 'registry', 'repositories', 'manifests', 'blobs'],
    properties: {
      apiVersion: {const: INVENTORY_API_VERSION},
      kind: {const: INVENTORY_KIND},
      registry: {type: 'string', minLength: 1, expected: 'a non-empty string'},
      repositories: {
        type: 'object',
        additionalProperties: {
          type: 'object',
          additionalProperties: false,
          required: ['tags'],
          properties: {tags: {type: 'object', propertyNames: {pattern: TAG_PATTERN, invalid: 'is not a valid tag'}, additionalProperties: DIGEST}},
        },
      },
      manifests: DIGESTS,
      blobs: DIGESTS,
    },
  },
)

/** Build an inventory with every list sorted and de-duplicated. */
export function createInventory(input: {registry: string; repositories: Record<string, Record<string, string>>; manifests: Iterable<string>; blobs: Iterable<string>}): MirrorInventory {
  const repositories: Record<string, InventoryRepository> = {}
  for (const name of Object.keys(input.repositories).sort()) {
    const tags: Record<string, string> = {}
    const given = input.repositories[name]!
    for (const tag of Object.keys(given).sort()) tags[tag] = given[tag]!
    repositories[name] = {tags}
  }
  const manifests = [...new Set(input.manifests)].sort()
  const manifestSet = new Set(manifests)
  return {
    apiVersion: INVENTORY_API_VERSION,
    kind: INVENTORY_KIND,
    registry: input.registry,
    repositories,
    manifests,
    blobs: [...new Set(input.blobs)].filter((d) => !manifestSet.has(d)).sort(),
  }
}

/** Deterministic bytes of an inventory. */
export function serializeInventory(inv: MirrorInventory): string {
  const ordered = {
    apiVersion: inv.apiVersion,
    kind: inv.kind,
    registry: inv.registry,
    repositories: inv.repositories,
    manifests: inv.manifests,
    blobs: inv.blobs,
  }
  return `${JSON.stringify(ordered, null, 2)}\n`
}

/** True when parsed JSON claims to be an inventory (apiVersion/kind only; parse it to check the rest). */
export function isInventoryJson(raw: unknown): boolean {
  return typeof raw === 'object' && raw !== null && (raw as {kind?: unknown}).kind === INVENTORY_KIND
}

/** Parse and check inventory text; SpecError naming the file and JSON path on anything malformed. */
export function parseInventory(text: string, file: string): MirrorInventory {
  const raw = parseJsonFile(text, file, 'pass a file written by `airgap inventory`')
  const fail = fieldFailure(file, 'the inventory was damaged or edited; run `airgap inventory` again')
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return fail('$', 'must be a JSON object')
  const top = raw as Record<string, unknown>
  if (top.apiVersion !== INVENTORY_API_VERSION || top.kind !== INVENTORY_KIND) {
    throw new UnsupportedError(`${file}: apiVersion ${JSON.stringify(top.apiVersion ?? null)} kind ${JSON.stringify(top.kind ?? null)} is not a mirror inventory (want ${INVENTORY_API_VERSION} ${INVENTORY_KIND})`, {
      hint: 'pass a file written by `airgap inventory` of this airgap release',
    })
  }
  return INVENTORY_SCHEMA.check(raw, fail)
}
