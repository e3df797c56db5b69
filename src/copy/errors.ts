/** Errors raised by the copy engine: which side failed, doing what, for which digest and image. */
import {AirgapError, ExitCode, type ExitCodeValue, type Side} from '../errors.js'

/** The operation that failed. */
export type CopyOp = 'resolve' | 'fetch' | 'exists' | 'push' | 'mount' | 'tag' | 'parse'

export interface CopyErrorDetails {
  op: CopyOp
  side: Side
  /** Digest of the node being copied, when the failure concerns one. */
  digest?: string
  mediaType?: string
  /** The image being copied, e.g. `docker.io/library/redis:7`, for the message. */
  image?: string
  /** Where the failing side lives, e.g. `layout ./out` or `registry 127.0.0.1:5000/ns/app`. */
  location?: string
}

const VERB: Record<CopyOp, string> = {
  resolve: 'resolving the reference',
  fetch: 'fetch',
  exists: 'existence check',
  push: 'push',
  mount: 'mount',
  tag: 'tagging',
  parse: 'reading the manifest',
}

/**
 * A failure while copying a graph. It keeps the exit code of its cause (an AuthError stays exit 4,
 * an IntegrityError exit 5), says which side failed (source or destination), and which digest of
 * which image. The cause's hint is carried over.
 */
export class CopyError extends AirgapError {
  override readonly code = 'COPY'
  override readonly exitCode: ExitCodeValue
  readonly op: CopyOp
  readonly side: Side
  readonly digest?: string
  readonly image?: string

  constructor(details: CopyErrorDetails, cause: unknown) {
    const causeMessage = cause instanceof Error ? cause.message : String(cause)
    super(`${describe(details)} failed: ${causeMessage}`, {
      cause,
      hint:
        cause instanceof AirgapError && cause.hint !== undefined
          ? cause.hint
          : details.side === 'source'
            ? 'check that the source still holds this content and is reachable, then re-run (finished content is skipped)'
            : 'check that the destination is reachable and writable, then re-run (finished content is skipped)',
    })
    this.exitCode = cause instanceof AirgapError ? cause.exitCode : ExitCode.GENERAL
    this.op = details.op
    this.side = details.side
    if (details.digest !== undefined) this.digest = details.digest
    if (details.image !== undefined) this.image = details.image
  }
}

function describe(d: CopyErrorDetails): string {
  const what = d.digest ? ` of ${d.digest}${d.mediaType ? ` (${d.mediaType})` : ''}` : ''
  const image = d.image ? ` for ${d.image}` : ''
  const where = d.location ? ` at ${d.location}` : ''
  return `copy${image}: ${d.side} ${VERB[d.op]}${what}${where}`
}
