/** A URL without user info, query or fragment, safe to store and print. */
export function safeUrl(url: string): string {
  const m = /^([a-z][a-z0-9.-]*\+)(.*)$/i.exec(url)
  const prefix = m?.[1] ?? ''
  const rest = m?.[2] ?? url
  try {
    const u = new URL(rest)
    u.username = ''
    u.password = ''
    u.search = ''
    u.hash = ''
    return prefix + u.toString().replace(/\/+$/, '')
  } catch {
    return prefix + rest.replace(/\/\/[^/@]*@/, '//')
  }
}
