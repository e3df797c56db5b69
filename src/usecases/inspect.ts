import {fetchAll} from '../content/verify.js'
import {formatPlatform} from '../oci/platform.js'
import {parseManifest} from '../oci/manifest.js'
import {Session, type ConnectionOptions} from './session.js'
import {openSource, parseLocation} from './targets.js'

export interface InspectOptions extends ConnectionOptions {
  reference: string
}

export interface InspectResult {
  reference: string
  digest: string
  mediaType: string
  size: number
  /** For an index: its children's platforms and digests. */
  manifests?: {digest: string; mediaType: string; size: number; platform?: string}[]
  /** For an image: the number of layers and their total size. */
  layers?: number
  layerBytes?: number
}

/** Resolve a reference to its digest and summarise what it points at (verified bytes). */
export async function inspectImage(opts: InspectOptions): Promise<InspectResult> {
  const session = new Session(opts)
  try {
    const src = await openSource(session, parseLocation(opts.reference))
    const desc = await src.target.resolve(src.ref)
    const bytes = await fetchAll(src.target, desc, src.display)
    const parsed = parseManifest(bytes, desc.mediaType, src.display)
    const base = {reference: src.display, digest: desc.digest, mediaType: desc.mediaType, size: desc.size}
    if (parsed.kind === 'index') {
      return {
        ...base,
        manifests: parsed.index.manifests.map((m) => ({
          digest: m.digest,
          mediaType: m.mediaType,
          size: m.size,
          ...(m.platform ? {platform: formatPlatform(m.platform)} : {}),
        })),
      }
    }
    const layers = parsed.manifest.layers
    return {...base, layers: layers.length, layerBytes: layers.reduce((n, l) => n + l.size, 0)}
  } finally {
    await session.close()
  }
}
