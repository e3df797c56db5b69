import {Flags} from '@oclif/core'

/**
 * Connection flags shared by every command that talks to a registry. Each has an AIRGAP_*
 * environment variable; lists in the environment are comma-separated.
 */
export const connectionFlags = {
  'plain-http': Flags.string({
    description: 'talk plain HTTP (no TLS) to this registry HOST[:PORT]; repeatable',
    multiple: true,
    multipleNonGreedy: true,
    env: 'AIRGAP_PLAIN_HTTP',
    delimiter: ',',
    helpValue: 'HOST[:PORT]',
  }),
  'ca-file': Flags.string({
    description: 'trust this PEM CA bundle in addition to the system CAs; repeatable',
    multiple: true,
    multipleNonGreedy: true,
    env: 'AIRGAP_CA_FILE',
    delimiter: ',',
    helpValue: 'FILE',
  }),
  'registry-config': Flags.string({
    description: 'Docker config.json to read registry credentials from (default: $DOCKER_CONFIG/config.json, ~/.docker/config.json, $REGISTRY_AUTH_FILE)',
    env: 'AIRGAP_REGISTRY_CONFIG',
    helpValue: 'FILE',
  }),
  concurrency: Flags.integer({
    description: 'blob transfers in flight at once',
    env: 'AIRGAP_CONCURRENCY',
    min: 1,
    max: 64,
    default: 8,
  }),
}
