import type {ConnectionOptions} from '../usecases/session.js'

interface ConnectionFlagValues {
  'plain-http'?: string[]
  'ca-file'?: string[]
  'registry-config'?: string
}

/** Turn the shared connection flags into the options the use cases take. */
export function connectionOptions(flags: ConnectionFlagValues, onWarning?: (m: string, r: string) => void): ConnectionOptions {
  return {
    ...(flags['plain-http']?.length ? {plainHttp: flags['plain-http']} : {}),
    ...(flags['ca-file']?.length ? {caFiles: flags['ca-file']} : {}),
    ...(flags['registry-config'] ? {registryConfig: flags['registry-config']} : {}),
    onWarning,
  }
}
