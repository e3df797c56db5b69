import {Flags} from '@oclif/core'
import {UsageError} from '../errors.js'

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

const SIZE_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tib: 1024 ** 4,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
}

const SIZE_HINT = 'write a whole number of bytes or a number with KiB, MiB, GiB or TiB (or KB, MB, GB, TB), e.g. 4GiB'

/**
 * `4GiB`, `700MiB`, `200KiB`, `4.5GB`, `1048576` -> bytes (K/M/G/T alone are binary). A bad value
 * is a UsageError naming `flag` (e.g. `--max-part-size`) and the value.
 */
export function parseSize(input: string, flag: string): number {
  const bad = (reason: string): never => {
    throw new UsageError(`invalid ${flag} "${input}": ${reason}`, {hint: SIZE_HINT})
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(input)
  if (!m) return bad('not a size')
  const unit = SIZE_UNITS[m[2]!.toLowerCase()]
  if (unit === undefined) return bad(`unknown unit "${m[2]}"`)
  const bytes = Math.floor(Number(m[1]) * unit)
  if (bytes <= 0) return bad('the size must be at least 1 byte')
  if (!Number.isSafeInteger(bytes)) return bad('too large')
  return bytes
}

/**
 * The entry mtime for reproducible bundles: SOURCE_DATE_EPOCH when set, else 0. Throws UsageError
 * when the variable is not a whole non-negative number of seconds.
 */
export function sourceDateEpoch(env: Readonly<Record<string, string | undefined>>): number {
  const raw = env.SOURCE_DATE_EPOCH
  if (raw === undefined || raw === '') return 0
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new UsageError(`SOURCE_DATE_EPOCH="${raw}" is not a whole number of seconds`, {hint: 'unset it or set it to e.g. $(git log -1 --format=%ct)'})
  }
  return Number(raw)
}
