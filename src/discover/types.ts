/** Image discovery results: every image found, with where it came from. */
import type {RenderVariantReport} from './rendering.js'

/**
 * `values`: an image-shaped value; `annotation`: a Chart.yaml annotation; `template`: a reference
 * written literally in a template; `render`: a container image of an object the chart renders;
 * `spec`: the spec's own image list; `manifest`: a key of the W&B v2 server manifest
 * (chart = `<manifest repository>:<version>`, valuesPath = the key).
 */
export type FindingSource = 'values' | 'annotation' | 'template' | 'render' | 'spec' | 'manifest'
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
  /** For a template literal: the file declares `helm test` hooks and no other hook (`templates/tests/…`). */
  testHookTemplate?: boolean
  /**
   * For values, annotation and template origins when the chart was rendered: true when every
   * template of the chart rendered, so its renders saw every use of the image.
   */
  chartFullyRendered?: boolean
  /**
   * For a values origin: what the values walk assembled when the chart's renders run another tag
   * of the same repository instead (`kube-state-metrics:2.10.0` where the template adds a `v`);
   * `reference` is then the rendered one.
   */
  valuesWalkReference?: string
  /** For `render`: the object and container that run the image, and which render found it. */
  rendered?: RenderedOrigin
  /** False when the values disable the component (chart condition, tags, install/enabled flags). */
  enabled: boolean
  shape?: ImageShape
}

/** Where a rendered image runs; `Finding.template` holds the template file. */
export interface RenderedOrigin {
  kind: string
  name: string
  /** `containers[app]`, `initContainers[wait-for-db]`, `spec.image` … */
  container: string
  /** The object is a `helm test` hook (`helm.sh/hook: test`). */
  testHook: boolean
  /** The renders that produced it: `values as given`, `disabled components on`, `operator-wandb/kafka on with its defaults`. */
  variants: string[]
  /** When not found with the values as given: the switches that were off for this chart (`redis.install`, `redis.metrics.enabled`). */
  switchedOn: string[]
}

/** All origins of one reference. */
export interface ImageGroup {
  reference: string
  /** True when any origin is enabled. */
  enabled: boolean
  /**
   * Only `helm test` hooks run it: every rendered use is a test hook and no other origin points at
   * a use the renders could not see (a chart with a template that did not render).
   */
  testOnly: boolean
  origins: Finding[]
}

export interface DiscoverOptions {
  /** User/channel values, merged over the chart defaults (Helm coalesce). */
  values?: Record<string, unknown>
  /** Keep findings of disabled components (marked enabled: false). */
  includeDisabled: boolean
  /**
   * Also render the chart (values as given, then with every disabled component switched on) and
   * take the container images of what it renders. Default true.
   */
  render?: boolean
  /** The renders of the chart (variants, objects, failed files), when rendering is on. */
  onRenders?: (variants: RenderVariantReport[]) => void
  /** Things worth telling the user (a missing dependency, an unparsable reference); never thrown. */
  onWarning?: (message: string) => void
}
