/**
 * Publishing chart archives into classic Helm repositories, chosen by URL scheme:
 *  - `http(s)://…`  servers that take uploads with HTTP PUT (nginx WebDAV, Nexus, Artifactory):
 *                   PUT the .tgz, then fetch, merge and PUT index.yaml unless the server already
 *                   lists the chart (servers that build their index themselves);
 *  - `chartmuseum+http(s)://…`  ChartMuseum API: POST /api/charts (409 with the same digest is fine);
 *  - `file:///path` a static repository folder (atomic writes of the .tgz and the merged index.yaml).
 * (`oci://` is handled by the push use case with the copy engine.) A chart version already present
 * with another digest is refused; nothing here logs or stores credentials.
 */
import {randomBytes} from 'node:crypto'
import {mkdir, readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {AuthError, IntegrityError, NotFoundError, RegistryError, UnsupportedError, UsageError} from '../errors.js'
import {writeFileAtomic} from '../files/atomic-write.js'
import type {HttpClient, HttpResponse} from '../http/client.js'
import {digestOf} from '../oci/digest.js'
import {indexDigest, indexEntryFor, mergeIndex, parseRepoIndex} from './repo-index.js'
import {chartFileName} from './load.js'
import {repositoryUrls} from './repository.js'
import type {ChartMetadata} from './types.js'
import {safeUrl} from '../http/safe-url.js'

export type HelmRepoKind = 'oci' | 'http' | 'chartmuseum' | 'file'

/** Which publisher a `--helm-repo` URL selects; UsageError for anything else. */
export function helmRepoKind(url: string): HelmRepoKind {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase()
  if (scheme === 'oci') return 'oci'
  if (scheme === 'http' || scheme === 'https') return 'http'
  if (scheme === 'chartmuseum+http' || scheme === 'chartmuseum+https') return 'chartmuseum'
  if (scheme === 'file') return 'file'
  throw new UsageError(`unsupported --helm-repo "${safeUrl(url)}"`, {
    hint: 'use oci://HOST/PATH, https://HOST/PATH (PUT uploads), chartmuseum+https://HOST or file:///PATH',
  })
}

/** A chart ready to publish. */
export interface ChartPackage {
  name: string
  version: string
  tgz: Buffer
  /** Chart.yaml metadata (from the artifact's config). */
  metadata: ChartMetadata
}

export interface HelmAuth {
  username?: string
  password?: string
  /** Sent as `Authorization: Bearer` (wins over username/password). */
  token?: string
}

export interface PublishResult {
  /** Repository base URL clients use (no credentials). */
  repoUrl: string
  /** False when the repository already held this exact chart. */
  uploaded: boolean
}

export interface ChartPublisher {
  /** Repository URL without credentials. */
  readonly url: string
  publish(chart: ChartPackage, signal?: AbortSignal): Promise<PublishResult>
}

export interface PublisherOptions {
  http: HttpClient
  auth?: HelmAuth
  /** Clock for index `created`/`generated` (tests). */
  now?: () => Date
}

/** The publisher for a classic repository URL (not oci://). */
export function openChartPublisher(url: string, opts: PublisherOptions): ChartPublisher {
  const kind = helmRepoKind(url)
  if (kind === 'http') return new HttpPutPublisher(url, opts)
  if (kind === 'chartmuseum') return new ChartMuseumPublisher(url.replace(/^chartmuseum\+/i, ''), opts)
  if (kind === 'file') return new FolderPublisher(url, opts)
  throw new UsageError(`${safeUrl(url)} is an OCI registry, not a classic Helm repository`, {hint: 'this is a bug in airgap: please report it'})
}

/** `Authorization` for the repository: bearer token, else basic auth, else nothing. */
function authHeaders(a: HelmAuth | undefined): Record<string, string> {
  if (a?.token) return {authorization: `Bearer ${a.token}`}
  if (a?.username !== undefined || a?.password !== undefined) {
    return {authorization: `Basic ${Buffer.from(`${a.username ?? ''}:${a.password ?? ''}`).toString('base64')}`}
  }
  return {}
}

const now = (opts: PublisherOptions): string => (opts.now?.() ?? new Date()).toISOString()

/** The index entry of `chart` in `indexYaml`, if listed. */
function listed(indexYaml: string | undefined, chart: ChartPackage, where: string): {digest?: string} | undefined {
  if (!indexYaml?.trim()) return undefined
  const entry = parseRepoIndex(indexYaml, where).entries.get(chart.name)?.find((e) => e.version === chart.version)
  if (!entry) return undefined
  const d = indexDigest(entry.digest)
  return d ? {digest: d} : {}
}

/** Already there with the same digest → true; with another digest → IntegrityError; absent → false. */
function alreadyPublished(found: {digest?: string} | undefined, chart: ChartPackage, where: string): boolean {
  if (!found) return false
  const want = digestOf(chart.tgz)
  if (found.digest === undefined || found.digest === want) return found.digest === want
  throw new IntegrityError(`${where} already has chart ${chart.name}@${chart.version} with digest ${found.digest}, but the bundle's is ${want}`, {
    hint: 'chart versions are immutable: remove the old one from the repository or bump the chart version',
  })
}

// ---- HTTP PUT (WebDAV, Nexus, Artifactory) ------------------------------------------------------

/** A publisher that talks HTTP to a repository base URL (credentials never shown in `url`). */
abstract class HttpPublisher implements ChartPublisher {
  readonly url: string
  protected readonly base: string

  constructor(url: string, protected readonly opts: PublisherOptions) {
    this.base = repositoryUrls(url).base
    this.url = safeUrl(this.base)
  }

  abstract publish(chart: ChartPackage, signal?: AbortSignal): Promise<PublishResult>
}

class HttpPutPublisher extends HttpPublisher {

  async publish(chart: ChartPackage, signal?: AbortSignal): Promise<PublishResult> {
    const file = chartFileName(chart)
    const indexUrl = `${this.base}/index.yaml`
    const before = await this.getOptional(indexUrl, signal)
    if (alreadyPublished(listed(before, chart, this.url), chart, this.url)) return {repoUrl: this.url, uploaded: false}
    await this.send('PUT', `${this.base}/${file}`, chart.tgz, 'application/gzip', signal)
    // Servers that build index.yaml themselves (Nexus, Artifactory) list the chart by now.
    const after = await this.getOptional(indexUrl, signal)
    if (alreadyPublished(listed(after, chart, this.url), chart, this.url)) return {repoUrl: this.url, uploaded: true}
    const time = now(this.opts)
    const merged = mergeIndex(after, [indexEntryFor(chart.metadata, chart.tgz, file, time)], time)
    await this.putIndex(merged, signal)
    return {repoUrl: this.url, uploaded: true}
  }

  /** PUT index.yaml atomically where the server supports WebDAV MOVE; a plain PUT otherwise. */
  private async putIndex(text: string, signal?: AbortSignal): Promise<void> {
    const body = Buffer.from(text, 'utf8')
    const target = `${this.base}/index.yaml`
    const tmp = `${this.base}/.index.yaml.${randomBytes(4).toString('hex')}.tmp`
    await this.send('PUT', tmp, body, 'application/x-yaml', signal)
    const moved = await this.request('MOVE', tmp, undefined, undefined, {destination: target, overwrite: 'T'}, signal)
    await moved.dump()
    if (moved.status === 201 || moved.status === 204) return
    const del = await this.request('DELETE', tmp, undefined, undefined, {}, signal).catch(() => undefined)
    await del?.dump()
    await this.send('PUT', target, body, 'application/x-yaml', signal)
  }

  private request(method: string, url: string, body: Buffer | undefined, type: string | undefined, headers: Record<string, string>, signal?: AbortSignal): Promise<HttpResponse> {
    return this.opts.http.request({
      method,
      url,
      headers: {...authHeaders(this.opts.auth), ...(type ? {'content-type': type} : {}), ...headers},
      body,
      signal,
    })
  }

  private async send(method: string, url: string, body: Buffer, type: string, signal?: AbortSignal): Promise<void> {
    const res = await this.request(method, url, body, type, {}, signal)
    if (res.status >= 200 && res.status < 300) return res.dump()
    throw await httpFailure(res, `${method} ${safeUrl(url)}`, this.url)
  }

  private async getOptional(url: string, signal?: AbortSignal): Promise<string | undefined> {
    const res = await this.request('GET', url, undefined, undefined, {accept: '*/*'}, signal)
    if (res.status === 404) {
      await res.dump()
      return undefined
    }
    if (res.status !== 200) throw await httpFailure(res, `GET ${safeUrl(url)}`, this.url)
    return res.text(64 * 1024 * 1024, 'whole')
  }
}

/** One-line error for a failed Helm repository request (no credentials, short server detail). */
export async function httpFailure(res: HttpResponse, what: string, repo: string): Promise<Error> {
  const detail = (await res.text(512).catch(() => '')).split('\n')[0]?.trim().slice(0, 200) ?? ''
  const host = new URL(res.url).host
  if (res.status === 401 || res.status === 403) {
    return new AuthError({registry: host, reference: repo}, `HTTP ${res.status} on ${what}`, {
      hint: `check --helm-username/--helm-password (AIRGAP_HELM_USERNAME/AIRGAP_HELM_PASSWORD) or --helm-token for ${repo}`,
    })
  }
  if (res.status === 405 || res.status === 501) {
    return new UnsupportedError(`${repo} does not accept ${what.split(' ')[0]} (HTTP ${res.status})`, {
      hint: 'this server takes no HTTP uploads here: use chartmuseum+https://, oci:// or a WebDAV/Nexus/Artifactory upload URL',
    })
  }
  if (res.status === 404) return new NotFoundError(`${what}: HTTP 404 at ${repo}`, {hint: 'check the Helm repository URL'})
  return new RegistryError({registry: host, reference: repo}, res.status, [], `${what}${detail ? `: ${detail}` : ''}`, {
    hint: 'the Helm repository server failed; check its logs, then run the push again',
  })
}

// ---- ChartMuseum --------------------------------------------------------------------------------

class ChartMuseumPublisher extends HttpPublisher {

  async publish(chart: ChartPackage, signal?: AbortSignal): Promise<PublishResult> {
    const res = await this.opts.http.request({
      method: 'POST',
      url: `${this.base}/api/charts`,
      headers: {...authHeaders(this.opts.auth), 'content-type': 'application/gzip'},
      body: chart.tgz,
      signal,
    })
    if (res.status === 201 || res.status === 200) {
      await res.dump()
      return {repoUrl: this.url, uploaded: true}
    }
    if (res.status !== 409) throw await httpFailure(res, `POST ${this.url}/api/charts`, this.url)
    await res.dump()
    const info = await this.opts.http.request({
      method: 'GET',
      url: `${this.base}/api/charts/${encodeURIComponent(chart.name)}/${encodeURIComponent(chart.version)}`,
      headers: {...authHeaders(this.opts.auth), accept: 'application/json'},
      signal,
    })
    if (info.status !== 200) throw await httpFailure(info, `GET ${this.url}/api/charts/${chart.name}/${chart.version}`, this.url)
    const existing = JSON.parse(await info.text(undefined, 'whole')) as {digest?: unknown}
    const digest = typeof existing.digest === 'string' ? indexDigest(existing.digest) : undefined
    alreadyPublished(digest ? {digest} : {}, chart, this.url)
    return {repoUrl: this.url, uploaded: false}
  }
}

// ---- Static folder (file://) ----------------------------------------------------------------------

class FolderPublisher implements ChartPublisher {
  readonly url: string
  private readonly dir: string

  constructor(url: string, private readonly opts: PublisherOptions) {
    try {
      this.dir = fileURLToPath(url)
    } catch (err) {
      throw new UsageError(`invalid --helm-repo "${url}": ${(err as Error).message}`, {hint: 'write it as file:///absolute/path', cause: err})
    }
    this.url = `file://${this.dir.replace(/\/+$/, '')}`
  }

  async publish(chart: ChartPackage): Promise<PublishResult> {
    await mkdir(this.dir, {recursive: true})
    const indexFile = join(this.dir, 'index.yaml')
    const existing = await readFile(indexFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined
      throw err
    })
    const file = chartFileName(chart)
    const present = await readFile(join(this.dir, file)).catch(() => undefined)
    const found = listed(existing, chart, indexFile)
    if (alreadyPublished(found, chart, indexFile) && present && digestOf(present) === digestOf(chart.tgz)) return {repoUrl: this.url, uploaded: false}
    await writeFileAtomic(join(this.dir, file), chart.tgz, {mode: 0o644})
    const time = now(this.opts)
    await writeFileAtomic(indexFile, mergeIndex(existing, [indexEntryFor(chart.metadata, chart.tgz, file, time)], time), {mode: 0o644})
    return {repoUrl: this.url, uploaded: true}
  }
}
