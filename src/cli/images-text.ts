/** Human output of `airgap images`: the list, and the `--why` explanation of one image. */
import type {ImageExplanation, ImageOrigin, ListImagesResult, ListedImage} from '../usecases/images.js'

/** Rendered origins shown per image in the list; the rest are counted (`--why` shows all). */
const RENDERED_SHOWN = 2

export function imageListLines(r: ListImagesResult): string[] {
  const lines: string[] = []
  const m = r.serverManifest
  if (m) lines.push(`Server manifest ${m.source} (${m.digest}): ${m.images} image(s)${m.operatorCheck ? `; operator ${m.operatorCheck}` : ''}`)
  lines.push(`Charts (${r.charts.length}):`)
  for (const c of r.charts) lines.push(`  ${c.name}@${c.version}  ${c.source}  -> ${c.bundleName}`)
  if (r.renders.length) lines.push('Renders (each chart like helm template; the warnings name the files that failed):')
  for (const c of r.renders) {
    for (const v of c.variants) {
      const switched = v.switchedOn.length ? ` (${v.switchedOn.length} switch${v.switchedOn.length > 1 ? 'es' : ''} on)` : ''
      const failed = v.failedFiles.length ? `, ${v.failedFiles.length} file(s) failed` : ''
      lines.push(`  ${c.chart}@${c.version} ${v.variant}${switched}: ${v.objects} objects from ${v.files} files${failed}`)
    }
  }
  const tests = r.images.filter((i) => i.testOnly).length
  lines.push(`Images (${r.images.length}; ${r.images.filter((i) => i.enabled).length} enabled${tests ? `, ${tests} helm test only` : ''}):`)
  for (const i of r.images) {
    lines.push(`  ${i.reference}${marks(i)}`)
    const rendered = i.origins.filter((o) => o.rendered)
    for (const o of i.origins.filter((x) => !x.rendered)) lines.push(`      ${o.where}${o.enabled ? '' : ' (disabled)'}`)
    for (const o of rendered.slice(0, RENDERED_SHOWN)) lines.push(`      rendered: ${o.where}${o.enabled ? '' : ' (disabled)'}`)
    if (rendered.length > RENDERED_SHOWN) lines.push(`      rendered in ${rendered.length - RENDERED_SHOWN} more object(s) (--why ${i.reference} lists them)`)
  }
  if (r.excluded.length) lines.push(`Excluded by the spec: ${r.excluded.join(', ')}`)
  if (r.testOnlySkipped.length) lines.push(`Left out (only helm test hooks run them; --skip-test-images): ${r.testOnlySkipped.join(', ')}`)
  return lines
}

export function whyLines(explanations: readonly ImageExplanation[]): string[] {
  const lines: string[] = []
  for (const e of explanations) {
    if (lines.length) lines.push('')
    lines.push(`${e.reference}: ${e.verdict}; ${runs(e)}`)
    const walked = e.origins.filter((o) => !o.rendered)
    const rendered = e.origins.filter((o) => o.rendered)
    if (walked.length) {
      lines.push('  named by the charts and the spec (values walk, annotations, template text):')
      for (const o of walked) {
        lines.push(`    ${o.where}${o.enabled ? '' : ' (disabled component)'}`)
        if (o.valuesWalkReference) lines.push(`      the values alone read ${o.valuesWalkReference}; the chart's templates run ${e.reference}`)
      }
    }
    if (rendered.length) {
      lines.push('  run by rendered objects:')
      for (const o of rendered) lines.push(`    ${o.where}`, `      ${renderedBy(o)}`)
    } else {
      lines.push('  no rendered object runs it (found by the values walk only: the component did not render, or its templates do not use the value)')
    }
  }
  return lines
}

function marks(i: ListedImage): string {
  return `${i.enabled ? '' : '  (disabled)'}${i.testOnly ? '  (helm test only)' : ''}`
}

function runs(e: ImageExplanation): string {
  if (e.testOnly) return 'only helm test hooks run it'
  if (e.enabled) return 'an install with the values as given runs it'
  return 'only disabled components use it'
}

function renderedBy(o: ImageOrigin): string {
  const r = o.rendered!
  const found = `found by the render${r.variants.length > 1 ? 's' : ''}: ${r.variants.join('; ')}`
  return r.switchedOn.length ? `${found} (switches that were off for this chart: ${r.switchedOn.join(', ')})` : found
}
