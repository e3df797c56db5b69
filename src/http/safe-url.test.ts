import {describe, expect, it} from 'vitest'
import {safeUrl} from './safe-url.js'

describe('safeUrl', () => {
  it('removes credentials, query and fragment from URLs', () => {
    expect(safeUrl('https://user:pa55@charts.corp/helm/?token=abc#x')).toBe('https://charts.corp/helm')
    expect(safeUrl('chartmuseum+https://u:p@cm.corp:8443/')).toBe('chartmuseum+https://cm.corp:8443')
    expect(safeUrl('file:///srv/charts')).toBe('file:///srv/charts')
  })
})
