/** Token scopes (`type:name:actions`) for the registry token flow. */

export interface Scope {
  type: string
  name: string
  actions: string[]
}

/**
 * Parse a scope string. The name may itself contain `host:port`, so the type ends at the first
 * `:` and the actions start after the last one. Returns undefined for a malformed scope.
 */
export function parseScope(s: string): Scope | undefined {
  const first = s.indexOf(':')
  const last = s.lastIndexOf(':')
  if (first <= 0 || last === first) return undefined
  const actions = s.slice(last + 1).split(',').filter(Boolean)
  return {type: s.slice(0, first), name: s.slice(first + 1, last), actions}
}

export function formatScope(scope: Scope): string {
  return `${scope.type}:${scope.name}:${scope.actions.join(',')}`
}

/** `repository:<name>:<actions>`, e.g. repositoryScope('ns/app', 'pull', 'push'). */
export function repositoryScope(name: string, ...actions: string[]): string {
  return formatScope({type: 'repository', name, actions})
}

/** The scope for listing the catalog. */
export const CATALOG_SCOPE = 'registry:catalog:*'

/**
 * Merge scope strings (a space-separated value may hold several): actions of the same resource are
 * united, then everything is sorted, so equal sets give equal cache keys.
 */
export function mergeScopes(scopes: Iterable<string>): string[] {
  const byResource = new Map<string, Scope>()
  const raw: string[] = []
  for (const value of scopes) {
    for (const s of value.split(' ').filter(Boolean)) {
      const parsed = parseScope(s)
      if (!parsed) {
        raw.push(s)
        continue
      }
      const key = `${parsed.type}:${parsed.name}`
      const have = byResource.get(key)
      if (have) have.actions = [...new Set([...have.actions, ...parsed.actions])]
      else byResource.set(key, {...parsed, actions: [...new Set(parsed.actions)]})
    }
  }
  const merged = [...byResource.values()].map((s) => formatScope({...s, actions: [...s.actions].sort()}))
  return [...new Set([...merged, ...raw])].sort()
}
