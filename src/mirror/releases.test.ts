import {describe, expect, it} from 'vitest'
import {findRollbacks, parseReleaseRecord, releaseRecordTag, releasesRepository, type ReleaseRecord} from './releases.js'

const d = (c: string) => `sha256:${c.repeat(64)}`

describe('release records and rollbacks', () => {
  const records: ReleaseRecord[] = [
    {lockDigest: d('a'), created: '2026-01-01T00:00:00Z', tags: {'m/app:1': d('1')}},
    {lockDigest: d('b'), created: '2026-03-01T00:00:00Z', tags: {'m/app:1': d('2'), 'm/db:1': d('3')}},
  ]

  it('a tag moved back from a newer release digest is a rollback; forward moves, fresh tags and repeats are not', () => {
    const found = findRollbacks({
      created: '2026-01-01T00:00:00Z',
      lockDigest: d('a'),
      records,
      moves: [
        {tag: 'm/app:1', current: d('2'), pushing: d('1')},
        {tag: 'm/new:1', current: undefined, pushing: d('4')},
        {tag: 'm/db:1', current: d('3'), pushing: d('3')},
      ],
    })
    expect(found).toEqual([{tag: 'm/app:1', current: d('2'), currentRelease: {lockDigest: d('b'), created: '2026-03-01T00:00:00Z'}, pushing: d('1'), pushingCreated: '2026-01-01T00:00:00Z'}])
    expect(findRollbacks({created: '2026-04-01T00:00:00Z', lockDigest: d('c'), records, moves: [{tag: 'm/app:1', current: d('2'), pushing: d('5')}]})).toEqual([])
    // a digest no record knows (pushed by hand) is not judged
    expect(findRollbacks({created: '2025-01-01T00:00:00Z', lockDigest: d('c'), records, moves: [{tag: 'm/app:1', current: d('9'), pushing: d('5')}]})).toEqual([])
  })

  it('records read back are checked; names are stable', () => {
    expect(parseReleaseRecord(Buffer.from(JSON.stringify(records[0])))).toEqual(records[0])
    expect(parseReleaseRecord(Buffer.from('{"lockDigest": "nope", "created": "x", "tags": {}}'))).toBeUndefined()
    expect(parseReleaseRecord(Buffer.from('not json'))).toBeUndefined()
    expect(releaseRecordTag(d('a'))).toBe(`r-${'a'.repeat(64)}`)
    expect(releasesRepository('wandb')).toBe('wandb/airgap-releases')
    expect(releasesRepository('')).toBe('airgap-releases')
  })
})
