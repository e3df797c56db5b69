import {execFileSync} from 'node:child_process'
import {chmod, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ExitCode, NotFoundError, SpecError, UsageError} from '../errors.js'
import {readInputFile, readInputText, readInputTextSync, readOptionalInputFile, type InputFileKind} from './input-file.js'

const SPEC: InputFileKind = {what: 'spec file', maxBytes: 1024, refusal: 'input', hint: 'check the path'}
const KEY: InputFileKind = {what: 'public key', maxBytes: 64 * 1024, refusal: 'usage', hint: 'pass the cosign.pub with --key'}
const RECEIPT: InputFileKind = {what: 'push receipt', maxBytes: 1024, refusal: 'input', missingIsNotFound: true, hint: 'pass the receipt airgap push wrote'}

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-input-'))
})
afterAll(async () => {
  await rm(dir, {recursive: true, force: true})
})

/** The error `read` rejects with. */
async function failure(read: Promise<unknown>): Promise<Error & {exitCode: number; hint?: string}> {
  const err = await read.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(Error)
  return err as Error & {exitCode: number; hint?: string}
}

describe('readInputFile', () => {
  it('reads a regular file whole (also through a symlink, and larger than one read)', async () => {
    const file = join(dir, 'airgap.yaml')
    await writeFile(file, 'a'.repeat(1000))
    expect(await readInputText(file, SPEC)).toBe('a'.repeat(1000))
    await symlink(file, join(dir, 'link.yaml'))
    expect((await readInputFile(join(dir, 'link.yaml'), SPEC)).length).toBe(1000)
    const big = join(dir, 'big.pub')
    await writeFile(big, Buffer.alloc(64 * 1024, 7))
    expect((await readInputFile(big, KEY)).equals(Buffer.alloc(64 * 1024, 7))).toBe(true)
    expect(readInputTextSync(file, SPEC)).toBe('a'.repeat(1000))
  })

  it('a missing file: the kind class (or NotFoundError when the kind says so), naming the file and what to do', async () => {
    const spec = await failure(readInputFile(join(dir, 'no-such.yaml'), SPEC))
    expect(spec).toBeInstanceOf(SpecError)
    expect(spec.exitCode).toBe(ExitCode.SPEC)
    expect(spec.message).toBe(`${join(dir, 'no-such.yaml')}: cannot read spec file (ENOENT): it does not exist`)
    expect(spec.hint).toBe('check the path')
    const receipt = await failure(readInputFile(join(dir, 'none.json'), RECEIPT))
    expect(receipt).toBeInstanceOf(NotFoundError)
    expect(receipt.message).toMatch(/none\.json: cannot read push receipt \(ENOENT\): it does not exist$/)
    const key = await failure(readInputFile(join(dir, 'nested', 'cosign.pub'), KEY))
    expect(key).toBeInstanceOf(UsageError)
    expect(key.exitCode).toBe(ExitCode.USAGE)
    expect(() => readInputTextSync(join(dir, 'ca.pem'), KEY)).toThrow(/ca\.pem: cannot read public key \(ENOENT\)/)
    expect(await readOptionalInputFile(join(dir, 'none.json'), RECEIPT)).toBeUndefined()
  })

  it('a directory is refused as not a regular file', async () => {
    const err = await failure(readInputFile(dir, SPEC))
    expect(err).toBeInstanceOf(SpecError)
    expect(err.message).toBe(`${dir}: cannot read spec file: it is a directory, not a regular file`)
    expect(() => readInputTextSync(dir, KEY)).toThrow(/it is a directory, not a regular file/)
    await expect(readOptionalInputFile(dir, RECEIPT)).rejects.toThrow(/directory/)
  })

  it('a FIFO is refused at once, without waiting for a writer', async () => {
    const fifo = join(dir, 'pipe')
    execFileSync('mkfifo', [fifo])
    const started = Date.now()
    const err = await failure(readInputFile(fifo, KEY))
    expect(err).toBeInstanceOf(UsageError)
    expect(err.message).toBe(`${fifo}: cannot read public key: it is a named pipe (FIFO), not a regular file`)
    expect(err.hint).toMatch(/copy the content into a regular file/)
    expect(() => readInputTextSync(fifo, KEY)).toThrow(/named pipe/)
    expect(Date.now() - started).toBeLessThan(5000)
  })

  it('devices are refused without reading them (/dev/zero never ends)', async () => {
    const err = await failure(readInputFile('/dev/zero', KEY))
    expect(err.message).toBe('/dev/zero: cannot read public key: it is a character device, not a regular file')
    expect(() => readInputTextSync('/dev/null', SPEC)).toThrow(/character device/)
  })

  it('a file over the kind limit is refused with its size and the limit', async () => {
    const file = join(dir, 'huge.yaml')
    await writeFile(file, Buffer.alloc(1025))
    const err = await failure(readInputFile(file, SPEC))
    expect(err).toBeInstanceOf(SpecError)
    expect(err.message).toBe(`${file}: spec file is 1025 bytes, more than the limit of 1024 bytes`)
    expect(() => readInputTextSync(file, SPEC)).toThrow(/1025 bytes, more than the limit of 1024 bytes/)
    await writeFile(file, Buffer.alloc(1024))
    expect((await readInputFile(file, SPEC)).length).toBe(1024)
  })

  it('a read that fails names the error (/proc/self/mem: EIO at offset 0, even for root)', async () => {
    const err = await failure(readInputFile('/proc/self/mem', SPEC))
    expect(err).toBeInstanceOf(SpecError)
    expect(err.message).toMatch(/^\/proc\/self\/mem: cannot read spec file \(EIO\): /)
    expect(() => readInputTextSync('/proc/self/mem', KEY)).toThrow(UsageError)
  })

  it.skipIf(process.getuid?.() === 0)('an unreadable file names the permission problem (not as root, who reads everything)', async () => {
    const file = join(dir, 'secret.yaml')
    await writeFile(file, 'x')
    await chmod(file, 0)
    const err = await failure(readInputFile(file, SPEC))
    expect(err.message).toBe(`${file}: cannot read spec file (EACCES): permission denied`)
    expect(err.hint).toMatch(/permissions/)
  })
})
