import {mkdtemp, rm, writeFile} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {ExitCode, SpecError} from '../errors.js'
import {SpecValidationError} from './check.js'
import {excluder} from './exclude.js'
import {loadSpecFile, parseSpec} from './parse.js'
import {specForBundle} from './redact.js'

const manifests = fileURLToPath(new URL('../../manifests/', import.meta.url))

const HEAD = 'apiVersion: airgap.dev/v1alpha1\nkind: ReleaseSpec\nmetadata:\n  name: demo\n'

/** The SpecError thrown by parseSpec for `text`. */
function problem(text: string, file = '/specs/airgap.yaml'): SpecError {
  try {
    parseSpec(text, file)
  } catch (err) {
    expect(err).toBeInstanceOf(SpecError)
    expect((err as SpecError).exitCode).toBe(ExitCode.SPEC)
    return err as SpecError
  }
  throw new Error('expected a SpecError')
}

describe('parseSpec', () => {
  it('normalises a full spec: references, platforms, relative paths, defaults', () => {
    const spec = parseSpec(
      `${HEAD}spec:
  platforms: [linux/aarch64, linux/amd64]
  charts:
    - name: operator-wandb
      repo: https://charts.wandb.ai/
      version: 0.43.8
      values: [values/prod.yaml]
      set: {app: {image: {tag: "0.74.1"}}}
      username: robot
      passwordEnv: CHARTS_PASSWORD
      caFile: ca.pem
    - oci: oci://ghcr.io/wandb/helm-charts/operator:1.4.8
    - path: ./charts/local
  images: [busybox:1.36, ghcr.io/org/app@sha256:${'a'.repeat(64)}]
  exclude: ["docker.io/library/mysql:*"]
`,
      '/specs/airgap.yaml',
    )
    expect(spec.metadata).toEqual({name: 'demo'})
    expect(spec.spec.platforms).toEqual([{os: 'linux', architecture: 'arm64'}, {os: 'linux', architecture: 'amd64'}])
    expect(spec.spec.includeDisabled).toBe(true)
    expect(spec.spec.images).toEqual(['docker.io/library/busybox:1.36', `ghcr.io/org/app@sha256:${'a'.repeat(64)}`])
    expect(spec.spec.charts).toEqual([
      {
        type: 'repo',
        name: 'operator-wandb',
        repo: 'https://charts.wandb.ai',
        version: '0.43.8',
        values: ['/specs/values/prod.yaml'],
        set: {app: {image: {tag: '0.74.1'}}},
        auth: {username: 'robot', passwordEnv: 'CHARTS_PASSWORD'},
        caFile: '/specs/ca.pem',
      },
      {type: 'oci', oci: 'oci://ghcr.io/wandb/helm-charts/operator', version: '1.4.8', values: [], set: {}},
      {type: 'path', path: '/specs/charts/local', values: [], set: {}},
    ])
  })

  it('loads the example specs in manifests/', async () => {
    const wandb = await loadSpecFile(join(manifests, 'airgap.yaml'))
    expect(wandb.spec.charts.map((c) => (c.type === 'repo' ? `${c.name}@${c.version}` : c.type))).toEqual(['operator-wandb@0.43.8', 'operator@1.4.8'])
    expect(wandb.spec.images).toEqual(['docker.io/wandb/controller:1.22.0'])
    const minimal = await loadSpecFile(join(manifests, 'minimal.yaml'))
    expect(minimal.metadata.name).toBe('minimal')
    expect(minimal.spec.charts).toHaveLength(1)
  })

  it('round-trips through specForBundle', async () => {
    const spec = await loadSpecFile(join(manifests, 'airgap.yaml'))
    const again = parseSpec(specForBundle(spec), join(manifests, 'airgap.yaml'))
    expect(again.spec).toEqual(spec.spec)
    expect(again.metadata).toEqual(spec.metadata)
  })

  it('takes repo and oci charts without version (newest stable at pull time), and still checks a given one', () => {
    const spec = parseSpec(`${HEAD}spec:\n  charts:\n    - {name: operator, repo: https://charts.wandb.ai}\n    - {oci: "oci://ghcr.io/x/y"}\n    - {oci: "oci://ghcr.io/x/z:1.2.3"}\n`, '/s/airgap.yaml')
    expect(spec.spec.charts).toEqual([
      {type: 'repo', name: 'operator', repo: 'https://charts.wandb.ai', values: [], set: {}},
      {type: 'oci', oci: 'oci://ghcr.io/x/y', values: [], set: {}},
      {type: 'oci', oci: 'oci://ghcr.io/x/z', version: '1.2.3', values: [], set: {}},
    ])
    expect(problem(`${HEAD}spec:\n  charts:\n    - {name: a, repo: https://x.example, version: "not a range!"}\n`).message).toMatch(/spec\.charts\[0\]\.version: "not a range!" is neither/)
    expect(problem(`${HEAD}spec:\n  charts:\n    - {name: a, repo: https://x.example, version: null}\n`).message).toMatch(/spec\.charts\[0\]\.version: expected a version string/)
  })

  it('reports an unknown field with its position and a suggestion', () => {
    const err = problem(`${HEAD}spec:\n  charts:\n    - name: a\n      repo: https://x.example\n      versoin: 1.0.0\n`)
    expect(err.message).toMatch(/^\/specs\/airgap\.yaml:9:7: spec\.charts\[0\]\.versoin: unknown field "versoin" \(did you mean "version"\?\)/)
    expect(err.path).toBe('spec.charts[0].versoin')
    expect(err.message).not.toMatch(/more problem/)
  })

  it('names the field path and the expectation for wrong types, and counts every problem', () => {
    const err = problem(`${HEAD}spec:\n  includeDisabled: "yes"\n  charts:\n    - {name: a, repo: https://x.example, version: 1.0.0}\n    - {name: b, repo: https://x.example, version: [1]}\n`)
    expect(err.message).toMatch(/^\/specs\/airgap\.yaml:6:20: spec\.includeDisabled: expected true or false, got the string "yes" \(and 1 more problem\)/)
    expect((err as SpecValidationError).problems[1]).toMatch(/:9:51: spec\.charts\[1\]\.version: expected a version string/)
  })

  it('refuses bad image references with the reason', () => {
    const err = problem(`${HEAD}spec:\n  images:\n    - ok:1\n    - Bad/Name:1\n`)
    expect(err.message).toMatch(/:8:7: spec\.images\[1\]: invalid image reference "Bad\/Name:1"/)
  })

  it('checks URLs: https for repo, oci:// for oci, no file://, no credentials', () => {
    expect(problem(`${HEAD}spec:\n  charts:\n    - {name: a, repo: "file:///srv/charts", version: 1.0.0}\n`).message).toMatch(
      /spec\.charts\[0\]\.repo: file URLs are not allowed/,
    )
    expect(problem(`${HEAD}spec:\n  charts:\n    - {name: a, repo: "oci://ghcr.io/x", version: 1.0.0}\n`).message).toMatch(/write it as "oci: oci:\/\/ghcr.io\/x"/)
    expect(problem(`${HEAD}spec:\n  charts:\n    - {name: a, repo: "ftp://x.example", version: 1.0.0}\n`).message).toMatch(/unsupported URL scheme "ftp:"/)
    expect(problem(`${HEAD}spec:\n  charts:\n    - {name: a, repo: "https://u:p@x.example", version: 1.0.0}\n`).message).toMatch(/credentials must not be written in the URL/)
    expect(problem(`${HEAD}spec:\n  charts:\n    - {oci: "https://ghcr.io/x/y", version: 1.0.0}\n`).message).toMatch(/spec\.charts\[0\]\.oci: expected an oci:\/\/host\/path\/chart reference/)
    expect(problem(`${HEAD}spec:\n  charts:\n    - {oci: "oci://ghcr.io/x/y:1.0.0", version: 2.0.0}\n`).message).toMatch(/contradicts the tag "1.0.0"/)
    expect(problem(`${HEAD}spec:\n  charts:\n    - {path: "file:///x"}\n`).message).toMatch(/expected a local file path/)
  })

  it('refuses passwords and requires a single chart kind', () => {
    expect(problem(`${HEAD}spec:\n  charts:\n    - {name: a, repo: https://x.example, version: 1.0.0, password: hunter2}\n`).message).toMatch(
      /spec\.charts\[0\]\.password: passwords are not allowed in a spec file/,
    )
    expect(problem(`${HEAD}spec:\n  charts:\n    - {name: a, version: 1.0.0}\n`).message).toMatch(/exactly one of "repo".*got none of them/)
    expect(problem(`${HEAD}spec:\n  charts:\n    - {path: ., oci: "oci://a.io/b/c:1"}\n`).message).toMatch(/got oci and path/)
    expect(problem(`${HEAD}spec:\n  charts:\n    - {name: a, repo: https://x.example, version: "not a range!"}\n`).message).toMatch(/neither a SemVer version/)
    expect(problem(`${HEAD}spec:\n  charts:\n    - {name: a, repo: https://x.example, version: 1.0.0, passwordEnv: "1BAD"}\n`).message).toMatch(/not an environment variable name/)
  })

  it('refuses unknown apiVersion and kind naming the supported ones', () => {
    expect(problem('apiVersion: airgap.dev/v2\nkind: ReleaseSpec\nmetadata: {name: a}\nspec: {images: [a]}\n').message).toBe(
      '/specs/airgap.yaml:1:13: apiVersion: unsupported apiVersion "airgap.dev/v2"; supported: airgap.dev/v1alpha1',
    )
    expect(problem('apiVersion: airgap.dev/v1alpha1\nkind: Chart\nmetadata: {name: a}\nspec: {}\n').message).toMatch(/:2:7: kind: unsupported kind "Chart"; supported: ReleaseSpec$/)
    expect(problem('kind: ReleaseSpec\nmetadata: {name: a}\nspec: {images: [a]}\n').message).toMatch(/:1:1: \(document\): missing required field "apiVersion"/)
    expect(problem('- a\n- b\n').message).toMatch(/:1:1: \(document\): expected a map, got a list/)
  })

  it('reports YAML syntax errors with their position, duplicate keys, multiple documents', () => {
    expect(problem(`${HEAD}spec:\n  images: [a,\n`).message).toMatch(/^\/specs\/airgap\.yaml:\d+:\d+: YAML syntax error: /)
    expect(problem(`${HEAD}metadata:\n  name: b\nspec: {images: [a]}\n`).message).toMatch(/^\/specs\/airgap\.yaml:5:1: YAML syntax error: Map keys must be unique/)
    expect(problem(`${HEAD}spec: {images: [a]}\n---\n${HEAD}spec: {images: [b]}\n`).message).toMatch(/:\d+:1: spec must be a single YAML document/)
  })

  it('refuses YAML alias bombs and oversized documents', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]']
    for (const n of ['b', 'c', 'd', 'e']) bomb.push(`${n}: &${n} [${Array(10).fill(`*${String.fromCharCode(n.charCodeAt(0) - 1)}`).join(', ')}]`)
    expect(problem(`${bomb.join('\n')}\n`).message).toMatch(/too many YAML alias expansions/)
    expect(problem(`${HEAD}spec: {images: [a]}\n# ${'x'.repeat(1024 * 1024)}\n`).message).toMatch(/more than the limit of 1048576 bytes/)
  })

  it('requires something to carry', () => {
    expect(problem(`${HEAD}spec: {}\n`).message).toMatch(/nothing to carry/)
  })
})

describe('loadSpecFile', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airgap-spec-'))
  })
  afterAll(async () => {
    await rm(dir, {recursive: true, force: true})
  })

  it('resolves values files against the spec folder and names a missing file', async () => {
    const file = join(dir, 'airgap.yaml')
    await writeFile(file, `${HEAD}spec:\n  charts:\n    - {path: chart.tgz, values: [v.yaml]}\n`)
    const spec = await loadSpecFile(file)
    expect(spec.spec.charts[0]).toEqual({type: 'path', path: join(dir, 'chart.tgz'), values: [join(dir, 'v.yaml')], set: {}})
    await expect(loadSpecFile(join(dir, 'missing.yaml'))).rejects.toThrow(/missing\.yaml: cannot read spec file \(ENOENT\)/)
    await expect(loadSpecFile(dir)).rejects.toThrow(/not a regular file/)
  })
})

describe('excluder', () => {
  it('matches globs on normalised and short references', () => {
    const excluded = excluder(['docker.io/wandb/mcp-server:*', 'mysql:*', 'ghcr.io/**'])
    expect(excluded('docker.io/wandb/mcp-server:0.3.5')).toBe(true)
    expect(excluded('docker.io/library/mysql:8.0')).toBe(true)
    expect(excluded('ghcr.io/stakater/reloader:v1.3.0')).toBe(true)
    expect(excluded('docker.io/wandb/local:0.74.1')).toBe(false)
    expect(excluder([])('docker.io/library/mysql:8.0')).toBe(false)
  })
})
