/**
 * What `airgap rewrite` reads besides the receipt: the channel values (from `--channel FILE`, or
 * from the spec stored in the bundle the receipt names) and, for the configmap chart source, the
 * platform chart's package from that bundle. The bundle is opened once, on first use, and must be
 * the one the receipt was pushed from (same lock digest).
 */
import {basename, resolve} from 'node:path'
import {parse as parseYaml} from 'yaml'
import {BundleReader, LOCK_JSON, SPEC_YAML} from '../bundle/index.js'
import {parseLock, type BundleLock, type LockChart} from '../bundle/lock.js'
import {digestOf} from '../oci/digest.js'
import {AirgapError, IntegrityError, NotFoundError, SpecError} from '../errors.js'
import {readInputText, type InputFileKind} from '../files/input-file.js'
import type {PushReceipt} from '../mirror/receipt.js'
import type {MirrorMap} from '../mirror/types.js'
import {MAX_SPEC_BYTES, parseChannelResponse} from '../release/index.js'
import type {ChartPackage} from '../helm/publish.js'
import {chartPackage} from './push/charts.js'

/** The chart the CR installs. */
export const PLATFORM_CHART = 'operator-wandb'

const CHANNEL_FILE: InputFileKind = {what: 'channel response file', maxBytes: MAX_SPEC_BYTES, refusal: 'input', hint: 'check the --channel path (a saved W&B channel response)'}

/** The bundle the receipt names, opened on first use and checked against the receipt's lock digest. */
export class LazyBundle {
  private reader: BundleReader | undefined
  /** The lock the receipt names (its digest checked): every other entry read is checked against it. */
  private lock: BundleLock | undefined
  private failure: Error | undefined

  constructor(
    readonly path: string,
    private readonly receipt: PushReceipt,
  ) {}

  /** The open reader, or the reason it cannot be read. */
  async open(): Promise<BundleReader | Error> {
    if (this.reader) return this.reader
    if (this.failure) return this.failure
    try {
      const reader = await BundleReader.open(this.path)
      const lock = await reader.readFile(LOCK_JSON)
      const digest = digestOf(lock)
      if (digest !== this.receipt.bundle.lockDigest) {
        await reader.close()
        throw new IntegrityError(`bundle ${this.path} is not the bundle of the receipt (its ${LOCK_JSON} is ${digest}, the receipt names ${this.receipt.bundle.lockDigest})`, {
          hint: 'pass the bundle that was pushed with --bundle',
        })
      }
      this.lock = parseLock(lock, `bundle ${this.path} ${LOCK_JSON}`)
      this.reader = reader
      return reader
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err))
      return this.failure
    }
  }

  /** The lock read (and checked against the receipt's digest) when the bundle was opened. */
  get openedLock(): BundleLock | undefined {
    return this.lock
  }

  /** airgap/spec.yaml, only when it is the spec the lock pins (rewrite writes its values into operator.yaml). */
  async specBytes(reader: BundleReader): Promise<Buffer> {
    const bytes = await reader.readFile(SPEC_YAML)
    const pinned = this.lock?.spec?.digest
    if (pinned === undefined || digestOf(bytes) !== pinned) {
      throw new IntegrityError(`bundle ${this.path}: ${SPEC_YAML} is ${digestOf(bytes)} but ${LOCK_JSON} pins ${pinned ?? 'no spec'}`, {
        hint: 'the bundle was modified after it was pushed; run `airgap verify` on it, or pass the channel values with --channel',
      })
    }
    return bytes
  }

  async close(): Promise<void> {
    await this.reader?.close()
  }
}

export interface ChannelValues {
  from: 'channel' | 'bundle' | 'none'
  file?: string
  values?: Record<string, unknown>
}

/** The channel values: --channel, else the operator-wandb chart's inline values in the bundle's spec. */
export async function channelValues(channelFile: string | undefined, bundle: LazyBundle, warn: (m: string) => void): Promise<ChannelValues> {
  if (channelFile !== undefined) {
    const text = await readInputText(channelFile, CHANNEL_FILE)
    const spec = parseChannelResponse(text, channelFile, {includeOperator: false})
    return {from: 'channel', file: resolve(channelFile), values: spec.spec.charts[0]?.set ?? {}}
  }
  const reader = await bundle.open()
  const noValues = 'spec.values carries only the site values and the mirror overrides; pass --channel CHANNEL.json to add the channel values'
  if (reader instanceof Error) {
    if (reader instanceof IntegrityError) throw reader
    warn(`cannot read the channel values from bundle ${bundle.path} (${reader.message.split('\n')[0]}); ${noValues}`)
    return {from: 'none'}
  }
  if (!reader.has(SPEC_YAML)) {
    warn(`bundle ${bundle.path} stores no spec; ${noValues}`)
    return {from: 'none'}
  }
  const where = `${bundle.path}:${SPEC_YAML}`
  const chart = platformChart((await bundle.specBytes(reader)).toString('utf8'), where)
  if (chart === undefined) {
    warn(`the spec in bundle ${bundle.path} has no ${PLATFORM_CHART} chart; ${noValues}`)
    return {from: 'none'}
  }
  if (chart.values.length > 0) {
    warn(`the spec in bundle ${bundle.path} names values files of the pulling machine (${chart.values.join(', ')}); they are not in the bundle: pass the site settings with --values`)
  }
  return {from: 'bundle', file: where, values: chart.set}
}

/**
 * The operator-wandb entry of the stored spec (`spec.charts[]` in airgap.yaml form: `{name, repo}`,
 * `{oci}` or `{path}`, with `set` = the channel values). Read as plain YAML, not re-validated: the
 * stored spec was validated when it was pulled, and only the inline values matter here.
 */
function platformChart(text: string, where: string): {set: Record<string, unknown>; values: string[]} | undefined {
  let doc: unknown
  try {
    doc = parseYaml(text, {maxAliasCount: 100})
  } catch (err) {
    throw new SpecError(`${where}: not valid YAML (${(err as Error).message.split('\n')[0]})`, where, undefined, {hint: 'the bundle is damaged; pull it again', cause: err})
  }
  const charts = (doc as {spec?: {charts?: unknown}} | null)?.spec?.charts
  if (!Array.isArray(charts)) return undefined
  const entry = charts.find((c): c is Record<string, unknown> => {
    if (!isPlainObject(c)) return false
    if (typeof c['name'] === 'string') return c['name'] === PLATFORM_CHART
    if (typeof c['oci'] === 'string') return c['oci'].replace(/\/+$/, '').endsWith(`/${PLATFORM_CHART}`)
    if (typeof c['path'] === 'string') return basename(c['path']).replace(/(-\d[\w.+-]*)?\.tgz$/, '') === PLATFORM_CHART
    return false
  })
  if (entry === undefined) return undefined
  const set = entry['set']
  const values = entry['values']
  return {set: isPlainObject(set) ? set : {}, values: Array.isArray(values) ? values.filter((v): v is string => typeof v === 'string') : []}
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Configmap route: the chart's .tgz from the bundle (verified against its digests). */
export async function attachChartPackage(map: MirrorMap, bundle: LazyBundle): Promise<void> {
  const pkg = await bundledChart(bundle, PLATFORM_CHART, 'the configmap chart source', 'pass the pushed bundle with --bundle, or choose --chart-source repo or oci')
  if (pkg === undefined) {
    throw new NotFoundError(`bundle ${bundle.path} holds no ${PLATFORM_CHART} chart (charts: ${bundle.openedLock!.charts.map((c) => c.name).join(', ') || 'none'})`, {
      hint: `pull a spec with the ${PLATFORM_CHART} chart`,
    })
  }
  const known = map.charts.find((c) => c.name === pkg.name && c.version === pkg.version)
  if (known) known.tgz = pkg.tgz
  else map.charts.push({name: pkg.name, version: pkg.version, tgz: pkg.tgz})
}

/**
 * The package of chart `name` in the bundle (read through the lock, so its digests are checked),
 * or undefined when the bundle holds no such chart. `purpose` and `hint` word the error when the
 * bundle cannot be read at all.
 */
export async function bundledChart(bundle: LazyBundle, name: string, purpose: string, hint: string): Promise<ChartPackage | undefined> {
  const reader = await bundle.open()
  if (reader instanceof Error) {
    if (reader instanceof AirgapError) throw reader
    throw new NotFoundError(`${purpose} needs the ${name} chart package from bundle ${bundle.path}, which cannot be read (${reader.message.split('\n')[0]})`, {hint})
  }
  const entry: LockChart | undefined = bundle.openedLock!.charts.find((c) => c.name === name)
  return entry === undefined ? undefined : chartPackage(reader, entry)
}
