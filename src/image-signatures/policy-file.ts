/**
 * Load an upstream-signature policy file with what its rules name: cosign public keys and Sigstore
 * trusted roots (each file read once). Every failure is a SpecError naming the file and where the
 * policy named it.
 */
import type {KeyObject} from 'node:crypto'
import {readFile, stat} from 'node:fs/promises'
import {SpecError} from '../errors.js'
import {keyFingerprint, loadPublicKey} from '../signing/index.js'
import {MAX_POLICY_BYTES, parsePolicy, type KeylessRule, type KeyRule, type UpstreamPolicy} from './policy.js'
import {loadTrustedRoot, type SigstoreTrustedRoot} from './trusted-root.js'

export interface LoadedKeyRule extends KeyRule {
  publicKey: KeyObject
  keyFingerprint: string
  /** Present when the rule (or the policy) names one: the log keys for tlog checks. */
  trustedRoot?: SigstoreTrustedRoot
}

export interface LoadedKeylessRule extends KeylessRule {
  trustedRoot: SigstoreTrustedRoot
}

export type LoadedRule = LoadedKeyRule | LoadedKeylessRule

export interface LoadedPolicy extends Omit<UpstreamPolicy, 'rules'> {
  rules: LoadedRule[]
}

async function readText(file: string, what: string, limit: number, position?: string): Promise<string> {
  const named = position ? ` (named at ${position})` : ''
  try {
    const info = await stat(file)
    if (!info.isFile()) throw new SpecError(`${file}: the ${what} is not a regular file${named}`, file)
    if (info.size > limit) throw new SpecError(`${file}: the ${what} is ${info.size} bytes, more than the limit of ${limit}${named}`, file)
    return await readFile(file, 'utf8')
  } catch (err) {
    if (err instanceof SpecError) throw err
    const code = (err as NodeJS.ErrnoException).code
    throw new SpecError(`${file}: cannot read the ${what} (${code ?? (err as Error).message})${named}`, file, undefined, {
      hint: code === 'ENOENT' ? 'check the path (relative paths are relative to the policy file)' : 'check the file permissions',
      cause: err,
    })
  }
}

/** Read, check and load a policy file and every key and trusted root it names. */
export async function loadUpstreamPolicy(file: string): Promise<LoadedPolicy> {
  const policy = parsePolicy(await readText(file, 'upstream-signature policy', MAX_POLICY_BYTES), file)
  const roots = new Map<string, Promise<SigstoreTrustedRoot>>()
  const rootOf = (path: string, position?: string): Promise<SigstoreTrustedRoot> => {
    let root = roots.get(path)
    if (!root) {
      root = loadTrustedRoot(path, position)
      roots.set(path, root)
    }
    return root
  }
  const rules = await Promise.all(
    policy.rules.map(async (rule): Promise<LoadedRule> => {
      if (rule.kind === 'keyless') return {...rule, trustedRoot: await rootOf(rule.trustedRootFile, rule.trustedRootPosition)}
      const publicKey = loadPublicKey(await readText(rule.keyFile, 'public key', 64 * 1024, rule.keyPosition), rule.keyFile)
      const loaded: LoadedKeyRule = {...rule, publicKey, keyFingerprint: keyFingerprint(publicKey)}
      if (rule.trustedRootFile !== undefined) loaded.trustedRoot = await rootOf(rule.trustedRootFile, rule.trustedRootPosition)
      return loaded
    }),
  )
  return {...policy, rules}
}
