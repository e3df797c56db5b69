/** The output file of `airgap pull`: never a finished bundle replaced without --force, never a download the disk cannot hold. */
import {statfsSync} from 'node:fs'
import {stat} from 'node:fs/promises'
import {dirname} from 'node:path'
import {AirgapError, UsageError} from '../errors.js'

/** Refuse to overwrite a finished bundle without `force`; a `.partial` alone means resume. */
export async function refuseFinished(out: string, force: boolean): Promise<void> {
  const info = await stat(out).catch(() => undefined)
  if (!info) return
  if (!info.isFile()) throw new UsageError(`${out} exists and is not a file`, {hint: 'choose another output path with -o'})
  if (!force) throw new UsageError(`${out} already exists`, {hint: 'pass --force to overwrite it, or choose another output path with -o'})
}

export function freeBytes(dir: string): number {
  const s = statfsSync(dir)
  return s.bavail * s.bsize
}

/** Fail before downloading when the output folder has less free space than the bundle still needs. */
export function checkDiskSpace(out: string, needed: number, freeSpace: (dir: string) => number): void {
  const dir = dirname(out)
  const free = freeSpace(dir)
  if (free < needed) {
    throw new AirgapError(`not enough disk space in ${dir} for ${out}: ${formatSize(needed)} needed, ${formatSize(free)} free`, {
      hint: 'free some space or write the bundle elsewhere with -o (a rerun resumes what was already written)',
    })
  }
}

function formatSize(n: number): string {
  return n >= 1024 ** 3 ? `${(n / 1024 ** 3).toFixed(2)} GiB` : `${(n / 1024 ** 2).toFixed(1)} MiB`
}

