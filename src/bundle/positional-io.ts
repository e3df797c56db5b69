/** Positional writes into the bundle file being written. */
import type {FileHandle} from 'node:fs/promises'
import {paddedSize} from './tar.js'

/** The data followed by zeros up to a whole tar block. */
export function padToBlock(data: Buffer): Buffer {
  const size = paddedSize(data.length)
  return size === data.length ? data : Buffer.concat([data, Buffer.alloc(size - data.length)])
}

/** Write all of `data` at `position` (a short write is continued). */
export async function writeAt(file: FileHandle, data: Buffer, position: number): Promise<void> {
  let done = 0
  while (done < data.length) {
    const {bytesWritten} = await file.write(data, done, data.length - done, position + done)
    done += bytesWritten
  }
}

/** Write `buffers` (`total` bytes together) at `position` with one writev. */
export async function writevAt(file: FileHandle, buffers: Buffer[], total: number, position: number): Promise<void> {
  const {bytesWritten} = await file.writev(buffers, position)
  if (bytesWritten === total) return
  // A short write (rare: a signal, a full disk on the way): finish the rest chunk by chunk.
  let skip = bytesWritten
  let at = position + bytesWritten
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length
      continue
    }
    await writeAt(file, b.subarray(skip), at)
    at += b.length - skip
    skip = 0
  }
}
