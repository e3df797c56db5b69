import {createInterface, type Interface} from 'node:readline'
import {UsageError} from '../errors.js'

/** The key password from AIRGAP_KEY_PASSWORD or COSIGN_PASSWORD (an empty value is a valid password). */
export function passwordFromEnv(): string | undefined {
  return process.env.AIRGAP_KEY_PASSWORD ?? process.env.COSIGN_PASSWORD
}

/** Set once the command has failed: a prompt still to come (or under way) is abandoned. */
let abandoned = false
let asking: {rl: Interface; reject: (err: Error) => void} | undefined

/**
 * Abandon password prompts: flags are parsed together, so a key flag may be about to ask while
 * another flag has already failed the command; it must not then wait for a password.
 */
export function abandonPasswordPrompts(): void {
  abandoned = true
  if (asking) {
    asking.rl.close()
    asking.reject(abandonedError())
    asking = undefined
  }
}

/**
 * Ask for a password on the terminal without echoing it. Refuses when there is no terminal, so
 * scripts get a clear error instead of a hang.
 */
export async function promptPassword(question: string, confirm: boolean): Promise<string> {
  if (abandoned) throw abandonedError()
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new UsageError('no key password given and no terminal to ask for one', {
      hint: 'set AIRGAP_KEY_PASSWORD (or COSIGN_PASSWORD) in the environment',
    })
  }
  const first = await askHidden(question)
  if (confirm) {
    const second = await askHidden('Enter password again: ')
    if (first !== second) throw new UsageError('the two passwords differ', {hint: 'run the command again'})
  }
  return first
}

function abandonedError(): UsageError {
  return new UsageError('password prompt abandoned: the command failed', {hint: 'see the error above'})
}

function askHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    if (abandoned) return reject(abandonedError())
    const rl = createInterface({input: process.stdin, output: process.stderr, terminal: true})
    asking = {rl, reject}
    const output = rl as unknown as {_writeToOutput: (s: string) => void}
    let asked = false
    output._writeToOutput = (s: string) => {
      if (!asked) {
        process.stderr.write(s)
        asked = true
      }
    }
    rl.question(question, (answer) => {
      asking = undefined
      rl.close()
      process.stderr.write('\n')
      resolve(answer)
    })
  })
}
