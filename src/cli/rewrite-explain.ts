/**
 * `airgap rewrite --explain`: every container of the rendered release, one line each, as a table:
 * component, object, container, image, and how the image reaches the node from the mirror.
 * Rendered text (object names, images) comes from the chart: callers print it through BaseCommand.log,
 * which escapes control characters (terminal-text.ts).
 */
import type {ProofRow} from '../rewrite/index.js'

const HEADINGS = ['COMPONENT', 'OBJECT', 'CONTAINER', 'IMAGE', 'REDIRECTED BY']

/** The table's lines (headings first), columns padded to their widest cell. */
export function explainTable(rows: readonly ProofRow[]): string[] {
  const cells = rows.map((r) => [r.component, `${r.object}${r.hook !== undefined ? ` [hook ${r.hook}]` : ''}`, r.container, r.image, r.redirection.map(describe).join(', ')])
  const widths = HEADINGS.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)))
  const line = (c: string[]) => c.map((cell, i) => (i === c.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')
  return [line(HEADINGS), ...cells.map(line)]
}

function describe(r: ProofRow['redirection'][number]): string {
  switch (r) {
    case 'values':
      return 'values (points at the mirror)'
    case 'none':
      return 'NOT REDIRECTED'
    default:
      return r
  }
}
