/**
 * Dry runs as text (`push --dry-run`, `pull --dry-run`): one row per image, then the totals. The
 * first line says that nothing was written.
 */
import type {PushDryRunResult} from '../usecases/push/index.js'
import type {PullPlanResult} from '../usecases/pull-plan.js'
import {formatBytes} from './progress.js'

const short = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12)

/** Columns padded to their widest cell (the last column is not padded). */
export function table(rows: readonly string[][], indent = '  '): string[] {
  if (rows.length === 0) return []
  const columns = Math.max(...rows.map((r) => r.length))
  const widths = Array.from({length: columns}, (_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r) => indent + r.map((c, i) => (i < r.length - 1 ? c.padEnd(widths[i]!) : c)).join('  ').trimEnd())
}

function rulesText(r: PushDryRunResult): string {
  const rules = [r.keepSourceHost ? '--keep-source-host' : '', r.pathRules.maxNestedPaths !== undefined ? `--max-nested-paths ${r.pathRules.maxNestedPaths}` : '', r.pathRules.flatten ? '--flatten' : ''].filter((s) => s !== '')
  return rules.length ? ` (${rules.join(' ')})` : ''
}

/** `push --dry-run`: the source -> mirror mapping, what the mirror holds, and what would be sent. */
export function pushPlanLines(r: PushDryRunResult): string[] {
  const lines = [`Dry run, nothing written: push of ${r.bundle} into ${r.registry}${rulesText(r)}${r.split ? `, part ${r.split.part} of ${r.split.parts}` : ''}`]
  const holds = {tagged: 'tagged', present: 'untagged', absent: 'missing', unknown: 'not asked'}
  const rows = [['SOURCE', 'MIRROR', 'MIRROR HAS', 'TO SEND']]
  for (const i of r.images) {
    rows.push([i.source, `${i.mirror}${i.renamed ? ' *' : ''}`, holds[i.mirrorHolds], i.send.blobs ? `${formatBytes(i.send.bytes)} in ${i.send.blobs} blob(s)` : '-'])
  }
  lines.push(...table(rows))
  if (r.images.some((i) => i.renamed)) {
    lines.push(r.serverManifest ? `  * where the W&B ${r.serverManifest.version} v2 operator looks for it: the registry/repository the server manifest names, under the mirror` : '  * name shortened by the path rules')
  }
  for (const c of r.charts) lines.push(`  chart ${c.name}@${c.version} -> ${c.destination ?? 'not published (no --helm-repo)'}${c.send.blobs ? `: ${formatBytes(c.send.bytes)} to send` : ''}`)
  const s = r.send
  const counts = countBy(r.images.map((i) => holds[i.mirrorHolds]))
  lines.push(`Would send ${s.blobs} blob(s) (${formatBytes(s.bytes)}) and ${s.manifests} manifest(s) (${formatBytes(s.manifestBytes)}), and set ${s.tags} tag(s)`)
  if (r.split) lines.push(`  split set    this part's blobs only: each image's manifests and tag go when the last part it needs is pushed`)
  lines.push(`  images       ${r.images.length}: ${Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ')}`)
  lines.push(`  in place     ${r.alreadyThere.blobs} blob(s) (${formatBytes(r.alreadyThere.bytes)}) the mirror already holds`)
  if (r.delta) lines.push(`  delta        ${r.delta.expected} blob(s) left out of the bundle: ${r.delta.present} in place, ${r.delta.mounts} to mount`)
  if (r.signatures) lines.push(`  signatures   ${r.signatures} carried`)
  lines.push(`  signature    ${r.authenticity === 'verified' ? `verified (key ${r.signer ?? '?'})` : 'NOT checked'}; blob digests are checked by the real push`)
  lines.push(`  receipt      would be written to ${r.receiptPath}`)
  return lines
}

/** `pull --dry-run`: every chart and image with its digest and size, what is missing upstream, the totals. */
export function pullPlanLines(r: PullPlanResult): string[] {
  const lines = [`Dry run, nothing written: pull of ${r.spec.name}${r.spec.version ? ` ${r.spec.version}` : ''} (${r.spec.origin})${r.output ? ` into ${r.output}` : ''}`]
  const rows = [['KIND', 'REFERENCE', 'DIGEST', 'SIZE', 'PLATFORMS']]
  for (const c of r.charts) rows.push(['chart', `${c.name}@${c.version}`, short(c.digest), formatBytes(c.bytes), '-'])
  for (const i of r.images) rows.push([i.enabled ? 'image' : 'image (disabled)', i.reference, short(i.digest), formatBytes(i.bytes), i.platforms.join(',') || '-'])
  for (const m of r.missing) rows.push([m.enabled ? 'MISSING' : 'missing (disabled)', m.reference, '-', '-', m.reason])
  lines.push(...table(rows))
  const t = r.totals
  lines.push(`Would write ${formatBytes(t.bundleBytes)} in ${t.blobs} blob(s): ${r.charts.length} chart(s), ${r.images.length} image(s)${r.missing.length ? `, ${r.missing.length} missing upstream (not carried)` : ''}${r.excluded.length ? `, ${r.excluded.length} excluded` : ''}`)
  lines.push(`  shared       ${formatBytes(t.savedBySharing)} stored once for several images`)
  if (r.delta) lines.push(`  delta        ${formatBytes(r.delta.expectedBytes)} in ${r.delta.expectedBlobs} blob(s) left out: the mirror holds them (per ${r.delta.since})`)
  if (r.disk) lines.push(`  disk         ${formatBytes(r.disk.free)} free in ${r.disk.folder}${r.disk.enough ? '' : ' — NOT ENOUGH'}`)
  if (r.upstreamVerification) lines.push(`  upstream     ${r.upstreamVerification.filter((v) => v.verified).length} of ${r.upstreamVerification.length} image(s) verified`)
  for (const reason of r.wouldFail) lines.push(`The pull would fail: ${reason}`)
  return lines
}

function countBy(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const v of values) out[v] = (out[v] ?? 0) + 1
  return out
}
