/**
 * Basic authentication for `airgap serve` from an htpasswd file (`htpasswd -B`): bcrypt hashes
 * (`$2y$`, `$2a$`, `$2b$`) only, as distribution accepts. Other hash types (MD5 `$apr1$`, SHA1
 * `{SHA}`, crypt, plain) are refused when the file is loaded, naming the file, line and user.
 *
 * Checks do not tell which users exist: an unknown user's password is compared against a dummy
 * hash of the file's usual cost, so it takes as long as a wrong password. bcrypt runs on the main
 * thread (bcryptjs), one check at a time through a CpuGate (bounded queue, at most two checks per
 * user name, then 429), so a flood of guesses cannot stall other requests or lock out other users. Verified credentials are remembered for a few minutes (as
 * a hash of user, password and stored hash; never the password), so clients that send them on
 * every request pass without bcrypt.
 */
import {createHash, randomBytes} from 'node:crypto'
import bcrypt from 'bcryptjs'
import {SpecError} from '../errors.js'
import {readInputText, type InputFileKind} from '../files/input-file.js'
import {CpuGate, type CpuGateOptions} from './gate.js'

const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/
const BCRYPT_ALPHABET = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
/** How long verified credentials are remembered, and how many at most. */
const VERIFIED_TTL_MS = 5 * 60 * 1000
const VERIFIED_MAX = 1024

export interface HtpasswdOptions {
  /** Bounds of the bcrypt work (default: one check at a time, 16 waiting). */
  gate?: CpuGateOptions
}

/** The --htpasswd file; missing is exit 7 (not found), as it always was. */
const HTPASSWD_FILE: InputFileKind = {what: 'htpasswd file', maxBytes: 16 * 1024 * 1024, refusal: 'input', missingIsNotFound: true, hint: 'create it with htpasswd -cB FILE USER'}

/** Users and their bcrypt hashes; checks credentials (successful checks are cached for a while). */
export class Htpasswd {
  /** sha256(user, password, hash) of credentials verified recently -> when they expire. */
  private readonly verified = new Map<string, number>()
  private readonly gate: CpuGate
  /** Compared against when the user does not exist, so that the answer takes as long. */
  private readonly dummy: string

  private constructor(
    private readonly users: ReadonlyMap<string, string>,
    opts: HtpasswdOptions,
  ) {
    this.gate = new CpuGate(opts.gate)
    this.dummy = dummyHash(usualCost(users.values()))
  }

  /** Parse htpasswd text; `file` names it in errors. */
  static parse(text: string, file: string, opts: HtpasswdOptions = {}): Htpasswd {
    const users = new Map<string, string>()
    text.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.trim()
      if (line === '' || line.startsWith('#')) return
      const colon = line.indexOf(':')
      const where = `${file}:${i + 1}`
      if (colon <= 0) throw new SpecError(`${where}: not a "user:hash" line`, file, `line ${i + 1}`, {hint: 'write the file with htpasswd -B'})
      const user = line.slice(0, colon)
      const hash = line.slice(colon + 1)
      if (!BCRYPT.test(hash)) {
        throw new SpecError(`${where}: the password of user "${user}" is not a bcrypt hash (${hashKind(hash)})`, file, `line ${i + 1}`, {
          hint: `only bcrypt is accepted: recreate the entry with htpasswd -B ${file} ${user}`,
        })
      }
      users.set(user, hash)
    })
    if (users.size === 0) throw new SpecError(`${file}: no users`, file, undefined, {hint: `add one with htpasswd -B ${file} USER`})
    return new Htpasswd(users, opts)
  }

  /** Load and parse an htpasswd file. */
  static async load(file: string, opts: HtpasswdOptions = {}): Promise<Htpasswd> {
    return Htpasswd.parse(await readInputText(file, HTPASSWD_FILE), file, opts)
  }

  /**
   * The user when an `Authorization: Basic …` header carries valid credentials, else undefined.
   * Rejects with a DistributionError 429 when too many checks already wait for bcrypt.
   */
  async check(authorization: string | undefined): Promise<string | undefined> {
    const m = authorization?.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i)
    if (!m) return undefined
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) return undefined
    const user = decoded.slice(0, colon)
    const password = decoded.slice(colon + 1)
    const stored = this.users.get(user)
    const hash = stored ?? this.dummy
    const key = createHash('sha256').update(user).update('\0').update(password).update('\0').update(hash).digest('hex')
    if (stored !== undefined && this.remembered(key)) return user
    const ok = await this.gate.run('password checks', () => bcrypt.compare(password, hash), user)
    if (!ok || stored === undefined) return undefined
    this.remember(key)
    return user
  }

  private remembered(key: string): boolean {
    const until = this.verified.get(key)
    if (until === undefined) return false
    if (until > Date.now()) return true
    this.verified.delete(key)
    return false
  }

  private remember(key: string): void {
    this.verified.delete(key)
    if (this.verified.size >= VERIFIED_MAX) this.verified.delete(this.verified.keys().next().value!)
    this.verified.set(key, Date.now() + VERIFIED_TTL_MS)
  }
}

/** The most common cost among the hashes (so that most users' checks and a dummy's take as long). */
function usualCost(hashes: Iterable<string>): number {
  const counts = new Map<number, number>()
  for (const h of hashes) {
    const cost = Number(h.slice(4, 6))
    counts.set(cost, (counts.get(cost) ?? 0) + 1)
  }
  return [...counts.entries()].sort((a, b) => b[1] - a[1] || b[0] - a[0])[0]![0]
}

/** A well-formed bcrypt hash that no password matches in practice (random salt and checksum). */
function dummyHash(cost: number): string {
  const chars = [...randomBytes(53)].map((b) => BCRYPT_ALPHABET[b % 64]).join('')
  return `$2b$${String(cost).padStart(2, '0')}$${chars}`
}

function hashKind(hash: string): string {
  if (hash.startsWith('$apr1$')) return 'Apache MD5'
  if (hash.startsWith('{SHA}')) return 'SHA-1'
  if (hash.startsWith('$1$')) return 'MD5 crypt'
  if (hash.startsWith('$5$') || hash.startsWith('$6$')) return 'SHA crypt'
  if (hash.startsWith('$2')) return 'malformed bcrypt'
  return 'crypt or plain text'
}
