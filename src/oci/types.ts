/** OCI vocabulary shared by every module: descriptors, platforms, manifests, media types. */

/** `algorithm:hex`, e.g. `sha256:…` (sha256 and sha512 are accepted; see digest.ts). */
export type Digest = string

export interface Platform {
  architecture: string
  os: string
  variant?: string
  'os.version'?: string
  'os.features'?: string[]
}

export interface Descriptor {
  readonly mediaType: string
  readonly digest: Digest
  readonly size: number
  readonly urls?: readonly string[]
  readonly annotations?: Readonly<Record<string, string>>
  readonly platform?: Platform
  readonly artifactType?: string
  readonly data?: string
}

export interface ImageManifest {
  schemaVersion: 2
  mediaType?: string
  artifactType?: string
  config: Descriptor
  layers: Descriptor[]
  subject?: Descriptor
  annotations?: Record<string, string>
}

export interface ImageIndex {
  schemaVersion: 2
  mediaType?: string
  artifactType?: string
  manifests: Descriptor[]
  subject?: Descriptor
  annotations?: Record<string, string>
}

export const MediaType = {
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayer: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  OciArtifactManifest: 'application/vnd.oci.artifact.manifest.v1+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayer: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  DockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  HelmConfig: 'application/vnd.cncf.helm.config.v1+json',
  HelmChart: 'application/vnd.cncf.helm.chart.content.v1.tar+gzip',
  HelmProvenance: 'application/vnd.cncf.helm.chart.provenance.v1.prov',
  HelmLegacyChart: 'application/tar+gzip',
  CosignSimpleSigning: 'application/vnd.dev.cosign.simplesigning.v1+json',
  SigstoreBundle: 'application/vnd.dev.sigstore.bundle.v0.3+json',
  InTotoAttestation: 'application/vnd.in-toto+json',
} as const

/** Accept header for manifest GET and HEAD: every manifest type we understand. */
export const MANIFEST_ACCEPT = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
].join(', ')

/** Annotation keys we read and write. */
export const Annotation = {
  RefName: 'org.opencontainers.image.ref.name',
  ContainerdImageName: 'io.containerd.image.name',
  Title: 'org.opencontainers.image.title',
  Version: 'org.opencontainers.image.version',
  Source: 'org.opencontainers.image.source',
  Description: 'org.opencontainers.image.description',
  Created: 'org.opencontainers.image.created',
} as const

/** Largest manifest or index we accept (distribution's own limit is 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024
