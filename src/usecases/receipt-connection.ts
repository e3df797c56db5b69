/**
 * How `check` and `rewrite` reach the mirror: as the push did (the receipt's `connection`), unless
 * the flags say otherwise. An explicit --plain-http / --ca-file list replaces the receipt's, and
 * each disagreement between the two is stated (one note per host or file), never silent.
 */
import {access, constants} from 'node:fs/promises'
import {UsageError} from '../errors.js'
import type {PushReceipt} from '../mirror/receipt.js'

export interface ReachedMirror {
  /** Hosts spoken to over plain HTTP. */
  plainHttp: string[]
  /** CA files trusted besides the system CAs. */
  caFiles: string[]
  /** Where each came from. */
  from: {plainHttp: 'flags' | 'receipt' | 'none'; caFiles: 'flags' | 'receipt' | 'none'}
}

/**
 * The connection settings for the mirror of `receipt` (read from `file`): the flags when given,
 * else what the receipt records (older receipts record nothing: then nothing is assumed).
 */
export function reachMirror(receipt: Pick<PushReceipt, 'connection' | 'registry'>, file: string, given: {plainHttp?: readonly string[]; caFiles?: readonly string[]}, note: (message: string) => void): ReachedMirror {
  const recorded = receipt.connection
  const flagsPlain = (given.plainHttp ?? []).filter((h) => h !== '')
  const flagsCa = (given.caFiles ?? []).filter((f) => f !== '')
  if (recorded && flagsPlain.length > 0) {
    for (const host of recorded.plainHttp) {
      if (!flagsPlain.includes(host)) note(`${file} records that the push reached ${host} over plain HTTP, but --plain-http does not name it: using HTTPS for ${host}, as the flags say`)
    }
    const mirrorHost = receipt.registry.split('/')[0]!
    for (const host of new Set([...recorded.plainHttp, mirrorHost])) {
      if (flagsPlain.includes(host) && !recorded.plainHttp.includes(host)) note(`--plain-http names ${host}, which the push reached over HTTPS (${file}): using plain HTTP, as the flags say`)
    }
  }
  if (recorded && flagsCa.length > 0 && recorded.caFiles.length > 0 && recorded.caFiles.join('\n') !== flagsCa.join('\n')) {
    note(`--ca-file ${flagsCa.join(', ')} replaces the CA file(s) the push trusted (${recorded.caFiles.join(', ')}, per ${file})`)
  }
  const plainHttp = flagsPlain.length > 0 ? flagsPlain : (recorded?.plainHttp ?? [])
  const caFiles = flagsCa.length > 0 ? flagsCa : (recorded?.caFiles ?? [])
  return {
    plainHttp,
    caFiles,
    from: {
      plainHttp: flagsPlain.length > 0 ? 'flags' : recorded?.plainHttp.length ? 'receipt' : 'none',
      caFiles: flagsCa.length > 0 ? 'flags' : recorded?.caFiles.length ? 'receipt' : 'none',
    },
  }
}

/** CA files taken from the receipt must be readable here; the error says where the path came from. */
export async function checkRecordedCaFiles(reached: ReachedMirror, file: string): Promise<void> {
  if (reached.from.caFiles !== 'receipt') return
  for (const ca of reached.caFiles) {
    await access(ca, constants.R_OK).catch((err: NodeJS.ErrnoException) => {
      throw new UsageError(`${file} records that the push trusted the CA file ${ca}, which cannot be read here (${err.code ?? err.message})`, {
        hint: "pass --ca-file with this machine's copy of the mirror's CA certificate",
      })
    })
  }
}
