/**
 * Where every image and chart ended up in the private mirror. A push receipt is converted to a
 * MirrorMap; `airgap rewrite` (src/rewrite) and `airgap check` consume it.
 */

/** `{repository, tag}`, Bitnami `{registry, repository, tag}`, `{name, tag}` (stakater reloader), or a reference string. */
export type ImageValueShape = 'repository-tag' | 'bitnami' | 'name-tag' | 'string'

/** Where a chart reads an image: the values path (for values-set images) or the template file. */
export interface ImageOrigin {
  chart: string
  valuesPath?: string
  template?: string
  /** `manifest`: a key (valuesPath) of the W&B v2 server manifest. */
  source: 'values' | 'annotation' | 'template' | 'spec' | 'manifest'
  /** How the image is written at valuesPath (discovery's ImageShape; absent = repository-tag). */
  shape?: ImageValueShape
}

export interface MirroredImage {
  /** Normalised full source ref, e.g. docker.io/wandb/local:0.62.2 */
  source: string
  /** Full mirror ref with tag, e.g. registry.corp:5000/mirror/wandb/local:0.62.2 */
  mirror: string
  digest: string
  origins: ImageOrigin[]
}

export interface MirroredChart {
  name: string
  version: string
  /** Classic Helm repo base URL where it was published. */
  repoUrl?: string
  /** oci://host/path/name (without version). */
  ociRef?: string
  /** Chart package, for the ConfigMap route. */
  tgz?: Uint8Array
}

export interface MirrorMap {
  /** HOST[:PORT][/PREFIX] images were pushed under. */
  registry: string
  keepSourceHost: boolean
  images: MirroredImage[]
  charts: MirroredChart[]
}
