/**
 * diffReleases() (`airgap diff A B`): what changes between two releases carried across, for a
 * change ticket. Each side is a bundle, a bundle lock (`airgap/lock.json`) or a push receipt,
 * recognised by its content. Nothing is verified here (`airgap verify` does that); the spec a
 * bundle carries is read only when it matches the digest its lock pins.
 */
import {constants} from 'node:fs'
import {open} from 'node:fs/promises'
import {readInputText, type InputFileKind} from '../files/input-file.js'
import {basename} from 'node:path'
import {parse as parseYaml} from 'yaml'
import {IntegrityError, SpecError} from '../errors.js'
import {digestOf} from '../oci/digest.js'
import {BundleReader, LOCK_JSON, SPEC_YAML, digestOfEntryName} from '../bundle/index.js'
import {parseLock, type BundleLock} from '../bundle/lock.js'
import {parseReceipt} from '../mirror/receipt.js'
import {parseJsonFile} from '../validation/json-file.js'
import {compareReleases, type ReleaseDiff, type ReleaseRecord} from '../release/compare.js'

export type {ReleaseDiff} from '../release/compare.js'

/** Compare release A (before) with release B (after). */
export async function diffReleases(before: string, after: string): Promise<ReleaseDiff> {
  const [a, b] = await Promise.all([readReleaseRecord(before), readReleaseRecord(after)])
  return compareReleases(a, b)
}

/** A bundle (tar), a bundle lock or a push receipt (JSON), recognised by content. */
export async function readReleaseRecord(file: string): Promise<ReleaseRecord> {
  if (await isTar(file)) return bundleRecord(file)
  const text = await readInputText(file, RECORD_FILE)
  const hint = 'pass two bundles, bundle locks (airgap/lock.json) or push receipts'
  const kind = (parseJsonFile(text, file, hint) as {kind?: unknown} | null)?.kind
  if (kind === 'BundleLock') return lockRecord(file, 'lock', parseLock(Buffer.from(text), file))
  if (kind === 'PushReceipt') {
    const receipt = parseReceipt(text, file)
    return {
      file,
      kind: 'receipt',
      images: receipt.images.map((i) => ({source: i.source, digest: i.digest})),
      charts: receipt.charts.map((c) => ({name: c.name, version: c.version, digest: c.digest})),
    }
  }
  throw new SpecError(`${file}: kind ${JSON.stringify(kind ?? null)} is not a bundle lock or a push receipt`, file, '$.kind', {hint})
}

const RECORD_FILE: InputFileKind = {what: 'bundle lock or push receipt', maxBytes: 256 * 1024 * 1024, refusal: 'input', missingIsNotFound: true, hint: 'pass two bundles, bundle locks or push receipts'}

/** The ustar magic at offset 257 of the first header (a missing file, a folder or a FIFO is refused by readInputText). */
async function isTar(file: string): Promise<boolean> {
  const handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK).catch(() => undefined)
  if (!handle) return false
  try {
    if (!(await handle.stat()).isFile()) return false
    const head = Buffer.alloc(512)
    const {bytesRead} = await handle.read(head, 0, 512, 0)
    return bytesRead === 512 && head.subarray(257, 262).toString('latin1') === 'ustar'
  } finally {
    await handle.close()
  }
}

async function bundleRecord(file: string): Promise<ReleaseRecord> {
  const reader = await BundleReader.open(file)
  try {
    if (!reader.has(LOCK_JSON)) throw new IntegrityError(`bundle ${file}: no ${LOCK_JSON} entry; this is an OCI archive but not an airgap bundle`, {hint: 'write bundles with `airgap pull`'})
    const lock = parseLock(await reader.readFile(LOCK_JSON), `bundle ${file} ${LOCK_JSON}`)
    const blobs = new Map(reader.entries().filter((e) => e.kind === 'blob').map((e) => [digestOfEntryName(e.name), e.size]))
    let values: ReleaseRecord['values']
    if (lock.spec && reader.has(SPEC_YAML)) {
      const spec = await reader.readFile(SPEC_YAML)
      if (digestOf(spec) !== lock.spec.digest) {
        throw new IntegrityError(`bundle ${file}: ${SPEC_YAML} is ${digestOf(spec)} but ${LOCK_JSON} pins ${lock.spec.digest}`, {hint: 'the bundle was modified; run `airgap verify` and pull it again'})
      }
      values = chartValues(spec.toString('utf8'), `bundle ${file} ${SPEC_YAML}`)
    }
    return {...lockRecord(file, 'bundle', lock), values, blobs}
  } finally {
    await reader.close()
  }
}

function lockRecord(file: string, kind: 'bundle' | 'lock', lock: BundleLock): ReleaseRecord {
  return {
    file,
    kind,
    images: lock.images.map((i) => ({source: i.source, digest: i.digest, bytes: i.bytes})),
    charts: lock.charts.map((c) => ({name: c.name, version: c.version, digest: c.digest})),
  }
}

/** The inline values (`set`) of each chart of the stored spec, by chart name. */
function chartValues(text: string, where: string): Record<string, Record<string, unknown>> {
  let doc: unknown
  try {
    doc = parseYaml(text, {maxAliasCount: 100})
  } catch (err) {
    throw new IntegrityError(`${where}: not valid YAML (${(err as Error).message.split('\n')[0]})`, {hint: 'the bundle is damaged; pull it again', cause: err})
  }
  const charts = (doc as {spec?: {charts?: unknown}} | null)?.spec?.charts
  const out: Record<string, Record<string, unknown>> = {}
  if (!Array.isArray(charts)) return out
  for (const c of charts) {
    if (typeof c !== 'object' || c === null) continue
    const entry = c as Record<string, unknown>
    const name = chartName(entry)
    const set = entry['set']
    if (name && typeof set === 'object' && set !== null && !Array.isArray(set)) out[name] = set as Record<string, unknown>
  }
  return out
}

/** `{name}`, `{oci: …/name}` or `{path: …/name-1.2.3.tgz}`. */
function chartName(entry: Record<string, unknown>): string | undefined {
  if (typeof entry['name'] === 'string') return entry['name']
  if (typeof entry['oci'] === 'string') return entry['oci'].replace(/\/+$/, '').split('/').pop()?.replace(/:.*$/, '')
  if (typeof entry['path'] === 'string') return basename(entry['path']).replace(/(-\d[\w.+-]*)?\.tgz$/, '')
  return undefined
}
