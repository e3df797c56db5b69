import {describe, expect, it} from 'vitest'
import {Catalog, splitRefName} from './names.js'

describe('splitRefName', () => {
  it('splits host, path and tag; a first component without . or : is not a host', () => {
    expect(splitRefName('docker.io/wandb/local:0.62.2')).toEqual({host: 'docker.io', path: 'wandb/local', tag: '0.62.2'})
    expect(splitRefName('registry.example:5000/acme/x:1')).toEqual({host: 'registry.example:5000', path: 'acme/x', tag: '1'})
    expect(splitRefName('localhost/a:b')).toEqual({host: 'localhost', path: 'a', tag: 'b'})
    expect(splitRefName('ns/app:1')).toEqual({path: 'ns/app', tag: '1'})
    expect(splitRefName('redis:7')).toEqual({path: 'redis', tag: '7'})
  })

  it('gives nothing for bare tags, digests and names without a tag', () => {
    expect(splitRefName('latest')).toBeUndefined()
    expect(splitRefName('docker.io/acme/app')).toBeUndefined()
    expect(splitRefName(`docker.io/acme/app@sha256:${'a'.repeat(64)}`)).toBeUndefined()
    expect(splitRefName('host:5000/app')).toBeUndefined()
  })
})

describe('Catalog', () => {
  const catalog = new Catalog([
    'docker.io/wandb/local:0.62.2',
    'docker.io/wandb/local:0.63.0',
    'docker.io/acme/app:1',
    'quay.io/acme/app:1',
    'quay.io/acme/app:2',
    'ns/pushed:2',
    'x',
  ])

  it('offers each image under its short and its long name', () => {
    expect(catalog.names()).toEqual(['acme/app', 'docker.io/acme/app', 'docker.io/wandb/local', 'ns/pushed', 'quay.io/acme/app', 'wandb/local'])
    const short = catalog.lookup('wandb/local')
    const long = catalog.lookup('docker.io/wandb/local')
    expect(short).toEqual(long)
    expect(short.kind === 'found' && short.repository).toBe('docker.io/wandb/local')
    expect(short.kind === 'found' && [...short.tags.entries()]).toEqual([
      ['0.62.2', 'docker.io/wandb/local:0.62.2'],
      ['0.63.0', 'docker.io/wandb/local:0.63.0'],
    ])
  })

  it('gives a short name held from two hosts to the one index.json names first; ns chooses the other', () => {
    const first = catalog.lookup('acme/app')
    expect(first.kind === 'found' && first.repository).toBe('docker.io/acme/app')
    const quay = catalog.lookup('acme/app', 'quay.io')
    expect(quay.kind === 'found' && quay.tags.get('1')).toBe('quay.io/acme/app:1')
    expect(catalog.elsewhere('acme/app', '2')).toEqual(['quay.io/acme/app'])
    expect(catalog.elsewhere('acme/app', '1', 'quay.io')).toEqual(['docker.io/acme/app'])
  })

  it('never lets a later name change what an earlier one stands for', () => {
    const before = ['docker.io/acme/app:1']
    const later = [...before, 'quay.io/acme/app:1', 'acme/app:3', 'ghcr.io/acme/app:1']
    for (const names of [before, later]) {
      const found = new Catalog(names).lookup('acme/app')
      expect(found.kind === 'found' && found.tags.get('1')).toBe('docker.io/acme/app:1')
    }
    // a host-less name first keeps it too
    const hostless = new Catalog(['acme/app:1', 'docker.io/acme/app:1']).lookup('acme/app')
    expect(hostless.kind === 'found' && hostless.repository).toBe('acme/app')
  })

  it('does not serve a short name for a host the client did not ask for', () => {
    expect(catalog.lookup('wandb/local', 'ghcr.io')).toEqual({kind: 'unknown'})
    expect(catalog.lookup('wandb/local', 'docker.io').kind).toBe('found')
  })

  it('serves host-less names as they are, whatever ns says', () => {
    expect(catalog.lookup('ns/pushed', 'docker.io').kind).toBe('found')
    expect(catalog.lookup('nothing')).toEqual({kind: 'unknown'})
  })
})
