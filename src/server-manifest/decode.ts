/**
 * One YAML file of the server manifest, decoded the way the operator decodes it
 * (`sigs.k8s.io/yaml.Unmarshal` into manifest.go's `Manifest`: go-yaml v2, so YAML 1.1 scalars,
 * then encoding/json rules) and checked against the shape of the sections the operator reads.
 * Every problem is reported with `file:line:column` and the key path.
 *
 * What the operator's decoder does that matters here:
 *  - a number or boolean written where a string is expected is turned into a string
 *    (`tag: 4.35` -> "4.35"; floats through float32, so `tag: 1.10` -> "1.1");
 *  - a wrong kind (a list where a map is expected, a map where a string is) fails the whole file;
 *  - keys it does not know are ignored (kept here: see merge.ts);
 *  - only the first YAML document of a file is read.
 */
import {isScalar, LineCounter, parseAllDocuments} from 'yaml'
import type {Node, Tags} from 'yaml'
import {Checker} from '../release/check.js'
import {isPlainObject, typeName} from '../validation/json-schema.js'
import type {FieldPath, SourceDocument} from '../release/yaml.js'
import {formatPath} from '../release/yaml.js'
import {findImages} from './images.js'

/** The shape of a value the operator decodes. */
type Shape =
  | 'string'
  | 'bool'
  | 'int'
  /** a map or null, content not checked (Kubernetes types, ingress, service). */
  | 'object'
  /** anything. */
  | 'any'
  | 'imageRef'
  | {map: Shape}
  | {list: Shape}
  | {struct: Record<string, Shape>}

const strings: Shape = {list: 'string'}
const INFRA: Shape = {struct: {sizing: {map: 'object'}, ingress: 'object', images: {map: 'imageRef'}}}
const CONTAINER: Shape = {struct: {name: 'string', image: 'imageRef', args: strings, command: strings, ports: {list: 'object'}, livenessProbe: 'object', readinessProbe: 'object', startupProbe: 'object', resources: 'object'}}
const APPLICATION: Shape = {
  struct: {
    name: 'string',
    legacyKey: 'string',
    image: 'imageRef',
    args: strings,
    command: strings,
    commonEnvs: strings,
    commonVolumeMounts: strings,
    initContainers: {list: CONTAINER},
    containers: {list: CONTAINER},
    features: strings,
    env: {list: 'object'},
    service: 'object',
    files: {list: 'object'},
    jwtTokens: {list: 'object'},
    volumeMounts: {list: 'object'},
    sizing: {map: 'object'},
    ingress: 'object',
  },
}
const MIGRATION: Shape = {
  struct: {image: 'imageRef', args: strings, command: strings, commonEnvs: strings, commonVolumeMounts: strings, env: {list: 'object'}, volumeMounts: {list: 'object'}},
}
/** manifest.go `Manifest`, as far as airgap needs it (images and the merge). */
export const MANIFEST_SHAPE: Record<string, Shape> = {
  requiredOperatorVersion: 'string',
  features: {map: 'bool'},
  generatedSecrets: {list: 'object'},
  commonEnvvars: {map: {list: 'object'}},
  commonVolumeMounts: {map: {list: 'object'}},
  bucket: {map: INFRA},
  clickhouse: {map: INFRA},
  clickhouseKeeper: {map: INFRA},
  kafka: {struct: {sizing: {map: 'object'}, topics: {list: 'object'}, images: {map: 'imageRef'}}},
  mysql: {map: INFRA},
  redis: {map: INFRA},
  applications: {map: APPLICATION},
  migrations: {map: MIGRATION},
}
const IMAGE_REF_FIELDS = ['registry', 'repository', 'tag', 'digest'] as const

export interface DecodedFile {
  /** The first document as the operator sees it (scalars coerced where it expects strings). */
  value: Record<string, unknown>
  warnings: string[]
}

/** go-yaml v2 reads YAML 1.1 but never produces timestamps for untyped values. */
const YAML_OPTIONS = {
  version: '1.1' as const,
  uniqueKeys: true,
  prettyErrors: true,
  customTags: (tags: Tags): Tags => tags.filter((t) => t !== 'timestamp' && (typeof t === 'string' || t.tag !== 'tag:yaml.org,2002:timestamp')),
}

/** Decode `text` (file `file`, named in messages as `label`); throws SpecValidationError listing every problem. */
export function decodeManifestFile(text: string, label: string): DecodedFile {
  const lines = new LineCounter()
  const docs = parseAllDocuments(text, {...YAML_OPTIONS, lineCounter: lines})
  const warnings: string[] = []
  const list = Array.isArray(docs) ? docs : []
  const doc = list[0]
  if (doc === undefined) return {value: {}, warnings}
  if (list.length > 1) warnings.push(`${label} holds ${list.length} YAML documents; the operator reads only the first`)
  const src: SourceDocument = {file: label, doc, lines, value: undefined}
  const c = new Checker(label, src)
  const problem = doc.errors[0]
  if (problem) {
    const pos = problem.linePos?.[0] ?? {line: 1, col: 1}
    c.issues.push({path: [], message: `YAML syntax error at ${label}:${pos.line}:${pos.col}: ${problem.message.split('\n')[0]}`})
    c.throwIfAny('server manifest')
  }
  let raw: unknown
  try {
    raw = doc.toJS({maxAliasCount: 100})
  } catch (err) {
    c.fail([], `too many YAML alias expansions (${(err as Error).message.split('\n')[0]})`)
    c.throwIfAny('server manifest')
  }
  src.value = raw
  if (raw === null || raw === undefined) return {value: {}, warnings}
  const literal = (path: FieldPath): string | undefined => {
    const node = doc.getIn(path, true) as Node | undefined
    return isScalar(node) && Array.isArray(node.range) ? text.slice(node.range[0], node.range[1]) : undefined
  }
  const decoder = new Decoder(c, label, literal, warnings)
  const value = decoder.struct(raw, [], MANIFEST_SHAPE, true)
  c.throwIfAny('server manifest')
  for (const problem of findImages(value ?? {}).problems) c.fail(problem.path, problem.message)
  c.throwIfAny('server manifest')
  return {value: value ?? {}, warnings}
}

class Decoder {
  constructor(
    private readonly c: Checker,
    private readonly label: string,
    private readonly literal: (path: FieldPath) => string | undefined,
    private readonly warnings: string[],
  ) {}

  value(v: unknown, path: FieldPath, shape: Shape): unknown {
    if (shape === 'any') return v
    if (shape === 'string') return this.string(v, path)
    if (shape === 'bool') {
      if (v === null || typeof v === 'boolean') return v ?? false
      return this.c.fail(path, `expected true or false, got ${typeName(v)}`)
    }
    if (shape === 'int') {
      if (v === null || Number.isSafeInteger(v)) return v ?? 0
      return this.c.fail(path, `expected a whole number, got ${typeName(v)}`)
    }
    if (shape === 'object') {
      if (v === null || isPlainObject(v)) return v
      return this.c.fail(path, `expected a map, got ${typeName(v)} (the operator cannot decode this file)`)
    }
    if (shape === 'imageRef') return this.imageRef(v, path)
    if ('map' in shape) {
      if (v === null) return v
      if (!isPlainObject(v)) return this.c.fail(path, `expected a map, got ${typeName(v)} (the operator cannot decode this file)`)
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.value(x, [...path, k], shape.map)]))
    }
    if ('list' in shape) {
      if (v === null) return v
      if (!Array.isArray(v)) return this.c.fail(path, `expected a list, got ${typeName(v)} (the operator cannot decode this file)`)
      return v.map((x, i) => this.value(x, [...path, i], shape.list))
    }
    return this.struct(v, path, shape.struct, false)
  }

  /** A Go struct: known fields are checked, unknown ones kept as they are (the operator ignores them). */
  struct(v: unknown, path: FieldPath, fields: Record<string, Shape>, top: boolean): Record<string, unknown> | undefined {
    if (v === null) return {}
    if (!isPlainObject(v)) {
      this.c.fail(path, `expected a map, got ${typeName(v)} (the operator cannot decode ${top ? 'this file' : 'it'})`)
      return undefined
    }
    const out: Record<string, unknown> = {}
    for (const [k, x] of Object.entries(v)) {
      const shape = fields[k]
      if (shape !== undefined) {
        out[k] = this.value(x, [...path, k], shape)
        continue
      }
      const folded = Object.keys(fields).find((f) => f.toLowerCase() === k.toLowerCase())
      if (folded !== undefined) {
        this.c.fail([...path, k], `the operator's decoder matches "${k}" to the field "${folded}" (it ignores case); write it as "${folded}"`, true)
        continue
      }
      out[k] = x
    }
    return out
  }

  string(v: unknown, path: FieldPath): string | undefined {
    if (v === null || v === undefined) return ''
    if (typeof v === 'string') return v
    if (typeof v === 'number' || typeof v === 'boolean') {
      const written = this.literal(path)
      const read = goScalarString(v, written)
      const note = written !== undefined && written !== read ? `; write "${written}" in quotes if that is what is meant` : ''
      this.warnings.push(`${this.label}: ${formatPath(path)}: unquoted ${typeof v} ${written ?? String(v)} is read by the operator as the string "${read}"${note}`)
      return read
    }
    return this.c.fail(path, `expected a string, got ${typeName(v)} (the operator cannot decode this file)`)
  }

  imageRef(v: unknown, path: FieldPath): Record<string, unknown> | undefined {
    if (v === null) return {registry: '', repository: '', tag: '', digest: ''}
    if (!isPlainObject(v)) return this.c.fail(path, `expected an image map {registry, repository, tag, digest}, got ${typeName(v)}`)
    const out: Record<string, unknown> = {...v}
    for (const f of IMAGE_REF_FIELDS) out[f] = this.string(v[f], [...path, f]) ?? ''
    return out
  }
}

/**
 * How sigs.k8s.io/yaml turns a YAML number or boolean into a Go string field: integers in decimal,
 * floats (`written` with a point or an exponent, like `2.0`) through float32 and 'g' formatting.
 */
export function goScalarString(v: number | boolean, written?: string): string {
  if (typeof v === 'boolean') return v ? 'true' : 'false'
  const float = written === undefined ? !Number.isInteger(v) : !/^[-+]?0x/i.test(written) && /[.eEnN]/.test(written)
  if (!float && Number.isSafeInteger(v)) return BigInt(v).toString()
  return formatFloat32(v)
}

/** Go's strconv.FormatFloat(v, 'g', -1, 32): the shortest digits that read back as the same float32; %e form when the exponent is < -4 or >= 6. */
function formatFloat32(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (!Number.isFinite(v)) return v > 0 ? '+Inf' : '-Inf'
  const f = Math.fround(v)
  let digits = ''
  let exp = 0
  for (let p = 1; p <= 9; p++) {
    const s = f.toExponential(p - 1)
    if (Math.fround(Number(s)) === f) {
      const [mantissa, e] = s.split('e')
      digits = mantissa!.replace('-', '').replace('.', '')
      exp = Number(e)
      break
    }
  }
  digits = digits.replace(/0+$/, '') || '0'
  const sign = f < 0 ? '-' : ''
  // FormatFloat 'g' with precision -1 decides with eprec = 6: %e when exp < -4 || exp >= 6
  if (exp < -4 || exp >= 6) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits
    const e = Math.abs(exp)
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e < 10 ? `0${e}` : e}`
  }
  if (exp < 0) return `${sign}0.${'0'.repeat(-exp - 1)}${digits}`
  if (digits.length <= exp + 1) return `${sign}${digits}${'0'.repeat(exp + 1 - digits.length)}`
  return `${sign}${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`
}
