import type {ReadOnlyTarget, Target} from '../content/types.js'
import {UsageError, type Side} from '../errors.js'
import {formatReference} from '../oci/reference.js'
import {OciLayout} from '../layout/index.js'
import type {Session} from './session.js'

/**
 * A place named on the command line:
 * - `docker://REF` or a bare image reference: a registry repository;
 * - `oci:DIR[:REF]`: an OCI image layout directory, REF being a ref.name in its index.json.
 */
export type Location =
  | {kind: 'registry'; reference: string}
  | {kind: 'layout'; dir: string; ref?: string}

export function parseLocation(input: string): Location {
  if (input.startsWith('docker://')) return {kind: 'registry', reference: input.slice('docker://'.length)}
  if (input.startsWith('oci:')) {
    const rest = input.slice(4)
    const colon = rest.indexOf(':')
    const dir = colon < 0 ? rest : rest.slice(0, colon)
    const ref = colon < 0 ? undefined : rest.slice(colon + 1)
    if (!dir) throw new UsageError(`"${input}" names no directory`, {hint: 'write oci:DIR[:REF]'})
    return ref ? {kind: 'layout', dir, ref} : {kind: 'layout', dir}
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input) || /^(oci-archive|docker-archive|dir|containers-storage):/.test(input)) {
    throw new UsageError(`unsupported location "${input}"`, {hint: 'use docker://REF, a bare image reference, or oci:DIR[:REF]'})
  }
  return {kind: 'registry', reference: input}
}

export interface OpenedSource {
  target: ReadOnlyTarget
  /** What to resolve in the target: a tag, digest or ref.name. */
  ref: string
  /** The full reference for messages and as the default destination name. */
  display: string
}

export interface OpenedDestination {
  target: Target
  /** Tag/ref to give the copied root; undefined when the caller should derive it. */
  ref: string | undefined
  display: string
}

/** Open a source location for reading. */
export async function openSource(session: Session, location: Location): Promise<OpenedSource> {
  return openAny(session, location, 'source', false) as Promise<OpenedSource>
}

/** Open a destination location for writing (a layout directory is created when missing). */
export async function openDestination(session: Session, location: Location): Promise<OpenedDestination> {
  return openAny(session, location, 'destination', true) as Promise<OpenedDestination>
}

async function openAny(session: Session, location: Location, side: Side, create: boolean): Promise<OpenedSource | OpenedDestination> {
  if (location.kind === 'registry') {
    const {repository, reference} = session.repository(location.reference, side)
    const ref = reference.digest && !reference.tag ? reference.digest : (reference.tag ?? reference.digest ?? 'latest')
    return {target: repository, ref, display: formatReference(reference)}
  }
  const layout = await OciLayout.open(location.dir, {create})
  if (location.ref) return {target: layout, ref: location.ref, display: `oci:${location.dir}:${location.ref}`}
  if (side === 'destination') return {target: layout, ref: undefined, display: `oci:${location.dir}`}
  const names: string[] = []
  for await (const name of layout.tags()) names.push(name)
  if (names.length !== 1) {
    throw new UsageError(`oci:${location.dir} holds ${names.length} images; name one`, {
      hint: names.length ? `write oci:${location.dir}:REF with REF one of: ${names.slice(0, 10).join(', ')}` : 'the layout is empty',
    })
  }
  const only = names[0] as string
  return {target: layout, ref: only, display: `oci:${location.dir}:${only}`}
}
