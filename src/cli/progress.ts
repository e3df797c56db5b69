import type {Descriptor} from '../oci/types.js'
import {escapeJsonControls, printableLine} from './terminal-text.js'

/** Progress events the CLI renders; the core reports them through copy hooks. */
export interface ProgressSink {
  onStart(d: Descriptor, image?: string): void
  onBytes(d: Descriptor, n: number): void
  onDone(d: Descriptor): void
  onSkipped(d: Descriptor): void
  onMounted(d: Descriptor, from: string): void
  /** Stop rendering (clears the live line on a terminal). */
  end(): void
}

export interface ProgressOptions {
  /** Stream to render on; progress goes to stderr so stdout stays machine-readable. */
  stream?: NodeJS.WriteStream
  /** One JSON event per line instead of a live line (for --json runs). */
  json?: boolean
  quiet?: boolean
  /** Total bytes expected, when known up front. */
  totalBytes?: number
}


/** Human-readable byte count: 1.5 GiB, 12.3 MiB, 512 B. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${v} ${units[i]}` : `${v.toFixed(1)} ${units[i]}`
}

/** Transfer rate in decimal units, as the benchmarks give it: 320 MB/s, 4.2 MB/s, 71 kB/s (a small push would otherwise read "0 MB/s"). */
export function formatRate(bytesPerSecond: number): string {
  if (bytesPerSecond >= 10e6) return `${(bytesPerSecond / 1e6).toFixed(0)} MB/s`
  if (bytesPerSecond >= 1e6) return `${(bytesPerSecond / 1e6).toFixed(1)} MB/s`
  return `${(bytesPerSecond / 1e3).toFixed(0)} kB/s`
}

/**
 * A progress renderer: on a terminal, one live line (bytes, rate, items in flight) redrawn at most
 * 10 times a second; in --json mode, JSON events on stderr; otherwise silent until the summary.
 */
export interface ProgressExtras {
  bytes(): number
  /** Set the total bytes expected (e.g. once a plan is known). */
  setTotal(bytes: number): void
  /** A short label shown on the live line (the current phase or image). */
  status(text: string): void
  /** Emit one event: a JSON line in --json mode; ignored otherwise. */
  note(event: Record<string, unknown>): void
  /** Write something else to the terminal (a warning): the live line is cleared first and redrawn after. */
  interrupt(write: () => void): void
  /** A warning: a `warning` event in --json mode (like the rest of stderr), else `print(message)` around the live line. */
  warning(message: string, print: (message: string) => void): void
}

export function createProgress(opts: ProgressOptions = {}): ProgressSink & ProgressExtras {
  const stream = opts.stream ?? process.stderr
  const live = !opts.quiet && !opts.json && stream.isTTY === true
  const started = Date.now()
  let bytes = 0
  let done = 0
  let skipped = 0
  /** Digest -> image name (or '') of every transfer in flight. */
  const inFlight = new Map<string, string>()
  let lastDraw = 0
  let totalBytes = opts.totalBytes
  let label = ''
  const emit = (event: Record<string, unknown>): void => {
    if (opts.json && !opts.quiet) stream.write(`${escapeJsonControls(JSON.stringify({...event, time: new Date().toISOString()}))}\n`)
  }
  /** `: app:1.0, redis:7 +3`: the images whose content is moving now (a layer shared by several names the first). */
  const imagesInFlight = (): string => {
    const names = [...new Set([...inFlight.values()].filter((n) => n !== ''))].map(shortName)
    if (names.length === 0) return ''
    return `: ${names.slice(0, 2).join(', ')}${names.length > 2 ? ` +${names.length - 2}` : ''}`
  }
  const interrupt = (write: () => void): void => {
    if (live && lastDraw > 0) stream.write('\r\x1b[2K')
    write()
    if (lastDraw > 0) draw(true)
  }
  const draw = (force = false): void => {
    if (!live) return
    const now = Date.now()
    if (!force && now - lastDraw < 100) return
    lastDraw = now
    const secs = Math.max((now - started) / 1000, 0.001)
    const total = totalBytes ? ` / ${formatBytes(totalBytes)} (${Math.min(100, (100 * bytes) / totalBytes).toFixed(0)}%)` : ''
    const line = `  ${formatBytes(bytes)}${total}  ${formatRate(bytes / secs)}  ${done} done, ${skipped} present, ${inFlight.size} in flight${label ? `  ${label}` : ''}${imagesInFlight()}`
    stream.write(`\r\x1b[2K${printableLine(line).slice(0, (stream.columns ?? 120) - 1)}`)
  }
  return {
    onStart(d, image) {
      inFlight.set(d.digest, image ?? '')
      emit({event: 'start', digest: d.digest, size: d.size, mediaType: d.mediaType, image: image || undefined})
      draw()
    },
    onBytes(_d, n) {
      bytes += n
      draw()
    },
    onDone(d) {
      inFlight.delete(d.digest)
      done++
      emit({event: 'done', digest: d.digest, size: d.size})
      draw()
    },
    onSkipped(d) {
      skipped++
      emit({event: 'skipped', digest: d.digest, size: d.size})
      draw()
    },
    onMounted(d, from) {
      inFlight.delete(d.digest)
      done++
      emit({event: 'mounted', digest: d.digest, from})
      draw()
    },
    end() {
      if (live) stream.write('\r\x1b[2K')
    },
    bytes: () => bytes,
    setTotal(n) {
      totalBytes = n
      draw(true)
    },
    status(text) {
      label = text
      draw(true)
    },
    note(event) {
      emit(event)
    },
    interrupt,
    warning(message, print) {
      if (opts.json) emit({event: 'warning', message})
      else interrupt(() => print(message))
    },
  }
}

/** An image reference without its registry host and digest, for the live line (`docker.io/wandb/local:0.62.2` -> `wandb/local:0.62.2`). */
function shortName(ref: string): string {
  const noDigest = ref.replace(/@sha256:[0-9a-f]+$/, '')
  const slash = noDigest.indexOf('/')
  const first = slash > 0 ? noDigest.slice(0, slash) : ''
  return first.includes('.') || first.includes(':') || first === 'localhost' ? noDigest.slice(slash + 1) : noDigest
}
