/**
 * The error taxonomy of airgap. Every error the core raises on purpose is an AirgapError with a
 * stable `code`, a documented process exit code, a message that says what went wrong and where,
 * and a `hint` that says what to do. The CLI maps thrown values to exit codes in one place,
 * cliExitCodeFor() in src/cli/exit-codes.ts; nothing branches on message text (findCause looks
 * through wrapped errors by class or predicate).
 */

/** Documented process exit codes (README "Exit codes" and `airgap --help`). */
export const ExitCode = {
  OK: 0,
  /** Any other failure: registry errors, I/O errors. */
  GENERAL: 1,
  /** Bad command line: unknown flag, missing argument, invalid image reference. */
  USAGE: 2,
  /** Invalid input file: spec, channel response, values, config. */
  SPEC: 3,
  /** Authentication or authorisation failed (wrong credentials, access denied). */
  AUTH: 4,
  /** Content does not match its digest or size, bad or missing signature, damaged bundle. */
  INTEGRITY: 5,
  /** Partial success: some items were done, some were not (listed in the report). */
  PARTIAL: 6,
  /** A manifest, tag, blob or repository that was asked for does not exist. */
  NOT_FOUND: 7,
  /** TLS failure: unknown certificate authority, bad certificate, or HTTPS spoken to an HTTP host. */
  TLS: 8,
  /** Network failure that outlasted the retries: connection refused, reset, DNS, timeout. */
  NETWORK: 9,
  /** A bug in airgap. */
  INTERNAL: 70,
} as const
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]

export interface AirgapErrorOptions {
  /** What the user can do about it, one sentence. */
  hint?: string
  /** The underlying error. */
  cause?: unknown
}

export class AirgapError extends Error {
  readonly code: string = 'AIRGAP_ERROR'
  readonly exitCode: ExitCodeValue = ExitCode.GENERAL
  readonly hint?: string

  constructor(message: string, options: AirgapErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : {cause: options.cause})
    this.name = new.target.name
    if (options.hint !== undefined) this.hint = options.hint
  }
}

/** Bad command-line input, including an invalid image reference. */
export class UsageError extends AirgapError {
  override readonly code: string = 'USAGE'
  override readonly exitCode = ExitCode.USAGE
}

/** An image reference that does not parse. */
export class InvalidReferenceError extends UsageError {
  override readonly code = 'INVALID_REFERENCE'
  constructor(readonly reference: string, reason: string, options: AirgapErrorOptions = {}) {
    super(`invalid image reference "${reference}": ${reason}`, {
      hint: options.hint ?? 'write it as [HOST[:PORT]/]NAMESPACE/NAME[:TAG][@sha256:DIGEST], lower-case repository',
      cause: options.cause,
    })
  }
}

/** An input file (spec, channel response, values, config) is invalid. */
export class SpecError extends AirgapError {
  override readonly code: string = 'INVALID_INPUT'
  override readonly exitCode = ExitCode.SPEC
  constructor(
    message: string,
    readonly file?: string,
    readonly path?: string,
    options: AirgapErrorOptions = {},
  ) {
    super(message, options)
  }
}

export type Side = 'source' | 'destination'

/** Where a registry operation happened, so that every error can say it. */
export interface RegistryContext {
  /** Registry host[:port] as the user named it. */
  registry: string
  /** Repository path, when known. */
  repository?: string
  /** Full image reference, when known. */
  reference?: string
  side?: Side
}

function where(ctx: RegistryContext): string {
  const target = ctx.reference ?? (ctx.repository ? `${ctx.registry}/${ctx.repository}` : ctx.registry)
  return ctx.side ? `${target} (${ctx.side})` : target
}

/** Credentials missing, wrong, or without the needed rights. */
export class AuthError extends AirgapError {
  override readonly code = 'AUTH'
  override readonly exitCode = ExitCode.AUTH
  constructor(readonly context: RegistryContext, detail: string, options: AirgapErrorOptions = {}) {
    super(`authentication failed for ${where(context)}: ${detail}`, {
      hint:
        options.hint ??
        `check the credentials for ${context.registry} (docker login ${context.registry}, or DOCKER_CONFIG / REGISTRY_AUTH_FILE)`,
      cause: options.cause,
    })
  }
}

/** The registry answered with an error we do not classify more precisely. */
export class RegistryError extends AirgapError {
  override readonly code = 'REGISTRY'
  constructor(
    readonly context: RegistryContext,
    readonly status: number,
    /** Distribution error codes from the body, e.g. MANIFEST_INVALID. */
    readonly codes: readonly string[],
    detail: string,
    options: AirgapErrorOptions = {},
  ) {
    super(`registry error at ${where(context)}: HTTP ${status}${codes.length ? ` ${codes.join(',')}` : ''}${detail ? `: ${detail}` : ''}`, options)
  }
}

/**
 * True when a registry answered with a server error that might pass (5xx but 501 and 505), after
 * the HTTP client's own retries, anywhere in `err`'s cause chain. Used where a push asks whether
 * the mirror holds something: a registry that cannot say gets it sent again (see unlessServerFails).
 */
export function isServerFailure(err: unknown): boolean {
  const e = findCause(err, RegistryError)
  return e !== undefined && e.status >= 500 && e.status !== 501 && e.status !== 505
}

/**
 * `answer`, or `fallback` when the registry failed to answer with a server error. A push that asks
 * "does the mirror hold this?" and gets HTTP 500 sends it again: sending what is already there is
 * harmless, and it repairs what a registry killed mid-commit left half-written (distribution
 * answers 500 for a link file cut short and rewrites it on the next upload). A registry that is
 * really broken then fails that upload, with its own error.
 */
export async function unlessServerFails<T>(answer: Promise<T>, fallback: T): Promise<T> {
  try {
    return await answer
  } catch (err) {
    if (isServerFailure(err)) return fallback
    throw err
  }
}

/** A manifest, tag, blob or repository does not exist. */
export class NotFoundError extends AirgapError {
  override readonly code = 'NOT_FOUND'
  override readonly exitCode = ExitCode.NOT_FOUND
}

/** Content that does not match its digest or size; a bad signature; a damaged bundle. */
export class IntegrityError extends AirgapError {
  override readonly code = 'INTEGRITY'
  override readonly exitCode = ExitCode.INTEGRITY
}

/** TLS handshake or certificate failure. */
export class TlsError extends AirgapError {
  override readonly code = 'TLS'
  override readonly exitCode = ExitCode.TLS
}

/** Connection-level failure that outlasted retries. */
export class NetworkError extends AirgapError {
  override readonly code = 'NETWORK'
  override readonly exitCode = ExitCode.NETWORK
}

/**
 * A request that did not finish within its deadline (a total time per request, next to the idle
 * timeout): the server sends, but far too slowly to ever finish. Exit 9, like other network failures.
 */
export class TimeoutError extends AirgapError {
  override readonly code = 'TIMEOUT'
  override readonly exitCode = ExitCode.NETWORK
}

/**
 * A server's answer goes past a bound airgap keeps against broken or hostile servers: a pagination
 * Link that repeats a page or never ends, an index nested too deep.
 */
export class LimitError extends AirgapError {
  override readonly code = 'LIMIT'
}

/** Content we refuse by design (Docker schema 1, foreign layers to push, unknown format versions). */
export class UnsupportedError extends AirgapError {
  override readonly code = 'UNSUPPORTED'
}

/** Some items succeeded and some failed. */
export class PartialError extends AirgapError {
  override readonly code = 'PARTIAL'
  override readonly exitCode = ExitCode.PARTIAL
}

export class InternalError extends AirgapError {
  override readonly code = 'INTERNAL'
  override readonly exitCode = ExitCode.INTERNAL
}

/** How deep findCause looks: wrapped errors are a few levels deep; a cycle must not loop forever. */
const MAX_CAUSE_DEPTH = 8

/** `err`, then its `cause`, its cause's `cause`…: at most MAX_CAUSE_DEPTH values, each once. */
export function causeChain(err: unknown): unknown[] {
  const chain: unknown[] = []
  for (let e = err; e !== null && e !== undefined && chain.length < MAX_CAUSE_DEPTH && !chain.includes(e); e = (e as {cause?: unknown}).cause) {
    chain.push(e)
    if (typeof e !== 'object' && typeof e !== 'function') break
  }
  return chain
}

/**
 * The first error in `err`'s cause chain (`err` itself first) that is an instance of `match`
 * (a class) or for which `match` (a predicate) is true; undefined when none is.
 */
export function findCause(err: unknown, match: (e: unknown) => boolean): unknown
export function findCause<T>(err: unknown, match: abstract new (...args: never[]) => T): T | undefined
export function findCause(err: unknown, match: ((e: unknown) => boolean) | (abstract new (...args: never[]) => unknown)): unknown {
  const test = isErrorClass(match) ? (e: unknown) => e instanceof match : (match as (e: unknown) => boolean)
  return causeChain(err).find(test)
}

function isErrorClass(f: unknown): f is abstract new (...args: never[]) => unknown {
  return f === Error || (typeof f === 'function' && f.prototype instanceof Error)
}
