/**
 * Resolving the server-manifest artifact the way the operator does (manifest.go
 * `processManifest`): the reference resolves to an OCI or Docker manifest, or to an index (OCI
 * index or Docker manifest list) whose FIRST entry is followed (again, if it is an index); any
 * other media type is refused. Every layer is read: `tar+gzip` layers (OCI or Docker media type)
 * are gunzipped, every other layer is read as a plain tar. Each entry whose name ends in `.yaml`
 * (Go's filepath.Ext, case-sensitive) is kept by its exact tar name; a later layer's entry of the
 * same name replaces an earlier one. The files are merged in byte order of those names.
 *
 * Where the operator only logs and skips a layer it cannot read (not gzip, not tar), this refuses
 * the artifact: the operator would silently run without that layer's files.
 */
import {Readable} from 'node:stream'
import {gunzipSync} from 'node:zlib'
import * as tar from 'tar-stream'
import {SpecError, UnsupportedError} from '../errors.js'
import {fetchAll} from '../content/verify.js'
import type {Fetcher, Resolver} from '../content/types.js'
import {bareMediaType, isIndexMediaType, isManifestMediaType, parseManifest} from '../oci/manifest.js'
import {MediaType, type Descriptor} from '../oci/types.js'
import type {ManifestArtifact, ManifestFile} from './types.js'

/** Where the manifest is read from: a registry repository, a bundle, a layout, memory. */
export type ManifestSource = Fetcher & Resolver

/** Limits that keep a hostile artifact from exhausting memory (a real one is well under 1 MiB). */
export const ARTIFACT_LIMITS = {
  /** A layer as stored (compressed). */
  layerBytes: 64 * 1024 * 1024,
  /** A layer's tar after gunzip. */
  tarBytes: 64 * 1024 * 1024,
  /** Tar entries per layer. */
  entries: 10_000,
  /** Indexes followed before a manifest is reached. */
  depth: 8,
}

const GZIP_LAYERS: ReadonlySet<string> = new Set([MediaType.OciLayerGzip, MediaType.DockerLayer])

/** Resolve `reference` in `source` and return the artifact's descriptors and its `.yaml` files in merge order. */
export async function readManifestArtifact(
  source: ManifestSource,
  reference: string,
  where: string,
  signal?: AbortSignal,
): Promise<{artifact: ManifestArtifact; files: ManifestFile[]}> {
  const root = await source.resolve(reference, signal)
  const path: Descriptor[] = [root]
  let desc = root
  for (;;) {
    const type = bareMediaType(desc.mediaType)
    if (!isIndexMediaType(type) && !isManifestMediaType(type)) {
      throw new UnsupportedError(`server manifest ${where}: ${desc.digest} has media type "${desc.mediaType}"; the operator reads only an OCI or Docker image manifest or index`, {
        hint: 'check that the reference names the server-manifest artifact',
      })
    }
    const bytes = await fetchAll(source, desc, `${where} (${desc.digest})`, undefined, signal)
    const parsed = parseManifest(bytes, desc.mediaType, `${where} (${desc.digest})`)
    if (parsed.kind === 'manifest') {
      const layers = parsed.manifest.layers
      const files = await readLayers(source, layers, where, signal)
      return {artifact: {root, manifest: desc, path, layers}, files}
    }
    const first = parsed.index.manifests[0]
    if (first === undefined) {
      throw new SpecError(`server manifest ${where}: the index ${desc.digest} has no manifests`, where, undefined, {hint: 'the artifact is damaged; push the server manifest again'})
    }
    if (path.length > ARTIFACT_LIMITS.depth) {
      throw new SpecError(`server manifest ${where}: more than ${ARTIFACT_LIMITS.depth} nested indexes`, where, undefined, {hint: 'the artifact is damaged; push the server manifest again'})
    }
    desc = first
    path.push(desc)
  }
}

async function readLayers(source: ManifestSource, layers: readonly Descriptor[], where: string, signal?: AbortSignal): Promise<ManifestFile[]> {
  const byName = new Map<string, ManifestFile>()
  for (const [i, layer] of layers.entries()) {
    const label = `${where} layer ${i + 1} (${layer.digest}, ${layer.mediaType})`
    const bytes = await fetchAll(source, layer, label, ARTIFACT_LIMITS.layerBytes, signal)
    const tarBytes = GZIP_LAYERS.has(bareMediaType(layer.mediaType)) ? gunzip(bytes, label) : bytes
    for (const [name, content] of await yamlEntries(tarBytes, label)) {
      byName.set(name, {name, layer: i, layerDigest: layer.digest, bytes: content})
    }
  }
  if (byName.size === 0) {
    throw new SpecError(`server manifest ${where}: no .yaml file in its ${layers.length} layer(s)`, where, undefined, {
      hint: 'the operator refuses such an artifact too ("no manifest yaml files found in image layers"); check the reference',
    })
  }
  return [...byName.values()].sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)))
}

function unreadable(label: string, why: string, cause?: unknown): SpecError {
  return new SpecError(`server manifest ${label}: ${why}`, label, undefined, {
    hint: 'the operator would skip this layer silently and run without its files; push a correct server manifest (layers: tar or tar+gzip)',
    cause,
  })
}

function gunzip(bytes: Buffer, label: string): Buffer {
  try {
    return gunzipSync(bytes, {maxOutputLength: ARTIFACT_LIMITS.tarBytes})
  } catch (err) {
    const tooLarge = (err as {code?: string}).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError
    throw unreadable(label, tooLarge ? `expands to more than ${ARTIFACT_LIMITS.tarBytes} bytes` : `is not a valid gzip stream (${(err as Error).message})`, err)
  }
}

/** Go's filepath.Ext: from the last dot of the last path element. */
function goExt(name: string): string {
  for (let i = name.length - 1; i >= 0 && name[i] !== '/'; i--) if (name[i] === '.') return name.slice(i)
  return ''
}

/** The `.yaml` entries of a tar, in archive order; entries that are not regular files read as empty, as in Go. */
async function yamlEntries(bytes: Buffer, label: string): Promise<Array<[string, Buffer]>> {
  const out: Array<[string, Buffer]> = []
  const extract = tar.extract()
  const input = Readable.from([bytes])
  input.pipe(extract)
  let count = 0
  try {
    for await (const entry of extract) {
      count += 1
      if (count > ARTIFACT_LIMITS.entries) throw unreadable(label, `has more than ${ARTIFACT_LIMITS.entries} entries`)
      const name = entry.header.name
      const regular = entry.header.type === 'file' || entry.header.type === 'contiguous-file'
      if (goExt(name) !== '.yaml' || !regular) {
        entry.resume()
        if (goExt(name) === '.yaml') out.push([name, Buffer.alloc(0)])
        continue
      }
      const chunks: Buffer[] = []
      for await (const chunk of entry) chunks.push(chunk as Buffer)
      out.push([name, Buffer.concat(chunks)])
    }
  } catch (err) {
    input.unpipe(extract)
    extract.destroy()
    if (err instanceof SpecError) throw err
    throw unreadable(label, `is not a valid tar archive (${(err as Error).message})`, err)
  }
  return out
}
