/**
 * Our declarative release spec, `airgap.yaml`:
 *
 * ```yaml
 * apiVersion: airgap.dev/v1alpha1
 * kind: ReleaseSpec
 * metadata: {name: wandb, version: "0.43.8"}
 * spec:
 *   platforms: [linux/amd64]
 *   includeDisabled: true
 *   charts:
 *     - {name: operator-wandb, repo: https://charts.wandb.ai, version: 0.43.8, values: [values.yaml], set: {…}}
 *     - {oci: oci://ghcr.io/wandb/helm-charts/operator, version: 1.4.8}
 *     - {name: operator, repo: https://charts.wandb.ai}   # no version: the newest stable one at pull time
 *     - {path: ./charts/my-chart}
 *   images: [busybox:1.36]
 *   exclude: ["docker.io/library/mysql:*"]
 *   wandb: {version: 0.99.0}   # a W&B release for the v2 operator: server manifest + operator chart (release/wandb.ts)
 * ```
 *
 * `version` (exact or a SemVer range) may be left out of `repo` and `oci` charts: pull then takes the
 * newest stable version (the W&B channel may leave it empty), and the bundle's lock pins what was taken.
 * Everything is validated before any network call, in two steps: the structure against
 * SPEC_DOCUMENT_SCHEMA (spec-schema.ts), then the values (URLs, versions, references: fields.ts).
 * Every problem is a SpecError starting with `file:line:column:` and naming the field path.
 */
import {dirname, resolve} from 'node:path'
import {readInputText} from '../files/input-file.js'
import {Checker} from './check.js'
import {chartVersion, imageReference, localPath, ociUrl, platform, repoUrl} from './fields.js'
import {SPEC_DOCUMENT_SCHEMA, type OciChartEntry, type PathChartEntry, type RepoChartEntry, type SpecDocument} from './spec-schema.js'
import type {ChartAuth, ChartSource, ReleaseSpec} from './types.js'
import {SPEC_API_VERSION, SPEC_FILE, SPEC_KIND} from './types.js'
import {globToRegExp} from './exclude.js'
import {checkWandbRelease} from './wandb.js'
import type {FieldPath} from './yaml.js'
import {parseSource} from './yaml.js'

/** Read (src/files/input-file.ts: size-capped, regular files only) and validate a spec file. Throws SpecError. */
export async function loadSpecFile(path: string): Promise<ReleaseSpec> {
  return parseSpec(await readInputText(path, SPEC_FILE), path)
}

/** Parse and validate spec text; `file` is used in messages and to resolve relative paths. */
export function parseSpec(text: string, file: string): ReleaseSpec {
  const src = parseSource(text, file, {what: 'spec'})
  const c = new Checker(file, src)
  const top = src.value as Partial<Record<'apiVersion' | 'kind', unknown>> | null
  if (typeof top === 'object' && top !== null) {
    // another kind of document gets no field noise
    if (top.apiVersion !== undefined && top.apiVersion !== SPEC_API_VERSION) {
      c.fail(['apiVersion'], `unsupported apiVersion ${JSON.stringify(top.apiVersion)}; supported: ${SPEC_API_VERSION}`)
    }
    if (top.kind !== undefined && top.kind !== SPEC_KIND) c.fail(['kind'], `unsupported kind ${JSON.stringify(top.kind)}; supported: ${SPEC_KIND}`)
    c.throwIfAny('spec')
  }
  c.schema(SPEC_DOCUMENT_SCHEMA, src.value)
  c.throwIfAny('spec')

  const doc = src.value as SpecDocument
  const base = dirname(resolve(file))
  const body = doc.spec
  const spec: ReleaseSpec['spec'] = {
    platforms: listOf(c, body.platforms, ['spec', 'platforms'], platform),
    includeDisabled: body.includeDisabled ?? true,
    charts: (body.charts ?? []).flatMap((entry, i) => parseChart(c, entry, ['spec', 'charts', i], base) ?? []),
    images: listOf(c, body.images, ['spec', 'images'], imageReference),
    exclude: listOf(c, body.exclude, ['spec', 'exclude'], excludeGlob),
  }
  if (body.wandb !== undefined) {
    const wandb = body.wandb
    const {release, problems} = checkWandbRelease({...wandb, version: String(wandb.version)}, base)
    for (const p of problems) c.fail(['spec', 'wandb', p.field], p.message)
    if (release !== undefined) spec.wandb = release
  }
  if (body.charts === undefined && body.images === undefined && body.wandb === undefined) c.fail(['spec'], 'nothing to carry: give spec.charts, spec.images and/or spec.wandb')
  c.throwIfAny('spec')
  return {apiVersion: SPEC_API_VERSION, kind: SPEC_KIND, metadata: metadataOf(doc.metadata), spec, origin: file}
}

function metadataOf(m: SpecDocument['metadata']): ReleaseSpec['metadata'] {
  const out: ReleaseSpec['metadata'] = {name: m.name}
  if (m.version !== undefined) out.version = String(m.version)
  if (m.annotations !== undefined) out.annotations = Object.fromEntries(Object.entries(m.annotations).map(([k, v]) => [k, String(v)]))
  return out
}

function parseChart(c: Checker, entry: RepoChartEntry | OciChartEntry | PathChartEntry, path: FieldPath, base: string): ChartSource | undefined {
  if ('repo' in entry) {
    const repo = repoUrl(c, entry.repo, [...path, 'repo'])
    const version = entry.version === undefined ? undefined : chartVersion(c, entry.version, [...path, 'version'])
    const common = accessOf(c, entry, path, base)
    if (repo === undefined || (entry.version !== undefined && version === undefined)) return undefined
    const name = entry.name
    return {type: 'repo', name, repo, ...(version !== undefined ? {version} : {}), ...common}
  }
  if ('oci' in entry) {
    const ref = ociUrl(c, entry.oci, [...path, 'oci'])
    let version = entry.version === undefined ? undefined : chartVersion(c, entry.version, [...path, 'version'], true)
    if (ref?.tag !== undefined && version !== undefined && ref.tag !== version.replace(/\+/g, '_')) {
      c.fail([...path, 'version'], `version "${version}" contradicts the tag "${ref.tag}" in the oci reference`)
    }
    version ??= ref?.tag
    const common = accessOf(c, entry, path, base)
    if (!ref || (entry.version !== undefined && version === undefined)) return undefined
    const plainHttp = entry.plainHttp
    return {type: 'oci', oci: ref.url, ...(version !== undefined ? {version} : {}), ...(plainHttp ? {plainHttp} : {}), ...common}
  }
  const p = localPath(c, entry.path, [...path, 'path'])
  const common = accessOf(c, entry, path, base)
  if (p === undefined) return undefined
  return {type: 'path', path: resolve(base, p), ...common}
}

/** Values files and inline values of any chart; credentials and CA file of repo and oci charts. */
function accessOf(c: Checker, o: RepoChartEntry | OciChartEntry | PathChartEntry, path: FieldPath, base: string): Pick<ChartSource, 'values' | 'set' | 'auth' | 'caFile'> {
  const out: Pick<ChartSource, 'values' | 'set' | 'auth' | 'caFile'> = {
    values: listOf(c, o.values, [...path, 'values'], localPath).map((v) => resolve(base, v)),
    set: o.set ?? {},
  }
  if ('path' in o) return out
  const auth: ChartAuth = {}
  if (o.username !== undefined) auth.username = o.username
  if (o.passwordEnv !== undefined) auth.passwordEnv = o.passwordEnv
  if (auth.username !== undefined || auth.passwordEnv !== undefined) out.auth = auth
  if (o.caFile !== undefined) {
    const f = localPath(c, o.caFile, [...path, 'caFile'])
    if (f !== undefined) out.caFile = resolve(base, f)
  }
  return out
}

/** The checked items of an optional list; problems are reported with their index. */
function listOf<T>(c: Checker, list: readonly string[] | undefined, path: FieldPath, item: (c: Checker, v: unknown, p: FieldPath) => T | undefined): T[] {
  return (list ?? []).flatMap((v, i) => {
    const x = item(c, v, [...path, i])
    return x === undefined ? [] : [x]
  })
}

function excludeGlob(c: Checker, value: unknown, path: FieldPath): string | undefined {
  const s = c.string(value, path, 'a glob on image references, e.g. "docker.io/library/mysql:*"')
  if (s === undefined) return undefined
  try {
    globToRegExp(s)
  } catch (err) {
    return c.fail(path, (err as Error).message)
  }
  return s
}
