/**
 * `airgap pull --verify-upstream POLICY.yaml` and `push --require-upstream-verified` (issue 19):
 * plan = the verdict on every resolved image's upstream signatures, read from the repository the
 * image is read from (before anything is written, so before the bundle is signed); apply = fail
 * on a rejected image, warn on `default: warn`, record every verdict in the lock. What push
 * checks is in upstream-required.ts (it loads no Sigstore code).
 */
import pLimit from 'p-limit'
import type {LockUpstreamVerification} from '../bundle/lock-upstream.js'
import {IntegrityError} from '../errors.js'
import {findSignatures} from '../image-signatures/discover.js'
import {loadUpstreamPolicy, type LoadedPolicy} from '../image-signatures/policy-file.js'
import {upstreamAction, verifyUpstream, type UpstreamVerdict} from '../image-signatures/verify-upstream.js'
import {repositoryName} from '../oci/reference.js'
import {RegistryRepository} from '../registry/index.js'
import type {ResolvedImage} from './pull-images.js'

export {loadUpstreamPolicy, type LoadedPolicy, type UpstreamVerdict}

export interface UpstreamCheckOptions {
  concurrency?: number
  signal?: AbortSignal
  onVerdict?(verdict: UpstreamVerdict): void
}

/** The verdict on each resolved image (images sharing a repository and digest are checked once). */
export async function verifyResolvedImages(resolved: readonly ResolvedImage[], policy: LoadedPolicy, opts: UpstreamCheckOptions = {}): Promise<UpstreamVerdict[]> {
  const limit = pLimit(opts.concurrency ?? 8)
  const checked = new Map<string, Promise<UpstreamVerdict>>()
  return Promise.all(
    resolved.map(async (r) => {
      const repository = repositoryName(r.reference)
      const digest = r.descriptor.digest
      const key = `${repository}@${digest}`
      let pending = checked.get(key)
      if (!pending) {
        pending = limit(async () => {
          const signatures = r.source instanceof RegistryRepository ? await findSignatures(r.source, repository, digest, opts.signal) : []
          return verifyUpstream({image: r.group.reference, repository, target: r.source, signatures}, digest, policy, opts.signal)
        })
        checked.set(key, pending)
      }
      const verdict = {...(await pending), image: r.group.reference}
      opts.onVerdict?.(verdict)
      return verdict
    }),
  )
}

/** Fail on any rejected image (naming image, rule and reason); warn for `default: warn`. */
export function enforceUpstreamVerdicts(verdicts: readonly UpstreamVerdict[], policy: LoadedPolicy, warn: (message: string) => void): void {
  const rejected = verdicts.filter((v) => upstreamAction(v, policy.default) === 'reject')
  for (const v of verdicts) if (upstreamAction(v, policy.default) === 'warn') warn(`upstream signature not verified for ${v.image} (${v.digest}): ${v.reason ?? 'no reason given'}`)
  if (rejected.length === 0) return
  throw new IntegrityError(
    `${rejected.length} image(s) refused by the upstream-signature policy ${policy.file}: ${rejected.map((v) => `${v.image} [rule ${v.rule}: ${v.reason ?? 'not verified'}]`).join('; ')}`,
    {hint: 'get the images signed by a key or identity the policy trusts, or change the policy (a rule for the repository, or `default: warn`) if these images are trusted another way'},
  )
}

/** The lock section recording the verdicts. */
export function lockUpstreamVerification(verdicts: readonly UpstreamVerdict[], policy: LoadedPolicy): LockUpstreamVerification {
  return {
    policy: {digest: policy.digest, default: policy.default},
    images: verdicts.map(({image, ...rest}) => ({source: image, ...rest})),
  }
}

export interface UpstreamCheckRun {
  verdicts: UpstreamVerdict[]
  /** The lock section recording them. */
  lock: LockUpstreamVerification
}

export interface UpstreamCheck {
  policy: LoadedPolicy
  /** Plan (the verdicts) and apply (fail on a rejected image, warn for `default: warn`). */
  run(resolved: readonly ResolvedImage[], opts: UpstreamCheckOptions & {warn(message: string): void}): Promise<UpstreamCheckRun>
}

/** Load the policy (before any network call) and return the check pull runs once images are resolved. */
export async function loadUpstreamCheck(policyFile: string): Promise<UpstreamCheck> {
  const policy = await loadUpstreamPolicy(policyFile)
  return {
    policy,
    async run(resolved, opts) {
      const verdicts = await verifyResolvedImages(resolved, policy, opts)
      enforceUpstreamVerdicts(verdicts, policy, opts.warn)
      return {verdicts, lock: lockUpstreamVerification(verdicts, policy)}
    },
  }
}
