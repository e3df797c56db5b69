/**
 * `airgap prune` against the real registry: three releases pushed under one prefix (and the third
 * once more under a sibling prefix that merely starts with the same letters), two kept. The plan
 * lists exactly the third release's manifests under the prefix; apply deletes them through the
 * registry API; the kept releases still pass `airgap check`; the sibling prefix is untouched; a
 * tag moved since the plan keeps its manifest.
 */
import {mkdtemp, readFile, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {runCli} from '../support/cli.js'
import {describeWithServices, services, uniqueName} from '../support/services.js'
import {buildFixture, skopeoDigest, type PushFixture} from './push-fixtures.js'

describeWithServices('airgap prune (two phases) against the real registry', () => {
  let dir: string
  let prefix: string
  let sibling: string
  const releases: PushFixture[] = []
  const receipts: string[] = []
  const plainHost = () => services().registries.plain.host

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-prune-'))
    prefix = uniqueName('prune')
    sibling = `${prefix}-sibling`
    for (const n of [1, 2, 3]) {
      const fx = await buildFixture({dir, seed: `prune-r${n}`, names: [`docker.io/acme/multi:${n}.0`, `docker.io/acme/app:${n}.0`, `quay.io/legacy/tool:${n}`]})
      releases.push(fx)
      const receipt = join(dir, `r${n}.receipt.json`)
      const push = await runCli(['push', fx.bundle, '--key', fx.pubFile, '--registry', `${plainHost()}/${prefix}`, '--plain-http', plainHost(), '--receipt', receipt, '--quiet'])
      expect(push.code, push.stderr).toBe(0)
      receipts.push(receipt)
    }
    const other = await runCli(['push', releases[2]!.bundle, '--key', releases[2]!.pubFile, '--registry', `${plainHost()}/${sibling}`, '--plain-http', plainHost(), '--receipt', join(dir, 'sibling.receipt.json'), '--quiet'])
    expect(other.code, other.stderr).toBe(0)
  })
  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('plan lists exactly the third release; apply deletes it; kept releases still check; nothing outside the prefix is touched', async () => {
    const planFile = join(dir, 'prune.json')
    const plan = await runCli(['prune', '--registry', `${plainHost()}/${prefix}`, '--plain-http', plainHost(), '--keep-receipts', receipts[0]!, receipts[1]!, '--plan', planFile, '--json'])
    expect(plan.code, plan.stderr).toBe(0)
    const written = JSON.parse(await readFile(planFile, 'utf8')) as {deletions: Array<{repository: string; digest: string; tags: string[]}>; keptTags: number}
    const third = releases[2]!
    expect(written.deletions.map((d) => `${d.repository}:${d.tags.join(',')}@${d.digest}`).sort()).toEqual(
      [
        `${prefix}/acme/app:3.0@${third.images.get('docker.io/acme/app:3.0')}`,
        `${prefix}/acme/multi:3.0@${third.images.get('docker.io/acme/multi:3.0')}`,
        `${prefix}/legacy/tool:3@${third.images.get('quay.io/legacy/tool:3')}`,
      ].sort(),
    )
    expect(written.keptTags).toBe(6)

    const apply = await runCli(['prune', '--apply', planFile, '--plain-http', plainHost()])
    expect(apply.code, apply.stderr).toBe(0)
    expect(apply.stdout).toMatch(/Deleted 3 manifest\(s\)/)
    for (const [name] of third.images) {
      const path = name.replace(/^(docker\.io|quay\.io)\//, '')
      expect(() => skopeoDigest(`${plainHost()}/${prefix}/${path}`, ['--tls-verify=false'])).toThrow(/manifest unknown|not found/i)
      // the sibling prefix still has the same image
      expect(skopeoDigest(`${plainHost()}/${sibling}/${path}`, ['--tls-verify=false'])).toBe(third.images.get(name))
    }
    for (const receipt of receipts.slice(0, 2)) {
      const check = await runCli(['check', receipt, '--plain-http', plainHost()])
      expect(check.code, check.stdout + check.stderr).toBe(0)
    }
    // Applying the same plan again deletes nothing and fails nothing.
    const again = await runCli(['prune', '--apply', planFile, '--plain-http', plainHost(), '--json'])
    expect(again.code, again.stderr).toBe(0)
    expect((JSON.parse(again.stdout) as {deleted: number}).deleted).toBe(0)
  })

  it('a tag moved since the plan keeps its manifest', async () => {
    const planFile = join(dir, 'prune-moved.json')
    const plan = await runCli(['prune', '--registry', `${plainHost()}/${sibling}`, '--plain-http', plainHost(), '--keep-receipts', receipts[0]!, '--plan', planFile])
    expect(plan.code, plan.stderr).toBe(0)
    const doc = JSON.parse(await readFile(planFile, 'utf8')) as {deletions: Array<{repository: string; digest: string; tags: string[]}>}
    expect(doc.deletions).toHaveLength(3)
    // Claim in the plan that app:3.0 points at another digest: apply must refuse to delete that one.
    const app = doc.deletions.find((d) => d.repository.endsWith('/acme/app'))!
    const real = app.digest
    app.digest = releases[0]!.images.get('docker.io/acme/app:1.0')!
    await writeFile(planFile, JSON.stringify(doc))
    const apply = await runCli(['prune', '--apply', planFile, '--plain-http', plainHost(), '--json'])
    expect(apply.code, apply.stderr).toBe(0)
    const out = JSON.parse(apply.stdout) as {outcomes: Array<{repository: string; status: string}>; deleted: number}
    expect(out.outcomes.find((o) => o.repository.endsWith('/acme/app'))!.status).toBe('moved')
    expect(out.deleted).toBe(2)
    expect(skopeoDigest(`${plainHost()}/${sibling}/acme/app:3.0`, ['--tls-verify=false'])).toBe(real)
  })
})
