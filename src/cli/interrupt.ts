/**
 * Ctrl-C and SIGTERM for commands that clean up after themselves (`airgap demo`): the signal aborts
 * an AbortSignal the use case watches; once the use case has cleaned up, the command ends with the
 * shell's exit status for an interrupt (130).
 */
import {setMaxListeners} from 'node:events'

export interface Interrupt {
  /** Aborted by the first SIGINT or SIGTERM. */
  signal: AbortSignal
  /** Stop listening (the process then handles the signals as usual again). */
  release(): void
}

/** Listen for SIGINT and SIGTERM until release(). */
export function listenForInterrupt(): Interrupt {
  const controller = new AbortController()
  // Every request in flight listens on it (its deadline): more than Node's 10 is no leak.
  setMaxListeners(0, controller.signal)
  const stop = (): void => controller.abort(new Error('interrupted'))
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGINT', stop)
      process.off('SIGTERM', stop)
    },
  }
}

/** End the process with the shell's status for an interrupted command. */
export function exitInterrupted(): never {
  process.exit(130)
}
