/**
 * `requiredOperatorVersion` (a semver range such as `^2.0.0`) against an operator chart version.
 * The operator itself does not check it (it only keeps the first file's value); airgap does, so
 * that a bundle never pairs a release with an operator that is too old for it.
 *
 * A pre-release operator (`2.0.0-beta.3`) is below `2.0.0` in semver, so `^2.0.0` alone would
 * refuse every 2.0.0 beta; it is accepted when its release version (`2.0.0`) satisfies the range,
 * and the result says so.
 */
import semver from 'semver'
import {SpecError, UsageError} from '../errors.js'

export interface OperatorVersionCheck {
  /** The range, as the manifest writes it. */
  required: string
  operatorVersion: string
  /** How it was satisfied, for reports: `2.0.0-beta.3 satisfies ^2.0.0`, `… by its release version 2.0.0`. */
  note: string
}

/** Check `operatorVersion` against the manifest's range; throws UsageError when it does not satisfy it. */
export function checkOperatorVersion(required: string | undefined, operatorVersion: string, where: string): OperatorVersionCheck | undefined {
  if (required === undefined || required.trim() === '') return undefined
  const range = semver.validRange(required)
  if (range === null) {
    throw new SpecError(`server manifest ${where}: requiredOperatorVersion "${required}" is not a semver range`, where, 'requiredOperatorVersion', {
      hint: 'the manifest is damaged or hand-edited; pull a published version',
    })
  }
  const version = semver.valid(operatorVersion)
  if (version === null) {
    throw new UsageError(`operator chart version "${operatorVersion}" is not a semver version`, {hint: 'give the operator chart version, e.g. 2.0.0-beta.3'})
  }
  if (semver.satisfies(version, range, {includePrerelease: true})) return {required, operatorVersion, note: `${version} satisfies ${required}`}
  const release = semver.prerelease(version) ? `${semver.major(version)}.${semver.minor(version)}.${semver.patch(version)}` : undefined
  if (release !== undefined && semver.satisfies(release, range)) {
    return {required, operatorVersion, note: `${version} satisfies ${required} by its release version ${release}`}
  }
  throw new UsageError(`server manifest ${where} needs an operator ${required}, but the operator chart is ${version}`, {
    hint: `carry an operator chart whose version satisfies ${required} (or a server version made for operator ${version})`,
  })
}
