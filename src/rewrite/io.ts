/**
 * The only file I/O of src/rewrite: the bundled WeightsAndBiases CRD, and writing a file tree
 * (e.g. the containerd hosts.toml folders).
 */
import {existsSync, readFileSync} from 'node:fs'
import {mkdir} from 'node:fs/promises'
import {dirname, isAbsolute, join, normalize, resolve, sep} from 'node:path'
import {fileURLToPath} from 'node:url'
import {InternalError, UsageError} from '../errors.js'
import {writeFileAtomic} from '../files/atomic-write.js'
import {compileCrd, validateCrWith} from './checks.js'
import type {CrProblem} from './checks.js'

export const CRD_FILE = 'manifests/crd-weightsandbiases-v1.yaml'

let cached: ReturnType<typeof compileCrd> | undefined

/** Path of the bundled CRD (found by walking up from this module to the package root). */
export function crdPath(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const candidate = join(dir, CRD_FILE)
    if (existsSync(candidate)) return candidate
    const parent = dirname(dir)
    if (parent === dir) throw new InternalError(`${CRD_FILE} is missing from the airgap installation`, {hint: 'reinstall airgap'})
    dir = parent
  }
}

/** Validate a WeightsAndBiases CR against the real CRD schema (manifests/crd-weightsandbiases-v1.yaml). */
export function validateCr(operatorYaml: string): CrProblem[] {
  cached ??= compileCrd(readFileSync(crdPath(), 'utf8'))
  return validateCrWith(cached, operatorYaml)
}

/** Write `{relative/path: content}` under `root` (each file atomically), creating folders; refuses paths leaving root. */
export async function writeFileTree(root: string, tree: Record<string, string>): Promise<string[]> {
  const written: string[] = []
  const base = resolve(root)
  for (const [rel, content] of Object.entries(tree)) {
    const target = resolve(base, normalize(rel))
    if (isAbsolute(rel) || !(target + sep).startsWith(base + sep)) {
      throw new UsageError(`refusing to write "${rel}" outside ${base}`, {hint: 'use relative paths inside the output folder'})
    }
    await mkdir(dirname(target), {recursive: true})
    await writeFileAtomic(target, content)
    written.push(target)
  }
  return written
}
