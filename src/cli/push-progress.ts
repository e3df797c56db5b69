/**
 * What `airgap push` shows on stderr while it runs: the progress line (or --json events), warnings
 * around it, a "Verified …" line once the bundle is verified (not with --quiet or --json), and one
 * line per image or chart that failed.
 */
import type {PushHooks} from '../usecases/push/index.js'
import {createProgress, formatBytes} from './progress.js'

export interface PushProgressOptions {
  json: boolean
  quiet: boolean
  /** How a warning is printed outside --json mode (the command's warn). */
  warn: (message: string) => void
  /** Default process.stderr. */
  stream?: NodeJS.WriteStream
}

export interface PushProgress {
  hooks: PushHooks
  /** A registry's `Warning:` header (connection options). */
  registryWarning(message: string, registry: string): void
  /** Stop rendering (clears the live line on a terminal). */
  end(): void
}

export function pushProgress(opts: PushProgressOptions): PushProgress {
  const stream = opts.stream ?? process.stderr
  const progress = createProgress({json: opts.json, quiet: opts.quiet, stream})
  // Warnings never break the live line, and in --json mode they are events like the rest of stderr.
  const warning = (message: string): void => progress.warning(message, opts.warn)
  return {
    hooks: {
      ...progress,
      onWarning: warning,
      onVerified: (r) => {
        if (opts.quiet || opts.json) return
        progress.interrupt(() => stream.write(`Verified ${r.path}: ${r.blobs} blobs, ${formatBytes(r.bytes)}${r.signer ? `, signed by ${r.signer}` : ''} (${r.seconds.toFixed(2)} s)\n`))
      },
      onItem: (i) => {
        if (i.status === 'failed') stream.write(`\nfailed: ${i.kind} ${i.name}: ${i.error}\n`)
      },
    },
    registryWarning: (message, registry) => warning(`${registry}: ${message}`),
    end: () => progress.end(),
  }
}
