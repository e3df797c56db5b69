/**
 * Text from a bundle, a registry, a chart or a remote client (names, `createdBy`, error details,
 * request paths) reaches the terminal only through here: control characters are shown as escapes
 * (`\x1b`, `\u202e`), never interpreted. An escape sequence in a hostile bundle's `createdBy`
 * could otherwise clear the screen, rewrite earlier lines ("verified") or set the window title.
 */

/** C0 controls (but tab and newline), DEL, C1 controls, and the Unicode bidirectional overrides and isolates. */
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g
/** The same, and newline and tab too: for text that must stay on its line. */
const CONTROL_OR_BREAK = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

function escape(ch: string): string {
  const code = ch.charCodeAt(0)
  if (ch === '\n') return '\\n'
  if (ch === '\t') return '\\t'
  if (ch === '\r') return '\\r'
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`
}

/** Multi-line human output: line breaks and tabs kept, every other control character escaped. */
export function printable(text: string): string {
  return text.replace(CONTROL, escape)
}

/** One line of human output (an error, a live progress line): line breaks escaped too. */
export function printableLine(text: string): string {
  return text.replace(CONTROL_OR_BREAK, escape)
}

/** Characters JSON.stringify leaves raw that a terminal may still act on (DEL, C1, bidi controls). */
const JSON_RAW_CONTROL = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/** JSON text with every control character escaped as `\uXXXX` (still the same JSON value). */
export function escapeJsonControls(json: string): string {
  return json.replace(JSON_RAW_CONTROL, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`)
}
