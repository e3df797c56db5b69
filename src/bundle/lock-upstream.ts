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

/** The checks of lock.ts's validator this section uses (each failure throws, naming the JSON path). */
export interface LockChecks {
  fail(path: string, problem: string): never
  object(x: unknown, path: string): Record<string, unknown>
  array(x: unknown, path: string): unknown[]
  string(x: unknown, path: string): string
  digest(x: unknown, path: string): string
  size(x: unknown, path: string): number
  oneOf<T extends string>(x: unknown, path: string, allowed: readonly T[]): T
  onlyKeys(o: Record<string, unknown>, path: string, allowed: readonly string[]): void
}

const VERDICT_KEYS = ['source', 'digest', 'rule', 'verified', 'identity', 'issuer', 'keyFingerprint', 'logIndex', 'integratedTime', 'reason']

/** Sorted by source (deterministic lock bytes). */
export function sortedUpstreamVerification(section: LockUpstreamVerification): LockUpstreamVerification {
  return {policy: {...section.policy}, images: [...section.images].map((i) => ({...i})).sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0))}
}

/** Parse the section; every verdict must name an image the lock lists (`carried`), once. */
export function parseUpstreamVerification(v: LockChecks, raw: unknown, carried: ReadonlySet<string>): LockUpstreamVerification {
  const path = '$.upstreamVerification'
  const o = v.object(raw, path)
  v.onlyKeys(o, path, ['policy', 'images'])
  const policy = v.object(o.policy, `${path}.policy`)
  v.onlyKeys(policy, `${path}.policy`, ['digest', 'default'])
  const seen = new Set<string>()
  const images = v.array(o.images, `${path}.images`).map((x, i) => {
    const p = `${path}.images[${i}]`
    const verdict = parseVerdict(v, x, p)
    if (!carried.has(verdict.source)) v.fail(p, `names ${JSON.stringify(verdict.source)}, which the lock does not list in $.images`)
    if (seen.has(verdict.source)) v.fail(p, `duplicate source ${JSON.stringify(verdict.source)}`)
    seen.add(verdict.source)
    return verdict
  })
  return {policy: {digest: v.digest(policy.digest, `${path}.policy.digest`), default: v.oneOf(policy.default, `${path}.policy.default`, LOCK_UPSTREAM_DEFAULTS)}, images}
}

function parseVerdict(v: LockChecks, raw: unknown, path: string): LockUpstreamVerdict {
  const o = v.object(raw, path)
  v.onlyKeys(o, path, VERDICT_KEYS)
  if (typeof o.verified !== 'boolean') v.fail(`${path}.verified`, 'must be true or false')
  const verdict: LockUpstreamVerdict = {
    source: v.string(o.source, `${path}.source`),
    digest: v.digest(o.digest, `${path}.digest`),
    rule: v.string(o.rule, `${path}.rule`),
    verified: o.verified,
  }
  for (const key of ['identity', 'issuer', 'reason'] as const) if (o[key] !== undefined) verdict[key] = v.string(o[key], `${path}.${key}`)
  if (o.keyFingerprint !== undefined) verdict.keyFingerprint = v.digest(o.keyFingerprint, `${path}.keyFingerprint`)
  for (const key of ['logIndex', 'integratedTime'] as const) if (o[key] !== undefined) verdict[key] = v.size(o[key], `${path}.${key}`)
  if (verdict.verified && verdict.reason !== undefined) v.fail(path, 'is verified but gives a reason for not being verified')
  if (!verdict.verified && verdict.reason === undefined) v.fail(path, 'is not verified and gives no reason')
  return verdict
}
