import type {KeyObject} from 'node:crypto'
import {Flags} from '@oclif/core'
import {UsageError} from '../errors.js'
import {parseMirrorRegistry, type MirrorRegistry} from '../mirror/mapping.js'
import {parsePlatform} from '../oci/platform.js'
import type {Platform} from '../oci/types.js'
import type {SigningKey} from '../signing/index.js'

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

/*
 * Typed flags: each parses its value once, at the command line, into what the use cases take. A bad
 * value is a UsageError (exit 2) that names the flag and the value. oclif puts "Parsing --FLAG" in
 * front of the message of an error thrown here; BaseCommand takes it off again (see base.ts).
 */

/** `--platform OS/ARCH[/VARIANT]` -> the normalised Platform (`linux/aarch64` -> linux/arm64). */
export const platformFlag = Flags.custom<Platform>({
  helpValue: 'OS/ARCH[/VARIANT]',
  parse: async (input, _context, flag) => parsePlatformFlag(input, `--${flag.name}`),
})

/** A size (`4GiB`, `700MiB`, `1048576`) -> bytes. */
export const sizeFlag = Flags.custom<number>({
  helpValue: 'SIZE',
  parse: async (input, _context, flag) => parseSize(input, `--${flag.name}`),
})

/** `--registry HOST[:PORT][/PREFIX]` -> the mirror registry (host and path prefix). */
export const registryFlag = Flags.custom<MirrorRegistry>({
  helpValue: 'HOST[:PORT][/PREFIX]',
  parse: async (input, _context, flag) => parseMirrorRegistry(input, `--${flag.name}`),
})

/** A public key file (cosign.pub) -> the key, read and checked once (see keys.ts). */
export const publicKeyFlag = Flags.custom<KeyObject>({
  helpValue: 'FILE',
  parse: async (file, _context, flag) => (await import('./keys.js')).readPublicKeyFile(file, `--${flag.name}`),
})

/**
 * A private key file (cosign.key) -> the decrypted key and its public half. The password comes
 * from AIRGAP_KEY_PASSWORD or COSIGN_PASSWORD, else it is asked for on the terminal (see keys.ts).
 */
export const signingKeyFlag = Flags.custom<SigningKey>({
  helpValue: 'KEY',
  parse: async (file, _context, flag) => (await import('./keys.js')).readSigningKey(file, `--${flag.name}`),
})

/** Parse a platform flag value (normalised); `flag` (e.g. `--platform`) names it in errors. */
export function parsePlatformFlag(input: string, flag: string): Platform {
  try {
    return parsePlatform(input)
  } catch (err) {
    throw new UsageError(`invalid ${flag} "${input}": expected OS/ARCH[/VARIANT]`, {
      hint: 'write a platform like linux/amd64 or linux/arm64/v8',
      cause: err,
    })
  }
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
 * When a release is pulled (the lock's `created`, which push compares to refuse rollbacks): now,
 * or SOURCE_DATE_EPOCH when it is set (reproducible builds). Tar mtimes keep sourceDateEpoch, so an
 * interrupted pull resumes whatever the clock says.
 */
export function pullTime(env: Readonly<Record<string, string | undefined>>, now: () => number = Date.now): number {
  return env.SOURCE_DATE_EPOCH === undefined || env.SOURCE_DATE_EPOCH === '' ? Math.floor(now() / 1000) : sourceDateEpoch(env)
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
