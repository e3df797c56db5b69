/**
 * The W&B v2 operator's server manifest, as airgap sees it: a versioned OCI artifact whose layers
 * hold YAML files that the operator merges into one document (wandb/operator
 * `pkg/wandb/manifest/manifest.go`). These types describe the resolved artifact, the merged
 * document and every image it names.
 */
import type {Reference} from '../oci/reference.js'
import type {Descriptor} from '../oci/types.js'

/** `spec.global.imageRegistry` default of the operator (api/v2 DefaultImageRegistry). */
export const DEFAULT_IMAGE_REGISTRY = 'us-docker.pkg.dev/wandb-production/public'
/** Path of the manifest under an image registry (api/v2 ManifestRepositorySuffix). */
export const MANIFEST_REPOSITORY_SUFFIX = 'wandb/server-manifest'
/** `oci://us-docker.pkg.dev/wandb-production/public/wandb/server-manifest` (api/v2 DefaultManifestRepository). */
export const DEFAULT_MANIFEST_REPOSITORY = `oci://${DEFAULT_IMAGE_REGISTRY}/${MANIFEST_REPOSITORY_SUFFIX}`

/** An image entry as the manifest writes it (manifest.go `ImageRef`); every field verbatim. */
export interface ManifestImageRef {
  /** Blank means: `repository` alone names the image (a Docker Hub name, or in older manifests a full host/path). */
  registry: string
  repository: string
  tag: string
  digest: string
}

/** One image the merged document names. */
export interface ManifestImage {
  /** Key path in the merged document: `bucket.default.images.seaweedfs`, `applications.api.image`, `applications.api.containers[0].image`. */
  key: string
  /** The entry as written. */
  ref: ManifestImageRef
  /**
   * What the operator appends to `spec.global.imageRegistry` (`ImageRef.GetImage`): `registry/repository`,
   * or `repository` when `registry` is blank. The mirror must hold the image at `MIRROR/<operatorPath>`.
   */
  operatorPath: string
  /** Where the image is pulled from on the connected side (normalised: docker.io, library/). */
  source: Reference
  /** True when this operator version reads the key (a known section); false for keys found only by the generic walk. */
  readByOperator: boolean
}

/** One YAML file found in a layer. */
export interface ManifestFile {
  /** Tar entry name, exactly as in the layer (the merge order is the byte order of these names). */
  name: string
  /** Index of the layer in the manifest (0-based) and its digest. */
  layer: number
  layerDigest: string
  bytes: Buffer
}

/** The artifact as resolved: the descriptor the reference resolved to and the manifest that was read. */
export interface ManifestArtifact {
  /** What the reference resolved to (an index or a manifest); pin this digest. */
  root: Descriptor
  /** The image manifest whose layers were read (root itself, or the first entry of each index on the way down). */
  manifest: Descriptor
  /** Every descriptor followed from root to manifest (root first). */
  path: Descriptor[]
  layers: Descriptor[]
}

export interface ServerManifest {
  /** The reference as given, for messages. */
  reference: string
  artifact: ManifestArtifact
  /** The YAML files in merge order (a later layer's file replaces an earlier one of the same name). */
  files: ManifestFile[]
  /** The merged document (operator-faithful for the sections it reads, see merge.ts). */
  document: Record<string, unknown>
  /** `requiredOperatorVersion` of the merged document (a semver range), or undefined. */
  requiredOperatorVersion?: string
  /** Every image the merged document names, sorted by key. */
  images: ManifestImage[]
  /** Things the operator does silently that a user should know (images its merge ignores, …). */
  warnings: string[]
}
