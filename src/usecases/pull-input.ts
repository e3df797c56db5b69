/**
 * Inputs of `airgap pull` / `airgap images`: the release spec (our airgap.yaml, a saved W&B channel
 * response, or the live channel) and the values files it names. Everything here is validated before
 * any network call, except the live channel fetch itself.
 */
import {coalesce, isMap, type Values} from '../discover/values.js'
import {SpecError, UsageError} from '../errors.js'
import {readInputText, type InputFileKind} from '../files/input-file.js'
import {parseRepository} from '../oci/reference.js'
import {checkWandbRelease, fetchChannel, parseChannelResponse, parseSpec, type ChartSource, type ReleaseSpec, type WandbProblem, type WandbReleaseInput} from '../release/index.js'
import {SPEC_API_VERSION, SPEC_FILE, SPEC_KIND, type WandbRelease} from '../release/types.js'
import {parseSource} from '../release/yaml.js'
import {Session, type ConnectionOptions} from './session.js'

/** Where the release spec comes from. */
export interface SpecInput extends ConnectionOptions {
  /** Path of an airgap.yaml or of a saved channel response (JSON, detected by content). */
  spec?: string
  /** W&B deploy server base URL: fetch the channel live. */
  channelUrl?: string
  /** Pinned release id (with channelUrl). */
  release?: string
  /** The W&B licence (with channelUrl). Never printed. */
  license?: string
  /** A W&B release for the v2 operator (`--wandb-version` and its flags); replaces the spec's `wandb` block. */
  wandb?: WandbReleaseInput
  signal?: AbortSignal
}

/** Largest values file read (16 MiB). */
export const MAX_VALUES_BYTES = 16 * 1024 * 1024

/** A values file a spec names. */
const VALUES_FILE: InputFileKind = {
  what: 'values file',
  maxBytes: MAX_VALUES_BYTES,
  refusal: 'input',
  hint: 'check the values paths in the spec (relative paths are resolved against the spec file folder)',
}

/** Check the combination of spec options (no IO). Throws UsageError. */
export function checkSpecInput(input: SpecInput): void {
  if (input.spec && input.channelUrl) {
    throw new UsageError('give either a SPEC file or --channel-url, not both', {hint: 'drop one of them'})
  }
  if (!input.spec && !input.channelUrl && !input.wandb) {
    throw new UsageError('no release spec given', {hint: 'pass a SPEC file (airgap.yaml or a saved channel response), --channel-url URL with --license, or --wandb-version VERSION'})
  }
  if (input.wandb) wandbFromFlags(input.wandb)
  if (input.channelUrl && !input.license) {
    throw new UsageError(`no W&B licence for the channel at ${input.channelUrl}`, {hint: 'pass --license or set WANDB_LICENSE'})
  }
  if (input.release && !input.channelUrl) {
    throw new UsageError('--release needs --channel-url', {hint: 'add --channel-url URL, or drop --release'})
  }
}

/** Load and validate the release spec. Only the live channel touches the network. */
export async function loadReleaseSpec(input: SpecInput): Promise<ReleaseSpec> {
  checkSpecInput(input)
  const spec = await loadSpecDocument(input)
  if (input.wandb) spec.spec.wandb = wandbFromFlags(input.wandb)
  return spec
}

/** A spec holding only the W&B v2 release of the flags (no SPEC file, no channel). */
function wandbOnlySpec(release: WandbRelease): ReleaseSpec {
  return {
    apiVersion: SPEC_API_VERSION,
    kind: SPEC_KIND,
    metadata: {name: 'wandb', version: release.version},
    spec: {platforms: [], includeDisabled: true, charts: [], images: [], exclude: [], wandb: release},
    origin: `--wandb-version ${release.version}`,
  }
}

/** The v2 release of `--wandb-version` and its flags, checked (UsageError naming the flag). */
export function wandbFromFlags(input: WandbReleaseInput): WandbRelease {
  const {release, problems} = checkWandbRelease(input, process.cwd())
  const flag: Record<WandbProblem['field'], string> = {version: '--wandb-version', manifestRepository: '--manifest-repository', operatorChart: '--operator-chart'}
  if (release === undefined || problems.length > 0) {
    throw new UsageError(problems.map((p) => `${flag[p.field]}: ${p.message}`).join('; '), {
      hint: 'write --wandb-version 0.99.0, --manifest-repository oci://HOST/PATH, --operator-chart oci://HOST/PATH/operator[:VERSION] or a chart .tgz',
    })
  }
  return release
}

async function loadSpecDocument(input: SpecInput): Promise<ReleaseSpec> {
  if (!input.spec && !input.channelUrl) return wandbOnlySpec(wandbFromFlags(input.wandb!))
  if (input.channelUrl) {
    const session = new Session(input)
    try {
      const doc = await fetchChannel({url: input.channelUrl, license: input.license ?? '', release: input.release || undefined, http: session.http, signal: input.signal})
      return parseChannelResponse(doc.body, doc.origin)
    } finally {
      await session.close()
    }
  }
  const path = input.spec as string
  const text = await readInputText(path, SPEC_FILE)
  return isChannelResponse(text) ? parseChannelResponse(text, path) : parseSpec(text, path)
}

/** A channel response is a JSON object with `chart` and no `apiVersion`; anything else is our spec. */
export function isChannelResponse(text: string): boolean {
  if (!/^\s*\{/.test(text)) return false
  try {
    const value = JSON.parse(text) as unknown
    return isMap(value) && !('apiVersion' in value) && 'chart' in value
  } catch {
    return false
  }
}

/**
 * The user values of a chart as Helm would see them from `-f file1 -f file2 --set …`: the values
 * files in order, then the spec's inline `set` (or the channel values) on top. Chart defaults are
 * merged later, by discovery.
 */
export async function chartUserValues(chart: ChartSource): Promise<Values> {
  let merged: Values = {}
  for (const file of chart.values) merged = coalesce(await readValuesFile(file), merged)
  return coalesce(chart.set, merged)
}

async function readValuesFile(file: string): Promise<Values> {
  const text = await readInputText(file, VALUES_FILE)
  const {value} = parseSource(text, file, {what: 'values file', maxBytes: MAX_VALUES_BYTES})
  if (value === null || value === undefined) return {}
  if (!isMap(value)) throw new SpecError(`${file}:1:1: a values file must be a map, not ${Array.isArray(value) ? 'a list' : typeof value}`, file, undefined, {hint: 'write values as key: value pairs'})
  return value
}

/** A `--registry-mirror SOURCE=MIRROR` mapping: `docker.io=127.0.0.1:5000/dockerhub`. */
export interface RegistryMirror {
  /** Registry host, optionally with a repository prefix (`docker.io`, `docker.io/bitnami`). */
  source: string
  /** Registry host[:port] with an optional path prefix. */
  mirror: string
}

/** Parse `SOURCE=MIRROR` flags (Docker Hub aliases normalised to docker.io). Throws UsageError. */
export function parseRegistryMirrors(flags: readonly string[]): RegistryMirror[] {
  return flags.map((flag) => {
    const eq = flag.indexOf('=')
    const source = eq > 0 ? flag.slice(0, eq).trim().replace(/\/+$/, '') : ''
    const mirror = eq > 0 ? flag.slice(eq + 1).trim().replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '') : ''
    if (!source || !mirror) {
      throw new UsageError(`invalid --registry-mirror "${flag}"`, {hint: 'write SOURCE=MIRROR, e.g. docker.io=artifactory.corp:443/dockerhub'})
    }
    const normalised = /^(index\.)?docker\.io(\/|$)/.test(source) ? source.replace(/^index\./, '') : source
    const host = mirror.split('/')[0] ?? ''
    try {
      if (!/[.:]/.test(host) && host !== 'localhost') throw new Error('not a host')
      parseRepository(`${mirror}/x`)
    } catch {
      throw new UsageError(`invalid mirror "${mirror}" in --registry-mirror "${flag}"`, {hint: 'write the mirror as HOST[:PORT][/PATH]'})
    }
    return {source: normalised, mirror}
  })
}

/**
 * Where to fetch a normalised reference from: through the mirror whose source is the longest
 * prefix of `registry/repository` (component-wise), else the reference itself.
 */
export function mirroredReference(reference: {registry: string; repository: string}, mirrors: readonly RegistryMirror[]): {registry: string; repository: string; mirror?: RegistryMirror} {
  const full = `${reference.registry}/${reference.repository}`
  let best: RegistryMirror | undefined
  for (const m of mirrors) {
    if (full === m.source || full.startsWith(`${m.source}/`)) {
      if (!best || m.source.length > best.source.length) best = m
    }
  }
  if (!best) return {registry: reference.registry, repository: reference.repository}
  const rest = full.slice(best.source.length).replace(/^\//, '')
  const slash = best.mirror.indexOf('/')
  const registry = slash < 0 ? best.mirror : best.mirror.slice(0, slash)
  const prefix = slash < 0 ? '' : best.mirror.slice(slash + 1)
  return {registry, repository: [prefix, rest].filter(Boolean).join('/'), mirror: best}
}
