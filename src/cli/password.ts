import {createInterface} from 'node:readline'
import {UsageError} from '../errors.js'

/** The key password from AIRGAP_KEY_PASSWORD or COSIGN_PASSWORD (an empty value is a valid password). */
export function passwordFromEnv(): string | undefined {
  return process.env.AIRGAP_KEY_PASSWORD ?? process.env.COSIGN_PASSWORD
}

/**
 * Ask for a password on the terminal without echoing it. Refuses when there is no terminal, so
 * scripts get a clear error instead of a hang.
 */
export async function promptPassword(question: string, confirm: boolean): Promise<string> {
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

function askHidden(question: string): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({input: process.stdin, output: process.stderr, terminal: true})
    const output = rl as unknown as {_writeToOutput: (s: string) => void}
    let asked = false
    output._writeToOutput = (s: string) => {
      if (!asked) {
        process.stderr.write(s)
        asked = true
      }
    }
    rl.question(question, (answer) => {
      rl.close()
      process.stderr.write('\n')
      resolve(answer)
    })
  })
}
