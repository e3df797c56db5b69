/** The human lines for a lock's upstream-signature verdicts (`airgap verify`, `airgap list`). */
import type {LockUpstreamVerification, LockUpstreamVerdict} from '../bundle/lock-upstream.js'

function established(v: LockUpstreamVerdict): string {
  const who = v.keyFingerprint ? `key ${v.keyFingerprint}` : `${v.identity ?? '?'} (issuer ${v.issuer ?? '?'})`
  const logged = v.logIndex === undefined ? 'no log entry' : `log index ${v.logIndex}${v.integratedTime === undefined ? '' : ` at ${new Date(v.integratedTime * 1000).toISOString()}`}`
  return `${who}, ${logged}`
}

/** A heading and one line per image: verified by what, or why not. */
export function upstreamLines(section: LockUpstreamVerification): string[] {
  const verified = section.images.filter((v) => v.verified).length
  return [
    `UPSTREAM SIGNATURES (${verified} of ${section.images.length} verified; policy ${section.policy.digest}, default ${section.policy.default})`,
    ...section.images.map((v) => (v.verified ? `  verified      ${v.source}  rule ${v.rule}: ${established(v)}` : `  NOT verified  ${v.source}  rule ${v.rule}: ${v.reason ?? ''}`)),
  ]
}
