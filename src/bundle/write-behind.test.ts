import {mkdtemp, open, rm} from 'node:fs/promises'
import type {FileHandle} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, describe, expect, it} from 'vitest'
import {WriteBehind} from './write-behind.js'

/** Test double for a disk whose sync can be held and made to fail (a failing disk cannot be had here). */
function heldDisk(): {file: FileHandle; syncs: number; release(err?: Error): void} {
  const state = {syncs: 0, pending: [] as Array<(err?: Error) => void>}
  const file = {
    datasync: () =>
      new Promise<void>((resolve, reject) => {
        state.syncs++
        state.pending.push((err) => (err ? reject(err) : resolve()))
      }),
  } as unknown as FileHandle
  return {
    file,
    get syncs() {
      return state.syncs
    },
    release(err?: Error) {
      for (const settle of state.pending.splice(0)) settle(err)
    },
  }
}

describe('WriteBehind', () => {
  let dir: string | undefined
  afterEach(async () => {
    if (dir) await rm(dir, {recursive: true, force: true})
    dir = undefined
  })

  it('syncs a real file in the background once every `every` bytes, and settles', async () => {
    dir = await mkdtemp(join(tmpdir(), 'write-behind-'))
    const file = await open(join(dir, 'f'), 'w')
    try {
      const wb = new WriteBehind(file, 1024)
      await file.write(Buffer.alloc(4096, 1), 0, 4096, 0)
      wb.wrote(1000)
      wb.wrote(4096 - 1000)
      await wb.settle()
      wb.check()
    } finally {
      await file.close()
    }
  })

  it('starts one sync per `every` bytes, never two at once', async () => {
    const disk = heldDisk()
    const wb = new WriteBehind(disk.file, 100)
    wb.wrote(99)
    expect(disk.syncs, 'under the threshold: no sync').toBe(0)
    wb.wrote(1)
    expect(disk.syncs).toBe(1)
    wb.wrote(500)
    expect(disk.syncs, 'a sync is under way: no second one').toBe(1)
    disk.release()
    await wb.settle()
    wb.wrote(100)
    expect(disk.syncs, 'the next threshold after the first sync ended').toBe(2)
    disk.release()
    await wb.settle()
    wb.check()
  })

  it('keeps the failure of a background sync for check(), and starts no more syncs after it', async () => {
    const disk = heldDisk()
    const wb = new WriteBehind(disk.file, 10)
    wb.wrote(10)
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), {code: 'EIO'})
    disk.release(eio)
    await wb.settle()
    expect(() => wb.check()).toThrow(eio)
    wb.wrote(1000)
    expect(disk.syncs).toBe(1)
    expect(() => wb.check(), 'still thrown: the next fsync may report success for lost data').toThrow(eio)
  })
})
