/**
 * WriteBehind: starts an fdatasync of the bundle file in the background each time another
 * `every` bytes were written to it, so that the disk writes while the network delivers. Without
 * it the page cache holds a large blob until the blob's own fsync when it is sealed: on a link
 * slower than the disk that fsync then writes the whole blob (seconds for a GiB) after the last
 * byte arrived, while the link sits idle.
 * One sync runs at a time. A failed background sync is kept and thrown by check(): after a failed
 * fsync Linux may report the next one as successful, so its failure must not be lost.
 */
import type {FileHandle} from 'node:fs/promises'

/** Bytes written between two background syncs. */
export const WRITE_BEHIND_BYTES = 64 * 1024 * 1024

export class WriteBehind {
  private unsynced = 0
  private running: Promise<void> | undefined
  private failure: {error: unknown} | undefined

  constructor(
    private readonly file: FileHandle,
    private readonly every = WRITE_BEHIND_BYTES,
  ) {}

  /** `n` more bytes were written to the file. */
  wrote(n: number): void {
    this.unsynced += n
    if (this.unsynced < this.every || this.running !== undefined || this.failure !== undefined) return
    this.unsynced = 0
    this.running = this.file
      .datasync()
      .catch((error: unknown) => {
        this.failure = {error}
      })
      .finally(() => {
        this.running = undefined
      })
  }

  /** Throw the error of a background sync that failed (call after a sync of one's own). */
  check(): void {
    if (this.failure !== undefined) throw this.failure.error
  }

  /** Wait for the background sync under way, if any (before the file is closed). */
  async settle(): Promise<void> {
    await this.running
  }
}
