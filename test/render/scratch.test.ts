import {describe, expect, it} from 'vitest'
import {RenderOracle} from '../support/render-oracle.js'
import {agree, describeDifference, oracleRequest, renderSnippet, type Snippet} from './harness.js'

const cases: Snippet[] = [
  {name: 'basic', template: '{{ .Values.a }} {{ .Values.b }} {{ toYaml .Values }} {{ .Values.nope }} {{ .Chart.Name }} {{ .Capabilities.KubeVersion }}', values: {a: 1, b: [1, 'x'], c: 1000000}},
  {name: 'printf', template: '{{ printf "%d %s %v %q %5.2f|%-4s|%x" 3 "a" (list 1 2) "q" 3.14159 "ab" 255 }}'},
  {name: 'range map', template: '{{ range $k, $v := .Values.m }}{{ $k }}={{ $v }};{{ end }}', values: {m: {b: 2, a: 1, c: [1, 2]}}},
  {name: 'toYaml nested', template: '{{ toYaml .Values }}', values: {a: {b: [{c: 1, d: 'x y'}, 'true', '', 'multi\nline\n', ' lead', 'a: b', '#x', 'é', 1.5, 1e21, 0.000001]}}},
  {name: 'include', template: '{{ include "h" . | nindent 2 }}', files: {'templates/_h.tpl': '{{- define "h" -}}\nname: {{ .Chart.Name | upper }}\n{{- end }}'}},
]

describe('scratch', () => {
  it('agrees', async () => {
    const oracle = new RenderOracle()
    const go = await oracle.renderAll(cases.map((c) => oracleRequest(c)))
    oracle.close()
    const bad: string[] = []
    for (let i = 0; i < cases.length; i++) {
      const ts = await renderSnippet(cases[i]!)
      if (!agree(ts, go[i]!)) bad.push(describeDifference(cases[i]!.name, ts, go[i]!))
    }
    expect(bad.join('\n')).toBe('')
  })
})
