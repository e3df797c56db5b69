import {isLocated} from '../content/types.js'
import {copy, type CopyHooks, type CopyStats} from '../copy/index.js'
import type {Descriptor, Platform} from '../oci/types.js'
import {Session, type ConnectionOptions} from './session.js'
import {openDestination, openSource, parseLocation, type Location} from './targets.js'

export interface CopyImageOptions extends ConnectionOptions {
  source: string
  destination: string
  /** Platforms to keep from an index; empty keeps all. */
  platforms?: readonly Platform[]
  concurrency?: number
  hooks?: CopyHooks
  signal?: AbortSignal
}

export interface CopyImageResult {
  source: string
  destination: string
  digest: string
  mediaType: string
  size: number
  stats: CopyStats
  seconds: number
}

/** Copy one image, index or artifact between registries and OCI layouts with the copy engine. */
export async function copyImage(opts: CopyImageOptions): Promise<CopyImageResult> {
  const srcLocation = parseLocation(opts.source)
  const dstLocation = parseLocation(opts.destination)
  const session = new Session(opts)
  const started = performance.now()
  try {
    const src = await openSource(session, srcLocation)
    const dst = await openDestination(session, dstLocation)
    const dstRef = dst.ref ?? defaultDestinationRef(srcLocation, src.ref, src.display)
    const mountFrom = sameRegistryRepository(src.target, dst.target)
    const result = await copy(src.target, src.ref, dst.target, dstRef, {
      platforms: opts.platforms,
      concurrency: opts.concurrency || undefined,
      hooks: opts.hooks,
      signal: opts.signal,
      mountFrom: mountFrom ? () => [mountFrom] : undefined,
      image: src.display,
    })
    return summary(src.display, dst.ref ? dst.display : `${dst.display}:${dstRef}`, result.descriptor, result.stats, started)
  } finally {
    await session.close()
  }
}

/**
 * The name a destination without REF gives the copy: a layout source's own ref.name (`v1`, not
 * `oci:DIR:v1`), a registry source's full reference (`docker.io/library/alpine:3`).
 */
function defaultDestinationRef(source: Location, ref: string, display: string): string {
  return source.kind === 'layout' ? ref : display
}

/** The source repository when both ends are repositories of one registry (blobs can be mounted). */
function sameRegistryRepository(src: object, dst: object): string | undefined {
  if (!isLocated(src) || !isLocated(dst)) return undefined
  if (!src.registryHost || src.registryHost !== dst.registryHost || !src.repository || src.repository === dst.repository) return undefined
  return src.repository
}

function summary(source: string, destination: string, d: Descriptor, stats: CopyStats, started: number): CopyImageResult {
  return {
    source,
    destination,
    digest: d.digest,
    mediaType: d.mediaType,
    size: d.size,
    stats,
    seconds: Math.round(performance.now() - started) / 1000,
  }
}
