/**
 * Open what `airgap serve` serves: a bundle file (read-only, optionally verified first) or an OCI
 * layout folder (created when it is to be writable). A bundle is opened once: it is verified and
 * then served through the same reader, so a file renamed over the path after the check is never
 * served as verified.
 */
import type {KeyObject} from 'node:crypto'
import {stat} from 'node:fs/promises'
import {verifyBundle, type VerifyReport} from './verify.js'
import {NotFoundError, UsageError} from '../errors.js'
import {BundleReader} from '../bundle/index.js'
import {OciLayout} from '../layout/index.js'
import {startServer, type RunningServer, type ServeOptions} from '../serve/index.js'

export interface OpenedSource {
  kind: 'bundle' | 'layout'
  store: BundleReader | OciLayout
  /** Present when the bundle was verified against a key before serving. */
  verified?: VerifyReport
  close(): Promise<void>
}

export interface OpenSourceOptions {
  writable?: boolean
  /** Verify the bundle completely (signature with this key, lock, every blob) before serving. */
  publicKey?: KeyObject
  /** Called with the byte count of every chunk hashed while verifying (progress). */
  onVerifyBytes?: (n: number) => void
}

/** Open `path`: a file is a bundle, a folder (or a missing path with `writable`) an OCI layout. */
export async function openServeSource(path: string, opts: OpenSourceOptions = {}): Promise<OpenedSource> {
  const info = await stat(path).catch(() => undefined)
  if (info?.isFile()) {
    if (opts.writable) throw new UsageError(`${path} is a bundle file, which is served read-only`, {hint: 'drop --writable, or serve an OCI layout folder'})
    const reader = await BundleReader.open(path)
    try {
      const verified = opts.publicKey ? await verifyBundle(reader, {publicKey: opts.publicKey, onBytes: opts.onVerifyBytes}) : undefined
      return {kind: 'bundle', store: reader, verified, close: () => reader.close()}
    } catch (err) {
      await reader.close()
      throw err
    }
  }
  if (opts.publicKey) throw new UsageError(`--key verifies a bundle file, but ${path} is not a file`, {hint: 'drop --key when serving a layout folder'})
  if (!info && !opts.writable) throw new NotFoundError(`${path} does not exist`, {hint: 'pass a bundle .tar file or an OCI layout folder (add --writable to create an empty one)'})
  if (info && !info.isDirectory()) throw new UsageError(`${path} is neither a file nor a folder`, {hint: 'pass a bundle .tar file or an OCI layout folder'})
  const layout = await OciLayout.open(path, {create: opts.writable === true})
  return {kind: 'layout', store: layout, close: async () => undefined}
}

/** Serve an opened source (see `startServer` for the options); close the server, then the source. */
export function serveSource(source: OpenedSource, opts: Omit<ServeOptions, 'store'>): Promise<RunningServer> {
  return startServer({...opts, store: source.store})
}
