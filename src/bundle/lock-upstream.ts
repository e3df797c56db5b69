/**
 * The lock's `upstreamVerification` section (issue 19): what `pull --verify-upstream` established
 * about each image's upstream signatures, signed with the bundle like the rest of the lock.
 *
 * ```json
 * "upstreamVerification": {
 *   "policy": {"digest": "sha256:…", "default": "reject"},
 *   "images": [{"source": "docker.io/wandb/local:0.74.1", "digest": "sha256:…", "rule": "wandb",
 *               "verified": true, "keyFingerprint": "sha256:…", "logIndex": 7, "integratedTime": 1735689600}]
 * }
 * ```
 *
 * One section, not a field per image: the image entries (also repeated in split sets) stay as
 * they are, and the policy that was applied is named once. `digest` is the upstream digest whose
 * signatures were checked (an index narrowed to `--platform` is stored under another digest).
 * Optional and additive: a lock without it is what every reader knows; a reader that predates
 * it refuses a lock that has it (the parser refuses unknown fields), so formatVersion stays 1.
 */

export const LOCK_UPSTREAM_DEFAULTS = ['reject', 'warn', 'accept'] as const

export interface LockUpstreamVerdict {
  /** The image's lock `source`. */
  source: string
  /** The upstream manifest or index digest whose signatures were checked. */
  digest: string
  /** The policy rule that applied, or `default`. */
  rule: string
  verified: boolean
  identity?: string
  issuer?: string
  keyFingerprint?: string
  logIndex?: number
  /** Unix seconds, as the transparency log records it. */
  integratedTime?: number
  reason?: string
}

export interface LockUpstreamVerification {
  /** The policy file's sha256 and its default for images no rule covers. */
  policy: {digest: string; default: (typeof LOCK_UPSTREAM_DEFAULTS)[number]}
  images: LockUpstreamVerdict[]
}

/** Sorted by source (deterministic lock bytes). */
export function sortedUpstreamVerification(section: LockUpstreamVerification): LockUpstreamVerification {
  return {policy: {...section.policy}, images: [...section.images].map((i) => ({...i})).sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0))}
}

/**
 * What the schema (lock-model.ts) cannot say: every verdict names an image the lock lists
 * (`carried`), once; a verified verdict gives no reason, an unverified one gives one.
 */
export function checkUpstreamVerification(section: LockUpstreamVerification, carried: ReadonlySet<string>, fail: (path: string, problem: string) => never): void {
  const seen = new Set<string>()
  for (const [i, verdict] of section.images.entries()) {
    const p = `$.upstreamVerification.images[${i}]`
    if (!carried.has(verdict.source)) fail(p, `names ${JSON.stringify(verdict.source)}, which the lock does not list in $.images`)
    if (seen.has(verdict.source)) fail(p, `duplicate source ${JSON.stringify(verdict.source)}`)
    seen.add(verdict.source)
    if (verdict.verified && verdict.reason !== undefined) fail(p, 'is verified but gives a reason for not being verified')
    if (!verdict.verified && verdict.reason === undefined) fail(p, 'is not verified and gives no reason')
  }
}
