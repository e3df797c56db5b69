/** `push --require-upstream-verified` (issue 19); apart from upstream.ts so that push loads no Sigstore code. */
import type {BundleLock} from '../bundle/lock.js'
import {IntegrityError} from '../errors.js'

/**
 * `push --require-upstream-verified`: every image the lock lists must have a verified upstream
 * verdict. Fails (exit 5) naming the images that do not, and why.
 */
export function requireUpstreamVerified(lock: Pick<BundleLock, 'images' | 'upstreamVerification'>, where: string): void {
  const section = lock.upstreamVerification
  if (!section) {
    throw new IntegrityError(`${where} records no upstream-signature verification: it was pulled without --verify-upstream`, {
      hint: 'pull the release again with --verify-upstream POLICY.yaml, or push without --require-upstream-verified',
    })
  }
  const bySource = new Map(section.images.map((v) => [v.source, v]))
  const failing = lock.images.flatMap((image) => {
    const verdict = bySource.get(image.source)
    if (!verdict) return [`${image.source} [no verdict]`]
    return verdict.verified ? [] : [`${image.source} [rule ${verdict.rule}: ${verdict.reason ?? 'not verified'}]`]
  })
  if (failing.length === 0) return
  throw new IntegrityError(`${failing.length} image(s) in ${where} are not upstream-verified: ${failing.join('; ')}`, {
    hint: 'these images were carried under `default: warn`/`accept` or without a signature; push without --require-upstream-verified only if they are trusted another way',
  })
}
