import {format} from 'node:util'
import {Command, Flags, ux, type Interfaces} from '@oclif/core'
import {AirgapError, ExitCode} from '../errors.js'
import {cliExitCodeFor, EXIT_CODES_HELP} from './exit-codes.js'
import {escapeJsonControls, printable, printableLine} from './terminal-text.js'
import {abandonPasswordPrompts} from './password.js'

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof BaseCommand)['baseFlags'] & T['flags']>

/**
 * Base of every airgap command: `--json` on all of them, shared connection flags (each with an
 * AIRGAP_* environment variable), and the single error renderer: one line that says what went
 * wrong, where, and what to do, then the documented exit code.
 */
export abstract class BaseCommand<T extends typeof Command> extends Command {
  static override enableJsonFlag = true

  static override baseFlags = {
    quiet: Flags.boolean({char: 'q', description: 'print only errors and the final result', default: false}),
  }

  /** Appended to every command's description so `--help` lists the exit codes. */
  static exitCodesHelp = `EXIT CODES\n${EXIT_CODES_HELP}`

  protected override async catch(thrown: Error & {exitCode?: number}): Promise<void> {
    abandonPasswordPrompts()
    const err = withoutFlagParsingPrefix(thrown)
    const exitCode = cliExitCodeFor(err)
    process.exitCode = exitCode
    if (this.jsonEnabled()) {
      this.logJson({error: errorJson(err, exitCode)})
      return
    }
    process.stderr.write(`${renderError(err, exitCode)}\n`)
  }

  // Every line a command prints passes through here: control characters from a bundle, a registry
  // or a chart are escaped, never sent raw to the terminal (src/cli/terminal-text.ts).
  override log(message: unknown = '', ...args: unknown[]): void {
    if (!this.jsonEnabled()) ux.stdout(printable(format(message, ...args)))
  }

  override logToStderr(message: unknown = '', ...args: unknown[]): void {
    if (!this.jsonEnabled()) ux.stderr(printable(format(message, ...args)))
  }

  override warn(input: string | Error): string | Error {
    return super.warn(typeof input === 'string' ? printableLine(input) : input)
  }

  override logJson(json: unknown): void {
    ux.stdout(escapeJsonControls(ux.colorizeJson(json, {pretty: true, theme: this.config.theme?.json})))
  }
}

/**
 * oclif rewrites the message of an error thrown by a flag's parse function to
 * `Parsing --FLAG \n\t<message>\nSee more help with --help`. Ours (AirgapErrors from src/cli/flags.ts)
 * already name the flag and the value: their message is restored.
 */
export function withoutFlagParsingPrefix<E extends Error>(err: E): E {
  if (!(err instanceof AirgapError)) return err
  const m = /^Parsing --\S+ \n\t([\s\S]*)\nSee more help with --help$/.exec(err.message)
  if (m) err.message = m[1]!
  return err
}

export interface ErrorJson {
  code: string
  message: string
  hint?: string
  /** Every problem, when an input had several (each `file:line:column: field: message`). */
  problems?: readonly string[]
  exitCode: number
}

/** The list of problems some errors carry (a spec with several mistakes). */
function problemsOf(err: AirgapError): readonly string[] {
  const problems = (err as {problems?: unknown}).problems
  return Array.isArray(problems) ? problems.filter((p): p is string => typeof p === 'string') : []
}

export function errorJson(err: unknown, exitCode: number): ErrorJson {
  if (err instanceof AirgapError) {
    const problems = problemsOf(err)
    return {code: err.code, message: err.message, hint: err.hint || undefined, problems: problems.length > 1 ? problems : undefined, exitCode}
  }
  const message = err instanceof Error ? err.message : String(err)
  return {code: exitCode === ExitCode.USAGE ? 'USAGE' : 'INTERNAL', message, exitCode}
}

/** One line: `Error: <what and where>. <what to do>`; internal errors add a report hint. */
export function renderError(err: unknown, exitCode: number): string {
  if (err instanceof AirgapError) {
    const line = printableLine(`Error: ${trimDot(err.message)}.${err.hint ? ` ${capitalise(trimDot(err.hint))}.` : ''}`)
    const problems = problemsOf(err)
    return problems.length > 1 ? [line, ...problems.map((p) => `  - ${printableLine(p)}`)].join('\n') : line
  }
  const message = err instanceof Error ? err.message : String(err)
  if (exitCode === ExitCode.USAGE) return printableLine(`Error: ${usageLine(message)}. See --help.`)
  const stack = process.env.AIRGAP_DEBUG ? `\n${printable((err as Error)?.stack ?? '')}` : ''
  return `Error: internal error: ${printableLine(message)}. This is a bug in airgap: please report it with the command you ran (set AIRGAP_DEBUG=1 for a stack trace).${stack}`
}

/** oclif's multi-line usage messages, folded into one line without its generic notes. */
function usageLine(message: string): string {
  const lines = message
    .replace(/^The following error occurred:\s*/, '')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(Note:|Alternatively|See more help)/.test(l))
  return trimDot(lines.join(' ').replace(/:\s+/g, ': ').replace(/\s{2,}/g, ' '))
}

function trimDot(s: string): string {
  return s.replace(/[.\s]+$/, '')
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1)
}
