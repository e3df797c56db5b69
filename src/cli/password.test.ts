import {afterEach, expect, it, vi} from 'vitest'
import {UsageError} from '../errors.js'
import {abandonPasswordPrompts, passwordFromEnv, promptPassword} from './password.js'

afterEach(() => {
  vi.unstubAllEnvs()
})

it('takes the password from AIRGAP_KEY_PASSWORD, else COSIGN_PASSWORD; an empty one is a password', () => {
  vi.stubEnv('AIRGAP_KEY_PASSWORD', undefined)
  vi.stubEnv('COSIGN_PASSWORD', undefined)
  expect(passwordFromEnv()).toBeUndefined()
  vi.stubEnv('COSIGN_PASSWORD', 'cosign')
  expect(passwordFromEnv()).toBe('cosign')
  vi.stubEnv('AIRGAP_KEY_PASSWORD', '')
  expect(passwordFromEnv()).toBe('')
})

it('refuses to ask without a terminal, and asks nothing more once the command has failed', async () => {
  await expect(promptPassword('Password: ', false)).rejects.toThrow('no key password given and no terminal to ask for one')
  abandonPasswordPrompts()
  const err = await promptPassword('Password: ', false).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(UsageError)
  expect((err as Error).message).toBe('password prompt abandoned: the command failed')
})
