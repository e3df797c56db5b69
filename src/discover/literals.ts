/**
 * Image references written literally: in chart annotations (`artifacthub.io/images`,
 * `helm.sh/images`) and in template text (`image: busybox:1.36`, or `busybox:1.36` in the args of
 * a test hook). Values-driven lines (`{{ … }}`) are left to the values scan.
 */
import {parse} from 'yaml'
import type {LoadedChart} from '../helm/types.js'
import {DEFAULT_TAG, formatReference, parseReference} from '../oci/reference.js'

export const IMAGE_ANNOTATIONS = ['artifacthub.io/images', 'helm.sh/images'] as const

export interface LiteralImage {
  reference: string
  /** Template file, or annotation name. */
  where: string
  /** The template file declares `helm test` hooks (`helm.sh/hook: test`) and no other hook. */
  testHookFile?: boolean
}

const HOOK_ANNOTATION = /["']?helm\.sh\/hook["']?\s*:\s*["']?([\w, -]+)/g

/** Whether a template's text declares only `helm test` hooks (at least one). */
export function declaresOnlyTestHooks(text: string): boolean {
  const hooks = [...text.matchAll(HOOK_ANNOTATION)].flatMap((m) => m[1]!.split(',').map((h) => h.trim()).filter((h) => h !== ''))
  return hooks.length > 0 && hooks.every((h) => h === 'test' || h === 'test-success')
}

/** Images listed in the chart's annotations (YAML list of `{name, image}`). */
export function annotationImages(chart: LoadedChart, warn: (m: string) => void): LiteralImage[] {
  const out: LiteralImage[] = []
  for (const name of IMAGE_ANNOTATIONS) {
    const text = chart.metadata.annotations?.[name]
    if (typeof text !== 'string' || text.trim() === '') continue
    let list: unknown
    try {
      list = parse(text, {maxAliasCount: 10})
    } catch (err) {
      warn(`${chart.origin}: annotation ${name} is not YAML (${(err as Error).message.split('\n')[0]})`)
      continue
    }
    if (!Array.isArray(list)) {
      warn(`${chart.origin}: annotation ${name} is not a list of {name, image}`)
      continue
    }
    for (const entry of list) {
      const image = typeof entry === 'string' ? entry : (entry as {image?: unknown} | null)?.image
      if (typeof image !== 'string') continue
      const ref = normalise(image)
      if (ref) out.push({reference: ref, where: name})
      else warn(`${chart.origin}: annotation ${name} lists "${image}", which is not an image reference`)
    }
  }
  return out
}

const IMAGE_LINE = /^\s*(?:-\s+)?["']?image["']?\s*:\s*(.+?)\s*$/
/** `name:tag` or `host/path/name:tag` standing alone (start, space, quote, `[`, `,` or `=` before it). */
const TOKEN =
  /(?<=^|[\s"'[,=])((?:[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})(?=$|[\s"'\],])/g
/** A tag that reads as a version: `1.36`, `v0.60.0`, `3.12-slim`. Plain numbers are ports, not tags. */
const VERSION_TAG = /^v?\d+\.\d+/

/** Literal image references in a chart's template files (NOTES.txt and comments skipped). */
export function templateImages(chart: LoadedChart): LiteralImage[] {
  const out: LiteralImage[] = []
  for (const [file, text] of [...chart.templates.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (/NOTES\.txt$/.test(file)) continue
    const testHookFile = declaresOnlyTestHooks(text)
    for (const line of uncommentedLines(text)) {
      const m = IMAGE_LINE.exec(line)
      if (m) {
        const value = m[1]!.replace(/^["']|["']$/g, '')
        const ref = value.includes('{{') ? undefined : normalise(value)
        if (ref) out.push(literal(ref, file, testHookFile))
        continue
      }
      if (line.includes('{{')) continue
      for (const t of line.matchAll(TOKEN)) {
        const token = t[1]!
        const tag = token.slice(token.lastIndexOf(':') + 1)
        if (!VERSION_TAG.test(tag)) continue
        const ref = normalise(token)
        if (ref) out.push(literal(ref, file, testHookFile))
      }
    }
  }
  return out
}

function literal(reference: string, where: string, testHookFile: boolean): LiteralImage {
  const image: LiteralImage = {reference, where}
  if (testHookFile) image.testHookFile = true
  return image
}

function* uncommentedLines(text: string): Generator<string> {
  let inComment = false
  for (const line of text.split('\n')) {
    if (inComment) {
      if (line.includes('*/}}') || line.includes('*/ -}}')) inComment = false
      continue
    }
    if (/{{-?\s*\/\*/.test(line)) {
      if (!/\*\/\s*-?}}/.test(line)) inComment = true
      continue
    }
    if (/^\s*#/.test(line)) continue
    yield line
  }
}

/** A reference without tag or digest runs `latest`, as the kubelet pulls it. */
function normalise(text: string): string | undefined {
  try {
    const ref = parseReference(text.trim())
    if (ref.tag === undefined && ref.digest === undefined) ref.tag = DEFAULT_TAG
    return formatReference(ref)
  } catch {
    return undefined
  }
}
