import {lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile, chmod} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterEach, beforeEach, describe, expect, it} from 'vitest'
import {temporaryNames, writeFileAtomic} from './atomic-write.js'

let dir: string
let outside: string
const nextName = temporaryNames.next
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-atomic-'))
  outside = await mkdtemp(join(tmpdir(), 'airgap-atomic-victim-'))
})
afterEach(async () => {
  temporaryNames.next = nextName
  await rm(dir, {recursive: true, force: true})
  await rm(outside, {recursive: true, force: true})
})

describe('writeFileAtomic', () => {
  it('creates a file, and replaces an existing one with the new content and nothing left beside it', async () => {
    const target = join(dir, 'receipt.json')
    await writeFileAtomic(target, 'one\n')
    expect(await readFile(target, 'utf8')).toBe('one\n')
    await writeFileAtomic(target, Buffer.from('two\n'), {syncFolder: true})
    expect(await readFile(target, 'utf8')).toBe('two\n')
    expect(await readdir(dir)).toEqual(['receipt.json'])
  })

  it('replaces a symlink planted at the target name instead of writing through it', async () => {
    const victim = join(outside, 'victim')
    await writeFile(victim, 'precious')
    const target = join(dir, 'operator.yaml')
    await symlink(victim, target)
    await writeFileAtomic(target, 'new content')
    expect(await readFile(victim, 'utf8')).toBe('precious')
    expect((await lstat(target)).isFile()).toBe(true)
    expect(await readFile(target, 'utf8')).toBe('new content')
  })

  it('never writes through a symlink planted at the temporary name it draws (nor at the old predictable PATH.tmp-PID)', async () => {
    const victim = join(outside, 'victim')
    await writeFile(victim, 'precious')
    const target = join(dir, 'operator.yaml')
    await symlink(victim, `${target}.tmp-${process.pid}`)
    // The attacker guessed the first random name: the exclusive create refuses it and draws again.
    const names = ['aaaaaaaaaaaa', 'bbbbbbbbbbbb']
    temporaryNames.next = () => names.shift() ?? nextName()
    await symlink(victim, join(dir, '.operator.yaml.aaaaaaaaaaaa.tmp'))
    await writeFileAtomic(target, 'new content')
    expect(await readFile(victim, 'utf8')).toBe('precious')
    expect(await readFile(target, 'utf8')).toBe('new content')
    expect(names).toEqual([])
    expect((await readdir(dir)).sort()).toEqual(['.operator.yaml.aaaaaaaaaaaa.tmp', 'operator.yaml', `operator.yaml.tmp-${process.pid}`])
  })

  it('gives up (writing nothing) when every name it draws is taken', async () => {
    const victim = join(outside, 'victim')
    await writeFile(victim, 'precious')
    temporaryNames.next = () => 'cccccccccccc'
    await symlink(victim, join(dir, '.out.cccccccccccc.tmp'))
    await expect(writeFileAtomic(join(dir, 'out'), 'x')).rejects.toMatchObject({code: 'EEXIST'})
    expect(await readFile(victim, 'utf8')).toBe('precious')
    expect(await readdir(dir)).toEqual(['.out.cccccccccccc.tmp'])
  })

  it('on failure leaves the old target intact and no temporary file', async () => {
    const target = join(dir, 'index.json')
    await mkdir(target)
    await writeFile(join(target, 'inside'), 'old')
    await expect(writeFileAtomic(target, 'new')).rejects.toMatchObject({code: expect.stringMatching(/^(EISDIR|ENOTEMPTY|EEXIST)$/)})
    expect(await readFile(join(target, 'inside'), 'utf8')).toBe('old')
    expect(await readdir(dir)).toEqual(['index.json'])
  })

  it('with overwrite: false refuses an existing target (EEXIST) and keeps it', async () => {
    const target = join(dir, 'cosign.key')
    await writeFileAtomic(target, 'first', {mode: 0o600, overwrite: false})
    expect((await stat(target)).mode & 0o777).toBe(0o600)
    await expect(writeFileAtomic(target, 'second', {overwrite: false})).rejects.toMatchObject({code: 'EEXIST'})
    expect(await readFile(target, 'utf8')).toBe('first')
    expect(await readdir(dir)).toEqual(['cosign.key'])
  })

  it('keeps the mode of an existing file when asked, else creates with the given mode', async () => {
    const target = join(dir, 'values.yaml')
    await writeFile(target, 'old')
    await chmod(target, 0o640)
    await writeFileAtomic(target, 'new', {keepExistingMode: true})
    expect((await stat(target)).mode & 0o777).toBe(0o640)
    await writeFileAtomic(target, 'newer', {mode: 0o600})
    expect((await stat(target)).mode & 0o777).toBe(0o600)
  })

  it('keeps temporary names short for long target names', async () => {
    const target = join(dir, `${'n'.repeat(250)}`)
    await writeFileAtomic(target, 'x')
    expect(await readFile(target, 'utf8')).toBe('x')
  })
})
