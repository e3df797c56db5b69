/**
 * Malformed requests to `airgap serve` (issue 15, class 8): each one is sent as raw bytes to a real
 * server (a bundle, read-only, and a writable layout) and must get a 4xx answer, never a 500 or a
 * dropped connection, and the server must go on answering. The table in docs/RELIABILITY.md
 * ("airgap serve") lists these cases.
 */
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {startServer, type RunningServer} from '../../src/serve/index.js'
import {BundleReader} from '../../src/bundle/index.js'
import {OciLayout} from '../../src/layout/index.js'
import {MediaType} from '../../src/oci/types.js'
import {buildServeBundle, rawStatus, type ServeFixture} from './serve-support.js'

let dir: string
let fx: ServeFixture
let reader: BundleReader
let bundleServer: RunningServer
let layoutServer: RunningServer
const errors: string[] = []

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'airgap-serve-hostile-'))
  fx = await buildServeBundle(join(dir, 'bundle.tar'))
  reader = await BundleReader.open(fx.path)
  const onError = (err: unknown, r: {method: string; path: string}): void => {
    errors.push(`${r.method} ${r.path}: ${String(err)}`)
  }
  bundleServer = await startServer({store: reader, addr: '127.0.0.1:0', onError})
  layoutServer = await startServer({store: await OciLayout.open(join(dir, 'layout'), {create: true}), writable: true, addr: '127.0.0.1:0', onError})
})

afterAll(async () => {
  await bundleServer?.close()
  await layoutServer?.close()
  await reader?.close()
  if (dir) await rm(dir, {recursive: true, force: true})
})

const layer = (): string => fx.app.layers[0]!.descriptor.digest
const get = (target: string, headers: string[] = []): string => [`GET ${target} HTTP/1.1`, 'Host: serve', ...headers].join('\r\n')
const put = (target: string, body: string, type: string = MediaType.OciManifest): [string, string] => [
  [`PUT ${target} HTTP/1.1`, 'Host: serve', `Content-Type: ${type}`, `Content-Length: ${Buffer.byteLength(body)}`].join('\r\n'),
  body,
]

/** [what, request head (+ body), allowed statuses]. */
const READ_CASES: Array<[string, string | [string, string], number[]]> = [
  ['malformed percent-encoding in a repository name', get('/v2/acme%ZZ/app/tags/list'), [400]],
  ['malformed percent-encoding in a manifest reference', get('/v2/acme/app/manifests/%E0%A4%A'), [400]],
  ['malformed percent-encoding under /charts', get('/charts/%ZZ.tgz'), [400]],
  ['absolute-form target that is not a URL', get('http://[x/v2/'), [400]],
  ['absolute-form target with a valid URL', get('http://serve.example/v2/'), [200]],
  ['asterisk-form target', 'OPTIONS * HTTP/1.1\r\nHost: serve', [400, 404, 405]],
  ['header block over 16 KiB', get('/v2/', [`X-Junk: ${'a'.repeat(20_000)}`]), [431]],
  ['invalid blob digest', get('/v2/acme/app/blobs/sha256:zz'), [400]],
  ['unknown digest algorithm', get(`/v2/acme/app/blobs/md5:${'a'.repeat(32)}`), [400]],
  ['invalid digest as a manifest reference', get('/v2/acme/app/manifests/sha256:1234'), [400]],
  ['tag starting with a dash', get('/v2/acme/app/manifests/-1'), [400]],
  ['tag of 129 characters', get(`/v2/acme/app/manifests/${'t'.repeat(129)}`), [400]],
  ['repository name with upper case', get('/v2/Acme/app/tags/list'), [400]],
  ['repository name of 300 characters', get(`/v2/${'a'.repeat(300)}/tags/list`), [400]],
  ['range with letters (ignored: whole blob)', '', [200]],
  ['range starting past 2^53', '', [416]],
  ['range ending past 2^53', '', [206]],
  ['multi-range (ignored: whole blob)', '', [200]],
  ['empty suffix range bytes=-0', '', [416]],
  ['reversed range (ignored: whole blob)', '', [200]],
  ['pagination n that is not a number, and huge', get('/v2/_catalog?n=abc&last=%ZZ'), [200]],
  ['pagination n=1e30', get('/v2/_catalog?n=1000000000000000000000000000000'), [200]],
  ['Authorization garbage on a server without auth', get('/v2/', ['Authorization: Basic !!!!']), [200]],
  ['method not allowed on a manifest', ['DELETE /v2/acme/app/manifests/1 HTTP/1.1\r\nHost: serve', ''], [405]],
  ['push to the read-only server', put('/v2/acme/app/manifests/9', '{}'), [405]],
]

const RANGES: Record<string, string> = {
  'range with letters (ignored: whole blob)': 'bytes=abc-def',
  'range starting past 2^53': 'bytes=99999999999999999999999-',
  'range ending past 2^53': 'bytes=1-99999999999999999999999',
  'multi-range (ignored: whole blob)': 'bytes=0-1,5-6',
  'empty suffix range bytes=-0': 'bytes=-0',
  'reversed range (ignored: whole blob)': 'bytes=9-2',
}

describe('airgap serve: malformed requests get 4xx, never 500', () => {
  it.each(READ_CASES)('read-only bundle: %s', async (what, request, allowed) => {
    const [head, body] = typeof request === 'string' ? [request, ''] : request
    const range = RANGES[what]
    const status = await rawStatus(bundleServer.address, range ? get(`/v2/acme/app/blobs/${layer()}?ns=docker.io`, [`Range: ${range}`]) : head, body)
    expect(allowed, `${what}: got ${status}`).toContain(status)
  })

  const manifest = (body: unknown): string => (typeof body === 'string' ? body : JSON.stringify(body))
  const PUSH_CASES: Array<[string, [string, string], number[]]> = [
    ['manifest that is not JSON', put('/v2/team/app/manifests/1', '{"schemaVersion": 2,'), [400]],
    ['manifest that is JSON null', put('/v2/team/app/manifests/1', 'null'), [400]],
    ['manifest that is a JSON array', put('/v2/team/app/manifests/1', '[]'), [400]],
    ['manifest with config null and layers a string', put('/v2/team/app/manifests/1', manifest({schemaVersion: 2, mediaType: MediaType.OciManifest, config: null, layers: 'x'})), [400]],
    ['manifest with a layer digest that is not a digest', put('/v2/team/app/manifests/1', manifest({schemaVersion: 2, mediaType: MediaType.OciManifest, config: {mediaType: 'x', digest: 'nope', size: 1}, layers: []})), [400]],
    ['manifest with a negative size', put('/v2/team/app/manifests/1', manifest({schemaVersion: 2, mediaType: MediaType.OciManifest, config: {mediaType: 'x', digest: `sha256:${'a'.repeat(64)}`, size: -1}, layers: []})), [400]],
    ['index whose manifests is an object', put('/v2/team/app/manifests/1', manifest({schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: {}}), MediaType.OciIndex), [400]],
    ['manifest nested 100000 deep', put('/v2/team/app/manifests/1', `{"schemaVersion": 2, "x": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`), [400]],
    ['manifest with an unsupported media type', put('/v2/team/app/manifests/1', '{}', 'text/plain'), [400]],
    ['manifest over 4 MiB', put('/v2/team/app/manifests/1', `{"x":"${'a'.repeat(4 * 1024 * 1024)}"}`), [413]],
    ['manifest pushed under a digest reference that is not a digest', put('/v2/team/app/manifests/sha256:xyz', '{}'), [400]],
    ['final PUT of an upload without ?digest=', ['PUT /v2/team/app/blobs/uploads/00000000-0000-0000-0000-000000000000 HTTP/1.1\r\nHost: serve\r\nContent-Length: 0', ''], [404]],
    ['upload to an unknown session', ['PATCH /v2/team/app/blobs/uploads/nope HTTP/1.1\r\nHost: serve\r\nContent-Length: 3', 'abc'], [404]],
    ['single-POST upload with an invalid ?digest=', ['POST /v2/team/app/blobs/uploads/?digest=sha256:zz HTTP/1.1\r\nHost: serve\r\nContent-Length: 3', 'abc'], [400]],
    ['mount of an invalid digest (a new upload starts)', ['POST /v2/team/app/blobs/uploads/?mount=%ZZ&from=x HTTP/1.1\r\nHost: serve\r\nContent-Length: 0', ''], [202]],
    ['POST upload to an invalid name', ['POST /v2/team:x/app/blobs/uploads/ HTTP/1.1\r\nHost: serve\r\nContent-Length: 0', ''], [400]],
  ]

  it.each(PUSH_CASES)('writable layout: %s', async (what, [head, body], allowed) => {
    const status = await rawStatus(layoutServer.address, head, body)
    expect(allowed, `${what}: got ${status}`).toContain(status)
  })

  it('a PATCH whose Content-Range does not continue the upload gets 416, and the upload can go on', async () => {
    const start = await fetch(`${layoutServer.url}/v2/team/app/blobs/uploads/`, {method: 'POST'})
    const location = start.headers.get('location')!
    for (const range of ['5-9', 'abc', '0-', '-5', '99999999999999999999999-99999999999999999999999']) {
      const status = await rawStatus(layoutServer.address, [`PATCH ${location} HTTP/1.1`, 'Host: serve', `Content-Range: ${range}`, 'Content-Length: 3'].join('\r\n'), 'abc')
      expect([400, 416], `${range}: ${status}`).toContain(status)
    }
    expect((await fetch(`${layoutServer.url}${location}`)).status).toBe(204)
  })

  it('went on answering every request, and reported no unexpected error', async () => {
    expect((await fetch(`${bundleServer.url}/v2/`)).status).toBe(200)
    expect((await fetch(`${layoutServer.url}/v2/`)).status).toBe(200)
    expect((await fetch(`${bundleServer.url}/charts/index.yaml`)).status).toBe(200)
    expect(errors).toEqual([])
  })
})
