/**
 * The files `airgap rewrite` writes (v1 and v2): each output planned in memory, refused when two
 * land on one path, then written atomically; and the extra FILE arguments rewritten in place
 * (comments kept) or into --out-dir.
 */
import {mkdir} from 'node:fs/promises'
import {basename, dirname, join, resolve} from 'node:path'
import {UsageError} from '../errors.js'
import {writeFileAtomic} from '../files/atomic-write.js'
import {readInputText, type InputFileKind} from '../files/input-file.js'
import type {MirrorMap} from '../mirror/types.js'
import {rewriteYamlDocuments, type Change} from '../rewrite/index.js'

export interface WrittenFile {
  path: string
  kind: 'operator-cr' | 'charts-configmap' | 'operator-values' | 'containerd-hosts' | 'registries-conf' | 'openshift-mirror-sets' | 'rewritten' | 'server-manifest-configmap'
}

/** One file to write, planned in memory. */
export interface Output {
  path: string
  kind: WrittenFile['kind']
  text: string
}

const YAML_FILE: InputFileKind = {what: 'YAML file', maxBytes: 16 * 1024 * 1024, refusal: 'usage', hint: 'check the FILE arguments (Helm values or Kubernetes manifests to rewrite)'}

/** Rewrite every image reference of each FILE to the mirror (into `outDir`, or in place); adds the outputs. */
export async function rewriteFiles(files: readonly string[], outDir: string | undefined, pinDigests: boolean, map: MirrorMap, outputs: Output[]): Promise<Array<{file: string; output: string; changes: Change[]}>> {
  const out: Array<{file: string; output: string; changes: Change[]}> = []
  for (const file of files) {
    const text = await readInputText(file, YAML_FILE)
    const result = rewriteYamlDocuments(text, map, {pinDigests, file})
    const target = resolve(outDir !== undefined ? join(outDir, basename(file)) : file)
    outputs.push({path: target, kind: 'rewritten', text: result.text})
    out.push({file: resolve(file), output: target, changes: result.changes})
  }
  return out
}

export function refuseDuplicateOutputs(outputs: readonly Output[]): void {
  const seen = new Map<string, Output>()
  for (const o of outputs) {
    const before = seen.get(o.path)
    if (before) {
      throw new UsageError(`two outputs would be written to ${o.path} (${before.kind} and ${o.kind})`, {
        hint: 'give different output paths (-o, --operator-values, --out-dir, FILE names)',
      })
    }
    seen.set(o.path, o)
  }
}

/** Write atomically (src/files/atomic-write.ts); an existing file keeps its mode. */
export async function writeOutput(o: Output): Promise<void> {
  await mkdir(dirname(o.path), {recursive: true})
  await writeFileAtomic(o.path, o.text, {keepExistingMode: true})
}
