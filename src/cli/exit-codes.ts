import {AirgapError, ExitCode, type ExitCodeValue} from '../errors.js'

/** Text for `--help` and the README: the one documented list of exit codes. */
export const EXIT_CODES_HELP = [
  `${ExitCode.OK}  success`,
  `${ExitCode.GENERAL}  failure (registry error, I/O error)`,
  `${ExitCode.USAGE}  bad command line or invalid image reference`,
  `${ExitCode.SPEC}  invalid input file (spec, channel, values, config)`,
  `${ExitCode.AUTH}  authentication failed or access denied`,
  `${ExitCode.INTEGRITY}  digest, size or signature mismatch; damaged bundle`,
  `${ExitCode.PARTIAL}  partial success (see the report)`,
  `${ExitCode.NOT_FOUND}  image, tag, blob or repository not found`,
  `${ExitCode.TLS}  TLS failure (unknown CA, bad certificate, HTTPS to an HTTP host)`,
  `${ExitCode.NETWORK}  network failure after retries (refused, reset, timeout)`,
  `${ExitCode.INTERNAL} internal error (a bug: please report it)`,
].join('\n')

interface OclifLikeError {
  oclif?: {exit?: number}
}

/**
 * The only mapping from a thrown value to an exit code in the CLI. oclif's own parse errors carry
 * `oclif.exit` (2 for usage errors).
 */
export function cliExitCodeFor(err: unknown): ExitCodeValue | number {
  if (err instanceof AirgapError) return err.exitCode
  const oclifExit = (err as OclifLikeError | undefined)?.oclif?.exit
  if (typeof oclifExit === 'number') return oclifExit
  return ExitCode.INTERNAL
}
