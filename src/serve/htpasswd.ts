/**
 * Basic authentication for `airgap serve` from an htpasswd file (`htpasswd -B`): bcrypt hashes
 * (`$2y$`, `$2a$`, `$2b$`) only, as distribution accepts. Other hash types (MD5 `$apr1$`, SHA1
 * `{SHA}`, crypt, plain) are refused when the file is loaded, naming the file, line and user.
 */
import {createHash} from 'node:crypto'
import bcrypt from 'bcryptjs'
import {SpecError} from '../errors.js'
import {readInputText, type InputFileKind} from '../files/input-file.js'

const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/

/** The --htpasswd file; missing is exit 7 (not found), as it always was. */
const HTPASSWD_FILE: InputFileKind = {what: 'htpasswd file', maxBytes: 16 * 1024 * 1024, refusal: 'input', missingIsNotFound: true, hint: 'create it with htpasswd -cB FILE USER'}

/** Users and their bcrypt hashes; checks credentials (successful checks are cached in memory). */
export class Htpasswd {
  /** sha256(user \0 password) of credentials already verified, so bcrypt runs once per user. */
  private readonly verified = new Set<string>()

  private constructor(private readonly users: ReadonlyMap<string, string>) {}

  /** Parse htpasswd text; `file` names it in errors. */
  static parse(text: string, file: string): Htpasswd {
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
    return new Htpasswd(users)
  }

  /** Load and parse an htpasswd file. */
  static async load(file: string): Promise<Htpasswd> {
    return Htpasswd.parse(await readInputText(file, HTPASSWD_FILE), file)
  }

  /** The user when an `Authorization: Basic …` header carries valid credentials, else undefined. */
  async check(authorization: string | undefined): Promise<string | undefined> {
    const m = authorization?.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i)
    if (!m) return undefined
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    if (colon < 0) return undefined
    const user = decoded.slice(0, colon)
    const password = decoded.slice(colon + 1)
    const hash = this.users.get(user)
    if (hash === undefined) return undefined
    const key = createHash('sha256').update(user).update('\0').update(password).update('\0').update(hash).digest('hex')
    if (this.verified.has(key)) return user
    if (!(await bcrypt.compare(password, hash))) return undefined
    this.verified.add(key)
    return user
  }
}

function hashKind(hash: string): string {
  if (hash.startsWith('$apr1$')) return 'Apache MD5'
  if (hash.startsWith('{SHA}')) return 'SHA-1'
  if (hash.startsWith('$1$')) return 'MD5 crypt'
  if (hash.startsWith('$5$') || hash.startsWith('$6$')) return 'SHA crypt'
  if (hash.startsWith('$2')) return 'malformed bcrypt'
  return 'crypt or plain text'
}
