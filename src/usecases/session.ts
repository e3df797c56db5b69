import {defaultCredentialStore} from '../auth/store.js'
import type {CredentialStore, Credential} from '../auth/types.js'
import type {Side} from '../errors.js'
import {createHttpClient, type HttpClient} from '../http/client.js'
import {openRegistryTarget, type RegistryClient, type RegistryRepository} from '../registry/index.js'
import type {Reference} from '../oci/reference.js'

/** Connection settings shared by every command that talks to registries. */
export interface ConnectionOptions {
  /** `host[:port]` entries spoken to over plain HTTP. */
  plainHttp?: readonly string[]
  /** Extra CA files trusted besides the system CAs. */
  caFiles?: readonly string[]
  /** `host[:port]` entries whose certificates are not verified (explicit opt-in only). */
  insecure?: readonly string[]
  /** A Docker config.json to read credentials from instead of the default lookup. */
  registryConfig?: string
  /** Explicit credentials by registry host (win over config files). Never printed. */
  credentials?: Record<string, Credential>
  /** Called once per distinct registry `Warning:` header. */
  onWarning?: (message: string, registry: string) => void
}

/**
 * One HTTP client (keep-alive pools) and one credential store for a whole command run; registry
 * clients (and their token caches) are shared per host.
 */
export class Session {
  readonly http: HttpClient
  readonly credentials: CredentialStore
  private readonly clients = new Map<string, RegistryClient>()

  constructor(private readonly options: ConnectionOptions = {}) {
    this.http = createHttpClient({
      caFiles: options.caFiles,
      plainHttp: options.plainHttp,
      insecureSkipVerify: options.insecure,
      userAgent: 'airgap',
    })
    this.credentials = defaultCredentialStore({
      file: options.registryConfig,
      credentials: options.credentials,
    })
  }

  /** Open the repository of an image reference, reusing the registry client of its host. */
  repository(ref: string, side: Side): {repository: RegistryRepository; reference: Reference} {
    const {repository, reference} = openRegistryTarget(ref, {
      clients: this.clients,
      http: this.http,
      credentials: this.credentials,
      side,
      onWarning: this.options.onWarning,
    })
    return {repository, reference}
  }

  async close(): Promise<void> {
    await this.http.close()
  }
}
