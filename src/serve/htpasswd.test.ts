import bcrypt from 'bcryptjs'
import {describe, expect, it} from 'vitest'
import {SpecError} from '../errors.js'
import {Htpasswd} from './htpasswd.js'

const basic = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`

describe('Htpasswd', () => {
  const hash = bcrypt.hashSync('s3cret', 4)
  const file = Htpasswd.parse(`# users\nadmin:${hash}\nother:${hash.replace(/^\$2b\$/, '$2y$')}\n`, 'auth/htpasswd')

  it('accepts the right password for $2b$ and $2y$ hashes and returns the user', async () => {
    expect(await file.check(basic('admin', 's3cret'))).toBe('admin')
    expect(await file.check(basic('admin', 's3cret'))).toBe('admin') // cached
    expect(await file.check(basic('other', 's3cret'))).toBe('other')
  })

  it('rejects wrong passwords, unknown users and malformed headers', async () => {
    expect(await file.check(basic('admin', 'wrong'))).toBeUndefined()
    expect(await file.check(basic('nobody', 's3cret'))).toBeUndefined()
    expect(await file.check(undefined)).toBeUndefined()
    expect(await file.check('Bearer abc')).toBeUndefined()
    expect(await file.check(`Basic ${Buffer.from('no-colon').toString('base64')}`)).toBeUndefined()
  })

  it('refuses non-bcrypt hashes at load, naming file, line, user and hash kind', () => {
    const parse = (text: string) => () => Htpasswd.parse(text, 'h')
    expect(parse(`a:${hash}\nold:$apr1$abc$def\n`)).toThrow('h:2: the password of user "old" is not a bcrypt hash (Apache MD5)')
    expect(parse('u:{SHA}abc=\n')).toThrow(/SHA-1/)
    expect(parse('u:plain\n')).toThrow(/crypt or plain text/)
    expect(parse('nocolon\n')).toThrow(SpecError)
    expect(parse('# nothing\n')).toThrow(/no users/)
  })
})
