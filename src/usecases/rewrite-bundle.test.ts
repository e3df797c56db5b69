/**
 * rewrite reads the channel values from the bundle the receipt names: only when its lock is the
 * one the receipt records and its spec.yaml is the one that lock pins (issue 15, class 2).
 */
import {mkdtemp, open, readFile, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {MemoryTarget} from '../content/memory.js'
import {IntegrityError} from '../errors.js'
import type {PushReceipt} from '../mirror/receipt.js'
import {loadInto, makeImage} from '../../test/support/images.js'
import {channelValues, LazyBundle} from './rewrite-bundle.js'
import {writeBundle} from './write-bundle.js'

const SPEC = 'apiVersion: airgap.dev/v1alpha1\nkind: ReleaseSpec\nmetadata: {name: wandb}\nspec:\n  charts:\n    - name: operator-wandb\n      repo: https://charts.example\n      version: 0.1.0\n      set: {app: {image: {tag: "0.74.1"}}}\n'

let dir: string
let bundle: string
let receipt: PushReceipt

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-rewrite-bundle-'))
  const src = new MemoryTarget()
  await loadInto(src, await makeImage({seed: 'rewrite-bundle', layers: 1}), '1')
  bundle = join(dir, 'b.tar')
  const res = await writeBundle({images: [{source: src, ref: '1', name: 'docker.io/wandb/local:0.74.1'}], out: bundle, epoch: 0, specBytes: Buffer.from(SPEC)})
  receipt = {bundle: {path: bundle, lockDigest: res.lockDigest, authenticity: 'unsigned'}} as PushReceipt
})
afterAll(async () => {
  if (dir) await rm(dir, {recursive: true, force: true})
})

describe('channel values from the pushed bundle', () => {
  it('reads the values of the spec the lock pins', async () => {
    const lazy = new LazyBundle(bundle, receipt)
    try {
      const got = await channelValues(undefined, lazy, () => undefined)
      expect(got).toMatchObject({from: 'bundle', values: {app: {image: {tag: '0.74.1'}}}})
    } finally {
      await lazy.close()
    }
  })

  it('refuses a spec.yaml edited in place after the push (same length, valid tar), naming both digests', async () => {
    const bytes = await readFile(bundle)
    const at = bytes.indexOf(Buffer.from('tag: "0.74.1"'))
    expect(at).toBeGreaterThan(0)
    const handle = await open(bundle, 'r+')
    try {
      await handle.write(Buffer.from('tag: "6.66.6"'), 0, 13, at)
    } finally {
      await handle.close()
    }
    const lazy = new LazyBundle(bundle, receipt)
    try {
      const err = await channelValues(undefined, lazy, () => undefined).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(IntegrityError)
      expect((err as Error).message).toMatch(/airgap\/spec\.yaml is sha256:[0-9a-f]{64} but airgap\/lock\.json pins sha256:/)
    } finally {
      await lazy.close()
    }
  })
})
