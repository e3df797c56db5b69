/**
 * The proof of a rewrite: given the Kubernetes objects a chart renders with the exact values the
 * operator will use, check that the release runs only from the mirror. Pure: the caller renders
 * (src/render) and decides what to do with the findings; the v1 and the v2 rewrite both call it.
 *
 * Checked on every pod-bearing object (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
 * CronJob; Helm hooks included), for containers, init containers and ephemeral containers:
 * - each image points into the mirror at an image the receipt holds (same repository and tag or
 *   digest), or its source is mirrored and the node-level config written (containerd hosts.toml,
 *   CRI-O registries.conf, OpenShift mirror sets) redirects it, or `--allow-external` names it;
 * - with pinned digests, each mirrored image carries its digest (a warning names the template
 *   that drops it: it renders `repository:tag` only);
 * - every `imagePullSecrets` entry (pods and ServiceAccounts) is an object with a `name`;
 * - with an authenticated mirror (pull secrets named), every pod pulling from the mirror has one of
 *   them, in its own spec or through its ServiceAccount;
 * - a `latest` tag is never pinned silently (a warning per image).
 */
import type {Reference} from '../oci/reference.js'
import {formatReference, repositoryName} from '../oci/reference.js'
import type {MirroredImage, MirrorMap} from '../mirror/types.js'
import {isInMirror, MirrorIndex, tryParse} from './relocate.js'
import {isPlainObject} from './overrides.js'
import {CONTAINER_LISTS, POD_SPEC_PATHS, type ContainerList} from '../kubernetes/workloads.js'

/** One rendered Kubernetes object (src/render's KubernetesObject has this shape). */
export interface RenderedObject {
  /** Template file it came from: "operator-wandb/charts/app/templates/deployment.yaml". */
  template: string
  kind: string
  name: string
  namespace?: string
  object: Record<string, unknown>
}

/** Which node-level mirror configuration this rewrite writes. */
export interface NodeMirrorConfig {
  containerd: boolean
  crio: boolean
  openshift: boolean
}

export interface ProofOptions {
  map: MirrorMap
  /** `--pin-digests` was asked: every mirrored image should be pulled by digest. */
  pinDigests: boolean
  nodeMirrors: NodeMirrorConfig
  /** True for references `--allow-external` lets stay outside the mirror. */
  allowExternal?: (ref: Reference) => boolean
  /** Pull secret names for an authenticated mirror; empty: the mirror needs none. */
  mirrorPullSecrets: readonly string[]
  /** Name of the top chart (its templates are the component of that name). */
  topChart: string
  /** The release namespace: where objects without metadata.namespace land. */
  namespace: string
}

/** How an image reaches the node from the mirror. */
export type Redirection = 'values' | 'containerd hosts.toml' | 'CRI-O registries.conf' | 'OpenShift mirror sets' | 'allowed external' | 'none'

/** One line of `rewrite --explain`. */
export interface ProofRow {
  /** Chart path below the top chart (`app`, `prometheus/instance`), or the top chart's name. */
  component: string
  /** `Deployment/wandb-app`. */
  object: string
  template: string
  /** Container name; init and ephemeral containers say so: `init-db (init)`. */
  container: string
  image: string
  redirection: Redirection[]
  /** The Helm hook (`pre-install`, `test`), when the object is one. */
  hook?: string
}

/** Which rule a finding breaks. */
export type ProofRule = 'image-not-mirrored' | 'needs-node-mirror' | 'pull-secret-shape' | 'pull-secret-missing' | 'digest-dropped' | 'latest-tag'

export interface ProofFinding {
  severity: 'error' | 'warning'
  rule: ProofRule
  /** `Deployment/wandb-app`, or a list of objects for a warning about one image. */
  object: string
  template: string
  image?: string
  message: string
}

export interface Proof {
  rows: ProofRow[]
  findings: ProofFinding[]
}

/** How `--explain` marks a container of each list. */
const LIST_SUFFIX: Readonly<Record<ContainerList, string>> = {containers: '', initContainers: ' (init)', ephemeralContainers: ' (ephemeral)'}

/** Prove the rendered objects against the mirror; see the module comment. */
export function proveRendered(objects: readonly RenderedObject[], options: ProofOptions): Proof {
  const ctx = new ProofContext(objects, options)
  for (const o of objects) {
    if (o.kind === 'ServiceAccount') ctx.checkPullSecretEntries(o, o.object['imagePullSecrets'])
    const path = POD_SPEC_PATHS[o.kind]
    if (path === undefined) continue
    const spec = path.reduce<unknown>((node, key) => (isPlainObject(node) ? node[key] : undefined), o.object)
    if (isPlainObject(spec)) ctx.provePod(o, spec)
  }
  ctx.summariseWarnings()
  return {rows: ctx.rows, findings: ctx.findings}
}

/** `operator-wandb/charts/prometheus/charts/instance/templates/deploy.yaml` -> `prometheus/instance`. */
export function componentOf(template: string, topChart: string): string {
  const parts = template.split('/templates/')[0]!.split('/')
  const names = parts.filter((_, i) => i > 0 && parts[i - 1] === 'charts')
  return names.length > 0 ? names.join('/') : topChart
}

class ProofContext {
  readonly rows: ProofRow[] = []
  readonly findings: ProofFinding[] = []
  private readonly index: MirrorIndex
  /** Pushed images by their mirror repository. */
  private readonly byMirror = new Map<string, MirroredImage[]>()
  /** ServiceAccount pull secret names by `namespace/name`. */
  private readonly accounts = new Map<string, string[]>()
  /** image -> objects, for the warnings given once per image. */
  private readonly latest = new Map<string, Set<string>>()
  private readonly digestDropped = new Map<string, Set<string>>()

  constructor(
    objects: readonly RenderedObject[],
    private readonly options: ProofOptions,
  ) {
    this.index = new MirrorIndex(options.map)
    for (const image of options.map.images) {
      const mirror = tryParse(image.mirror)
      if (mirror === undefined) continue
      const list = this.byMirror.get(repositoryName(mirror)) ?? []
      list.push(image)
      this.byMirror.set(repositoryName(mirror), list)
    }
    for (const o of objects) {
      if (o.kind !== 'ServiceAccount' || !Array.isArray(o.object['imagePullSecrets'])) continue
      this.accounts.set(`${o.namespace ?? options.namespace}/${o.name}`, secretNames(o.object['imagePullSecrets']))
    }
  }

  provePod(o: RenderedObject, spec: Record<string, unknown>): void {
    const object = `${o.kind}/${o.name}`
    const annotations = isPlainObject(o.object['metadata']) && isPlainObject(o.object['metadata']['annotations']) ? o.object['metadata']['annotations'] : {}
    const hook = typeof annotations['helm.sh/hook'] === 'string' ? annotations['helm.sh/hook'] : undefined
    this.checkPullSecretEntries(o, spec['imagePullSecrets'])
    let fromMirror: string | undefined
    for (const list of CONTAINER_LISTS) {
      const suffix = LIST_SUFFIX[list]
      const containers = spec[list]
      if (!Array.isArray(containers)) continue
      for (const container of containers) {
        if (!isPlainObject(container)) continue
        const name = `${typeof container['name'] === 'string' ? container['name'] : '?'}${suffix}`
        const image = typeof container['image'] === 'string' ? container['image'] : ''
        const redirection = this.proveImage(o, object, name, image)
        if (redirection.includes('values')) fromMirror ??= image
        const row: ProofRow = {component: componentOf(o.template, this.options.topChart), object, template: o.template, container: name, image, redirection}
        if (hook !== undefined) row.hook = hook
        this.rows.push(row)
      }
    }
    if (fromMirror !== undefined) this.checkMirrorCredentials(o, object, spec, fromMirror)
  }

  /** How `image` is redirected; records an error when it is not. */
  private proveImage(o: RenderedObject, object: string, container: string, image: string): Redirection[] {
    const error = (message: string, rule: ProofRule = 'image-not-mirrored'): Redirection[] => {
      this.findings.push({severity: 'error', rule, object, template: o.template, image, message: `${object} (${o.template}) container ${container}: ${message}`})
      return ['none']
    }
    const ref = tryParse(image)
    if (ref === undefined) return error(`image ${JSON.stringify(image)} is not a valid image reference`)
    if (ref.tag === 'latest') addTo(this.latest, formatReference(ref), object)
    if (isInMirror(ref, this.options.map)) {
      const pushed = this.byMirror.get(repositoryName(ref)) ?? []
      const hit = pushed.find((i) => (ref.digest !== undefined ? i.digest === ref.digest : tryParse(i.mirror)?.tag === ref.tag))
      if (hit === undefined) {
        const held = pushed.map((i) => tryParse(i.mirror)?.tag ?? i.digest)
        return error(`${image} points into the mirror, but the receipt holds ${held.length > 0 ? `only ${held.join(', ')} there` : 'no image in that repository'}; the pod would fail to pull`)
      }
      if (this.options.pinDigests && ref.digest === undefined) addTo(this.digestDropped, image, `${object} (${o.template})`)
      return ['values']
    }
    const lookup = this.index.lookup(ref)
    if (lookup.kind === 'mirrored') {
      const nodes = this.nodeRedirections(ref)
      if (nodes.length > 0) return nodes
      if (this.options.allowExternal?.(ref)) return ['allowed external']
      return error(`${image} is mirrored (as ${lookup.target.image.mirror}) but the rendered object pulls it from its source, and no node-level mirror config is written; pass --containerd-hosts DIR or --registries-conf FILE`, 'needs-node-mirror')
    }
    if (this.options.allowExternal?.(ref)) return ['allowed external']
    return error(`${image} is not in the mirror (${lookup.kind === 'unresolved' ? lookup.reason : 'unknown'})`)
  }

  private nodeRedirections(ref: Reference): Redirection[] {
    const out: Redirection[] = []
    if (this.options.nodeMirrors.containerd) out.push('containerd hosts.toml')
    if (this.options.nodeMirrors.crio) out.push('CRI-O registries.conf')
    // ImageTagMirrorSet covers tags, ImageDigestMirrorSet digests: both are written together
    if (this.options.nodeMirrors.openshift && (ref.tag !== undefined || ref.digest !== undefined)) out.push('OpenShift mirror sets')
    return out
  }

  /** Every imagePullSecrets entry must be `{name: …}`: Kubernetes refuses strings. */
  checkPullSecretEntries(o: RenderedObject, secrets: unknown): void {
    if (secrets === undefined || secrets === null) return
    const object = `${o.kind}/${o.name}`
    if (!Array.isArray(secrets)) {
      this.findings.push({severity: 'error', rule: 'pull-secret-shape', object, template: o.template, message: `${object} (${o.template}): imagePullSecrets is ${JSON.stringify(secrets)}, not a list of {name: …}; Kubernetes refuses the object`})
      return
    }
    secrets.forEach((entry, i) => {
      if (isPlainObject(entry) && typeof entry['name'] === 'string' && entry['name'] !== '') return
      this.findings.push({
        severity: 'error',
        rule: 'pull-secret-shape',
        object,
        template: o.template,
        message: `${object} (${o.template}): imagePullSecrets[${i}] is ${JSON.stringify(entry)}, not an object with a name ({name: …}); Kubernetes refuses the object`,
      })
    })
  }

  private checkMirrorCredentials(o: RenderedObject, object: string, spec: Record<string, unknown>, image: string): void {
    const wanted = this.options.mirrorPullSecrets
    if (wanted.length === 0) return
    const account = typeof spec['serviceAccountName'] === 'string' && spec['serviceAccountName'] !== '' ? spec['serviceAccountName'] : 'default'
    const names = [...secretNames(spec['imagePullSecrets']), ...(this.accounts.get(`${o.namespace ?? this.options.namespace}/${account}`) ?? [])]
    if (names.some((n) => wanted.includes(n))) return
    this.findings.push({
      severity: 'error',
      rule: 'pull-secret-missing',
      object,
      template: o.template,
      image,
      message: `${object} (${o.template}) pulls ${image} from the authenticated mirror without a pull secret (${names.length > 0 ? `it has ${names.join(', ')}, ` : ''}none of ${wanted.join(', ')}, in its spec or ServiceAccount ${account}); the pull would be refused`,
    })
  }

  summariseWarnings(): void {
    for (const [image, objects] of this.latest) {
      this.findings.push({severity: 'warning', rule: 'latest-tag', object: [...objects].join(', '), template: '', image, message: `${image} uses the tag "latest" (${listSome([...objects])}): what it runs changes whenever the tag moves; pin a version in the channel or site values`})
    }
    for (const [image, objects] of this.digestDropped) {
      this.findings.push({severity: 'warning', rule: 'digest-dropped', object: [...objects].join(', '), template: '', image, message: `--pin-digests: ${image} is pulled by tag, not digest: the template renders repository:tag only (${listSome([...objects])})`})
    }
  }
}

function secretNames(secrets: unknown): string[] {
  if (!Array.isArray(secrets)) return []
  return secrets.flatMap((s) => (isPlainObject(s) && typeof s['name'] === 'string' ? [s['name']] : []))
}

function addTo(map: Map<string, Set<string>>, key: string, value: string): void {
  const set = map.get(key) ?? new Set<string>()
  set.add(value)
  map.set(key, set)
}

/** The first few items and how many more. */
export function listSome(items: readonly string[], max = 5): string {
  return items.length <= max ? items.join(', ') : `${items.slice(0, max).join(', ')} and ${items.length - max} more`
}
