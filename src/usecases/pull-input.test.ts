import {mkdtemp, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {describe, expect, it} from 'vitest'
import {ExitCode, SpecError, UsageError} from '../errors.js'
import {parseReference} from '../oci/reference.js'
import {checkSpecInput, chartUserValues, isChannelResponse, loadReleaseSpec, mirroredReference, parseRegistryMirrors} from './pull-input.js'
import {checkDiskSpace} from './pull.js'

const via = (ref: string, flags: string[]): string => {
  const m = mirroredReference(parseReference(ref), parseRegistryMirrors(flags))
  return `${m.registry}/${m.repository}`
}

describe('pull inputs', () => {
  it('maps references through the longest matching mirror, Docker Hub library/ included', () => {
    const flags = ['docker.io=127.0.0.1:5000/dockerhub', 'docker.io/bitnami=mirror.corp:443/bitnami-legacy', 'quay.io=127.0.0.1:5000']
    expect(via('docker.io/wandb/local:1', flags)).toBe('127.0.0.1:5000/dockerhub/wandb/local')
    expect(via('busybox:1.36', flags)).toBe('127.0.0.1:5000/dockerhub/library/busybox')
    expect(via('bitnami/redis:7', flags)).toBe('mirror.corp:443/bitnami-legacy/redis')
    expect(via('docker.io/bitnamilegacy/redis:7', flags)).toBe('127.0.0.1:5000/dockerhub/bitnamilegacy/redis') // component-wise prefix
    expect(via('quay.io/prometheus/prometheus:v2', flags)).toBe('127.0.0.1:5000/prometheus/prometheus')
    expect(via('ghcr.io/stakater/reloader:v1', flags)).toBe('ghcr.io/stakater/reloader')
    expect(parseRegistryMirrors(['index.docker.io=https://m.corp/x/'])).toEqual([{source: 'docker.io', mirror: 'm.corp/x'}])
  })

  it('refuses malformed --registry-mirror values with a usage error', () => {
    for (const bad of ['docker.io', '=m.corp', 'docker.io=', 'docker.io=dockerhub/path', 'docker.io=m.corp/UPPER']) {
      expect(() => parseRegistryMirrors([bad]), bad).toThrow(UsageError)
    }
  })

  it('tells a W&B channel response from an airgap spec by content', () => {
    expect(isChannelResponse('{"chart": {"path": "x"}, "values": {}}')).toBe(true)
    expect(isChannelResponse('{"apiVersion": "airgap.dev/v1alpha1", "kind": "ReleaseSpec", "chart": 1}')).toBe(false)
    expect(isChannelResponse('apiVersion: airgap.dev/v1alpha1\nkind: ReleaseSpec\n')).toBe(false)
    expect(isChannelResponse('{not json')).toBe(false)
  })

  it('checks the spec options before any network call', () => {
    expect(() => checkSpecInput({})).toThrow(/no release spec given/)
    expect(() => checkSpecInput({spec: 'a.yaml', channelUrl: 'https://x'})).toThrow(/not both/)
    expect(() => checkSpecInput({channelUrl: 'https://deploy.example'})).toThrow(/no W&B licence/)
    expect(() => checkSpecInput({spec: 'a.yaml', release: 'r1'})).toThrow(/--release needs --channel-url/)
    expect(() => checkSpecInput({channelUrl: 'https://deploy.example', license: 'L'})).not.toThrow()
  })

  it('loads a saved channel response (with the operator chart, whose values name the controller) and an airgap.yaml', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pull-input-'))
    const channel = join(dir, 'channel.json')
    await writeFile(channel, JSON.stringify({chart: {url: 'https://charts.example', name: 'operator-wandb', version: '0.43.8'}, values: {app: {image: {tag: '1'}}}}))
    const fromChannel = await loadReleaseSpec({spec: channel})
    expect(fromChannel.spec.charts.map((c) => (c.type === 'repo' ? c.name : c.type))).toEqual(['operator-wandb', 'operator'])
    // no extra controller:latest: the controller image is the one the operator chart's values name (issue 16)
    expect(fromChannel.spec.images).toEqual([])
    const bad = join(dir, 'bad.yaml')
    await writeFile(bad, 'apiVersion: airgap.dev/v1alpha1\nkind: ReleaseSpec\nmetadata: {name: x}\nspec:\n  charts:\n    - {name: x}\n')
    const err = await loadReleaseSpec({spec: bad}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(SpecError)
    expect((err as SpecError).exitCode).toBe(ExitCode.SPEC)
    expect((err as Error).message).toMatch(/bad\.yaml:6:/)
  })

  it('merges values files in order, then the inline values, like helm -f a -f b --set', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pull-values-'))
    await writeFile(join(dir, 'a.yaml'), 'app:\n  image: {repository: wandb/local, tag: "1"}\nredis: {install: true}\n')
    await writeFile(join(dir, 'b.yaml'), 'app:\n  image: {tag: "2"}\n')
    const values = await chartUserValues({type: 'path', path: dir, values: [join(dir, 'a.yaml'), join(dir, 'b.yaml')], set: {redis: {install: false}}})
    expect(values).toEqual({app: {image: {repository: 'wandb/local', tag: '2'}}, redis: {install: false}})
    await expect(chartUserValues({type: 'path', path: dir, values: [join(dir, 'missing.yaml')], set: {}})).rejects.toThrow(/missing\.yaml: cannot read values file \(ENOENT\)/)
    await writeFile(join(dir, 'list.yaml'), '- 1\n')
    await expect(chartUserValues({type: 'path', path: dir, values: [join(dir, 'list.yaml')], set: {}})).rejects.toThrow(/a values file must be a map/)
  })

  it('disk-space preflight with an injected free-space probe (test double: a full disk cannot be arranged here)', () => {
    expect(() => checkDiskSpace('/data/out.tar', 3 * 1024 ** 3, () => 1024 ** 3)).toThrow(/not enough disk space in \/data for \/data\/out\.tar: 3\.00 GiB needed, 1\.00 GiB free/)
    expect(() => checkDiskSpace('/data/out.tar', 1024, () => 4096)).not.toThrow()
  })
})
