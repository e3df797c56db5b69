/**
 * Helm's values coalescing (helm.sh/helm/v3 pkg/chartutil/coalesce.go), which is what a chart
 * sees at render time: user values override chart defaults, maps merge recursively, lists and
 * scalars replace, `null` deletes a default. (Not the W&B operator's spec merge, which concatenates lists.)
 */

export type Values = Record<string, unknown>

export function isMap(v: unknown): v is Values {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array) && !(v instanceof Date)
}

/** A deep copy of plain values (maps and lists), so merging never aliases the inputs. */
export function cloneValues<T>(v: T): T {
  if (Array.isArray(v)) return v.map(cloneValues) as T
  if (isMap(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, cloneValues(x)])) as T
  return v
}

/** `override` coalesced over `defaults`; neither input is modified. */
export function coalesce(override: Values, defaults: Values): Values {
  const out = cloneValues(defaults)
  for (const [key, value] of Object.entries(override)) {
    if (value === null) {
      delete out[key]
    } else if (isMap(value) && isMap(out[key])) {
      out[key] = coalesce(value, out[key] as Values)
    } else {
      out[key] = cloneValues(value)
    }
  }
  return out
}

/** The value at a dotted path (`redis.install`), or undefined. */
export function getPath(values: unknown, path: readonly string[]): unknown {
  let cur: unknown = values
  for (const key of path) {
    if (!isMap(cur)) return undefined
    cur = cur[key]
  }
  return cur
}

/**
 * Helm's dependency condition: comma-separated paths, the first that resolves to a boolean wins;
 * undefined when none does.
 */
export function evaluateCondition(condition: string | undefined, values: Values): boolean | undefined {
  if (!condition) return undefined
  for (const raw of condition.split(',')) {
    const path = raw.trim()
    if (path === '') continue
    const v = getPath(values, path.split('.'))
    if (typeof v === 'boolean') return v
  }
  return undefined
}

/** Helm's dependency tags: enabled when any listed tag is true, disabled when some are false and none true. */
export function evaluateTags(tags: readonly string[] | undefined, topValues: Values): boolean | undefined {
  if (!tags || tags.length === 0) return undefined
  const table = isMap(topValues.tags) ? topValues.tags : {}
  let sawFalse = false
  for (const tag of tags) {
    const v = table[tag]
    if (v === true) return true
    if (v === false) sawFalse = true
  }
  return sawFalse ? false : undefined
}

/**
 * A component switch on a values map: `install`, else `enabled` (booleans only); undefined when
 * neither is a boolean. W&B components use `install`; Bitnami sub-features use `enabled`.
 */
export function componentSwitch(section: unknown): boolean | undefined {
  if (!isMap(section)) return undefined
  if (typeof section.install === 'boolean') return section.install
  if (typeof section.enabled === 'boolean') return section.enabled
  return undefined
}

/** `a.b[0]["x.y"]` for a key path. */
export function formatValuesPath(keys: ReadonlyArray<string | number>): string {
  let out = ''
  for (const k of keys) {
    if (typeof k === 'number') out += `[${k}]`
    else if (/^[A-Za-z_][\w-]*$/.test(k)) out += out === '' ? k : `.${k}`
    else out += `[${JSON.stringify(k)}]`
  }
  return out
}
