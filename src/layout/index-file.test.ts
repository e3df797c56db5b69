import {spawn} from 'node:child_process'
import {existsSync} from 'node:fs'
import {mkdtemp, readFile, rm, utimes, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {dirname, join, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {UsageError} from '../errors.js'
import {withFileLock} from './index-file.js'

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
const BUILT = join(REPO, 'dist', 'src', 'layout', 'index-file.js')

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-file-lock-'))
})
afterAll(async () => {
  if (dir) await rm(dir, {recursive: true, force: true})
})

/** A separate Node process that adds 1 to the counter file `rounds` times, each a slow read-modify-write under the lock. */
function incrementer(counter: string, rounds: number): Promise<number> {
  const script = `
    import {readFile, writeFile} from 'node:fs/promises'
    import {withFileLock} from ${JSON.stringify(BUILT)}
    for (let i = 0; i < ${rounds}; i++) {
      await withFileLock(${JSON.stringify(`${counter}.lock`)}, async () => {
        const n = Number(await readFile(${JSON.stringify(counter)}, 'utf8'))
        await new Promise((r) => setTimeout(r, 3))
        await writeFile(${JSON.stringify(counter)}, String(n + 1))
      })
    }`
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {stdio: ['ignore', 'ignore', 'pipe']})
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.on('error', fail)
    child.on('close', (code) => (code === 0 ? done(code) : fail(new Error(`incrementer exited ${code}: ${stderr}`))))
  })
}

describe('withFileLock (one writer across processes)', () => {
  it('serialises read-modify-write of one file across 4 processes: no update is lost', async () => {
    expect(existsSync(BUILT), 'run npm run build first (npm test does)').toBe(true)
    const counter = join(dir, 'counter')
    await writeFile(counter, '0')
    // Rounds differ so that processes exit while others still contend: a lock file read from a
    // holder that has just exited must not make a waiter remove the next holder's lock.
    await Promise.all([4, 8, 16, 32].map((rounds) => incrementer(counter, rounds)))
    expect(await readFile(counter, 'utf8')).toBe('60')
    expect(existsSync(`${counter}.lock`)).toBe(false)
  }, 60_000)

  it('takes over a lock left by a process that is gone', async () => {
    const lock = join(dir, 'stale.lock')
    // pid 2^22 + 1 is above Linux's pid_max (4194304), so no process has it.
    await writeFile(lock, `${2 ** 22 + 1}\n`)
    expect(await withFileLock(lock, async () => 'ran')).toBe('ran')
    expect(existsSync(lock)).toBe(false)
  })

  it('takes over after a process died while taking over (its .takeover guard is old)', async () => {
    const lock = join(dir, 'guarded.lock')
    await writeFile(lock, `${2 ** 22 + 1}\n`)
    await writeFile(`${lock}.takeover`, `${2 ** 22 + 2}\n`)
    const old = new Date(Date.now() - 60_000)
    await utimes(`${lock}.takeover`, old, old)
    expect(await withFileLock(lock, async () => 'ran')).toBe('ran')
    expect(existsSync(lock)).toBe(false)
    expect(existsSync(`${lock}.takeover`)).toBe(false)
  })

  it('waits for a live holder, then fails naming the lock file and the holder', async () => {
    const lock = join(dir, 'held.lock')
    await writeFile(lock, `${process.pid}\n`)
    const err = await withFileLock(lock, async () => 'ran', {timeoutMs: 150}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UsageError)
    expect((err as UsageError).message).toBe(`${lock} is held by another process (pid ${process.pid})`)
    expect((err as UsageError).hint).toMatch(/remove the lock file if no airgap process is running/)
    expect(existsSync(lock)).toBe(true)
  })
})
