import {readFileSync} from 'node:fs'
import {createServer} from 'node:http'
import type {AddressInfo} from 'node:net'
import {inspect} from 'node:util'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {AuthError, NetworkError, NotFoundError, SpecError} from '../errors.js'
import {parseChannelResponse} from './channel.js'
import {createHttpClient} from '../http/client.js'
import {channelUrl, fetchChannel as fetchChannelWith} from './channel-fetch.js'
import {parseSpec} from './parse.js'
import {redactSpec, specForBundle} from './redact.js'
import {Secret} from './types.js'

const example = readFileSync(new URL('../../manifests/wandb-channel-example.json', import.meta.url), 'utf8')

function specError(fn: () => unknown): SpecError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError)
    return err as SpecError
  }
  throw new Error('expected a SpecError')
}

describe('parseChannelResponse', () => {
  it('turns the example channel response into a spec with the operator chart and controller image', () => {
    const spec = parseChannelResponse(example, 'wandb-channel-example.json', {operatorVersion: '1.4.8', controllerTag: '1.22.0'})
    expect(spec.metadata).toEqual({name: 'wandb', version: '0.74.1', annotations: {version: '0.74.1', releaseId: '2025-11-18-0.74.1', channel: 'stable'}})
    const [platform, operator] = spec.spec.charts
    expect(platform).toMatchObject({type: 'repo', repo: 'https://charts.wandb.ai', name: 'operator-wandb', version: '0.43.8'})
    expect((platform!.set.app as {image: unknown}).image).toEqual({repository: 'wandb/local', tag: '0.74.1'})
    expect(operator).toEqual({type: 'repo', repo: 'https://charts.wandb.ai', name: 'operator', version: '1.4.8', values: [], set: {}})
    expect(spec.spec.images).toEqual(['docker.io/wandb/controller:1.22.0'])
    expect(spec.spec.includeDisabled).toBe(true)
  })

  it('can leave the operator out', () => {
    const spec = parseChannelResponse(JSON.parse(example), 'channel', {includeOperator: false})
    expect(spec.spec.charts).toHaveLength(1)
    expect(spec.spec.images).toEqual([])
  })

  it('picks the chart type in the operator order: local, then OCI, then repo', () => {
    const local = parseChannelResponse({chart: {path: '/charts/operator-wandb', url: 'https://x.example', name: 'n'}}, 'c', {includeOperator: false})
    expect(local.spec.charts[0]).toEqual({type: 'path', path: '/charts/operator-wandb', values: [], set: {}})
    const oci = parseChannelResponse({chart: {url: 'oci://ghcr.io/wandb/helm-charts/operator-wandb:0.41.3', plainHTTP: true}}, 'c')
    expect(oci.spec.charts).toEqual([
      {type: 'oci', oci: 'oci://ghcr.io/wandb/helm-charts/operator-wandb', version: '0.41.3', plainHttp: true, values: [], set: {}},
      {type: 'oci', oci: 'oci://ghcr.io/wandb/helm-charts/operator', values: [], set: {}},
    ])
    const latest = parseChannelResponse({chart: {url: 'https://charts.wandb.ai', name: 'operator-wandb'}}, 'c', {includeOperator: false})
    expect(latest.spec.charts[0]).toEqual({type: 'repo', repo: 'https://charts.wandb.ai', name: 'operator-wandb', values: [], set: {}})
    // the stub of the operator's own unit test
    const stub = parseChannelResponse('{"metadata":{"version":"1.0.0"},"values":{"key":"value"},"chart":{"type":"local","path":"test-path"}}', 'stub')
    expect(stub.spec.charts[0]).toMatchObject({type: 'path', path: 'test-path', set: {key: 'value'}})
  })

  it('keeps chart credentials in memory only', () => {
    const spec = parseChannelResponse({chart: {url: 'https://charts.example', name: 'operator-wandb', version: '0.43.8', username: 'robot', password: 's3cr3t-pw'}, values: {global: {license: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln'}}}, 'c')
    const auth = spec.spec.charts[0]!.auth!
    expect(auth.username).toBe('robot')
    expect(auth.password).toBeInstanceOf(Secret)
    expect(auth.password!.reveal()).toBe('s3cr3t-pw')
    expect(JSON.stringify(spec)).not.toContain('s3cr3t-pw')
    expect(inspect(spec, {depth: 10})).not.toContain('s3cr3t-pw')
    const stored = specForBundle(spec)
    expect(stored).not.toContain('s3cr3t-pw')
    expect(stored).not.toContain('eyJhbGciOiJIUzI1NiJ9')
    expect(stored).toContain('username: robot')
    expect(stored).toContain('name: operator-wandb')
  })

  it('reports invalid responses with the field path', () => {
    expect(specError(() => parseChannelResponse({values: {}}, 'https://deploy.example/api/v1/operator/channel')).message).toBe(
      'https://deploy.example/api/v1/operator/channel: (document): missing required field "chart"',
    )
    expect(specError(() => parseChannelResponse({chart: {url: 'ftp://x', name: 'a'}}, 'c')).message).toMatch(/^c: chart\.url: unsupported URL scheme "ftp:"/)
    expect(specError(() => parseChannelResponse({chart: {url: 'https://x.example'}}, 'c')).message).toMatch(/chart\.name: expected a chart name, got null/)
    expect(specError(() => parseChannelResponse({chart: {}}, 'c')).message).toMatch(/chart: expected a local chart \{path\}/)
    expect(specError(() => parseChannelResponse({chart: {url: 'oci://ghcr.io/x/y'}}, 'c')).message).toMatch(/chart\.version: an OCI chart needs a version/)
    expect(specError(() => parseChannelResponse('{"chart": {"url": "https://x.example", "name": "a", "version": 1.2, "extra": 1}}', 'ch.json')).message).toMatch(
      /^ch\.json:1:69: chart\.extra: unknown field "extra"/,
    )
    expect(specError(() => parseChannelResponse('{"chart": ', 'ch.json')).message).toMatch(/^ch\.json:1:\d+: YAML syntax error/)
  })
})

describe('the spec stored in bundles parses back (specForBundle -> parseSpec)', () => {
  const withoutVersion = (() => {
    const j = JSON.parse(example) as {chart: Record<string, unknown>}
    delete j.chart.version
    return j
  })()
  const oci = {...(JSON.parse(example) as object), chart: {url: 'oci://ghcr.io/wandb/helm-charts/operator-wandb', version: '0.43.8'}}
  const cases: Array<[string, unknown, Parameters<typeof parseChannelResponse>[2]]> = [
    ['the example channel; operator chart version left to the pull', example, {}],
    ['the example channel with operator version and controller tag pinned', example, {operatorVersion: '1.4.8', controllerTag: '1.22.0'}],
    ['a channel that leaves the platform chart version empty (latest)', withoutVersion, {}],
    ['an OCI channel; operator chart version left to the pull', oci, {}],
    ['an OCI channel with the operator version pinned', oci, {operatorVersion: '1.4.8'}],
  ]

  it.each(cases)('%s', (_name, response, options) => {
    const spec = parseChannelResponse(response, 'https://deploy.example/api/v1/operator/channel', options)
    const again = parseSpec(specForBundle(spec), '/bundle/airgap/spec.yaml')
    expect(again.spec).toEqual(spec.spec)
    expect(again.metadata).toEqual(spec.metadata)
    expect(again.spec.charts.map((c) => (c.type === 'path' ? undefined : c.version))).toEqual(spec.spec.charts.map((c) => (c.type === 'path' ? undefined : c.version)))
  })

  it('keeps a missing version missing, and a pinned one pinned', () => {
    const stored = parseSpec(specForBundle(parseChannelResponse(withoutVersion, 'c')), '/b/spec.yaml')
    expect(stored.spec.charts.map((c) => [c.type === 'repo' ? c.name : '', 'version' in c])).toEqual([
      ['operator-wandb', false],
      ['operator', false],
    ])
    const pinned = parseSpec(specForBundle(parseChannelResponse(example, 'c', {operatorVersion: '1.4.8'})), '/b/spec.yaml')
    expect(pinned.spec.charts.map((c) => (c.type === 'repo' ? `${c.name}@${c.version}` : c.type))).toEqual(['operator-wandb@0.43.8', 'operator@1.4.8'])
  })
})

describe('redactSpec', () => {
  it('removes secret values, JWTs, private keys and URL credentials, keeping references and comments', () => {
    const text = [
      '# my spec',
      'global:',
      '  license: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
      '  licenseSecret: {name: wandb-license, key: license}',
      'kafka:',
      '  sasl:',
      '    interbroker: {password: "inter-broker"}',
      '    client: {passwords: [a, b]}',
      '  existingSecret: "{{ include \\"x\\" . }}"',
      'auth: {password: "{{ .Values.pw }}", token: "", passwordEnv: CHARTS_PASSWORD}',
      'repo: https://user:pw@charts.example/x',
      'note: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln',
      'key: |',
      '  -----BEGIN RSA PRIVATE KEY-----',
      '  abc',
      '  -----END RSA PRIVATE KEY-----',
      'apiKey: 12345',
      '',
    ].join('\n')
    const out = redactSpec(text)
    expect(out).toContain('# my spec')
    expect(out).not.toContain('eyJ')
    expect(out).not.toContain('inter-broker')
    expect(out).not.toMatch(/passwords/)
    expect(out).not.toContain('PRIVATE KEY')
    expect(out).not.toContain('12345')
    expect(out).not.toContain('user:pw@')
    expect(out).toContain('repo: https://charts.example/x')
    expect(out).toContain('licenseSecret: { name: wandb-license, key: license }')
    expect(out).toContain('passwordEnv: CHARTS_PASSWORD')
    expect(out).toContain('password: "{{ .Values.pw }}"') // a template, not a secret
  })
})

describe('fetchChannel against a local node:http test double of the W&B deploy server (it cannot run here)', () => {
  const LICENSE = 'eyJhbGciOiJSUzI1NiJ9.eyJsaWNlbnNlIjoidGVzdCJ9.c2lnbmF0dXJl'
  let base: string
  let other: string
  /** Requests the other host (a redirect target) received, with any authorization they carried. */
  const elsewhere: Array<{url: string; authorization?: string}> = []
  const otherServer = createServer((req, res) => {
    elsewhere.push(req.headers.authorization ? {url: req.url ?? '', authorization: req.headers.authorization} : {url: req.url ?? ''})
    res.writeHead(401).end()
  })
  const seen: Array<{url: string; authorization?: string}> = []
  const server = createServer((req, res) => {
    seen.push({url: req.url ?? '', ...(req.headers.authorization ? {authorization: req.headers.authorization} : {})})
    const expected = `Basic ${Buffer.from(`license:${LICENSE}`).toString('base64')}`
    if (req.headers.authorization !== expected) {
      res.writeHead(401, {'content-type': 'application/json'}).end(`{"error":"bad license ${req.headers.authorization ?? ''}"}`)
    } else if (req.url === '/api/v1/operator/channel') {
      res.writeHead(200, {'content-type': 'application/json'}).end(example)
    } else if (req.url === '/api/v1/operator/channel/release/r-42') {
      res.writeHead(200, {'content-type': 'application/json'}).end('{"chart":{"url":"https://charts.wandb.ai","name":"operator-wandb","version":"0.40.0"}}')
    } else if (req.url?.startsWith('/broken/')) {
      res.writeHead(200, {'content-type': 'text/html'}).end('<html>proxy login</html>')
    } else if (req.url?.startsWith('/elsewhere/')) {
      res.writeHead(302, {location: `${other}/api/v1/operator/channel`}).end()
    } else if (req.url?.startsWith('/busy/')) {
      res.writeHead(503).end()
    } else {
      res.writeHead(404).end()
    }
  })

  const http = createHttpClient({retry: {retries: 0}})
  const fetchChannel = (opts: Omit<Parameters<typeof fetchChannelWith>[0], 'http'>) => fetchChannelWith({...opts, http})

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    await new Promise<void>((resolve) => otherServer.listen(0, '127.0.0.2', resolve))
    other = `http://127.0.0.2:${(otherServer.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await http.close()
    await new Promise((resolve) => server.close(resolve))
    await new Promise((resolve) => otherServer.close(resolve))
  })

  it('GETs the channel with HTTP Basic user "license" and parses it', async () => {
    const doc = await fetchChannel({url: `${base}/`, license: LICENSE})
    expect(doc.origin).toBe(`${base}/api/v1/operator/channel`)
    expect(seen.at(-1)).toEqual({url: '/api/v1/operator/channel', authorization: `Basic ${Buffer.from(`license:${LICENSE}`).toString('base64')}`})
    const spec = parseChannelResponse(doc.body, doc.origin)
    expect(spec.spec.charts[0]).toMatchObject({name: 'operator-wandb', version: '0.43.8'})
  })

  it('GETs a pinned release', async () => {
    const doc = await fetchChannel({url: base, release: 'r-42', license: LICENSE})
    expect(parseChannelResponse(doc.body, doc.origin).spec.charts[0]).toMatchObject({version: '0.40.0'})
  })

  it('fails clearly without the licence in the message', async () => {
    const wrong = await fetchChannel({url: base, license: 'not-the-license-value'}).catch((e: unknown) => e)
    expect(wrong).toBeInstanceOf(AuthError)
    expect(String((wrong as Error).message)).toMatch(/HTTP 401 from the deploy server/)
    expect(JSON.stringify({m: (wrong as Error).message, h: (wrong as AuthError).hint})).not.toContain('not-the-license-value')

    const missing = await fetchChannel({url: base, release: 'nope', license: LICENSE}).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(NotFoundError)
    expect((missing as Error).message).toBe(`release "nope" not found at ${base}/api/v1/operator/channel/release/nope (HTTP 404)`)

    const busy = await fetchChannel({url: `${base}/busy`, license: LICENSE}).catch((e: unknown) => e)
    expect((busy as Error).message).toBe(`the W&B deploy server answered HTTP 503 for ${base}/busy/api/v1/operator/channel`)

    const html = await fetchChannel({url: `${base}/broken`, license: LICENSE}).catch((e: unknown) => e)
    expect(html).toBeInstanceOf(SpecError)
    expect((html as Error).message).toMatch(/channel response is not JSON/)

    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const down = await fetchChannel({url: `http://127.0.0.1:${port}`, license: LICENSE}).catch((e: unknown) => e)
    expect(down).toBeInstanceOf(NetworkError)
    expect((down as Error).message).toBe(`cannot reach the W&B deploy server at http://127.0.0.1:${port}/api/v1/operator/channel: ECONNREFUSED`)
    expect((down as Error).message).not.toContain(LICENSE)
  })

  it('a redirect to another host gets no licence (it is bound to the deploy server\'s origin)', async () => {
    const doc = await fetchChannel({url: `${base}/elsewhere`, license: LICENSE}).catch((e: unknown) => e)
    expect(doc).toBeInstanceOf(AuthError)
    expect(elsewhere).toEqual([{url: '/api/v1/operator/channel'}])
  })

  it('refuses bad base URLs and a missing licence before any request', async () => {
    expect(() => channelUrl('ftp://x')).toThrow(SpecError)
    expect(() => channelUrl('https://u:p@deploy.example')).toThrow(/must not contain credentials/)
    expect(channelUrl('https://deploy.example/base/', 'a b')).toBe('https://deploy.example/base/api/v1/operator/channel/release/a%20b')
    const before = seen.length
    await expect(fetchChannel({url: base, license: ''})).rejects.toThrow(/no W&B licence given/)
    expect(seen.length).toBe(before)
  })
})
