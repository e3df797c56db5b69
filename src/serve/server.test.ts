/** startServer over a MemoryTarget (any ReadOnlyTarget & TagLister): the generic code paths. */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {parse as parseYaml} from 'yaml'
import {MemoryTarget} from '../content/memory.js'
import {UsageError} from '../errors.js'
import {loadInto, makeHelmChart, makeImage, type GeneratedChart, type GeneratedImage} from '../../test/support/images.js'
import {parseAddr, startServer, type RunningServer} from './server.js'

let server: RunningServer
let img: GeneratedImage
let chart: GeneratedChart
const target = new MemoryTarget()

beforeAll(async () => {
  img = await makeImage({seed: 'serve-unit', layers: 1})
  chart = await makeHelmChart({name: 'demo', version: '1.2.3'})
  await loadInto(target, img, 'registry.example/team/img:7')
  await loadInto(target, chart, 'charts.example/demo:1.2.3')
  server = await startServer({store: target, addr: '127.0.0.1:0', fixedTime: new Date('2025-01-02T03:04:05Z')})
})
afterAll(async () => server?.close())

describe('startServer over a generic target', () => {
  it('serves a range of a blob by slicing the verified stream', async () => {
    const layer = img.layers[0]!
    const res = await fetch(`${server.url}/v2/team/img/blobs/${layer.descriptor.digest}`, {headers: {range: 'bytes=3-8'}})
    expect(res.status).toBe(206)
    expect(Buffer.from(await res.arrayBuffer()).equals(layer.bytes.subarray(3, 9))).toBe(true)
  })

  it('builds the Helm index with the fixed time for charts that carry a created annotation or not', async () => {
    const index = parseYaml(await (await fetch(`${server.url}/charts/index.yaml`)).text()) as {generated: string; entries: Record<string, unknown[]>}
    expect(index.generated).toBe('2025-01-02T03:04:05.000Z')
    expect(index.entries.demo).toHaveLength(1)
    expect(await server.counts()).toEqual({images: 1, charts: 1})
  })

  it('answers unknown paths with 404 saying where the registry and the Helm repository are', async () => {
    const res = await fetch(`${server.url}/nothing`)
    expect(res.status).toBe(404)
    expect(await res.text()).toMatch(/registry is at \/v2\/.*\/charts\/index\.yaml/)
  })

  it('refuses writable mode on anything but a layout', async () => {
    await expect(startServer({store: target, writable: true, addr: '127.0.0.1:0'})).rejects.toThrow(UsageError)
  })
})

describe('parseAddr', () => {
  it('parses host:port, [v6]:port and :port', () => {
    expect(parseAddr('127.0.0.1:5000')).toEqual({host: '127.0.0.1', port: 5000})
    expect(parseAddr('[::1]:0')).toEqual({host: '::1', port: 0})
    expect(parseAddr(':8080')).toEqual({host: '0.0.0.0', port: 8080})
    expect(() => parseAddr('5000')).toThrow(/invalid listen address/)
    expect(() => parseAddr('h:99999')).toThrow(UsageError)
  })
})
