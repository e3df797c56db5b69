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
 * ```
 *
 * `version` (exact or a SemVer range) may be left out of `repo` and `oci` charts: pull then takes the
 * newest stable version (the W&B channel may leave it empty), and the bundle's lock pins what was taken.
 * Everything is validated before any network call; every problem is a SpecError starting with
 * `file:line:column:` and naming the field path.
 */
import {dirname, resolve} from 'node:path'
import {readInputText} from '../files/input-file.js'
import {Checker, isPlainObject, typeName} from './check.js'
import {chartName, chartVersion, envName, imageReference, localPath, ociUrl, platform, repoUrl} from './fields.js'
import type {ChartAuth, ChartSource, ReleaseSpec} from './types.js'
import {SPEC_API_VERSION, SPEC_FILE, SPEC_KIND} from './types.js'
import {globToRegExp} from './exclude.js'
import type {FieldPath} from './yaml.js'
import {parseSource} from './yaml.js'

const TOP_KEYS = ['apiVersion', 'kind', 'metadata', 'spec'] as const
const COMMON_CHART_KEYS = ['values', 'set', 'username', 'passwordEnv', 'password', 'caFile']

/** Read (src/files/input-file.ts: size-capped, regular files only) and validate a spec file. Throws SpecError. */
export async function loadSpecFile(path: string): Promise<ReleaseSpec> {
  return parseSpec(await readInputText(path, SPEC_FILE), path)
}

/** Parse and validate spec text; `file` is used in messages and to resolve relative paths. */
export function parseSpec(text: string, file: string): ReleaseSpec {
  const src = parseSource(text, file, {what: 'spec'})
  const c = new Checker(file, src)
  const base = dirname(resolve(file))
  const top = c.object(src.value, [], {required: TOP_KEYS})
  if (!top) return c.throwIfAny('spec') as never

  if (top.apiVersion !== undefined && top.apiVersion !== SPEC_API_VERSION) {
    c.fail(['apiVersion'], `unsupported apiVersion ${JSON.stringify(top.apiVersion)}; supported: ${SPEC_API_VERSION}`)
  }
  if (top.kind !== undefined && top.kind !== SPEC_KIND) {
    c.fail(['kind'], `unsupported kind ${JSON.stringify(top.kind)}; supported: ${SPEC_KIND}`)
  }
  c.throwIfAny('spec') // do not report field noise for a document of another kind

  const metadata = parseMetadata(c, top.metadata)
  const body = c.object(top.spec, ['spec'], {optional: ['platforms', 'includeDisabled', 'charts', 'images', 'exclude']})
  const spec: ReleaseSpec['spec'] = {platforms: [], includeDisabled: true, charts: [], images: [], exclude: []}
  if (body) {
    if (body.platforms !== undefined) spec.platforms = listOf(c, body.platforms, ['spec', 'platforms'], platform)
    if (body.includeDisabled !== undefined) spec.includeDisabled = c.boolean(body.includeDisabled, ['spec', 'includeDisabled']) ?? true
    if (body.charts !== undefined) {
      ;(c.list(body.charts, ['spec', 'charts']) ?? []).forEach((entry, i) => {
        const chart = parseChart(c, entry, ['spec', 'charts', i], base)
        if (chart) spec.charts.push(chart)
      })
    }
    if (body.images !== undefined) spec.images = listOf(c, body.images, ['spec', 'images'], imageReference)
    if (body.exclude !== undefined) spec.exclude = listOf(c, body.exclude, ['spec', 'exclude'], excludeGlob)
    if (body.charts === undefined && body.images === undefined) c.fail(['spec'], 'nothing to carry: give spec.charts and/or spec.images')
  }
  c.throwIfAny('spec')
  return {apiVersion: SPEC_API_VERSION, kind: SPEC_KIND, metadata: metadata!, spec, origin: file}
}

function parseMetadata(c: Checker, value: unknown): ReleaseSpec['metadata'] | undefined {
  const m = c.object(value, ['metadata'], {required: ['name'], optional: ['version', 'annotations']})
  if (!m) return undefined
  const name = c.string(m.name, ['metadata', 'name'], 'a release name')
  if (name !== undefined && !/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$/.test(name)) {
    c.fail(['metadata', 'name'], `"${name}" is not a valid name (lower-case letters, digits, '.', '_', '-')`)
  }
  const out: ReleaseSpec['metadata'] = {name: name ?? ''}
  if (m.version !== undefined) {
    const v = c.version(m.version, ['metadata', 'version'])
    if (v !== undefined) out.version = v
  }
  if (m.annotations !== undefined) {
    const a = c.stringMap(m.annotations, ['metadata', 'annotations'])
    if (a) out.annotations = a
  }
  return out
}

function parseChart(c: Checker, entry: unknown, path: FieldPath, base: string): ChartSource | undefined {
  const kinds = ['repo', 'oci', 'path'].filter((k) => typeof entry === 'object' && entry !== null && k in entry)
  if (kinds.length !== 1) {
    const got = kinds.length === 0 ? 'none of them' : kinds.join(' and ')
    if (!isPlainObject(entry)) return c.fail(path, `expected a map describing a chart, got ${typeName(entry)}`)
    return c.fail(path, `a chart needs exactly one of "repo" (with name), "oci" or "path"; got ${got}`)
  }
  const kind = kinds[0]
  if (kind === 'repo') {
    const o = c.object(entry, path, {required: ['name', 'repo'], optional: ['version', ...COMMON_CHART_KEYS]})
    if (!o) return undefined
    const name = chartName(c, o.name, [...path, 'name'])
    const repo = repoUrl(c, o.repo, [...path, 'repo'])
    const version = o.version === undefined ? undefined : chartVersion(c, o.version, [...path, 'version'])
    const common = parseCommon(c, o, path, base)
    if (name === undefined || repo === undefined || (o.version !== undefined && version === undefined)) return undefined
    return {type: 'repo', name, repo, ...(version !== undefined ? {version} : {}), ...common}
  }
  if (kind === 'oci') {
    const o = c.object(entry, path, {required: ['oci'], optional: ['version', 'plainHttp', ...COMMON_CHART_KEYS]})
    if (!o) return undefined
    const ref = ociUrl(c, o.oci, [...path, 'oci'])
    let version = o.version === undefined ? undefined : chartVersion(c, o.version, [...path, 'version'], true)
    if (ref?.tag !== undefined && version !== undefined && ref.tag !== version.replace(/\+/g, '_')) {
      c.fail([...path, 'version'], `version "${version}" contradicts the tag "${ref.tag}" in the oci reference`)
    }
    version ??= ref?.tag
    const plainHttp = o.plainHttp === undefined ? undefined : c.boolean(o.plainHttp, [...path, 'plainHttp'])
    const common = parseCommon(c, o, path, base)
    if (!ref || (o.version !== undefined && version === undefined)) return undefined
    return {type: 'oci', oci: ref.url, ...(version !== undefined ? {version} : {}), ...(plainHttp ? {plainHttp} : {}), ...common}
  }
  const o = c.object(entry, path, {required: ['path'], optional: ['values', 'set']})
  if (!o) return undefined
  const p = localPath(c, o.path, [...path, 'path'])
  const common = parseCommon(c, o, path, base)
  if (p === undefined) return undefined
  return {type: 'path', path: resolve(base, p), ...common}
}

function parseCommon(c: Checker, o: Record<string, unknown>, path: FieldPath, base: string): Pick<ChartSource, 'values' | 'set' | 'auth' | 'caFile'> {
  const out: Pick<ChartSource, 'values' | 'set' | 'auth' | 'caFile'> = {values: [], set: {}}
  if (o.values !== undefined) out.values = listOf(c, o.values, [...path, 'values'], localPath).map((v) => resolve(base, v))
  if (o.set !== undefined) out.set = c.tree(o.set, [...path, 'set']) ?? {}
  if (o.password !== undefined) {
    c.fail([...path, 'password'], 'passwords are not allowed in a spec file; put the password in an environment variable and name it in passwordEnv', true)
  }
  const auth: ChartAuth = {}
  if (o.username !== undefined) {
    const u = c.string(o.username, [...path, 'username'], 'a user name')
    if (u !== undefined) auth.username = u
  }
  if (o.passwordEnv !== undefined) {
    const e = envName(c, o.passwordEnv, [...path, 'passwordEnv'])
    if (e !== undefined) auth.passwordEnv = e
  }
  if (auth.username !== undefined || auth.passwordEnv !== undefined) out.auth = auth
  if (o.caFile !== undefined) {
    const f = localPath(c, o.caFile, [...path, 'caFile'])
    if (f !== undefined) out.caFile = resolve(base, f)
  }
  return out
}

function listOf<T>(c: Checker, value: unknown, path: FieldPath, item: (c: Checker, v: unknown, p: FieldPath) => T | undefined): T[] {
  const out: T[] = []
  ;(c.list(value, path) ?? []).forEach((v, i) => {
    const x = item(c, v, [...path, i])
    if (x !== undefined) out.push(x)
  })
  return out
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
