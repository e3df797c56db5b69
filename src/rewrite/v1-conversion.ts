/**
 * What a v1 `WeightsAndBiases` written for a mirror must carry for the v2 operator's v1-to-v2
 * conversion webhook (wandb/operator `api/v1/weightsandbiases_conversion_overrides.go`): it looks
 * for the server manifest at `oci://<spec.values.global.imageRegistry>/wandb/server-manifest`
 * (the public default when unset), authenticates with `spec.values.global.imagePullSecrets`, and
 * takes the version from `app.image.tag` (else `api.image.tag`). It does NOT copy imageRegistry
 * into the v2 object, so a converted resource still needs `spec.global.imageRegistry` set before
 * the v2 operator reconciles it from the mirror. Pure.
 */
import {isPlainObject} from './overrides.js'

export const V1_CONVERSION_MANIFEST_SUFFIX = 'wandb/server-manifest'

export interface V1ConversionCheck {
  /** Where the conversion will look for the manifest with these values. */
  manifestRepository: string
  /** Values to set under spec.values so that it looks in the mirror (empty when already so). */
  overrides: Record<string, unknown>
  warnings: string[]
}

/**
 * For v1 CR values (`spec.values`, after the mirror overrides) and the mirror `HOST[:PORT][/PREFIX]`
 * holding the manifest: where the conversion will look, and what to set so that it is the mirror.
 * A `global.imageRegistry` already set to another value (Bitnami images under another mirror
 * folder) is not changed: the manifest must then also be pushed under that registry.
 */
export function v1ConversionCheck(values: Record<string, unknown>, mirror: string): V1ConversionCheck {
  const global = isPlainObject(values['global']) ? values['global'] : {}
  const current = typeof global['imageRegistry'] === 'string' ? global['imageRegistry'] : ''
  const want = `oci://${mirror}/${V1_CONVERSION_MANIFEST_SUFFIX}`
  const warnings: string[] = []
  const app = isPlainObject(values['app']) && isPlainObject(values['app']['image']) ? values['app']['image']['tag'] : undefined
  const api = isPlainObject(values['api']) && isPlainObject(values['api']['image']) ? values['api']['image']['tag'] : undefined
  if ((typeof app !== 'string' || app === '') && (typeof api !== 'string' || api === '')) {
    warnings.push('neither app.image.tag nor api.image.tag is set: the v1-to-v2 conversion cannot tell the server version and skips the manifest')
  }
  if (current === '') return {manifestRepository: want, overrides: {global: {imageRegistry: mirror}}, warnings}
  if (current === mirror) return {manifestRepository: want, overrides: {}, warnings}
  const elsewhere = `oci://${current}/${V1_CONVERSION_MANIFEST_SUFFIX}`
  warnings.push(`global.imageRegistry is ${current} (the Bitnami images' registry), so the v1-to-v2 conversion looks for the server manifest at ${elsewhere}: push it there too, or the converted resource has no per-application overrides`)
  return {manifestRepository: elsewhere, overrides: {}, warnings}
}
