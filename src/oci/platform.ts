/**
 * Platforms (`os/arch[/variant]`), normalised like containerd's `platforms.Normalize`:
 * `aarch64` -> `arm64`, `x86_64`/`x86-64` -> `amd64`, `i386`/`i686` -> `386`, `armhf` -> `arm/v7`,
 * `armel` -> `arm/v6`, bare variant numbers `8` -> `v8`, `macos` -> `darwin`.
 *
 * Matching (platformMatches): os and architecture must be equal after normalisation. Variants:
 * - `arm`: a missing variant means `v7` on both sides (containerd's default), so `linux/arm`
 *   matches `linux/arm/v7` but not `linux/arm/v6`.
 * - any other architecture (arm64 included): a `want` without variant matches every variant.
 *   A `want` with a variant must equal the entry's variant, where a missing `arm64` variant
 *   counts as `v8` (so `linux/arm64/v8` matches an entry `linux/arm64`).
 * - `os.version` is compared only when `want` has one.
 */
import {UsageError} from '../errors.js'
import type {Platform} from './types.js'

const PART = /^[a-z0-9][a-z0-9._-]*$/

const ARCH_ALIASES: Readonly<Record<string, {architecture: string; variant?: string}>> = {
  aarch64: {architecture: 'arm64'},
  x86_64: {architecture: 'amd64'},
  'x86-64': {architecture: 'amd64'},
  i386: {architecture: '386'},
  i686: {architecture: '386'},
  armhf: {architecture: 'arm', variant: 'v7'},
  armel: {architecture: 'arm', variant: 'v6'},
}

const OS_ALIASES: Readonly<Record<string, string>> = {macos: 'darwin'}

/** The variant an architecture has when none is given (`arm` -> v7, `arm64` -> v8). */
export function defaultVariant(architecture: string): string | undefined {
  if (architecture === 'arm') return 'v7'
  if (architecture === 'arm64') return 'v8'
  return undefined
}

/** Normalise os, architecture and variant names; other fields are kept. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase()
  const arch = p.architecture.toLowerCase()
  const alias = ARCH_ALIASES[arch]
  const out: Platform = {...p, os: OS_ALIASES[os] ?? os, architecture: alias?.architecture ?? arch}
  let variant = p.variant?.toLowerCase()
  if (variant === '') variant = undefined
  if (variant !== undefined && /^[0-9]+$/.test(variant)) variant = `v${variant}`
  variant ??= alias?.variant
  if (variant === undefined) delete out.variant
  else out.variant = variant
  return out
}

/** Parse `os/arch[/variant]` (e.g. `linux/arm64/v8`), normalised; throws UsageError. */
export function parsePlatform(s: string): Platform {
  const parts = typeof s === 'string' ? s.toLowerCase().split('/') : []
  if (parts.length < 2 || parts.length > 3 || parts.some((x) => !PART.test(x))) {
    throw new UsageError(`invalid platform "${String(s)}": expected os/arch[/variant]`, {
      hint: 'write a platform like linux/amd64 or linux/arm64/v8',
    })
  }
  const [os, architecture, variant] = parts as [string, string, string | undefined]
  const p: Platform = {os, architecture}
  if (variant !== undefined) p.variant = variant
  return normalizePlatform(p)
}

/** `os/arch[/variant]`. */
export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`
}

/**
 * Whether an index entry with platform `have` satisfies `want` (rules in the module comment).
 * `want` is normalised already (parsePlatform's result: command-line flags and specs are parsed
 * once); `have`, read from a manifest, is normalised here.
 */
export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (have === undefined) return false
  const h = normalizePlatform(have)
  if (want.os !== h.os || want.architecture !== h.architecture) return false
  if (want['os.version'] !== undefined && want['os.version'] !== h['os.version']) return false
  if (want.variant === undefined && want.architecture !== 'arm') return true
  const fallback = defaultVariant(want.architecture)
  return (want.variant ?? fallback) === (h.variant ?? fallback)
}
