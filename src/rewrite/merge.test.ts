import {describe, expect, it} from 'vitest'
import {parseDocument} from 'yaml'
import type {YAMLMap} from 'yaml'
import {dedupeSeqsAt, entryKey, mergeUnder, setOver} from './merge.js'

function merged(site: string, lower: Record<string, unknown>, upper: Record<string, unknown> = {}) {
  const doc = parseDocument(site)
  const map = doc.contents as YAMLMap
  mergeUnder(doc, map, lower)
  setOver(doc, map, upper)
  dedupeSeqsAt(map, [['global', 'imagePullSecrets'], ['global', 'customCACerts']])
  return {json: doc.toJSON() as Record<string, any>, text: doc.toString()}
}

describe('values merge on a YAML document', () => {
  it('precedence: upper > site > lower; maps merge recursively', () => {
    const {json} = merged('a: site # c\nm:\n  x: 1\n', {a: 'lower', b: 'lower', m: {x: 2, y: 2}}, {m: {z: 3}, b: 'upper'})
    expect(json).toEqual({a: 'site', m: {x: 1, y: 2, z: 3}, b: 'upper'})
  })

  it('never emits a list entry twice: pull secrets by name (string or {name}), CA PEMs by text', () => {
    const site = 'global:\n  imagePullSecrets:\n    - regcred\n    - regcred\n  customCACerts:\n    - "PEM-A\\n"\n'
    const {json} = merged(site, {global: {imagePullSecrets: [{name: 'regcred'}, {name: 'other'}], customCACerts: ['PEM-A', 'PEM-B']}}, {global: {imagePullSecrets: [{name: 'other'}, {name: 'mirror'}]}})
    expect(json.global.imagePullSecrets).toEqual(['regcred', {name: 'other'}, {name: 'mirror'}])
    expect(json.global.customCACerts).toEqual(['PEM-A\n', 'PEM-B'])
  })

  it('a list only the lower level has is deduplicated too', () => {
    const {json} = merged('x: 1\n', {global: {imagePullSecrets: ['a', {name: 'a'}, 'b']}})
    expect(json.global.imagePullSecrets).toEqual(['a', 'b'])
  })

  it('overriding a scalar keeps its comment and quoting', () => {
    const {text} = merged('tag: "old" # pinned\n', {}, {tag: 'new'})
    expect(text).toBe('tag: "new" # pinned\n')
  })

  it('entryKey: generic values compare by canonical JSON', () => {
    expect(entryKey(['x'], {b: 1, a: 2})).toBe(entryKey(['x'], {a: 2, b: 1}))
    expect(entryKey(['x'], {name: 'a'})).not.toBe(entryKey(['x'], 'a'))
    expect(entryKey(['imagePullSecrets'], {name: 'a'})).toBe(entryKey(['imagePullSecrets'], 'a'))
  })
})
