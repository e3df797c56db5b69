/**
 * Go's strconv.Unquote for the three literal forms a template can hold: "interpreted", `raw`
 * and 'c' (character constants). Byte escapes (\xHH, \ooo) above 0x7f are taken as the code
 * point of that value (JS strings hold code points, not bytes).
 */

const SIMPLE: Record<string, string> = {a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\'}

export function goUnquote(quoted: string): string {
  const q = quoted[0]
  if (quoted.length < 2 || quoted[quoted.length - 1] !== q) throw new Error('invalid syntax')
  const body = quoted.slice(1, -1)
  // Fast path: nothing to unescape (the lexer has already rejected newlines and unclosed quotes).
  if (q === '"' && !body.includes('\\') && !body.includes('"') && !body.includes('\n')) return body
  if (q === '`') {
    if (body.includes('`')) throw new Error('invalid syntax')
    return body.replace(/\r/g, '')
  }
  if (q !== '"' && q !== "'") throw new Error('invalid syntax')
  let out = ''
  for (let i = 0; i < body.length; ) {
    const c = body[i]!
    if (c === q) throw new Error('invalid syntax')
    if (c === '\n') throw new Error('invalid syntax')
    if (c !== '\\') {
      const cp = body.codePointAt(i)!
      out += String.fromCodePoint(cp)
      i += cp > 0xffff ? 2 : 1
      continue
    }
    const e = body[i + 1]
    if (e === undefined) throw new Error('invalid syntax')
    if (SIMPLE[e] !== undefined) {
      out += SIMPLE[e]
      i += 2
    } else if (e === q) {
      out += e
      i += 2
    } else if (e === 'x' || e === 'u' || e === 'U') {
      const n = e === 'x' ? 2 : e === 'u' ? 4 : 8
      const hex = body.slice(i + 2, i + 2 + n)
      if (hex.length !== n || !/^[0-9a-fA-F]+$/.test(hex)) throw new Error('invalid syntax')
      const cp = parseInt(hex, 16)
      if (e !== 'x' && (cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))) throw new Error('invalid syntax')
      out += String.fromCodePoint(cp)
      i += 2 + n
    } else if (e >= '0' && e <= '7') {
      const oct = body.slice(i + 1, i + 4)
      if (!/^[0-7]{3}$/.test(oct)) throw new Error('invalid syntax')
      const v = parseInt(oct, 8)
      if (v > 255) throw new Error('invalid syntax')
      out += String.fromCharCode(v)
      i += 4
    } else throw new Error('invalid syntax')
  }
  if (q === "'" && [...out].length !== 1) throw new Error('invalid syntax')
  return out
}
