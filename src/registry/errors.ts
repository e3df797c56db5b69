/** Turn registry error responses into AuthError / NotFoundError / TlsError / RegistryError. */
import {AirgapError, AuthError, NotFoundError, RegistryError, TlsError, type RegistryContext} from '../errors.js'
import type {HttpResponse} from '../http/client.js'
import {parseChallenges} from '../auth/challenge.js'

/** One entry of a distribution `{"errors": [...]}` body. */
export interface DistributionError {
  code: string
  message?: string
  detail?: unknown
}

const NOT_FOUND_CODES = new Set(['MANIFEST_UNKNOWN', 'BLOB_UNKNOWN', 'NAME_UNKNOWN', 'BLOB_UPLOAD_UNKNOWN'])

/** Parse a distribution error body; tolerates any other text (returns []). */
export function parseDistributionErrors(text: string): DistributionError[] {
  try {
    const body = JSON.parse(text) as {errors?: unknown}
    if (!Array.isArray(body.errors)) return []
    return body.errors
      .filter((e): e is DistributionError => typeof e === 'object' && e !== null && typeof (e as {code?: unknown}).code === 'string')
      .map((e) => ({code: e.code.toUpperCase(), message: e.message, detail: e.detail}))
  } catch {
    return []
  }
}

function where(ctx: RegistryContext): string {
  const target = ctx.reference ?? (ctx.repository ? `${ctx.registry}/${ctx.repository}` : ctx.registry)
  return ctx.side ? `${target} (${ctx.side})` : target
}

/** What a failed request was trying to do, for messages: "pull", "push", "list tags of", … */
export interface ErrorInfo {
  ctx: RegistryContext
  /** Verb for access-denied messages, e.g. "pull", "push", "mount into". */
  action: string
  /** What was asked for, e.g. "manifest v1", "blob sha256:…"; used in not-found messages. */
  subject?: string
  /** Whether credentials were sent (to tell "wrong password" from "login needed"). */
  withCredentials: boolean
}

/**
 * Read an unsuccessful response and build the matching error. 401 after the auth retry and 403 are
 * AuthErrors; 404 and *_UNKNOWN codes are NotFoundErrors; the rest RegistryErrors with the codes.
 */
export async function responseError(res: HttpResponse, info: ErrorInfo): Promise<AirgapError> {
  const text = res.status === 204 ? '' : await res.text(64 * 1024).catch(() => '')
  const errors = parseDistributionErrors(text)
  const codes = errors.map((e) => e.code)
  const firstMessage = errors.find((e) => e.message)?.message ?? ''
  const {ctx} = info
  if (res.status === 401 || res.status === 403 || codes.includes('DENIED')) {
    const insufficient = parseChallenges(res.headers['www-authenticate']).some((c) => c.params.error === 'insufficient_scope')
    if (res.status === 403 || codes.includes('DENIED') || insufficient) {
      return new AuthError(ctx, `access denied: not allowed to ${info.action} ${ctx.repository ?? ctx.registry}`, {
        hint: info.withCredentials
          ? `the account lacks ${info.action} rights on ${ctx.registry}; use credentials that have them`
          : `log in to ${ctx.registry} with an account that may ${info.action} (docker login ${ctx.registry})`,
      })
    }
    return new AuthError(
      ctx,
      info.withCredentials ? 'the registry refused the credentials (wrong username or password)' : 'the registry requires credentials',
    )
  }
  if (res.status === 404 || codes.some((c) => NOT_FOUND_CODES.has(c) && !c.startsWith('MANIFEST_BLOB'))) {
    const what = info.subject ?? 'content'
    return new NotFoundError(`${what} not found in ${where(ctx)}${codes.length ? ` (${codes.join(',')})` : ''}`, {
      hint: codes.includes('NAME_UNKNOWN')
        ? 'check the repository name; it does not exist on this registry'
        : 'check the tag or digest (skopeo list-tags docker://REPOSITORY lists the tags)',
    })
  }
  if (res.status === 400 && /HTTP request to an HTTPS server/i.test(text)) {
    return new TlsError(`${ctx.registry} serves HTTPS, but airgap spoke plain HTTP to it`, {
      hint: `remove ${ctx.registry} from --plain-http`,
    })
  }
  const detail = firstMessage || text.replace(/\s+/g, ' ').trim().slice(0, 200)
  return new RegistryError(ctx, res.status, codes, detail, {
    hint:
      res.status === 429 || codes.includes('TOOMANYREQUESTS')
        ? 'the registry rate-limits requests; wait, or authenticate to get a higher limit'
        : codes.includes('MANIFEST_BLOB_UNKNOWN')
          ? 'push the blobs and child manifests before the manifest that references them'
          : undefined,
  })
}
