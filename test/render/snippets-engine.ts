/**
 * Snippet corpus, part 3: Helm engine behaviour over chart trees: subchart values scoping,
 * global propagation, aliases, conditions and tags, import-values, library charts, null
 * deleting a default, `define` precedence between parent and subchart, .Chart of subcharts.
 */
import type {Snippet} from './harness.js'

const SUB_CHART = 'apiVersion: v2\nname: sub\nversion: 0.1.0\n'
const SUB_VALUES = 'image: {repository: sub/img, tag: "1.0"}\nenabled: true\nglobal: {subOnly: s}\nexports:\n  data:\n    exported: yes-from-sub\nchild:\n  info: {x: 1}\n'
const SUB_TEMPLATE = 'sub: {{ .Values.image.repository }}:{{ .Values.image.tag }} g={{ .Values.global.level }} so={{ .Values.global.subOnly }} name={{ .Chart.Name }} root={{ .Chart.IsRoot }} tpl={{ .Template.Name }} h={{ include "shared.name" . }}\n'

function tree(extra: Record<string, string> = {}): Record<string, string> {
  return {
    'charts/sub/Chart.yaml': SUB_CHART,
    'charts/sub/values.yaml': SUB_VALUES,
    'charts/sub/templates/sub.yaml': SUB_TEMPLATE,
    'charts/sub/templates/_helpers.tpl': '{{- define "shared.name" -}}from-sub{{- end -}}{{- define "sub.only" -}}sub-only{{- end -}}',
    ...extra,
  }
}

const PARENT_TEMPLATE = 'parent: {{ toYaml .Values | nindent 2 }}\nsubcharts: {{ keys .Subcharts | sortAlpha }}\n'

type Case = [name: string, chartYaml: string, chartValues: string, values: Record<string, unknown>, files?: Record<string, string>]

const cases: Case[] = [
  ['subchart defaults', 'dependencies:\n- name: sub\n  version: 0.1.0\n', 'global: {level: top}\n', {}],
  ['subchart override', 'dependencies:\n- name: sub\n  version: 0.1.0\n', 'sub: {image: {tag: "2.0"}}\n', {sub: {image: {repository: 'user/img'}}, global: {level: 'user'}}],
  ['subchart without dependency entry', '', 'sub: {image: {tag: "3"}}\n', {}],
  ['alias', 'dependencies:\n- name: sub\n  version: 0.1.0\n  alias: first\n- name: sub\n  version: 0.1.0\n  alias: second\n', 'first: {image: {tag: a}}\nsecond: {image: {tag: b}}\n', {}],
  ['condition false', 'dependencies:\n- name: sub\n  version: 0.1.0\n  condition: sub.enabled\n', 'sub: {enabled: false}\n', {}],
  ['condition from user', 'dependencies:\n- name: sub\n  version: 0.1.0\n  condition: sub.enabled\n', '', {sub: {enabled: false}}],
  ['condition list first bool wins', 'dependencies:\n- name: sub\n  version: 0.1.0\n  condition: nope.enabled,sub.enabled\n', 'sub: {enabled: false}\n', {}],
  ['condition non-bool ignored', 'dependencies:\n- name: sub\n  version: 0.1.0\n  condition: sub.enabled\n', 'sub: {enabled: "no"}\n', {}],
  ['condition on alias', 'dependencies:\n- name: sub\n  version: 0.1.0\n  alias: other\n  condition: other.install\n', 'other: {install: false}\n', {}],
  ['tags disable', 'dependencies:\n- name: sub\n  version: 0.1.0\n  tags: [back]\n', 'tags: {back: false}\n', {}],
  ['tags condition wins', 'dependencies:\n- name: sub\n  version: 0.1.0\n  tags: [back]\n  condition: sub.enabled\n', 'tags: {back: false}\nsub: {enabled: true}\n', {}],
  ['version mismatch not aliased', 'dependencies:\n- name: sub\n  version: ^9.0.0\n  alias: x\n', '', {}],
  ['import-values exports', 'dependencies:\n- name: sub\n  version: 0.1.0\n  import-values: [data]\n', '', {}],
  ['import-values child parent', 'dependencies:\n- name: sub\n  version: 0.1.0\n  import-values:\n  - child: child.info\n    parent: imported\n', 'imported: {y: 2}\n', {}],
  ['null deletes default', 'dependencies:\n- name: sub\n  version: 0.1.0\n', 'keep: 1\ndrop: 2\nnested: {a: 1, b: 2}\n', {drop: null, nested: {a: null}, sub: {image: {tag: null}}}],
  ['null in chart defaults', '', 'a: null\nb: {c: null, d: 1}\n', {}],
  ['user map over scalar', '', 'a: 1\nb: {c: 1}\n', {a: {x: 1}, b: 'scalar'}],
  ['global maps merge', 'dependencies:\n- name: sub\n  version: 0.1.0\n', 'global: {level: top, nested: {a: 1}}\n', {global: {nested: {b: 2}}}],
  ['subchart type mismatch', '', 'sub: "not a map"\n', {}],
  ['library chart', 'dependencies:\n- name: lib\n  version: 0.1.0\n', '', {}, {'charts/lib/Chart.yaml': 'apiVersion: v2\nname: lib\nversion: 0.1.0\ntype: library\n', 'charts/lib/templates/_lib.tpl': '{{- define "lib.hello" -}}hello from lib{{- end -}}', 'charts/lib/templates/cm.yaml': 'never rendered', 'templates/uses-lib.yaml': '{{ include "lib.hello" . }}'}],
  ['parent define wins', 'dependencies:\n- name: sub\n  version: 0.1.0\n', '', {}, {'templates/_p.tpl': '{{- define "shared.name" -}}from-parent{{- end -}}', 'templates/uses.yaml': 'h={{ include "shared.name" . }} so={{ include "sub.only" . }}'}],
  ['notes rendered not output', '', '', {}, {'templates/NOTES.txt': 'notes {{ .Release.Name }}'}],
  ['notes failing fails render', '', '', {}, {'templates/NOTES.txt': '{{ fail "notes fail" }}'}],
  ['empty template file', '', '', {}, {'templates/empty.yaml': ''}],
  ['template in subfolder', '', '', {}, {'templates/sub/dir/x.yaml': '{{ .Template.Name }} {{ .Template.BasePath }}'}],
  ['subchart files', 'dependencies:\n- name: sub\n  version: 0.1.0\n', '', {}, {'charts/sub/files/s.txt': 'sub file', 'charts/sub/templates/f.yaml': '{{ .Files.Get "files/s.txt" }}|{{ .Files.Get "../files/a.txt" }}'}],
  ['subchart dependency version star', 'dependencies:\n- name: sub\n  version: "*.*.*"\n', '', {}],
  ['subchart of subchart', 'dependencies:\n- name: sub\n  version: 0.1.0\n', 'sub: {deep: {v: from-top}}\n', {}, {'charts/sub/Chart.yaml': `${SUB_CHART}dependencies:\n- name: deep\n  version: 0.1.0\n`, 'charts/sub/charts/deep/Chart.yaml': 'apiVersion: v2\nname: deep\nversion: 0.1.0\n', 'charts/sub/charts/deep/values.yaml': 'v: default\n', 'charts/sub/charts/deep/templates/d.yaml': 'deep={{ .Values.v }} g={{ .Values.global.level }} path={{ .Template.Name }}'}],
]

export const engineSnippets: Snippet[] = cases.map(([name, chartYaml, chartValues, values, files]) => ({
  name,
  template: PARENT_TEMPLATE,
  chartYaml,
  chartValues,
  values,
  files: tree(files),
}))
