/** Credentials for one registry. Secrets never appear in messages or logs. */
export interface Credential {
  username?: string
  password?: string
  /** An OAuth2 refresh token (config.json `identitytoken`, helper Username `<token>`). */
  identityToken?: string
  /** A bearer token sent to the registry as is (config.json `registrytoken`). */
  registryToken?: string
}

/** Looks up credentials by registry host (`host[:port]`, as the user named the registry). */
export interface CredentialStore {
  /** Credentials for `registry`, or undefined for anonymous access. */
  get(registry: string): Promise<Credential | undefined>
}

/** True when the credential carries anything to authenticate with. */
export function hasSecret(c: Credential | undefined): c is Credential {
  return Boolean(c && ((c.username && c.password !== undefined) || c.identityToken || c.registryToken))
}
