/**
 * Rollback protection (issue 15, class 9) against the real registry: the lock records when a
 * release was pulled; push records each release in the mirror (PREFIX/airgap-releases) and warns,
 * or with --no-rollback refuses, when it would move a tag back to an older release's digest.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {MemoryTarget} from '../../src/content/memory.js'
import {writeBundle} from '../../src/usecases/write-bundle.js'
import {runCli} from '../support/cli.js'
import {loadInto, makeImage, type GeneratedImage} from '../support/images.js'
import {describeWithServices, services, uniqueName} from '../support/services.js'
import {skopeoDigest} from './push-fixtures.js'

describeWithServices('push refuses or warns about rollbacks (real registry)', () => {
  let dir: string
  let older: string
  let newer: string
  let oldImage: GeneratedImage
  let newImage: GeneratedImage
  let prefix: string
  const host = () => services().registries.plain.host
  const push = (bundle: string, ...extra: string[]) =>
    runCli(['push', bundle, '--allow-unsigned', '--registry', `${host()}/${prefix}`, '--plain-http', host(), '--receipt', `${bundle}.${Math.random().toString(16).slice(2)}.json`, ...extra])
  const mirrorDigest = () => skopeoDigest(`${host()}/${prefix}/acme/app:1`, ['--tls-verify=false'])

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-rollback-'))
    prefix = uniqueName('rollback')
    oldImage = await makeImage({seed: 'rollback-old', layers: 1})
    newImage = await makeImage({seed: 'rollback-new', layers: 1})
    older = join(dir, 'older.tar')
    newer = join(dir, 'newer.tar')
    for (const [img, out, createdAt] of [
      [oldImage, older, 1_750_000_000],
      [newImage, newer, 1_760_000_000],
    ] as const) {
      const src = new MemoryTarget()
      await loadInto(src, img, 'app')
      await writeBundle({images: [{source: src, ref: 'app', name: 'docker.io/acme/app:1'}], out, epoch: 0, createdAt})
    }
  })
  afterAll(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
  })

  it('newer, then older: a ROLLBACK warning naming the tag and both pull times; the tag moves as asked', async () => {
    const first = await push(newer)
    expect(first.code, first.stderr).toBe(0)
    expect(first.stderr).not.toMatch(/ROLLBACK/)
    expect(mirrorDigest()).toBe(newImage.root.digest)
    const back = await push(older)
    expect(back.code, back.stderr).toBe(0)
    // oclif wraps warnings on the terminal width: read them as one line
    expect(back.stderr.replace(/\s*\n ›\s+/g, ' ')).toMatch(/ROLLBACK: this push moves 1 tag\(s\) back to an older release: .*acme\/app:1 \(now sha256:[0-9a-f]{64} from a release pulled 2025-10-09T\d\d:\d\d:\d\dZ; this bundle was pulled 2025-06-15T\d\d:\d\d:\d\dZ\)/)
    expect(mirrorDigest()).toBe(oldImage.root.digest)
  })

  it('forward again: no warning; --no-rollback then refuses the older bundle (exit 2) and the tag stays', async () => {
    const forward = await push(newer)
    expect(forward.code, forward.stderr).toBe(0)
    expect(forward.stderr).not.toMatch(/ROLLBACK/)
    expect(mirrorDigest()).toBe(newImage.root.digest)
    const refused = await push(older, '--no-rollback')
    expect(refused.code, refused.stderr).toBe(2)
    expect(refused.stderr.trim().split('\n').filter((l) => l.startsWith('Error:'))).toHaveLength(1)
    expect(refused.stderr).toMatch(/refusing to move 1 tag\(s\) back to an older release/)
    expect(mirrorDigest()).toBe(newImage.root.digest)
    // A repeat push of what is there changes nothing and warns about nothing.
    const repeat = await push(newer, '--no-rollback')
    expect(repeat.code, repeat.stderr).toBe(0)
  })
})
