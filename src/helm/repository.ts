/**
 * A classic Helm repository over HTTP(S): fetch index.yaml, resolve versions, download charts with
 * digest checks. Uses the project's HTTP layer (src/http) for CA files, retries and TLS errors.
 * Basic-auth credentials go only to the repository's own origin (unless passCredentialsAll).
 */
import {AuthError, IntegrityError, NotFoundError, RegistryError, UsageError} from '../errors.js'
import {readAll} from '../content/verify.js'
import {createHttpClient, type HttpClient, type HttpClientOptions} from '../http/client.js'
import {digestOf} from '../oci/digest.js'
import {indexDigest, parseRepoIndex, resolveIndexEntry, type IndexEntry, type RepoIndex} from './repo-index.js'

export interface HelmRepositoryOptions {
  username?: string
  password?: string
  /** Send credentials to chart URLs on other hosts too (Helm's --pass-credentials). Default false. */
  passCredentialsAll?: boolean
  /** Shared HTTP client; when absent one is built from httpOptions (closed by close()). */
  http?: HttpClient
  /** e.g. {caFiles: ['ca.crt']} or {insecureSkipVerify: ['host:port']}. */
  httpOptions?: HttpClientOptions
  /** Largest index accepted (default 64 MiB). */
  maxIndexBytes?: number
  /** Largest chart archive accepted (default 64 MiB). */
  maxChartBytes?: number
}

/** A downloaded chart archive. */
export interface DownloadedChart {
  entry: IndexEntry
  bytes: Buffer
  /** The URL it came from. */
  url: string
  /** sha256 of the bytes, `sha256:hex`. */
  digest: string
}

const DEFAULT_MAX = 64 * 1024 * 1024

/** Split a repository URL into its base (no trailing slash) and index URL. */
export function repositoryUrls(url: string): {base: string; index: string} {
  let u: URL
  try {
    u = new URL(url)
  } catch {
    throw new UsageError(`invalid Helm repository URL "${url}"`, {hint: 'write it as https://host/path (or http:// for a plain-HTTP repository)'})
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new UsageError(`Helm repository URL "${url}" must use http or https`, {
      hint: u.protocol === 'oci:' ? 'charts in OCI registries are pulled with pullOciChart, not through an index' : 'use an https:// URL',
    })
  }
  u.hash = ''
  u.search = ''
  if (/\/index\.(ya?ml|json)$/i.test(u.pathname)) {
    const index = u.toString()
    u.pathname = u.pathname.replace(/\/[^/]*$/, '')
    return {base: u.toString().replace(/\/+$/, ''), index}
  }
  const base = u.toString().replace(/\/+$/, '')
  return {base, index: `${base}/index.yaml`}
}

/** URL without credentials or query (safe for messages). */
function display(url: string | URL): string {
  const u = new URL(url)
  u.username = ''
  u.password = ''
  u.search = ''
  return u.toString()
}

export class HelmRepository {
  /** Repository base URL without trailing slash. */
  readonly url: string
  readonly indexUrl: string
  private readonly http: HttpClient
  private readonly ownsHttp: boolean
  private readonly options: HelmRepositoryOptions
  private index: RepoIndex | undefined

  constructor(url: string, options: HelmRepositoryOptions = {}) {
    const {base, index} = repositoryUrls(url)
    this.url = base
    this.indexUrl = index
    this.options = options
    this.ownsHttp = options.http === undefined
    this.http = options.http ?? createHttpClient(options.httpOptions)
  }

  private authFor(url: URL): Record<string, string> {
    const {username, password} = this.options
    if (username === undefined && password === undefined) return {}
    if (!this.options.passCredentialsAll && url.origin !== new URL(this.url).origin) return {}
    return {authorization: `Basic ${Buffer.from(`${username ?? ''}:${password ?? ''}`).toString('base64')}`}
  }

  private async get(url: string, what: string, limit: number, signal?: AbortSignal): Promise<Buffer> {
    const u = new URL(url)
    const res = await this.http.request({method: 'GET', url: u, headers: {accept: '*/*', ...this.authFor(u)}, signal})
    const where = display(u)
    if (res.status === 200) {
      const length = Number(res.header('content-length'))
      if (Number.isFinite(length) && length > limit) {
        await res.dump()
        throw new IntegrityError(`${what} ${where} is ${length} bytes, more than the limit of ${limit} bytes`, {hint: 'check the URL; raise the limit if this is really the file'})
      }
      return readAll(res.body, limit, `${what} ${where}`)
    }
    const detail = (await res.text(512).catch(() => '')).split('\n')[0]?.trim() ?? ''
    const ctx = {registry: u.host, reference: where}
    if (res.status === 401 || res.status === 403) {
      throw new AuthError(ctx, `HTTP ${res.status} fetching ${what}`, {
        hint: `check the username and password for the Helm repository ${this.url}`,
      })
    }
    if (res.status === 404) throw new NotFoundError(`${what} not found: ${where} (HTTP 404)`, {hint: 'check the repository URL and that the chart was uploaded'})
    throw new RegistryError(ctx, res.status, [], `fetching ${what}${detail ? `: ${detail.slice(0, 200)}` : ''}`, {
      hint: 'the Helm repository server failed; try again later or check its logs',
    })
  }

  /** Download and parse index.yaml (cached after the first call; pass refresh to re-read). */
  async fetchIndex(options: {refresh?: boolean; signal?: AbortSignal} = {}): Promise<RepoIndex> {
    if (this.index && !options.refresh) return this.index
    const bytes = await this.get(this.indexUrl, 'Helm repository index', this.options.maxIndexBytes ?? DEFAULT_MAX, options.signal)
    this.index = parseRepoIndex(bytes.toString('utf8'), display(this.indexUrl))
    return this.index
  }

  /** Find a chart version: exact, semver range, or empty for the newest stable version. */
  async resolveChart(name: string, versionOrConstraint?: string, signal?: AbortSignal): Promise<IndexEntry> {
    const index = await this.fetchIndex(signal ? {signal} : {})
    return resolveIndexEntry(index, name, versionOrConstraint, this.url)
  }

  /** Absolute URL of a chart entry (relative URLs resolve against the repository URL + "/"). */
  chartUrl(entry: IndexEntry): string {
    const first = entry.urls[0]
    if (!first) throw new NotFoundError(`chart ${entry.name}@${entry.version} in ${this.url} has no download URL`, {hint: 'the repository index is incomplete'})
    const url = new URL(first, `${this.url}/`)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new UsageError(`chart ${entry.name}@${entry.version} in ${this.url} has the download URL ${url.protocol}//${url.host}${url.pathname}; airgap downloads charts only over http(s)`, {
        hint: 'fix the urls of this entry in the repository index.yaml (an http(s) URL, or a path relative to the repository)',
      })
    }
    return url.toString()
  }

  /** Download a chart archive and check it against the index digest when the index has one. */
  async downloadChart(entry: IndexEntry, signal?: AbortSignal): Promise<DownloadedChart> {
    const url = this.chartUrl(entry)
    const bytes = await this.get(url, `chart ${entry.name}@${entry.version}`, this.options.maxChartBytes ?? DEFAULT_MAX, signal)
    const digest = digestOf(bytes)
    if (entry.digest !== undefined) {
      const want = indexDigest(entry.digest)
      if (want === undefined) {
        throw new IntegrityError(`chart ${entry.name}@${entry.version} in ${this.url}: index digest "${entry.digest}" is not a sha256 digest`, {
          hint: 'regenerate the repository index (helm repo index)',
        })
      }
      if (want !== digest) {
        throw new IntegrityError(`chart ${entry.name}@${entry.version} from ${display(url)} has digest ${digest}, but the index says ${want}`, {
          hint: 'the chart file or the repository index was changed or damaged; regenerate the index or re-upload the chart',
        })
      }
    }
    return {entry, bytes, url: display(url), digest}
  }

  /** resolveChart + downloadChart. */
  async pullChart(name: string, versionOrConstraint?: string, signal?: AbortSignal): Promise<DownloadedChart> {
    return this.downloadChart(await this.resolveChart(name, versionOrConstraint, signal), signal)
  }

  /** Release the HTTP client when this repository created it. */
  async close(): Promise<void> {
    if (this.ownsHttp) await this.http.close()
  }
}
