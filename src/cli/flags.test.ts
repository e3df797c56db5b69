import {describe, expect, it} from 'vitest'
import {UsageError} from '../errors.js'
import {parseSize, sourceDateEpoch} from './flags.js'

describe('parseSize', () => {
  it('reads binary and decimal suffixes into bytes', () => {
    expect(parseSize('4GiB', '--x')).toBe(4 * 1024 ** 3)
    expect(parseSize('200KiB', '--x')).toBe(200 * 1024)
    expect(parseSize('700 MiB', '--x')).toBe(700 * 1024 ** 2)
    expect(parseSize('1.5G', '--x')).toBe(1.5 * 1024 ** 3)
    expect(parseSize('4GB', '--x')).toBe(4e9)
    expect(parseSize('1048576', '--x')).toBe(1048576)
  })

  it.each([
    ['', 'not a size'],
    ['GiB', 'not a size'],
    ['-1GiB', 'not a size'],
    ['1e9', 'not a size'],
    ['4 parsecs', 'unknown unit "parsecs"'],
    ['0', 'the size must be at least 1 byte'],
    ['9999999TiB', 'too large'],
  ])('refuses %j: a UsageError naming the flag and the value (%s)', (value, reason) => {
    expect(() => parseSize(value, '--max-part-size')).toThrow(UsageError)
    expect(() => parseSize(value, '--max-part-size')).toThrow(`invalid --max-part-size "${value}": ${reason}`)
  })
})

describe('SOURCE_DATE_EPOCH', () => {
  it('is 0 when unset, whole seconds otherwise, and a UsageError naming the value when not a number', () => {
    expect(sourceDateEpoch({})).toBe(0)
    expect(sourceDateEpoch({SOURCE_DATE_EPOCH: '1700000000'})).toBe(1_700_000_000)
    expect(() => sourceDateEpoch({SOURCE_DATE_EPOCH: '-1'})).toThrow(UsageError)
    expect(() => sourceDateEpoch({SOURCE_DATE_EPOCH: 'yesterday'})).toThrow(/SOURCE_DATE_EPOCH="yesterday"/)
  })
})
