/**
 * Link pagination (`/v2/_catalog`, `/v2/<name>/tags/list`) within bounds: a Link back to a page
 * already fetched is an error (it would loop forever), and so is a list longer than `maxPages`
 * pages. A Link to another origin is followed without credentials (RegistryClient.send).
 */
import {IntegrityError, LimitError, type RegistryContext} from '../errors.js'
import type {RegistryClient} from './client.js'
import {nextLink} from './util.js'

export interface PageLimits {
  /** Most pages one listing may take (default 10,000: ten million names at 1,000 per page). */
  maxPages?: number
}

export const DEFAULT_MAX_PAGES = 10_000

/** What one paginated listing asks for. */
export interface PageRequest {
  first: URL
  /** The JSON field holding the page's names (`repositories`, `tags`). */
  field: string
  scopes: readonly string[]
  ctx: RegistryContext
  /** For errors: "list the catalog of", "list tags of". */
  action: string
  subject: string
  signal?: AbortSignal | undefined
}

/** The names of every page, in order. */
export async function* paginate(client: RegistryClient, req: PageRequest): AsyncGenerator<string> {
  const maxPages = client.options.pages?.maxPages ?? DEFAULT_MAX_PAGES
  const seen = new Set<string>()
  let url: URL | undefined = req.first
  while (url) {
    if (seen.has(url.href)) {
      throw new LimitError(`${req.subject} of ${where(req.ctx)}: page ${seen.size + 1} links back to a page already fetched (${display(url)}); the listing would never end`, {
        hint: `the registry ${req.ctx.registry} paginates wrongly (a Link header that repeats); ask its operator`,
      })
    }
    if (seen.size >= maxPages) {
      throw new LimitError(`${req.subject} of ${where(req.ctx)} runs past ${maxPages} pages; airgap stops there`, {
        hint: `the registry ${req.ctx.registry} keeps sending a next-page Link; check it, or list a narrower prefix`,
      })
    }
    seen.add(url.href)
    const res = await client.send({method: 'GET', url, scopes: req.scopes, ctx: req.ctx, signal: req.signal})
    if (res.status !== 200) throw await client.fail(res, req.ctx, req.action, req.subject)
    yield* namesOf(await res.text(undefined, 'whole'), req, url)
    url = nextLink(res.header('link'), url)
  }
}

function namesOf(text: string, req: PageRequest, url: URL): string[] {
  let body: unknown
  try {
    body = JSON.parse(text)
  } catch {
    throw new IntegrityError(`${req.subject} of ${where(req.ctx)}: the page ${display(url)} is not valid JSON`, {
      hint: `check that ${req.ctx.registry} is a registry (not a proxy's or portal's page)`,
    })
  }
  const names = (body as Record<string, unknown> | null)?.[req.field]
  if (names === undefined || names === null) return []
  if (!Array.isArray(names) || names.some((n) => typeof n !== 'string')) {
    throw new IntegrityError(`${req.subject} of ${where(req.ctx)}: "${req.field}" of the page ${display(url)} is not a list of names`, {
      hint: `the registry ${req.ctx.registry} answers in a shape airgap does not know; ask its operator`,
    })
  }
  return names as string[]
}

function where(ctx: RegistryContext): string {
  return ctx.repository ? `${ctx.registry}/${ctx.repository}` : ctx.registry
}

function display(url: URL): string {
  return `${url.origin}${url.pathname}${url.search}`
}
