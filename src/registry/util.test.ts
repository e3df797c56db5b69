import {describe, expect, it} from 'vitest'
import {parseDistributionErrors} from './errors.js'
import {nextLink, warningTexts} from './util.js'

describe('nextLink', () => {
  const base = new URL('http://127.0.0.1:5000/v2/ns/app/tags/list?n=2')
  it('resolves a relative rel="next" link against the request URL', () => {
    expect(nextLink('</v2/ns/app/tags/list?last=b&n=2>; rel="next"', base)?.href).toBe('http://127.0.0.1:5000/v2/ns/app/tags/list?last=b&n=2')
  })
  it('picks next among several links and returns undefined without one', () => {
    expect(nextLink('<https://x/prev>; rel="prev", <https://x/next>; rel=next', base)?.href).toBe('https://x/next')
    expect(nextLink('<https://x/prev>; rel="prev"', base)).toBeUndefined()
    expect(nextLink(undefined, base)).toBeUndefined()
  })
})

describe('warningTexts', () => {
  it('extracts the quoted text of Warning headers, unescaping quotes', () => {
    expect(warningTexts('299 - "deprecated API"')).toEqual(['deprecated API'])
    expect(warningTexts(['299 - "a \\"b\\""', '299 registry "c", 299 - "d"'])).toEqual(['a "b"', 'c', 'd'])
    expect(warningTexts(undefined)).toEqual([])
  })
})

describe('parseDistributionErrors', () => {
  it('reads codes and messages, upper-casing codes', () => {
    expect(parseDistributionErrors('{"errors":[{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry","detail":"sha256:x"}]}')).toEqual([
      {code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: 'sha256:x'},
    ])
    expect(parseDistributionErrors('{"errors":[{"code":"denied"}]}')[0]?.code).toBe('DENIED')
  })
  it('tolerates non-JSON and odd shapes', () => {
    expect(parseDistributionErrors('404 page not found')).toEqual([])
    expect(parseDistributionErrors('{"errors":"x"}')).toEqual([])
    expect(parseDistributionErrors('{"errors":[1,{"nocode":true}]}')).toEqual([])
  })
})
