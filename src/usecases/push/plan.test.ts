/**
 * The push planner with plain data: graphs read (readGraphs) from generated images in a
 * MemoryTarget, survey answers written out by hand. Covers placements and collisions, an empty
 * mirror and one holding some images, --full-verify, delta bundles (present / mountable / missing)
 * and parts of a split set.
 */
import {beforeAll, describe, expect, it} from 'vitest'
import type {LockChart, LockExpectedBlob, LockImage, LockSplit, LockSplitImage} from '../../bundle/lock.js'
import {MemoryTarget} from '../../content/memory.js'
import {CopyTracker} from '../../copy/index.js'
import {NotFoundError, UsageError} from '../../errors.js'
import {parseMirrorRegistry} from '../../mirror/mapping.js'
import type {Descriptor} from '../../oci/types.js'
import {loadInto, makeHelmChart, makeImage, makeIndex, type Generated, type GeneratedChart, type GeneratedImage, type GeneratedIndex} from '../../../test/support/images.js'
import {
  deltaItems,
  expectedNeeds,
  graphRoots,
  lackingParts,
  placeImages,
  planDelta,
  planPush,
  surveyQuestions,
  type Graphs,
  type LocatedBlob,
  type MirrorSurvey,
  type PushContents,
  type PushRequest,
} from './plan.js'
import {readGraphs} from './survey.js'

let multi: GeneratedIndex
let app: GeneratedImage
let tool: GeneratedImage
let chart: GeneratedChart
let graphs: Graphs

const MULTI = 'docker.io/acme/multi:1.0'
const APP = 'docker.io/acme/app:2.0'
const TOOL = 'quay.io/legacy/tool:3'

beforeAll(async () => {
  multi = await makeIndex({seed: 'plan-multi', sharedLayers: 1, layers: 1})
  app = await makeImage({seed: 'plan-app', layers: 1, baseLayers: [multi.images[0]!.layers[0]!]})
  tool = await makeImage({seed: 'plan-tool', layers: 1, format: 'docker'})
  chart = await makeHelmChart({name: 'demo', version: '0.1.0'})
  const bundle = new MemoryTarget()
  for (const g of [multi, app, tool, chart]) await loadInto(bundle, g)
  graphs = await readGraphs(bundle, graphRoots(contents()), new CopyTracker(), undefined)
})

function lockImage(source: string, g: Generated): LockImage {
  return {source, digest: g.root.digest, mediaType: g.root.mediaType, size: g.root.size, platforms: [], bytes: 0}
}

function lockChart(): LockChart {
  return {name: 'demo', version: '0.1.0', source: 'https://charts.example/demo', digest: chart.root.digest, tgzDigest: chart.blobs[0]!.descriptor.digest}
}

function contents(extra: Partial<PushContents> = {}): PushContents {
  return {images: [lockImage(MULTI, multi), lockImage(APP, app), lockImage(TOOL, tool)], charts: [lockChart()], ...extra}
}

function request(extra: Partial<PushRequest> = {}): PushRequest {
  return {registry: parseMirrorRegistry('mirror.corp:5000/wandb'), keepSourceHost: false, pathRules: {}, connection: {plainHttp: [], caFiles: []}, fullVerify: false, ...extra}
}

const digests = (ds: readonly Descriptor[]): string[] => ds.map((d) => d.digest)
const blobsOf = (g: Generated): string[] => g.blobs.filter((b) => !b.descriptor.mediaType.includes('manifest') && !b.descriptor.mediaType.includes('index')).map((b) => b.descriptor.digest)
const allOf = (g: Generated): string[] => g.blobs.map((b) => b.descriptor.digest)

/** Plan with every blob the bundle holds. */
function plan(c: PushContents, r: PushRequest, survey: MirrorSurvey) {
  const held = new Set([multi, app, tool, chart].flatMap(allOf))
  return planPush({contents: c, request: r, placements: placeImages(c, r), graphs, held, survey})
}

describe('push plan: a whole bundle', () => {
  it('into an empty mirror: every image placed (source host dropped), each blob uploaded once by the first image holding it, everything hashed', () => {
    const p = plan(contents(), request({charts: {url: 'oci://mirror.corp:5000/charts', display: 'oci://mirror.corp:5000/charts', kind: 'oci', oci: parseMirrorRegistry('mirror.corp:5000/charts')}}), {
      images: ['absent', 'absent', 'absent'],
      expected: [],
    })
    expect(p.images.map((i) => [i.placement.mirror, i.mirror])).toEqual([
      ['mirror.corp:5000/wandb/acme/multi:1.0', 'absent'],
      ['mirror.corp:5000/wandb/acme/app:2.0', 'absent'],
      ['mirror.corp:5000/wandb/legacy/tool:3', 'absent'],
    ])
    // The base layer app shares with multi is uploaded once, into multi's repository (owner 0).
    const base = multi.images[0]!.layers[0]!.descriptor.digest
    expect(p.uploads.filter((u) => u.blob.digest === base)).toEqual([{blob: expect.objectContaining({digest: base}), owner: 0}])
    expect(new Set(digests(p.uploads.map((u) => u.blob))).size).toBe(p.uploads.length)
    expect(digests(p.uploads.filter((u) => u.owner === 1).map((u) => u.blob)).sort()).toEqual(blobsOf(app).filter((d) => d !== base).sort())
    expect(p.uploads.some((u) => u.blob.mediaType.includes('manifest'))).toBe(false)
    expect([...(p.hash as Set<string>)].sort()).toEqual([...new Set([multi, app, tool, chart].flatMap(allOf))].sort())
    expect(p.charts).toEqual([{chart: lockChart(), oci: {repository: 'mirror.corp:5000/charts/demo', tag: '0.1.0'}}])
    expect(p.delta).toBeUndefined()
    expect(p.part).toBeUndefined()
  })

  it('into a mirror holding some images: they upload nothing and are not re-hashed; a blob shared with an image to send still is', () => {
    const p = plan(contents(), request(), {images: ['tagged', 'absent', 'present'], expected: []})
    expect(p.images.map((i) => i.mirror)).toEqual(['tagged', 'absent', 'present'])
    expect(p.uploads.every((u) => u.owner === 1)).toBe(true)
    expect(digests(p.uploads.map((u) => u.blob)).sort()).toEqual(blobsOf(app).sort())
    const hash = p.hash as Set<string>
    expect([...hash].sort()).toEqual([...new Set([...allOf(app), ...allOf(chart)])].sort())
    expect(hash.has(multi.images[0]!.layers[0]!.descriptor.digest)).toBe(true) // shared with app
    expect(allOf(tool).some((d) => hash.has(d))).toBe(false)
    expect(p.charts).toEqual([{chart: lockChart()}]) // no --helm-repo
  })

  it('--full-verify: the mirror is not asked about images, every blob goes to the copy engine and everything is hashed', () => {
    const r = request({fullVerify: true})
    const c = contents()
    expect(surveyQuestions(c, r, placeImages(c, r), graphs).images).toBeUndefined()
    const p = plan(c, r, {expected: []})
    expect(p.hash).toBe('all')
    expect(p.images.map((i) => i.mirror)).toEqual(['unknown', 'unknown', 'unknown'])
    expect(p.uploads).toHaveLength(new Set([multi, app, tool].flatMap(blobsOf)).size)
  })

  it('asks the mirror one question per image: its tag (or its digest when the source has none) and root', () => {
    const c = contents({images: [lockImage(MULTI, multi), lockImage(`docker.io/acme/app@${app.root.digest}`, app)]})
    const r = request()
    expect(surveyQuestions(c, r, placeImages(c, r), graphs)).toEqual({
      images: [
        {mirror: 'mirror.corp:5000/wandb/acme/multi:1.0', tag: '1.0', root: multi.root},
        {mirror: `mirror.corp:5000/wandb/acme/app@${app.root.digest}`, tag: undefined, root: app.root},
      ],
      delta: undefined,
    })
  })

  it('refuses two sources landing in one mirror repository before anything is planned; --keep-source-host separates them', () => {
    const c = contents({images: [lockImage('docker.io/acme/app:1', app), lockImage('quay.io/acme/app:1', tool)]})
    expect(() => placeImages(c, request())).toThrow(UsageError)
    expect(() => placeImages(c, request())).toThrow(/docker.io\/acme\/app and quay.io\/acme\/app both map to mirror.corp:5000\/wandb\/acme\/app/)
    expect(placeImages(c, request({keepSourceHost: true})).map((p) => p.repository)).toEqual(['mirror.corp:5000/wandb/docker.io/acme/app', 'mirror.corp:5000/wandb/quay.io/acme/app'])
  })
})

describe('push plan: a delta bundle', () => {
  /** app's own layer and config are in the bundle; the base layer it shares with multi is left out. */
  const base = (): Descriptor => multi.images[0]!.layers[0]!.descriptor
  const expected = (repositories?: string[]): LockExpectedBlob[] => [{digest: base().digest, size: base().size, mediaType: base().mediaType, repositories}]
  const deltaContents = (repos?: string[]) => contents({images: [lockImage(APP, app), lockImage(TOOL, tool)], expectedInMirror: expected(repos)})

  it('asks where each left-out blob is for the items still to push, looking first where the have-list saw it, then in the bundle’s other repositories', () => {
    const c = deltaContents(['old/acme/app', 'wandb/legacy/tool'])
    const items = deltaItems(c, request(), placeImages(c, request()))
    expect(items.map((i) => [i.name, i.repository])).toEqual([
      [APP, 'wandb/acme/app'],
      [TOOL, 'wandb/legacy/tool'],
    ])
    expect(expectedNeeds(items, [true, true], graphs, c.expectedInMirror!)).toEqual([
      {item: APP, repository: 'wandb/acme/app', blob: base(), candidates: ['old/acme/app', 'wandb/legacy/tool']},
    ])
    // app already in the mirror: nothing to ask.
    expect(expectedNeeds(items, [false, true], graphs, c.expectedInMirror!)).toEqual([])
    // Items go where the placements put them (a W&B v2 bundle's operator layout), not where the v1 path rule would.
    const placed = placeImages(c, request()).map((p, i) => ({...p, repository: `${p.repository.split('/')[0]}/wandb/v2-${i}`}))
    expect(deltaItems(c, request(), placed).map((i) => i.repository)).toEqual(['wandb/v2-0', 'wandb/v2-1'])
  })

  it('present in place, or mounted once from another repository; the plan keeps the counts', () => {
    const need = {item: APP, repository: 'wandb/acme/app', blob: base(), candidates: ['old/acme/app']}
    const present: LocatedBlob[] = [{...need, present: true}]
    expect(planDelta(present, 1, 'mirror.corp:5000')).toEqual({expected: 1, present: 1, mounts: []})
    const mountable: LocatedBlob[] = [
      {...need, present: false, mountFrom: 'old/acme/app'},
      {...need, item: 'docker.io/acme/app:2.1', present: false, mountFrom: 'old/acme/app'},
    ]
    expect(planDelta(mountable, 1, 'mirror.corp:5000')).toEqual({expected: 1, present: 0, mounts: [{repository: 'wandb/acme/app', from: 'old/acme/app', blob: base()}]})
    const p = plan(deltaContents(), request(), {images: ['absent', 'tagged'], expected: mountable})
    expect(p.delta).toEqual({expected: 1, present: 0, mounts: [{repository: 'wandb/acme/app', from: 'old/acme/app', blob: base()}]})
  })

  it('missing everywhere: refused with the full list before anything is written', () => {
    const missing: LocatedBlob[] = [{item: APP, repository: 'wandb/acme/app', blob: base(), candidates: [], present: false}]
    expect(() => plan(deltaContents(), request(), {images: ['absent', 'absent'], expected: missing})).toThrow(NotFoundError)
    expect(() => planDelta(missing, 1, 'mirror.corp:5000')).toThrow(
      `delta bundle: 1 blob(s) it leaves out are not in the mirror mirror.corp:5000, so nothing was pushed: ${base().digest} (${base().size} bytes, needed by ${APP} in mirror.corp:5000/wandb/acme/app)`,
    )
  })
})

describe('push plan: a part of a split set', () => {
  /** Part 2 of 2 carries app (its own layer here, the shared base layer in part 1); multi is all in part 1. */
  function splitContents(): PushContents {
    const base = multi.images[0]!.layers[0]!.descriptor.digest
    const appOwn = app.layers.at(-1)!.descriptor.digest
    const setImage = (source: string, g: Generated, blobs: string[], parts: number[]): LockSplitImage => ({...lockImage(source, g), blobs, parts})
    const split: LockSplit = {
      setId: 'sha256:set',
      part: 2,
      parts: 2,
      maxPartSize: 1024,
      blobs: [
        {digest: base, size: 1, part: 1},
        {digest: appOwn, size: 1, part: 2},
      ],
      images: [setImage(MULTI, multi, blobsOf(multi), [1]), setImage(APP, app, blobsOf(app), [1, 2])],
    }
    return {images: [lockImage(APP, app)], charts: [], split}
  }

  it('places every image of the set; the carried image pushes the blobs this part holds; everything is hashed', () => {
    const c = splitContents()
    const held = new Set(allOf(app).filter((d) => d !== multi.images[0]!.layers[0]!.descriptor.digest))
    const p = planPush({contents: c, request: request(), placements: placeImages(c, request()), graphs, held, survey: {expected: []}})
    expect(p.images).toEqual([])
    expect(p.uploads).toEqual([])
    expect(p.hash).toBe('all')
    expect(p.part!.images.map((i) => [i.image.source, i.placement.mirror, i.carried])).toEqual([
      [MULTI, 'mirror.corp:5000/wandb/acme/multi:1.0', false],
      [APP, 'mirror.corp:5000/wandb/acme/app:2.0', true],
    ])
    expect(p.part!.images[0]!.blobsHere).toEqual([])
    expect(digests(p.part!.images[1]!.blobsHere).sort()).toEqual(blobsOf(app).filter((d) => held.has(d)).sort())
    expect(surveyQuestions(c, request(), placeImages(c, request()), graphs)).toEqual({images: undefined, delta: undefined})
  })

  it('an image waits for the parts holding the blobs its repository lacks (a blob no part owns: every part of the image)', () => {
    const c = splitContents()
    const [multiImage, appImage] = c.split!.images as [LockSplitImage, LockSplitImage]
    expect(lackingParts(c.split!, appImage, [])).toEqual([])
    expect(lackingParts(c.split!, appImage, [multi.images[0]!.layers[0]!.descriptor.digest])).toEqual([1])
    const config = app.config.descriptor.digest // listed in no part: travels with every part of app
    expect(lackingParts(c.split!, appImage, [config])).toEqual([1, 2])
    expect(lackingParts(c.split!, multiImage, [multi.images[0]!.layers[0]!.descriptor.digest, app.layers.at(-1)!.descriptor.digest])).toEqual([1, 2])
  })
})
