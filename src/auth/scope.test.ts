import {describe, expect, it} from 'vitest'
import {CATALOG_SCOPE, mergeScopes, parseScope, repositoryScope} from './scope.js'

describe('scopes', () => {
  it('splits on the first and last colon, so names may contain host:port', () => {
    expect(parseScope('repository:127.0.0.1:5000/ns/app:pull,push')).toEqual({
      type: 'repository',
      name: '127.0.0.1:5000/ns/app',
      actions: ['pull', 'push'],
    })
    expect(parseScope('registry:catalog:*')).toEqual({type: 'registry', name: 'catalog', actions: ['*']})
    expect(parseScope('nonsense')).toBeUndefined()
  })

  it('builds repository scopes', () => {
    expect(repositoryScope('ns/app', 'pull', 'push')).toBe('repository:ns/app:pull,push')
    expect(CATALOG_SCOPE).toBe('registry:catalog:*')
  })

  it('merges actions per resource and sorts, so equal sets give equal keys', () => {
    expect(mergeScopes(['repository:b:push', 'repository:a:pull', 'repository:b:pull'])).toEqual([
      'repository:a:pull',
      'repository:b:pull,push',
    ])
    expect(mergeScopes(['repository:a:pull repository:a:push'])).toEqual(['repository:a:pull,push'])
    expect(mergeScopes(['repository:x:push,pull'])).toEqual(mergeScopes(['repository:x:pull', 'repository:x:push']))
  })
})
