/** Image discovery results: every image found, with where it came from. */

/** `manifest`: a key of the W&B v2 server manifest (chart = `<manifest repository>:<version>`, valuesPath = the key). */
export type FindingSource = 'values' | 'annotation' | 'template' | 'spec' | 'manifest'
/**
 * How the image is written at its values path: `{repository, tag?, digest?}`, Bitnami
 * `{registry, repository, tag, digest}`, `{name, tag?, digest?}` (stakater reloader: `name` is the
 * repository or a full reference), or a reference string.
 */
export type ImageShape = 'repository-tag' | 'bitnami' | 'name-tag' | 'string'

/** One image reference found at one place. The same reference found elsewhere is another Finding. */
export interface Finding {
  /** Normalised full reference: `docker.io/wandb/local:0.74.1`. */
  reference: string
  /** Chart path by name/alias from the top chart: `operator-wandb/prometheus/instance`. */
  chart: string
  /**
   * Where the image is set, in the TOP chart's values namespace (subchart values live under the
   * alias/name key), so a rewrite can set it: `prometheus.instance.server.image`.
   */
  valuesPath?: string
  /** The same path as keys and list indexes. */
  valuesKeys?: Array<string | number>
  /** Template file holding a literal reference: `templates/tests/test-connection.yaml`. */
  template?: string
  source: FindingSource
  /** False when the values disable the component (chart condition, tags, install/enabled flags). */
  enabled: boolean
  shape?: ImageShape
}

/** All origins of one reference. */
export interface ImageGroup {
  reference: string
  /** True when any origin is enabled. */
  enabled: boolean
  origins: Finding[]
}

export interface DiscoverOptions {
  /** User/channel values, merged over the chart defaults (Helm coalesce). */
  values?: Record<string, unknown>
  /** Keep findings of disabled components (marked enabled: false). */
  includeDisabled: boolean
  /** Things worth telling the user (a missing dependency, an unparsable reference); never thrown. */
  onWarning?: (message: string) => void
}
