/**
 * The objects a Helm template sees besides .Values: .Chart (Helm's chart.Metadata with its
 * capitalised field names, plus IsRoot), .Release, .Capabilities (KubeVersion with
 * Version/Major/Minor/GitVersion, APIVersions.Has, HelmVersion) and .Files (Get, GetBytes, Glob,
 * AsConfig, AsSecrets, Lines).
 */
import {posix} from 'node:path'
import {GoStruct, bytesToString, isGoMap, typedMap, typedSlice, type GoFunc, type GoMap} from '../template/values.js'
import {toYaml} from '../functions/serialization.js'
import {sigsYamlMarshal} from '../encoding/goyaml.js'
import {FuncError} from '../template/values.js'
import {pathValue, tableAt} from './coalesce.js'
import type {EngineMetadata} from './coalesce.js'

export interface ReleaseOptions {
  name: string
  namespace: string
  revision: number
  isInstall: boolean
  isUpgrade: boolean
}

export interface CapabilitiesOptions {
  /** "v1.30.0" (default: Helm's built-in v1.20.0). */
  kubeVersion: string
  /** Group/versions `.Capabilities.APIVersions.Has` answers true for ("apps/v1", "v1", "apps/v1/Deployment"). */
  apiVersions: readonly string[]
  /** `.Capabilities.HelmVersion.Version`. */
  helmVersion: string
}

const method = (name: string, params: GoFunc['params'], fn: GoFunc['fn']): GoFunc => ({name, params, fn})

export function releaseObject(r: ReleaseOptions): GoMap {
  return {Name: r.name, Namespace: r.namespace, IsUpgrade: r.isUpgrade, IsInstall: r.isInstall, Revision: BigInt(r.revision), Service: 'Helm'}
}

export function capabilitiesObject(c: CapabilitiesOptions): GoStruct {
  const [major = '', minor = ''] = c.kubeVersion.replace(/^v/, '').split('.')
  const kube = new GoStruct('chartutil.KubeVersion', {Version: c.kubeVersion, Major: major, Minor: minor}, {
    String: method('String', [], () => c.kubeVersion),
    GitVersion: method('GitVersion', [], () => c.kubeVersion),
  }, () => c.kubeVersion)
  const versions = typedSlice([...c.apiVersions], 'string')
  const apiVersions = new GoStruct('chartutil.VersionSet', {}, {Has: method('Has', ['string'], (v: string) => versions.includes(v))}, () => `[${versions.join(' ')}]`)
  const helm = new GoStruct('version.BuildInfo', {Version: c.helmVersion, GitCommit: '', GitTreeState: '', GoVersion: ''})
  return new GoStruct('*chartutil.Capabilities', {KubeVersion: kube, APIVersions: apiVersions, HelmVersion: helm})
}

/** Chart.yaml field -> Go field name of chart.Metadata, and the zero value when absent. */
const METADATA_FIELDS: [string, string, () => unknown][] = [
  ['name', 'Name', () => ''], ['home', 'Home', () => ''], ['sources', 'Sources', () => typedSlice([], 'string')], ['version', 'Version', () => ''],
  ['description', 'Description', () => ''], ['keywords', 'Keywords', () => typedSlice([], 'string')], ['maintainers', 'Maintainers', () => []], ['icon', 'Icon', () => ''],
  ['apiVersion', 'APIVersion', () => ''], ['condition', 'Condition', () => ''], ['tags', 'Tags', () => ''], ['appVersion', 'AppVersion', () => ''],
  ['deprecated', 'Deprecated', () => false], ['annotations', 'Annotations', () => typedMap({}, 'string')], ['kubeVersion', 'KubeVersion', () => ''],
  ['dependencies', 'Dependencies', () => []], ['type', 'Type', () => ''],
]

function maintainer(m: unknown): GoStruct {
  const x = isGoMap(m) ? m : {}
  const s = (v: unknown) => (typeof v === 'string' ? v : '')
  return new GoStruct('*chart.Maintainer', {Name: s(x.name), Email: s(x.email), URL: s(x.url)})
}

/** `.Chart`: Helm's chart.Metadata fields (capitalised) and IsRoot. */
export function chartObject(meta: EngineMetadata, isRoot: boolean): GoStruct {
  const fields: GoMap = {}
  for (const [key, goName, zero] of METADATA_FIELDS) {
    const v = meta.raw[key]
    if (v === undefined || v === null) fields[goName] = zero()
    else if (goName === 'Maintainers' && Array.isArray(v)) fields[goName] = v.map(maintainer)
    else if (goName === 'Annotations' && isGoMap(v)) fields[goName] = typedMap(Object.fromEntries(Object.entries(v).map(([k, x]) => [k, String(x)])), 'string')
    else if ((goName === 'Sources' || goName === 'Keywords') && Array.isArray(v)) fields[goName] = typedSlice(v.map(String), 'string')
    else if (goName === 'Dependencies' && Array.isArray(v)) fields[goName] = v
    else if (typeof zero() === 'boolean') fields[goName] = v === true
    else fields[goName] = typeof v === 'string' ? v : String(v)
  }
  fields.Name = meta.name
  fields.Version = meta.version
  fields.IsRoot = isRoot
  return new GoStruct('struct { chart.Metadata; IsRoot bool }', fields)
}

/**
 * gobwas/glob with '/' as separator: * and ? stay within a path segment, ** crosses segments,
 * [abc] [!abc] [a-z] classes, {a,b} alternatives.
 */
export function compileGlob(pattern: string): RegExp {
  let re = '^'
  let depth = 0
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*'
      i++
    } else if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const j = pattern.indexOf(']', i)
      if (j < 0) throw new Error('unclosed [')
      let cls = pattern.slice(i + 1, j)
      if (cls.startsWith('!')) cls = `^${cls.slice(1)}`
      re += `[${cls}]`
      i = j
    } else if (c === '{') {
      depth++
      re += '(?:'
    } else if (c === '}' && depth > 0) {
      depth--
      re += ')'
    } else if (c === ',' && depth > 0) re += '|'
    else if (c === '\\' && i + 1 < pattern.length) re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    else re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
  }
  if (depth !== 0) throw new Error('unclosed {')
  return new RegExp(`${re}$`, 's')
}

/** `.Files`: the chart's non-template files, as Helm's `files` map type with its methods. */
export function filesObject(files: Map<string, Uint8Array>): GoStruct {
  const entries: GoMap = {}
  for (const [k, v] of files) entries[k] = v
  const getBytes = (name: string) => (files.get(name) ?? new Uint8Array())
  const self: GoStruct = new GoStruct('engine.files', entries, {
    GetBytes: method('GetBytes', ['string'], getBytes),
    Get: method('Get', ['string'], (name: string) => bytesToString(getBytes(name))),
    Glob: method('Glob', ['string'], (pattern: string) => {
      let g: RegExp
      try {
        g = compileGlob(pattern)
      } catch {
        g = /^.*$/s
      }
      return filesObject(new Map([...files].filter(([name]) => g.test(name))))
    }),
    AsConfig: method('AsConfig', [], () => toYaml(typedMap(Object.fromEntries([...files].map(([k, v]) => [posix.basename(k), bytesToString(v)])), 'string'))),
    AsSecrets: method('AsSecrets', [], () => toYaml(typedMap(Object.fromEntries([...files].map(([k, v]) => [posix.basename(k), Buffer.from(v).toString('base64')])), 'string'))),
    Lines: method('Lines', ['string'], (path: string) => {
      const data = files.get(path)
      if (!data) return typedSlice([], 'string')
      let s = bytesToString(data)
      if (s.endsWith('\n')) s = s.slice(0, -1)
      return typedSlice(s.split('\n'), 'string')
    }),
  }, undefined, {missing: new Uint8Array()})
  return self
}

/** Helm's chartutil.Values (the type of .Values and .Template): a map with AsMap, Table, PathValue and YAML. */
export function valuesObject(m: GoMap): GoStruct {
  return new GoStruct('chartutil.Values', m, {
    AsMap: method('AsMap', [], () => m),
    Table: method('Table', ['string'], (name: string) => {
      const t = tableAt(m, name)
      if (!t) throw new FuncError(`${JSON.stringify(name.split('.').find((_, i, all) => !tableAt(m, all.slice(0, i + 1).join('.'))) ?? name)} is not a table`)
      return valuesObject(t)
    }),
    PathValue: method('PathValue', ['string'], (path: string) => {
      if (path === '') throw new FuncError('YAML path cannot be empty')
      const found = pathValue(m, path)
      if (!found) throw new FuncError(`${JSON.stringify(path.split('.').pop())} is not a value`)
      return found.value
    }),
    YAML: method('YAML', [], () => sigsYamlMarshal(m)),
  }, undefined, {missing: null}, valuesObject)
}
