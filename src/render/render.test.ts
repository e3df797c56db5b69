/**
 * What the Go oracle cannot check: the renderer's own errors (an AirgapError naming the
 * template file and line, with a hint) and the split of a render into Kubernetes objects.
 * Behaviour against Go is covered by test/render/*.test.ts.
 */
import {LIMITS} from './template/budget.js'
import {describe, expect, it} from 'vitest'
import {AirgapError} from '../errors.js'
import {loadChartFiles} from '../helm/load.js'
import {RenderError, parseManifests, renderChart} from './index.js'

async function chartWith(templates: Record<string, string>, values = '') {
  const files = new Map<string, Buffer>([
    ['Chart.yaml', Buffer.from('apiVersion: v2\nname: demo\nversion: 1.0.0\n')],
    ['values.yaml', Buffer.from(values)],
    ...Object.entries(templates).map(([k, v]): [string, Buffer] => [k, Buffer.from(v)]),
  ])
  return loadChartFiles(files, 'demo')
}

function failure(run: () => unknown): RenderError {
  try {
    run()
  } catch (err) {
    if (err instanceof RenderError) return err
    throw err
  }
  throw new Error('expected a RenderError')
}

describe('renderer errors', () => {
  it('an unknown function is an AirgapError naming the file, the line and the function', async () => {
    const chart = await chartWith({'templates/cm.yaml': 'a: 1\nb: {{ frobnicate .Values.x }}\n'})
    const err = failure(() => renderChart(chart))
    expect(err).toBeInstanceOf(AirgapError)
    expect(err.message).toContain('demo/templates/cm.yaml:2')
    expect(err.message).toContain('function "frobnicate" not defined')
    expect(err.template).toBe('demo/templates/cm.yaml')
    expect(err.line).toBe(2)
    expect(err.hint).toBeTruthy()
  })

  it('required and fail read like Helm ("execution error at (file:line:col): message")', async () => {
    const chart = await chartWith({'templates/s.yaml': 'x\n\n{{ required "set .Values.password" .Values.password }}'})
    const err = failure(() => renderChart(chart))
    expect(err.message).toBe('execution error at (demo/templates/s.yaml:3:3): set .Values.password')
    expect(err.line).toBe(3)
  })

  it('a nil pointer in a field chain names the template, line and the expression', async () => {
    const chart = await chartWith({'templates/n.yaml': '{{ .Values.missing.deeper }}'})
    const err = failure(() => renderChart(chart))
    expect(err.message).toContain('demo/templates/n.yaml:1:')
    expect(err.message).toContain('<.Values.missing.deeper>')
    expect(err.message).toContain('nil pointer evaluating interface {}.deeper')
  })
})

// The Go oracle is Go 1.19 (Debian 12); these constructs came later (Helm is built with newer Go).
describe('Go 1.22+ / 1.23 template constructs the oracle cannot check', () => {
  it('range over an integer counts from 0 (Go 1.22)', async () => {
    const chart = await chartWith({'templates/r.yaml': '{{ range 3 }}{{ . }}{{ end }}|{{ range $i := 2 }}{{ $i }}{{ end }}|{{ range 0 }}x{{ else }}none{{ end }}'})
    expect(renderChart(chart).get('demo/templates/r.yaml')).toBe('012|01|none')
  })

  it('else with chains like else if (Go 1.23)', async () => {
    const chart = await chartWith({'templates/w.yaml': '{{ with .Values.a }}A{{ else with .Values.b }}B={{ . }}{{ else }}C{{ end }}'}, 'b: bee\n')
    expect(renderChart(chart).get('demo/templates/w.yaml')).toBe('B=bee')
  })
})

describe('parseManifests', () => {
  it('splits files into documents, drops empty ones and names each object by its template', async () => {
    const chart = await chartWith({
      'templates/a.yaml': '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: one\n  namespace: ns\n---\n# only a comment\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: two\n',
      'templates/empty.yaml': '{{- if false }}x{{ end }}',
    })
    const objects = parseManifests(renderChart(chart))
    expect(objects.map((o) => [o.template, o.kind, o.name, o.namespace])).toEqual([
      ['demo/templates/a.yaml', 'ConfigMap', 'one', 'ns'],
      ['demo/templates/a.yaml', 'Deployment', 'two', undefined],
    ])
  })

  it('invalid YAML output is a RenderError naming the template file and line', () => {
    const err = failure(() => parseManifests(new Map([['demo/templates/bad.yaml', 'a: 1\nb: [unclosed\n']])))
    expect(err.template).toBe('demo/templates/bad.yaml')
    expect(err.message).toContain('demo/templates/bad.yaml')
  })
})

describe('onFileError (discovery keeps going past a failing file)', () => {
  it('leaves out a file that fails to execute or parse, hands its error over, and renders the rest', async () => {
    const chart = await chartWith({
      'templates/ok.yaml': 'kind: ConfigMap\nmetadata:\n  name: ok\n',
      'templates/needs.yaml': 'kind: Secret\nvalue: {{ required "secret is required" .Values.secret }}\n',
      'templates/bad.yaml': 'kind: X\n{{ if }}\n',
    })
    const failed: Array<[string, string, number | undefined]> = []
    const out = renderChart(chart, {onFileError: (file, err) => failed.push([file, err.template ?? '', err.line])})
    expect([...out.keys()]).toEqual(['demo/templates/ok.yaml'])
    expect(failed.map(([file]) => file).sort()).toEqual(['demo/templates/bad.yaml', 'demo/templates/needs.yaml'])
    expect(failed.find(([file]) => file === 'demo/templates/needs.yaml')?.[2]).toBe(2)
    // Without it, the first failure fails the render, as in Helm.
    expect(failure(() => renderChart(chart)).message).toMatch(/bad\.yaml|needs\.yaml/)
  })
})

describe('fromYaml results are each caller\'s own', () => {
  it('a map changed with set does not change what the next fromYaml of the same text returns (results are cached per text)', async () => {
    const chart = await chartWith({'templates/cm.yaml': '{{- $a := fromYaml "x: 1\\nk: {z: 3}" }}{{- $_ := set $a "x" 2 }}{{- $_ := set $a.k "z" 4 }}a: {{ $a.x }}\nb: {{ (fromYaml "x: 1\\nk: {z: 3}").x }}\nc: {{ (fromYaml "x: 1\\nk: {z: 3}").k.z }}\n'})
    expect(renderChart(chart).get('demo/templates/cm.yaml')).toBe('a: 2\nb: 1\nc: 3\n')
  })
})

describe('the execution budget (a chart is untrusted input)', () => {
  it('a template that loops past the step budget fails with its template and line; the next render starts afresh', async () => {
    const saved = {...LIMITS}
    LIMITS.steps = 10_000
    try {
      const chart = await chartWith({'templates/loop.yaml': 'a: 1\n{{ range until 100 }}{{ range until 1000 }}x{{ end }}{{ end }}\n', 'templates/ok.yaml': 'b: {{ range until 10 }}y{{ end }}\n'})
      const failed: string[] = []
      const out = renderChart(chart, {onFileError: (file, err) => failed.push(`${file}: ${err.message}`)})
      expect(failed).toHaveLength(1)
      expect(failed[0]).toMatch(/^demo\/templates\/loop\.yaml: .*loop\.yaml:2:.*exceeded the budget of 10000 steps/)
      expect(out.get('demo/templates/ok.yaml')).toBe('b: yyyyyyyyyy\n')
    } finally {
      Object.assign(LIMITS, saved)
    }
  })

  it('a range function asked for more items than the budget fails before allocating them', async () => {
    const chart = await chartWith({'templates/huge.yaml': '{{ range until 1000000000 }}x{{ end }}\n'})
    expect(failure(() => renderChart(chart)).message).toMatch(/huge\.yaml:1:.*a list of 1000000000 numbers is over the budget of 10000000 items/)
  })

  it('a template that writes past the output budget fails', async () => {
    const saved = {...LIMITS}
    LIMITS.outputChars = 1000
    try {
      const chart = await chartWith({'templates/big.yaml': 'a: {{ range until 300 }}zzzz{{ end }}\n'})
      expect(failure(() => renderChart(chart)).message).toMatch(/wrote more than 1000 characters/)
    } finally {
      Object.assign(LIMITS, saved)
    }
  })
})
