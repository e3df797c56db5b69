/** parseLocation and opening layout locations (registry locations are covered by test/integration/cli-copy.test.ts). */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {UsageError} from '../errors.js'
import {OciLayout} from '../layout/index.js'
import {loadInto, makeImage, type GeneratedImage} from '../../test/support/images.js'
import {Session} from './session.js'
import {openDestination, openSource, parseLocation} from './targets.js'

let dir: string
let image: GeneratedImage
const session = new Session()

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-targets-'))
  image = await makeImage({seed: 'targets-one', layers: 1})
})
afterAll(async () => {
  await session.close()
  await rm(dir, {recursive: true, force: true})
})

describe('parseLocation', () => {
  it('reads docker://, bare references and oci:DIR[:REF]', () => {
    expect(parseLocation('docker://reg.example/a/b:1')).toEqual({kind: 'registry', reference: 'reg.example/a/b:1'})
    expect(parseLocation('alpine:3')).toEqual({kind: 'registry', reference: 'alpine:3'})
    expect(parseLocation('oci:/tmp/l')).toEqual({kind: 'layout', dir: '/tmp/l'})
    expect(parseLocation('oci:/tmp/l:v1')).toEqual({kind: 'layout', dir: '/tmp/l', ref: 'v1'})
  })

  it('refuses an empty directory and transports it does not speak, naming what it accepts', () => {
    expect(() => parseLocation('oci:')).toThrow(UsageError)
    for (const bad of ['https://reg.example/a', 'oci-archive:/x.tar', 'docker-archive:/x.tar', 'dir:/x', 'containers-storage:alpine']) {
      let caught: unknown
      try {
        parseLocation(bad)
      } catch (err) {
        caught = err
      }
      expect(caught, bad).toBeInstanceOf(UsageError)
      expect((caught as UsageError).hint).toContain('oci:DIR[:REF]')
    }
  })
})

describe('opening layouts', () => {
  it('a source layout with exactly one image needs no REF; none or several is refused with the names', async () => {
    const empty = join(dir, 'empty')
    await OciLayout.open(empty, {create: true})
    await expect(openSource(session, parseLocation(`oci:${empty}`))).rejects.toThrow(/holds 0 images/)

    const one = join(dir, 'one')
    await loadInto(await OciLayout.open(one, {create: true}), image, 'only')
    const opened = await openSource(session, parseLocation(`oci:${one}`))
    expect(opened.ref).toBe('only')
    expect(opened.display).toBe(`oci:${one}:only`)

    await loadInto(await OciLayout.open(one), image, 'second')
    const err = await openSource(session, parseLocation(`oci:${one}`)).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).message).toContain('holds 2 images')
    expect((err as UsageError).hint).toMatch(/only|second/)
  })

  it('a destination layout is created when missing and leaves the ref to the caller', async () => {
    const fresh = join(dir, 'fresh')
    const opened = await openDestination(session, parseLocation(`oci:${fresh}`))
    expect(opened.ref).toBeUndefined()
    expect(opened.display).toBe(`oci:${fresh}`)
    await expect(OciLayout.open(fresh)).resolves.toBeInstanceOf(OciLayout)
  })

  it('a registry location resolves a bare name to latest and a digest reference to the digest', async () => {
    const d = `sha256:${'a'.repeat(64)}`
    expect((await openSource(session, parseLocation('reg.example:5000/a/b'))).ref).toBe('latest')
    expect((await openSource(session, parseLocation(`reg.example:5000/a/b@${d}`))).ref).toBe(d)
    expect((await openSource(session, parseLocation('reg.example:5000/a/b:v2'))).display).toBe('reg.example:5000/a/b:v2')
  })
})
