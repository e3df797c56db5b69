/**
 * `airgap diff` as text: a table for the terminal, or Markdown for a change ticket. Digests are
 * shortened to 12 hex digits in the table and kept whole in Markdown.
 */
import type {ReleaseDiff} from '../release/compare.js'
import {formatBytes} from './progress.js'

const short = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12)
const value = (v: unknown): string => (v === undefined ? '-' : JSON.stringify(v))
const chartVersion = (v?: {version: string; digest: string}): string => (v ? v.version : '-')

function newBytesText(d: ReleaseDiff): string {
  if (!d.newBytes) return 'new content: unknown (receipts do not record sizes)'
  return `new content: ${d.newBytes.exact ? '' : 'at most '}${formatBytes(d.newBytes.bytes)}`
}

/** Rows of the terminal table: change, kind, name, from, to. */
export function diffTable(d: ReleaseDiff): string[] {
  const rows: string[][] = []
  for (const i of d.images.added) rows.push(['+', 'image', i.source, '-', short(i.digest)])
  for (const i of d.images.removed) rows.push(['-', 'image', i.source, short(i.digest), '-'])
  for (const m of d.images.moved) rows.push(['~', 'image', m.from === m.to ? m.to : `${m.from} -> ${m.to}`, short(m.fromDigest), short(m.toDigest)])
  for (const c of d.charts.added) rows.push(['+', 'chart', c.name, '-', chartVersion(c.to)])
  for (const c of d.charts.removed) rows.push(['-', 'chart', c.name, chartVersion(c.from), '-'])
  for (const c of d.charts.changed) rows.push(['~', 'chart', c.name, chartVersion(c.from), chartVersion(c.to)])
  for (const v of d.values ?? []) rows.push([v.change === 'added' ? '+' : v.change === 'removed' ? '-' : '~', 'value', `${v.chart}: ${v.path}`, value(v.from), value(v.to)])
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length), 1))
  const lines = [`${d.from.kind} ${d.from.file} -> ${d.to.kind} ${d.to.file}`]
  for (const r of rows) lines.push(r.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c)).join('  '))
  lines.push(summary(d))
  return lines
}

function summary(d: ReleaseDiff): string {
  if (d.same) return 'no difference'
  const i = d.images
  const c = d.charts
  const values = d.values === undefined ? 'values not compared (a side carries none)' : `${d.values.length} value(s) changed`
  return `images: ${i.added.length} added, ${i.removed.length} removed, ${i.moved.length} moved, ${i.unchanged} unchanged; charts: ${c.added.length} added, ${c.removed.length} removed, ${c.changed.length} changed; ${values}; ${newBytesText(d)}`
}

const cell = (s: string): string => s.replace(/\|/g, '\\|').replace(/\n/g, ' ')

/** The same as Markdown sections with tables (empty sections left out). */
export function diffMarkdown(d: ReleaseDiff): string {
  const out = [`## Release change: \`${cell(d.from.file)}\` → \`${cell(d.to.file)}\``, '', summary(d), '']
  const table = (title: string, head: string[], rows: string[][]): void => {
    if (rows.length === 0) return
    out.push(`### ${title}`, '', `| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`), '')
  }
  table('Images added', ['image', 'digest'], d.images.added.map((i) => [`\`${i.source}\``, `\`${i.digest}\``]))
  table('Images removed', ['image', 'digest'], d.images.removed.map((i) => [`\`${i.source}\``, `\`${i.digest}\``]))
  table('Images moved', ['from', 'to', 'from digest', 'to digest'], d.images.moved.map((m) => [`\`${m.from}\``, `\`${m.to}\``, `\`${m.fromDigest}\``, `\`${m.toDigest}\``]))
  table(
    'Charts',
    ['change', 'chart', 'from', 'to'],
    [
      ...d.charts.added.map((c) => ['added', c.name, '-', chartVersion(c.to)]),
      ...d.charts.removed.map((c) => ['removed', c.name, chartVersion(c.from), '-']),
      ...d.charts.changed.map((c) => ['changed', c.name, chartVersion(c.from), chartVersion(c.to)]),
    ],
  )
  table('Values', ['chart', 'path', 'change', 'from', 'to'], (d.values ?? []).map((v) => [v.chart, `\`${v.path}\``, v.change, `\`${value(v.from)}\``, `\`${value(v.to)}\``]))
  return `${out.join('\n').trimEnd()}\n`
}
