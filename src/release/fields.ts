/**
 * Checks for the values a spec holds that a JSON Schema cannot express: chart repository URLs, OCI
 * chart URLs, versions, image references, platforms (and chart names of channel responses, whose
 * chart is polymorphic). Each returns the normalised value or reports through the Checker.
 */
import semver from 'semver'
import {parsePlatform} from '../oci/platform.js'
import type {Platform} from '../oci/types.js'
import {formatReference, isValidTag, parseReference, parseRepository} from '../oci/reference.js'
import type {Checker} from './check.js'
import type {FieldPath} from './yaml.js'

const CHART_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/

/** An http(s) chart repository URL without credentials; `file://` and `oci://` are refused. */
export function repoUrl(c: Checker, value: unknown, path: FieldPath): string | undefined {
  const s = c.string(value, path, 'an https:// chart repository URL')
  if (s === undefined) return undefined
  if (/^oci:\/\//i.test(s)) return c.fail(path, `"${s}" is an OCI reference; write it as "oci: ${s}" instead of a repo URL`)
  if (/^file:/i.test(s)) return c.fail(path, `file URLs are not allowed for a chart repository ("${s}"); use "path:" for a chart on disk`)
  let url: URL
  try {
    url = new URL(s)
  } catch {
    return c.fail(path, `"${s}" is not a URL; expected https://host/path`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return c.fail(path, `unsupported URL scheme "${url.protocol}" in "${s}"; expected https:// or http://`)
  if (url.username || url.password) return c.fail(path, 'credentials must not be written in the URL; use username and passwordEnv')
  if (url.search || url.hash) return c.fail(path, `a chart repository URL takes no query or fragment ("${s}")`)
  return s.replace(/\/+$/, '')
}

/** `oci://host[:port]/path/name[:tag]` → {url without tag, tag}. */
export function ociUrl(c: Checker, value: unknown, path: FieldPath): {url: string; tag?: string} | undefined {
  const s = c.string(value, path, 'an oci://host/path/chart reference')
  if (s === undefined) return undefined
  const m = /^oci:\/\/(.+)$/i.exec(s)
  if (!m) return c.fail(path, `expected an oci://host/path/chart reference, got "${s}"`)
  let rest = m[1]!.replace(/\/+$/, '')
  if (rest.includes('@')) return c.fail(path, `an OCI chart is pinned by version, not digest, in "${s}"`)
  let tag: string | undefined
  const colon = rest.lastIndexOf(':')
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1)
    rest = rest.slice(0, colon)
    if (!isValidTag(tag)) return c.fail(path, `invalid tag "${tag}" in "${s}"`)
  }
  if (!rest.includes('/')) return c.fail(path, `"${s}" names no repository; expected oci://host/path/chart`)
  try {
    parseRepository(rest)
  } catch (err) {
    return c.fail(path, `invalid OCI chart reference "${s}": ${(err as Error).message}`)
  }
  return tag === undefined ? {url: `oci://${rest}`} : {url: `oci://${rest}`, tag}
}

/** A chart version: an exact SemVer or a range (`0.43.x`, `^1.2`); `oci` needs an exact version/tag. */
export function chartVersion(c: Checker, value: unknown, path: FieldPath, exact = false): string | undefined {
  const v = c.version(value, path)
  if (v === undefined) return undefined
  if (exact) {
    if (!isValidTag(v.replace(/\+/g, '_'))) return c.fail(path, `"${v}" is not a valid chart version or OCI tag`)
    return v
  }
  if (semver.valid(v) === null && semver.validRange(v) === null) {
    return c.fail(path, `"${v}" is neither a SemVer version (0.43.8) nor a range (0.43.x, ^0.43)`)
  }
  return v
}

export function chartName(c: Checker, value: unknown, path: FieldPath): string | undefined {
  const s = c.string(value, path, 'a chart name')
  if (s !== undefined && !CHART_NAME.test(s)) return c.fail(path, `"${s}" is not a valid chart name (letters, digits, '-', '_', '.')`)
  return s
}

/** A normalised full image reference (`docker.io/library/busybox:1.36`). */
export function imageReference(c: Checker, value: unknown, path: FieldPath): string | undefined {
  const s = c.string(value, path, 'an image reference')
  if (s === undefined) return undefined
  try {
    return formatReference(parseReference(s))
  } catch (err) {
    return c.fail(path, (err as Error).message)
  }
}

/** A platform, parsed and normalised once here: everything after compares typed values. */
export function platform(c: Checker, value: unknown, path: FieldPath): Platform | undefined {
  const s = c.string(value, path, 'a platform such as linux/amd64')
  if (s === undefined) return undefined
  try {
    return parsePlatform(s)
  } catch (err) {
    return c.fail(path, (err as Error).message)
  }
}

/** A local file path (no URL scheme). */
export function localPath(c: Checker, value: unknown, path: FieldPath): string | undefined {
  const s = c.string(value, path, 'a file path')
  if (s === undefined) return undefined
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(s)) return c.fail(path, `expected a local file path, got the URL "${s}"`)
  return s
}
