/**
 * The checks `airgap rewrite` makes before it writes anything: the CR against the real CRD schema,
 * and every image reference of every output pointing into the mirror (or named by --allow-external;
 * images hard-coded in chart templates pass only with node-level mirror config).
 */
import {stringify} from 'yaml'
import {AirgapError, ExitCode, SpecError} from '../errors.js'
import type {MirrorMap} from '../mirror/types.js'
import {parseReference, repositoryName} from '../oci/reference.js'
import {findExternalImages, renamedImages, validateCr, type ExternalImage, type NodeMirrorImage} from '../rewrite/index.js'

/** An output as the checks see it (`kind` as in WrittenFile). */
export interface CheckedOutput {
  path: string
  kind: string
  text: string
}

/** Some image reference of the outputs still points outside the mirror (exit 3: the inputs name unmirrored images). */
export class ExternalImagesError extends AirgapError {
  override readonly code = 'EXTERNAL_IMAGES'
  override readonly exitCode = ExitCode.SPEC
  constructor(
    message: string,
    readonly external: ExternalImage[],
    readonly templateOnly: NodeMirrorImage[],
    options: {hint: string},
  ) {
    super(message, options)
  }
}

/** The CR against the real WeightsAndBiases CRD schema. */
export function checkCr(operatorYaml: string, path: string): void {
  const problems = validateCr(operatorYaml)
  if (problems.length === 0) return
  throw new SpecError(`${path} would not pass the WeightsAndBiases CRD schema: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, path, problems[0]!.path, {
    hint: 'fix the site values (--values) at the paths shown; nothing was written',
  })
}

/**
 * Every image reference of every text output must be in the mirror or allowed. Template-literal
 * images (not redirectable through values) pass only with node-level mirror config or allowExternal.
 */
export function checkImages(outputs: readonly CheckedOutput[], map: MirrorMap, allow: readonly string[], nodeConfig: boolean, warn: (m: string) => void): NodeMirrorImage[] {
  const yamlOutputs = outputs.filter((o) => o.kind !== 'registries-conf' && o.kind !== 'charts-configmap' && o.kind !== 'openshift-mirror-sets')
  const report = findExternalImages(
    yamlOutputs.map((o) => ({file: o.path, text: o.text})),
    map,
    allow,
  )
  const templateOnly = report.needsNodeMirror.filter((t) => !allowed(t.ref, map, allow))
  const external = report.external
  const blocking = nodeConfig ? [] : templateOnly
  if (external.length === 0 && blocking.length === 0) {
    if (templateOnly.length > 0) warn(`${templateOnly.length} image(s) are hard-coded in chart templates and cannot be redirected through values; the node-level mirror config covers them: ${templateOnly.map(describeTemplate).join('; ')}`)
    return templateOnly
  }
  const parts = [
    ...external.map((e) => `${e.ref} at ${e.file}:${e.line} (${e.path})`),
    ...blocking.map((t) => `${t.ref} hard-coded in ${describeTemplate(t)}`),
  ]
  throw new ExternalImagesError(`${parts.length} image reference(s) would still pull from outside the mirror ${map.registry}: ${parts.join('; ')}`, external, blocking, {
    hint: blocking.length > 0
      ? 'pass --containerd-hosts DIR or --registries-conf FILE so nodes pull hard-coded images from the mirror, or --allow-external REF for each reference that may stay outside; nothing was written'
      : 'pull and push these images (add them to the spec), fix the values, or pass --allow-external REF for each reference that may stay outside; nothing was written',
  })
}

/**
 * Hard-coded template images whose mirror name the path rules shortened: containerd's hosts.toml
 * cannot rename a repository, registries.conf and the OpenShift mirror sets can. Refused when
 * containerd is the only node config, a warning when another covers them.
 */
export function checkRenamedNodeImages(templateOnly: readonly NodeMirrorImage[], map: MirrorMap, written: {containerd: boolean; byRepository: boolean}, warn: (m: string) => void): void {
  if (!written.containerd || templateOnly.length === 0) return
  const renamed = new Map(renamedImages(map).map((r) => [r.sourceRepository, r.mirrorRepository]))
  const stranded = templateOnly.flatMap((t) => {
    let mirror: string | undefined
    try {
      mirror = renamed.get(repositoryName(parseReference(t.ref)))
    } catch {
      mirror = undefined
    }
    return mirror === undefined ? [] : [`${describeTemplate(t)} is at ${mirror}`]
  })
  if (stranded.length === 0) return
  const message = `${stranded.length} hard-coded image(s) were renamed by the push's path rules, and containerd's hosts.toml cannot rename a repository, so containerd nodes cannot pull them by their source names: ${stranded.join('; ')}`
  if (written.byRepository) {
    warn(`${message}; the registries.conf / OpenShift mirror sets written cover them`)
    return
  }
  throw new ExternalImagesError(message, [], [...templateOnly], {
    hint: 'push again with a larger --max-nested-paths (so these keep their path), or write --registries-conf / --idms for CRI-O or OpenShift nodes; nothing was written',
  })
}

function describeTemplate(t: NodeMirrorImage): string {
  return `${t.ref} (chart ${t.chart}, ${t.template || 'template'})`
}

/** Whether `ref` is named by allowExternal, with exactly the matching rules of findExternalImages. */
function allowed(ref: string, map: MirrorMap, allow: readonly string[]): boolean {
  if (allow.length === 0) return false
  const probe = stringify({containers: [{name: 'probe', image: ref}]})
  return findExternalImages([probe], {...map, registry: 'airgap.invalid'}, allow).external.length === 0
}
