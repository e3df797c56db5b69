/**
 * Content digests (`algorithm:hex`). Only sha256 (64 hex) and sha512 (128 hex) are accepted, with
 * lower-case hex, as the OCI image-spec registers them. Hashing uses node:crypto.
 */
import {createHash} from 'node:crypto'
import {IntegrityError, UsageError} from '../errors.js'
import type {Digest} from './types.js'

export type DigestAlgorithm = 'sha256' | 'sha512'

/** Hex length of each supported algorithm. */
export const DIGEST_HEX_LENGTH: Readonly<Record<DigestAlgorithm, number>> = {sha256: 64, sha512: 128}

const DIGEST_SHAPE = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([0-9a-fA-F]*)$/

/** What isDigest accepts, as a JSON Schema `pattern`. */
export const DIGEST_PATTERN = '^(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$'

/**
 * Why `s` is not a valid digest, or undefined when it is valid. The reason is one short phrase
 * suitable after "invalid digest …: ".
 */
export function digestProblem(s: string): string | undefined {
  if (s === '') return 'digest is empty'
  const m = DIGEST_SHAPE.exec(s)
  if (!m) return 'a digest must look like sha256:<64 lower-case hex characters>'
  const algorithm = m[1] as string
  const hex = m[2] as string
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    return `digest algorithm "${algorithm}" is not supported (use sha256 or sha512)`
  }
  const want = DIGEST_HEX_LENGTH[algorithm]
  if (hex.length !== want) return `${algorithm} digest must have ${want} hex characters, got ${hex.length}`
  if (hex !== hex.toLowerCase()) return 'digest hex must be lower-case'
  return undefined
}

/** True when `s` is a valid sha256 or sha512 digest with lower-case hex. */
export function isDigest(s: string): boolean {
  return typeof s === 'string' && digestProblem(s) === undefined
}

/**
 * Split a digest into algorithm and hex. Throws IntegrityError naming `where` when `where` is
 * given (a digest found in content or metadata), else UsageError (a digest the user typed).
 */
export function parseDigest(s: string, where?: string): {algorithm: DigestAlgorithm; hex: string} {
  const problem = typeof s === 'string' ? digestProblem(s) : 'digest is not a string'
  if (problem !== undefined) {
    const hint = 'a digest is sha256: followed by 64 lower-case hex characters (or sha512: and 128)'
    if (where !== undefined) throw new IntegrityError(`invalid digest "${String(s)}" in ${where}: ${problem}`, {hint})
    throw new UsageError(`invalid digest "${String(s)}": ${problem}`, {hint})
  }
  const colon = s.indexOf(':')
  return {algorithm: s.slice(0, colon) as DigestAlgorithm, hex: s.slice(colon + 1)}
}

/** The digest of `bytes` (sha256 unless another algorithm is asked for). */
export function digestOf(bytes: Uint8Array, algorithm: DigestAlgorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}`
}

/** An incremental hasher; digest() returns `alg:hex` and may be called once. */
export interface Hasher {
  update(chunk: Uint8Array): void
  digest(): Digest
}

/**
 * A hasher using the algorithm of `digest` (the expected digest of the content about to be hashed).
 * Throws like parseDigest when `digest` is invalid.
 */
export function createHasher(digest: Digest, where?: string): Hasher {
  const {algorithm} = parseDigest(digest, where)
  const hash = createHash(algorithm)
  return {
    update: (chunk) => {
      hash.update(chunk)
    },
    digest: () => `${algorithm}:${hash.digest('hex')}`,
  }
}

/** The hex part of a valid digest (e.g. for `blobs/sha256/<hex>` paths). */
export function digestHex(digest: Digest): string {
  return parseDigest(digest).hex
}
