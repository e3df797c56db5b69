/**
 * Rendered template files into Kubernetes objects, the way Helm splits them
 * (releaseutil.SplitManifests: documents separated by `---` lines; empty documents dropped),
 * read with the YAML rules Kubernetes clients use (go-yaml v2: YAML 1.1 booleans, no timestamps).
 */
import {parseAllDocuments, type Tags} from 'yaml'
import {isGoMap} from '../template/values.js'
import {RenderError} from './errors.js'

export interface KubernetesObject {
  /** Template file it came from: "operator-wandb/charts/app/templates/deployment.yaml". */
  template: string
  apiVersion: string
  kind: string
  name: string
  namespace?: string
  /** The whole document. */
  object: Record<string, unknown>
}

const YAML_11 = {
  version: '1.1',
  customTags: (tags: Tags) => tags.filter((t) => typeof t === 'string' || (t.tag !== 'tag:yaml.org,2002:timestamp' && t.format !== 'TIME')),
} as const

/** Helm's document separator: a line starting with `---`. */
const SEPARATOR = /(?:^|\s*\n)---\s*/

/** Every object of a render, in template-file order; throws RenderError naming the file and line of invalid YAML. */
export function parseManifests(rendered: ReadonlyMap<string, string>): KubernetesObject[] {
  const out: KubernetesObject[] = []
  for (const template of [...rendered.keys()].sort()) {
    const text = rendered.get(template)!
    for (const chunk of text.split(SEPARATOR)) {
      if (chunk.trim() === '') continue
      const [doc] = parseAllDocuments(chunk, {...YAML_11, uniqueKeys: false})
      if (!doc) continue
      const err = doc.errors[0]
      if (err) {
        const line = err.linePos?.[0]?.line
        const options: ConstructorParameters<typeof RenderError>[1] = {template, hint: 'check the indentation the template produces (nindent/indent) and quoting of values'}
        if (line !== undefined) options.line = line
        throw new RenderError(`${template}${line ? `:${line}` : ''}: rendered output is not valid YAML: ${err.message.split('\n')[0]}`, options)
      }
      const object = doc.toJS({maxAliasCount: 1000}) as unknown
      if (object === null || object === undefined) continue
      if (!isGoMap(object)) throw new RenderError(`${template}: a rendered document is not a mapping`, {template, hint: 'a Kubernetes manifest must be a YAML mapping'})
      const metadata = isGoMap(object.metadata) ? object.metadata : {}
      const obj: KubernetesObject = {template, apiVersion: String(object.apiVersion ?? ''), kind: String(object.kind ?? ''), name: String(metadata.name ?? ''), object}
      if (typeof metadata.namespace === 'string') obj.namespace = metadata.namespace
      out.push(obj)
    }
  }
  return out
}
