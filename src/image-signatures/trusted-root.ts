/**
 * A Sigstore trusted root (`trusted_root.json`, the file `cosign trusted-root create` writes and
 * the Sigstore TUF repository serves): certificate authorities (Fulcio chains), transparency logs
 * (Rekor keys and log ids), CT logs and timestamp authorities, each with a validity window. Read
 * from a file only: airgap never fetches it. Checked with the one document validator
 * (src/validation/json-schema.ts: what is used must be there, in the right shape), converted by the protobuf-specs reader, then into @sigstore/verify's TrustMaterial.
 */
import {readFile} from 'node:fs/promises'
import {TrustedRoot} from '@sigstore/protobuf-specs'
import {toTrustMaterial, type KeyFinderFunc, type TrustMaterial} from '@sigstore/verify'
import {SpecError} from '../errors.js'
import {formatJsonPath} from '../validation/json-schema.js'
import {TRUSTED_ROOT_SCHEMA} from './trusted-root-schema.js'

/** Largest trusted root read (the public-good one is ~7 KB). */
export const MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024

export type SigstoreTrustedRoot = ReturnType<typeof TrustedRoot.fromJSON>

function invalid(file: string, where: string, detail: string, position?: string): SpecError {
  return new SpecError(`${file}: ${where ? `${where}: ` : ''}${detail}${position ? ` (named at ${position})` : ''}`, file, where, {
    hint: 'give the trusted_root.json of the Sigstore instance that signed the images (`cosign trusted-root create`, or the one in the Sigstore TUF repository), carried as a file',
  })
}

/** Parse trusted_root.json text; every problem is a SpecError naming the file and the JSON path. */
export function parseTrustedRoot(text: string, file: string, position?: string): SigstoreTrustedRoot {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw invalid(file, '', `not JSON (${(err as Error).message})`, position)
  }
  const [problem] = TRUSTED_ROOT_SCHEMA.problems(json)
  if (problem) throw invalid(file, formatJsonPath(problem.path), problem.message, position)
  const root = TrustedRoot.fromJSON(json)
  try {
    toTrustMaterial(root) // parses every certificate and key once, so a bad one is reported here
  } catch (err) {
    throw invalid(file, '', `a certificate or key does not parse (${(err as Error).message})`, position)
  }
  return root
}

/** Read and parse a trusted root file. */
export async function loadTrustedRoot(file: string, position?: string): Promise<SigstoreTrustedRoot> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw invalid(file, '', `cannot read the trusted root (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, position)
  }
  if (Buffer.byteLength(text) > MAX_TRUSTED_ROOT_BYTES) throw invalid(file, '', `larger than ${MAX_TRUSTED_ROOT_BYTES} bytes`, position)
  return parseTrustedRoot(text, file, position)
}

/** A trusted root with nothing in it (key rules without transparency-log checks). */
export const EMPTY_TRUSTED_ROOT: SigstoreTrustedRoot = TrustedRoot.fromJSON({mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1'})

/** @sigstore/verify's trust material: the root's authorities and logs, and the key a key rule names. */
export function trustMaterial(root: SigstoreTrustedRoot, keys?: KeyFinderFunc): TrustMaterial {
  return keys ? toTrustMaterial(root, keys) : toTrustMaterial(root)
}
