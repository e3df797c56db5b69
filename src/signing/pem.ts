/**
 * Minimal PEM (RFC 7468) reading and writing, plus strict base64. Node's crypto parses the DER;
 * this module only finds labelled blocks, because key files may hold several blocks (an
 * `EC PARAMETERS` block before the `EC PRIVATE KEY`, as `openssl ecparam -genkey` writes).
 */

/** One `-----BEGIN LABEL-----` … `-----END LABEL-----` block. */
export interface PemBlock {
  label: string
  /** RFC 1421 headers such as `Proc-Type: 4,ENCRYPTED` (legacy OpenSSL encryption). */
  headers: Record<string, string>
  /** The decoded body. */
  der: Buffer
  /** The block's own text, BEGIN to END line, for handing to Node crypto. */
  text: string
  /** 1-based line of the BEGIN line in the source text. */
  line: number
}

const BEGIN = /^-----BEGIN ([A-Z0-9 ]+)-----$/
const END = /^-----END ([A-Z0-9 ]+)-----$/
const HEADER = /^([A-Za-z0-9-]+):\s*(.*)$/
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** Decode canonical padded base64 (RFC 4648 §4); undefined when `s` is not base64. */
export function decodeBase64Strict(s: string): Buffer | undefined {
  if (!BASE64.test(s)) return undefined
  return Buffer.from(s, 'base64')
}

/** Error found while reading PEM text: what is wrong and on which line. */
export class PemSyntaxError extends Error {
  constructor(message: string, readonly line: number) {
    super(message)
  }
}

/**
 * All PEM blocks in `text`, in order. Text outside blocks is ignored (as OpenSSL does).
 * Throws PemSyntaxError for an unterminated block, mismatched END label or bad base64.
 */
export function parsePem(text: string): PemBlock[] {
  const lines = text.split(/\r?\n/)
  const blocks: PemBlock[] = []
  for (let i = 0; i < lines.length; i++) {
    const begin = BEGIN.exec(lines[i]!.trim())
    if (!begin) continue
    const label = begin[1]!
    const start = i
    const headers: Record<string, string> = {}
    const body: string[] = []
    let inHeaders = true
    for (i++; ; i++) {
      if (i >= lines.length) throw new PemSyntaxError(`PEM block "${label}" has no END line`, start + 1)
      const line = lines[i]!.trim()
      const end = END.exec(line)
      if (end) {
        if (end[1] !== label) throw new PemSyntaxError(`PEM block "${label}" ends with "${end[1]}"`, i + 1)
        break
      }
      const header = inHeaders ? HEADER.exec(line) : null
      if (header) {
        headers[header[1]!] = header[2]!
        continue
      }
      inHeaders = false
      if (line !== '') body.push(line)
    }
    const der = decodeBase64Strict(body.join(''))
    if (der === undefined || der.length === 0) {
      throw new PemSyntaxError(`PEM block "${label}" does not hold base64 data`, start + 1)
    }
    blocks.push({label, headers, der, text: lines.slice(start, i + 1).map((l) => l.trim()).join('\n') + '\n', line: start + 1})
  }
  return blocks
}

/** Encode `der` as a PEM block with 64-character lines and a trailing newline. */
export function encodePem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64')
  const lines = b64.match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}
