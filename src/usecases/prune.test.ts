/**
 * applyPrunePlan against the real plain registry (test services): it deletes exactly what the plan
 * lists, keeps a manifest whose tag moved since the plan, and refuses a file that is not a plan.
 * planPruneFromMirror's rules are src/mirror/prune.test.ts; the whole CLI flow is test/integration/prune.test.ts.
 */
import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {NotFoundError, SpecError} from '../errors.js'
import {PRUNE_PLAN_API_VERSION, PRUNE_PLAN_KIND, type PrunePlan} from '../mirror/prune.js'
import {describeWithServices, services, uniqueName} from '../../test/support/services.js'
import {loadInto, makeImage, type GeneratedImage} from '../../test/support/images.js'
import {applyPrunePlan} from './prune.js'
import {Session} from './session.js'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-prune-'))
})
afterAll(async () => rm(dir, {recursive: true, force: true}))

const plan = (registry: string, deletions: PrunePlan['deletions']): PrunePlan => ({apiVersion: PRUNE_PLAN_API_VERSION, kind: PRUNE_PLAN_KIND, registry, keep: [], deletions, shared: [], keptTags: 0})

describe('applyPrunePlan refuses what is not a plan', () => {
  it('a missing file is NotFound with how to write one; an edited plan is a SpecError naming the file', async () => {
    const missing = await applyPrunePlan({planFile: join(dir, 'nope.json')}).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(NotFoundError)
    expect((missing as NotFoundError).hint).toContain('--plan')
    const edited = join(dir, 'edited.json')
    await writeFile(edited, JSON.stringify({...plan('m:5000/x', []), deletions: [{repository: 'x/a', digest: 'sha256:short', tags: []}]}))
    const err = await applyPrunePlan({planFile: edited}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SpecError)
    expect((err as SpecError).message).toContain(edited)
  })
})

describeWithServices('applyPrunePlan against the plain registry', () => {
  let host: string
  let prefix: string
  let old: GeneratedImage
  let moved: GeneratedImage
  let now: GeneratedImage

  beforeAll(async () => {
    host = services().registries.plain.host
    prefix = uniqueName('prune')
    ;[old, moved, now] = await Promise.all(['old', 'moved', 'now'].map((s) => makeImage({seed: `prune-${s}`, layers: 1})))
    const session = new Session({plainHttp: [host]})
    try {
      await loadInto(session.repository(`${host}/${prefix}/a`, 'destination').repository, old, '1')
      const b = session.repository(`${host}/${prefix}/b`, 'destination').repository
      await loadInto(b, moved, '1')
      await loadInto(b, now, '1')
    } finally {
      await session.close()
    }
  })

  it('deletes the listed manifest, keeps the one whose tag moved, and a second apply finds it absent', async () => {
    const file = join(dir, 'plan.json')
    await writeFile(
      file,
      JSON.stringify(
        plan(`${host}/${prefix}`, [
          {repository: `${prefix}/a`, digest: old.root.digest, tags: ['1']},
          {repository: `${prefix}/b`, digest: moved.root.digest, tags: ['1']},
        ]),
      ),
    )
    const res = await applyPrunePlan({planFile: file, plainHttp: [host]})
    expect(res.outcomes.map((o) => [o.repository, o.status])).toEqual([
      [`${prefix}/a`, 'deleted'],
      [`${prefix}/b`, 'moved'],
    ])
    expect(res.outcomes[1]!.detail).toContain(now.root.digest)
    expect(res.deleted).toBe(1)

    const session = new Session({plainHttp: [host]})
    try {
      await expect(session.repository(`${host}/${prefix}/a`, 'source').repository.resolve(old.root.digest)).rejects.toBeInstanceOf(NotFoundError)
      expect((await session.repository(`${host}/${prefix}/b`, 'source').repository.resolve('1')).digest).toBe(now.root.digest)
    } finally {
      await session.close()
    }
    const again = await applyPrunePlan({planFile: file, plainHttp: [host]})
    expect(again.outcomes[0]!.status).toBe('absent')
  })
})
