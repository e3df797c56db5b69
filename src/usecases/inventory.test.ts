/** walkMirror / takeInventory against the real plain registry (test services): only the prefix, every node once. */
import {mkdtemp, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {parseInventory} from '../delta/inventory.js'
import {describeWithServices, services, uniqueName} from '../../test/support/services.js'
import {loadInto, makeImage, makeIndex, type GeneratedImage, type GeneratedIndex} from '../../test/support/images.js'
import {takeInventory, walkMirror} from './inventory.js'
import {Session} from './session.js'

describeWithServices('inventory of the plain registry', () => {
  let dir: string
  let host: string
  let prefix: string
  let multi: GeneratedIndex
  let app: GeneratedImage

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-inventory-'))
    host = services().registries.plain.host
    prefix = uniqueName('inv')
    multi = await makeIndex({seed: 'inventory-multi', layers: 1, sharedLayers: 1})
    app = await makeImage({seed: 'inventory-app', layers: 2, baseLayers: [multi.images[0]!.layers[0]!]})
    const session = new Session({plainHttp: [host]})
    const repo = (name: string) => session.repository(`${host}/${name}`, 'destination').repository
    try {
      await loadInto(repo(`${prefix}/acme/multi`), multi, 'v1')
      await loadInto(repo(`${prefix}/acme/app`), app, '1.0')
      await loadInto(repo(`${prefix}/acme/app`), app, 'stable')
      await loadInto(repo(`${prefix}-sibling/acme/app`), app, 'outside')
    } finally {
      await session.close()
    }
  })
  afterAll(async () => rm(dir, {recursive: true, force: true}))

  it('records only repositories under the prefix, each tag at its digest, each manifest and blob once', async () => {
    const inv = await walkMirror({registry: {host, prefix}, plainHttp: [host]})
    expect(inv.registry).toBe(`${host}/${prefix}`)
    expect(Object.keys(inv.repositories).sort()).toEqual([`${prefix}/acme/app`, `${prefix}/acme/multi`])
    expect(inv.repositories[`${prefix}/acme/app`]?.tags).toEqual({'1.0': app.root.digest, stable: app.root.digest})
    const manifests = [multi.root.digest, ...multi.images.map((i) => i.root.digest), app.root.digest].sort()
    expect(inv.manifests).toEqual(manifests)
    const blobs = new Set([...multi.blobs, ...app.blobs].map((b) => b.descriptor.digest).filter((d) => !manifests.includes(d)))
    expect(inv.blobs).toEqual([...blobs].sort())
  })

  it('takeInventory writes the file atomically and reports the same counts', async () => {
    const out = join(dir, 'inventory.json')
    const seen: string[] = []
    const res = await takeInventory({registry: {host, prefix}, plainHttp: [host], output: out, onRepository: (name) => seen.push(name)})
    const written = parseInventory(await readFile(out, 'utf8'), out)
    expect(res).toMatchObject({path: out, registry: `${host}/${prefix}`, repositories: 2, tags: 3, manifests: written.manifests.length, blobs: written.blobs.length})
    expect(seen.sort()).toEqual([`${prefix}/acme/app`, `${prefix}/acme/multi`])
  })
})
