/**
 * The JSON Schemas of the two release documents people give to `airgap pull`, with the types of
 * the documents as written (parse.ts and channel.ts turn them into a ReleaseSpec):
 *   - `airgap.yaml`, our declarative spec (SpecDocument);
 *   - the W&B deploy server's channel response (ChannelResponse).
 * The schemas check the structure (fields, types, simple patterns) and every problem is reported
 * with its position; what a schema cannot say (URLs, SemVer ranges, image references, platforms)
 * is checked by fields.ts afterwards.
 */
import {JsonSchema} from '../validation/json-schema.js'

/** A scalar written as a string or a number (`version: 1.0`), as YAML authors write versions. */
type Scalar = string | number

interface ChartEntryFiles {
  values?: string[]
  set?: Record<string, unknown>
}

interface ChartEntryAccess extends ChartEntryFiles {
  username?: string
  passwordEnv?: string
  caFile?: string
}

export interface RepoChartEntry extends ChartEntryAccess {
  name: string
  repo: string
  version?: Scalar
}

export interface OciChartEntry extends ChartEntryAccess {
  oci: string
  version?: Scalar
  plainHttp?: boolean
}

export interface PathChartEntry extends ChartEntryFiles {
  path: string
}

/** `airgap.yaml` as written. */
export interface SpecDocument {
  apiVersion: string
  kind: string
  metadata: {name: string; version?: Scalar; annotations?: Record<string, Scalar | boolean>}
  spec: {platforms?: string[]; includeDisabled?: boolean; charts?: Array<RepoChartEntry | OciChartEntry | PathChartEntry>; images?: string[]; exclude?: string[]; wandb?: WandbEntry}
}

/** `spec.wandb`: a W&B release for the v2 operator. */
export interface WandbEntry {
  version: Scalar
  manifestRepository?: string
  operatorChart?: string
  withCertManager?: boolean
}

/** A non-empty string (not only spaces), described as `expected`. */
const text = (expected: string): object => ({type: 'string', pattern: '\\S', expected})
const listOf = (item: object): object => ({type: 'array', items: item, expected: 'a list'})
/** Exactly these fields, `required` among them (a branch of a schema that checked the type already). */
const fields = (properties: Record<string, object>, required: readonly string[] = []): object => ({additionalProperties: false, required, properties})
const map = (properties: Record<string, object>, required: readonly string[] = []): object => ({type: 'object', expected: 'a map', ...fields(properties, required)})

const VERSION = {type: ['string', 'number'], pattern: '\\S', expected: 'a version string such as "0.43.8"'}
const STRING_MAP = {type: 'object', additionalProperties: {type: ['string', 'number', 'boolean'], expected: 'a string'}, expected: 'a map of strings'}
const VALUES_TREE = {type: 'object', expected: 'a map of values'}
const FILE_PATH = text('a file path')

const CHART_NAME = {type: 'string', minLength: 1, pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', expected: 'a chart name', invalid: "is not a valid chart name (letters, digits, '-', '_', '.')"}
const FILES = {values: listOf(FILE_PATH), set: VALUES_TREE}
const ACCESS = {
  ...FILES,
  username: text('a user name'),
  passwordEnv: {type: 'string', minLength: 1, pattern: '^[A-Za-z_][A-Za-z0-9_]*$', expected: 'an environment variable name', invalid: 'is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)'},
  password: {not: {}, refused: 'passwords are not allowed in a spec file; put the password in an environment variable and name it in passwordEnv'},
  caFile: FILE_PATH,
}

/** One of three shapes, told apart by which of repo / oci / path it has. */
const CHART_ENTRY = {
  type: 'object',
  expected: 'a map describing a chart',
  oneOf: [{required: ['repo']}, {required: ['oci']}, {required: ['path']}],
  invalid: 'a chart needs exactly one of "repo" (with name), "oci" or "path"',
  if: {required: ['repo']},
  then: fields({name: CHART_NAME, repo: text('an https:// chart repository URL'), version: VERSION, ...ACCESS}, ['name', 'repo']),
  else: {
    if: {required: ['oci']},
    then: fields({oci: text('an oci://host/path/chart reference'), version: VERSION, plainHttp: {type: 'boolean', expected: 'true or false'}, ...ACCESS}, ['oci']),
    else: fields({path: FILE_PATH, ...FILES}, ['path']),
  },
}

/** airgap.yaml (apiVersion and kind are checked for their values first: another kind gets no field noise). */
export const SPEC_DOCUMENT_SCHEMA = new JsonSchema<SpecDocument>(
  'release-spec',
  map(
    {
      apiVersion: text('an apiVersion'),
      kind: text('a kind'),
      metadata: map(
        {
          name: {type: 'string', minLength: 1, pattern: '^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$', expected: 'a release name', invalid: "is not a valid name (lower-case letters, digits, '.', '_', '-')"},
          version: VERSION,
          annotations: STRING_MAP,
        },
        ['name'],
      ),
      spec: map({
        platforms: listOf(text('a platform such as linux/amd64')),
        includeDisabled: {type: 'boolean', expected: 'true or false'},
        charts: listOf(CHART_ENTRY),
        images: listOf(text('an image reference')),
        exclude: listOf(text('a glob on image references, e.g. "docker.io/library/mysql:*"')),
        wandb: map(
          {
            version: VERSION,
            manifestRepository: text('an oci://host/path reference of the server manifest'),
            operatorChart: text('an oci://host/path/operator[:version] reference or a chart .tgz path'),
            withCertManager: {type: 'boolean', expected: 'true or false'},
          },
          ['version'],
        ),
      }),
    },
    ['apiVersion', 'kind', 'metadata', 'spec'],
  ),
)

/** The `chart` of a channel response: polymorphic (channel.ts picks the type), so only fixed-type fields are typed here. */
export interface ChannelChart {
  type?: unknown
  path?: unknown
  url?: unknown
  name?: unknown
  version?: unknown
  repoName?: unknown
  username?: string
  password?: string
  credentialSecret?: Record<string, unknown>
  plainHTTP?: unknown
  debug?: unknown
}

/** `GET /api/v1/operator/channel` of the W&B deploy server. */
export interface ChannelResponse {
  metadata?: Record<string, Scalar | boolean> | null
  values?: Record<string, unknown> | null
  chart: ChannelChart
}

const ANY = {}

export const CHANNEL_RESPONSE_SCHEMA = new JsonSchema<ChannelResponse>(
  'channel-response',
  map(
    {
      chart: map({
        type: ANY,
        path: ANY,
        url: ANY,
        name: ANY,
        version: ANY,
        repoName: ANY,
        username: {type: 'string', expected: 'a string'},
        password: {type: 'string', expected: 'a string'},
        credentialSecret: {type: 'object', expected: 'a map {name, usernameKey, passwordKey}'},
        plainHTTP: ANY,
        debug: ANY,
      }),
      metadata: {...STRING_MAP, type: ['object', 'null']},
      values: {...VALUES_TREE, type: ['object', 'null']},
    },
    ['chart'],
  ),
)
