/**
 * checkReceipt() (`airgap check RECEIPT`): does the mirror hold what the push receipt says?
 * Every image must resolve in the mirror at its recorded digest (HEAD with the full Accept list,
 * GET fallback), and every published chart must download from its Helm repository or OCI
 * registry with the recorded .tgz digest. Reports every row; checkFailure() turns problems into
 * one error (IntegrityError for a wrong digest, NotFoundError for anything missing).
 */
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import pLimit from 'p-limit'
import {AirgapError, IntegrityError, NotFoundError} from '../errors.js'
import {HelmRepository} from '../helm/repository.js'
import {pullOciChart} from '../helm/oci.js'
import {indexDigest, parseRepoIndex} from '../helm/repo-index.js'
import {chartFileName} from '../helm/load.js'
import {digestOf} from '../oci/digest.js'
import {parseReference} from '../oci/reference.js'
import type {HelmAuth} from '../helm/publish.js'
import {readReceipt, type ReceiptChart, type ReceiptImage} from '../mirror/receipt.js'
import {Session, type ConnectionOptions} from './session.js'

export interface CheckOptions extends ConnectionOptions {
  receipt: string
  helmAuth?: HelmAuth
  /** Checks in flight (default 8). */
  concurrency?: number
  signal?: AbortSignal
}

export type CheckState = 'ok' | 'missing' | 'mismatch' | 'error' | 'skipped'

export interface CheckRow {
  kind: 'image' | 'chart'
  /** Source reference, or chart name@version. */
  name: string
  /** Mirror reference, chart URL or oci:// reference checked. */
  where: string
  /** Recorded digest (image manifest, or chart .tgz). */
  want: string
  got?: string
  state: CheckState
  detail?: string
}

export interface CheckResult {
  receipt: string
  registry: string
  ok: boolean
  rows: CheckRow[]
  counts: Record<CheckState, number>
}

/** Check every image and chart of a receipt against the mirror. */
export async function checkReceipt(opts: CheckOptions): Promise<CheckResult> {
  const receipt = await readReceipt(opts.receipt)
  const session = new Session(opts)
  const limit = pLimit(Math.max(1, opts.concurrency ?? 8))
  try {
    const rows = await Promise.all([
      ...receipt.images.map((image) => limit(() => checkImage(session, image, opts.signal))),
      ...receipt.charts.map((chart) => limit(() => checkChart(session, chart, opts))),
    ])
    const counts: Record<CheckState, number> = {ok: 0, missing: 0, mismatch: 0, error: 0, skipped: 0}
    for (const r of rows) counts[r.state]++
    return {receipt: opts.receipt, registry: receipt.registry, ok: counts.missing + counts.mismatch + counts.error === 0, rows, counts}
  } finally {
    await session.close()
  }
}

/** The error for a failed check (undefined when everything holds). */
export function checkFailure(result: CheckResult): AirgapError | undefined {
  if (result.ok) return undefined
  const bad = result.rows.filter((r) => r.state !== 'ok' && r.state !== 'skipped')
  const list = bad.map((r) => `${r.name} at ${r.where}: ${r.state}${r.detail ? ` (${r.detail})` : ''}`).join('; ')
  const message = `${bad.length} of ${result.rows.length} item(s) of ${result.receipt} do not hold in the mirror: ${list}`
  const hint = 'run the same `airgap push` again to restore what is missing'
  if (result.counts.mismatch > 0) return new IntegrityError(message, {hint: 'the mirror holds other content than was pushed; push the bundle again and find out who changed it'})
  return new NotFoundError(message, {hint})
}

function stateOf(err: unknown): CheckState {
  return err instanceof NotFoundError || (err instanceof AirgapError && err.exitCode === 7) ? 'missing' : err instanceof IntegrityError ? 'mismatch' : 'error'
}

function detailOf(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300)
}

async function checkImage(session: Session, image: ReceiptImage, signal?: AbortSignal): Promise<CheckRow> {
  const row: CheckRow = {kind: 'image', name: image.source, where: image.mirror, want: image.digest, state: 'ok'}
  try {
    const ref = parseReference(image.mirror)
    const {repository} = session.repository(image.mirror, 'destination')
    const desc = await repository.resolve(ref.tag ?? ref.digest ?? image.digest, signal)
    row.got = desc.digest
    if (desc.digest !== image.digest) {
      row.state = 'mismatch'
      row.detail = `the mirror has ${desc.digest}`
    }
  } catch (err) {
    row.state = stateOf(err)
    row.detail = detailOf(err)
  }
  return row
}

async function checkChart(session: Session, chart: ReceiptChart, opts: CheckOptions): Promise<CheckRow> {
  const name = `${chart.name}@${chart.version}`
  const where = chart.ociRef ?? chart.repoUrl ?? '(not published)'
  const row: CheckRow = {kind: 'chart', name, where, want: chart.tgzDigest, state: 'ok'}
  if (chart.status === 'skipped') return {...row, state: 'skipped', detail: chart.error ?? 'not published'}
  if (!chart.ociRef && !chart.repoUrl) return {...row, state: 'missing', detail: chart.error ?? 'the push did not publish it'}
  try {
    const got = chart.ociRef ? await ociChartDigest(session, chart, opts.signal) : await repoChartDigest(session, chart, opts)
    row.got = got
    if (got !== chart.tgzDigest) {
      row.state = 'mismatch'
      row.detail = `the repository serves ${got}`
    }
  } catch (err) {
    row.state = stateOf(err)
    row.detail = detailOf(err)
  }
  return row
}

async function ociChartDigest(session: Session, chart: ReceiptChart, signal?: AbortSignal): Promise<string> {
  const repo = chart.ociRef!.slice('oci://'.length)
  const {repository} = session.repository(`${repo}:latest`, 'destination')
  const pulled = await pullOciChart(chart.version, repository, chart.ociRef!, signal)
  if (pulled.manifest.digest !== chart.digest) {
    throw new IntegrityError(`${chart.ociRef}:${chart.version} is ${pulled.manifest.digest}, but ${chart.digest} was pushed`)
  }
  return digestOf(pulled.tgz)
}

async function repoChartDigest(session: Session, chart: ReceiptChart, opts: CheckOptions): Promise<string> {
  const url = chart.repoUrl!.replace(/^chartmuseum\+/i, '')
  if (url.startsWith('file:')) return folderChartDigest(fileURLToPath(url), chart)
  const auth = opts.helmAuth
  const repo = new HelmRepository(url, {http: session.http, username: auth?.username, password: auth?.password})
  const downloaded = await repo.pullChart(chart.name, chart.version, opts.signal)
  return downloaded.digest
}

async function folderChartDigest(dir: string, chart: ReceiptChart): Promise<string> {
  const indexFile = join(dir, 'index.yaml')
  const text = await readFile(indexFile, 'utf8').catch(() => {
    throw new NotFoundError(`${indexFile} does not exist`)
  })
  const entry = parseRepoIndex(text, indexFile).entries.get(chart.name)?.find((e) => e.version === chart.version)
  if (!entry) throw new NotFoundError(`${indexFile} does not list ${chart.name}@${chart.version}`)
  const bytes = await readFile(join(dir, entry.urls[0] ?? chartFileName(chart))).catch(() => {
    throw new NotFoundError(`${join(dir, chartFileName(chart))} does not exist`)
  })
  const got = digestOf(bytes)
  const listed = indexDigest(entry.digest)
  if (listed !== undefined && listed !== got) throw new IntegrityError(`${indexFile} lists ${chart.name}@${chart.version} as ${listed} but the file is ${got}`)
  return got
}
