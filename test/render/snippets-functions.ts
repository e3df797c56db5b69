/**
 * Snippet corpus, part 2: Sprig and Helm functions, and Helm engine behaviour (include, tpl,
 * required, fail, .Files, subcharts, globals, aliases, conditions, import-values, library charts).
 */
import type {Snippet} from './harness.js'

const V = {
  s: 'Hello World', n: 3, f: 2.5, big: 1000000, neg: -4, t: true, e: '', nil: null, l: ['b', 'a', 'c', 'a'], nums: [3, 1, 2],
  m: {b: 2, a: 1, c: {d: 'x'}}, img: {repository: 'bitnami/redis', tag: '7.2.4-debian-12-r9', registry: 'docker.io'},
  ver: '1.2.3-beta.1+build', text: 'line1\nline2', ip: '10.0.0.1', csv: 'a,b,,c', camel: 'myHTTPServer_name-v2 test',
}

type Case = [name: string, template: string, values?: Record<string, unknown>]

const cases: Case[] = [
  // strings
  ['upper lower title', '{{ upper .Values.s }} {{ lower .Values.s }} {{ title "hello wide world" }} {{ untitle "Hello World" }}'],
  ['trim family', '[{{ trim "  a b  " }}][{{ trimAll "x" "xxaxx" }}][{{ trimPrefix "He" .Values.s }}][{{ trimSuffix "ld" .Values.s }}]'],
  ['trunc', '{{ trunc 5 .Values.s }}|{{ trunc -5 .Values.s }}|{{ trunc 50 .Values.s }}|{{ trunc 0 "x" }}'],
  ['abbrev', '{{ abbrev 8 .Values.s }}|{{ abbrev 3 .Values.s }}|{{ abbrevboth 5 10 "1234 5678 9123 4567" }}'],
  ['substr', '{{ substr 0 5 .Values.s }}|{{ substr 6 -1 .Values.s }}|{{ substr -1 3 .Values.s }}'],
  ['substr out of range', '{{ substr 5 2 "abc" }}'],
  ['repeat nospace', '{{ repeat 3 "ab" }}|{{ nospace " a b\\tc " }}'],
  ['contains prefix suffix', '{{ contains "World" .Values.s }} {{ hasPrefix "He" .Values.s }} {{ hasSuffix "x" .Values.s }}'],
  ['quote squote', '{{ quote .Values.s }} {{ squote .Values.s }} {{ quote 1 .Values.n nil "a\\"b" }} {{ squote .Values.m }}'],
  ['quote missing', '[{{ quote .Values.nope }}]'],
  ['cat', '{{ cat "a" 1 nil .Values.f "b" }}'],
  ['indent nindent', '{{ indent 2 .Values.text }}|{{ nindent 4 "x\\ny" }}'],
  ['replace', '{{ replace " " "-" .Values.s }}|{{ replace "" "." "ab" }}'],
  ['plural', '{{ plural "one" "many" 1 }} {{ plural "one" "many" 2 }}'],
  ['case conversions', '{{ snakecase .Values.camel }}|{{ camelcase "my_var-name x" }}|{{ kebabcase .Values.camel }}|{{ swapcase "Hello wORLD" }}'],
  ['snakecase cases', '{{ snakecase "HTTPServer" }} {{ snakecase "fooBar" }} {{ snakecase "foo1Bar2" }} {{ snakecase "ABC" }} {{ snakecase "a_b-c d" }}'],
  ['kebabcase cases', '{{ kebabcase "ServiceAccountName" }} {{ kebabcase "x.yZ" }} {{ kebabcase "v1Beta2" }}'],
  ['camelcase cases', '{{ camelcase "http_server" }} {{ camelcase "_a__b" }} {{ camelcase "x" }} {{ camelcase "already Camel" }}'],
  ['initials wrap', '{{ initials "First Try" }}|{{ wrap 5 "a long line of text" }}|{{ wrapWith 5 "\\t" "a long line of text" }}'],
  ['split splitList', '{{ split "," .Values.csv }} {{ splitList "," .Values.csv }} {{ (split "," .Values.csv)._1 }}'],
  ['splitn', '{{ splitn "," 2 .Values.csv }}'],
  ['join', '{{ join "-" .Values.l }} {{ join "," .Values.nums }} {{ join "," "single" }} {{ join "," (list 1 nil "x") }}'],
  ['toString toStrings', '{{ toString 1.5 }} {{ toString .Values.n }} {{ toString nil }} {{ toStrings (list 1 "a" nil 2.5) }}'],
  ['sortAlpha', '{{ sortAlpha .Values.l }} {{ sortAlpha (list "B" "a" "C" "b") }} {{ sortAlpha "x" }}'],
  ['base64', '{{ b64enc .Values.s }} {{ b64dec "SGVsbG8=" }} {{ b64dec "!!" }}'],
  ['base32', '{{ b32enc "hi" }} {{ b32dec "NBUQ====" }}'],
  ['hashes', '{{ sha256sum .Values.s }} {{ sha1sum "x" }} {{ adler32sum "abc" }}'],
  // conversions and math
  ['atoi int int64 float64', '{{ atoi "42" }} {{ atoi "x" }} {{ int "12" }} {{ int 3.9 }} {{ int64 "0x10" }} {{ float64 "1.5" }} {{ int "1.0" }} {{ int true }}'],
  ['typeOf results', '{{ typeOf (int 1) }} {{ typeOf (int64 1) }} {{ typeOf (float64 1) }} {{ typeOf (add 1 1) }} {{ typeOf (atoi "1") }} {{ typeOf .Values.n }}'],
  ['add sub mul div mod', '{{ add 1 2 3 }} {{ sub 10 3 }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ mod 7 3 }} {{ add1 .Values.n }} {{ add .Values.f 1 }}'],
  ['div zero', '{{ div 1 0 }}'],
  ['max min', '{{ max 1 5 3 }} {{ min 4 2 8 }} {{ biggest 1 9 }} {{ maxf 1.5 2.5 }} {{ minf 1.5 0.5 }}'],
  ['floor ceil round', '{{ floor 1.7 }} {{ ceil 1.2 }} {{ round 1.2345 2 }} {{ round 2.5 0 }} {{ round 1.26 1 0.7 }}'],
  ['float arithmetic', '{{ addf 0.1 0.2 }} {{ subf 1 0.9 }} {{ mulf 1.1 3 }} {{ divf 10 3 }} {{ add1f 1.5 }}'],
  ['until untilStep seq', '{{ until 3 }} {{ until -2 }} {{ untilStep 0 10 3 }} {{ seq 3 }} {{ seq 2 5 }} {{ seq 0 2 6 }} {{ seq 5 1 }}'],
  ['toDecimal', '{{ toDecimal "0777" }} {{ toDecimal 755 }}'],
  // defaults and logic
  ['default', '{{ default "d" .Values.nope }} {{ default "d" .Values.e }} {{ default "d" .Values.s }} {{ default 5 0 }} {{ default "x" false }}'],
  ['default piped', '{{ .Values.nope | default "fallback" }} {{ .Values.n | default 9 }}'],
  ['empty', '{{ empty .Values.e }} {{ empty .Values.m }} {{ empty .Values.nope }} {{ empty 0 }} {{ empty (list) }} {{ empty .Values.s }}'],
  ['coalesce', '{{ coalesce .Values.nope .Values.e .Values.s }} {{ coalesce 0 "" }}'],
  ['all any', '{{ all 1 "a" }} {{ all 1 "" }} {{ any 0 "" "x" }} {{ any 0 }}'],
  ['ternary', '{{ ternary "y" "n" .Values.t }} {{ true | ternary "a" "b" }}'],
  ['kindOf kindIs typeIs', '{{ kindOf .Values.m }} {{ kindOf .Values.l }} {{ kindOf .Values.n }} {{ kindIs "string" .Values.s }} {{ typeIs "float64" .Values.n }} {{ typeIsLike "string" "x" }} {{ kindOf nil }}'],
  ['deepEqual', '{{ deepEqual .Values.m .Values.m }} {{ deepEqual (list 1 2) (list 1 2) }} {{ deepEqual 1 1.0 }}'],
  // lists
  ['list ops', '{{ list 1 "a" }} {{ first .Values.l }} {{ last .Values.l }} {{ rest .Values.l }} {{ initial .Values.l }}'],
  ['first empty', '[{{ first (list) }}] [{{ rest (list) }}]'],
  ['append prepend', '{{ append .Values.l "z" }} {{ prepend .Values.l "z" }} {{ .Values.l }}'],
  ['append nil error', '{{ append .Values.nope "x" }}'],
  ['concat', '{{ concat .Values.l .Values.nums (list 9) }} {{ concat }}'],
  ['uniq without has', '{{ uniq .Values.l }} {{ without .Values.l "a" }} {{ has "c" .Values.l }} {{ has 3 .Values.nums }} {{ has 3.0 .Values.nums }}'],
  ['compact reverse', '{{ compact (list 1 "" nil 0 "x") }} {{ reverse .Values.nums }}'],
  ['slice fn', '{{ slice .Values.l 1 3 }} {{ mustSlice .Values.l 2 }}'],
  ['chunk', '{{ chunk 2 .Values.l }}'],
  ['first on string error', '{{ first "abc" }}'],
  // dicts
  ['dict get set unset', '{{ $d := dict "a" 1 "b" "x" }}{{ get $d "a" }} {{ get $d "zz" }} {{ set $d "c" 3 }} {{ unset $d "a" }} {{ $d }}'],
  ['dict odd args', '{{ dict "a" 1 "b" }}'],
  ['dict non-string key', '{{ dict 1 "a" 2.5 "b" }}'],
  ['hasKey', '{{ hasKey .Values.m "a" }} {{ hasKey .Values.m "zz" }} {{ hasKey .Values "s" }}'],
  ['pluck', '{{ pluck "a" .Values.m (dict "a" 5) (dict "b" 1) }}'],
  ['keys sorted', '{{ keys .Values.m | sortAlpha }} {{ keys .Values.m (dict "z" 1) | sortAlpha }}'],
  ['values single', '{{ values (dict "a" 1) }}'],
  ['pick omit', '{{ pick .Values.m "a" "c" }} {{ omit .Values.m "a" }}'],
  ['dig', '{{ dig "c" "d" "def" .Values.m }} {{ dig "c" "zz" "def" .Values.m }} {{ dig "x" "def" (dict) }}'],
  ['dig values error', '{{ dig "s" "d" .Values }}'],
  ['dig AsMap', '{{ dig "img" "tag" "d" .Values.AsMap }}'],
  ['merge', '{{ $a := dict "a" 1 "n" (dict "x" 1) }}{{ $b := dict "a" 2 "b" 3 "n" (dict "y" 2) }}{{ merge $a $b }}'],
  ['mergeOverwrite', '{{ $a := dict "a" 1 "n" (dict "x" 1) "e" "" }}{{ $b := dict "a" 2 "b" 3 "n" (dict "x" 9 "y" 2) "e" "filled" }}{{ mergeOverwrite $a $b }}'],
  ['merge empty dst values', '{{ $a := dict "e" "" "z" 0 "l" (list) }}{{ merge $a (dict "e" "x" "z" 5 "l" (list 1)) }}'],
  ['mergeOverwrite empties', '{{ mergeOverwrite (dict "a" 1 "l" (list 1)) (dict "a" 0 "l" (list)) }}'],
  ['merge nested nil', '{{ merge (dict "a" nil) (dict "a" (dict "b" 1)) }} {{ mergeOverwrite (dict "a" 1) (dict "a" nil) }}'],
  ['merge values', '{{ toYaml (merge (dict) .Values.m (dict "z" 1)) }}'],
  ['deepCopy', '{{ $c := deepCopy .Values.m }}{{ $_ := set $c "a" 99 }}{{ .Values.m.a }} {{ $c.a }}'],
  // serialization
  ['toYaml scalars', '{{ toYaml "s" }}|{{ toYaml 1 }}|{{ toYaml 1.5 }}|{{ toYaml true }}|{{ toYaml nil }}|{{ toYaml (list) }}|{{ toYaml (dict) }}'],
  ['toYaml quoting', '{{ toYaml (list "true" "yes" "no" "on" "y" "n" "1" "1.5" "0x1F" "1e3" "~" "null" "" " a" "a " "a: b" "- a" "#c" "a #c" "1:20" "2024-01-02" ".5" "+1" "@x" "`x" "%x" "*a" "&a" "!t" "[a]" "{a}" "a,b" "?x" "tab\\there" "é" "emoji😀" "\\u00a0nb") }}'],
  ['toYaml multiline', '{{ toYaml (dict "a" "x\\ny" "b" "x\\ny\\n" "c" "x\\n\\n" "d" " lead\\ny" "e" "trail \\ny" "f" "\\nstart") }}'],
  ['toYaml nested', '{{ toYaml .Values.m }}\n{{ toYaml (list (dict "a" 1 "b" (list 1 2)) (list "x" (list "y")) (dict)) }}'],
  ['toYaml key order', '{{ toYaml (dict "b" 1 "a10" 1 "a9" 1 "A" 1 "_x" 1 "1" 1 "10" 1 "2" 1 "a" 1 "-" 1 "a01" 1 "a1" 1) }}'],
  ['toYaml numbers', '{{ toYaml (list 1.0 1e6 1e21 1e-7 0.1 -0.0 123456789.0 1.5e300 3) }}'],
  ['toYaml long line', '{{ toYaml (dict "cmd" "this is a rather long command line that goes on and on and on past the eighty column limit of yaml") }}'],
  ['toYaml long quoted', '{{ toYaml (list "true and a long string with spaces that needs quoting because it starts with a flow indicator: yes" "[this is a rather long quoted string that goes on past the eighty column limit of yaml.v2 emitter]") }}'],
  ['toYaml long key', '{{ toYaml (dict "a very long key with spaces that should never wrap because keys are simple keys in yaml" 1) }}'],
  ['toYaml values', '{{ toYaml .Values }}'],
  ['toYaml nindent', 'spec:\n  {{- toYaml .Values.img | nindent 2 }}'],
  ['toJson', '{{ toJson .Values.m }} {{ toJson "<&>" }} {{ toJson 1e21 }} {{ toJson 0.0000001 }} {{ toJson .Values.l }} {{ toJson nil }}'],
  ['toRawJson toPrettyJson', '{{ toRawJson (dict "a" "<b>") }}\n{{ toPrettyJson .Values.m }}\n{{ toPrettyJson (list) }}'],
  ['fromJson', '{{ (fromJson "{\\"a\\": 1, \\"b\\": [1, \\"x\\"]}").b }} {{ fromJson "[1]" }} {{ fromJsonArray "[1, {\\"a\\": 2}]" }}'],
  ['fromYaml', '{{ $y := fromYaml "a: 1\\nb:\\n  - x\\n  - yes\\nc: 1.50\\nd: 0x10\\ne: null\\nf: \\"1\\"" }}{{ $y.a }} {{ $y.b }} {{ $y.c }} {{ $y.d }} {{ $y.e }} {{ $y.f }} {{ typeOf $y.a }}'],
  ['fromYaml empty', '{{ fromYaml "" }} {{ fromYamlArray "- 1\\n- a" }}'],
  ['fromYaml roundtrip', '{{ toYaml (fromYaml (toYaml .Values)) }}'],
  // regex
  ['regexMatch', '{{ regexMatch "^[a-z]+@[a-z]+\\\\.com$" "me@x.com" }} {{ regexMatch "\\\\d{3}" "ab12" }}'],
  ['regexFind', '{{ regexFind "-r\\\\d+$|sha256:" .Values.img.tag }} [{{ regexFind "z+" "abc" }}]'],
  ['regexFindAll', '{{ regexFindAll "[0-9]+" "a1b22c333" -1 }} {{ regexFindAll "[0-9]+" "a1b22c333" 2 }} {{ regexFindAll "a*" "baaab" -1 }}'],
  ['regexReplaceAll', '{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }} {{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }} {{ regexReplaceAllLiteral "a(x*)b" "-ab-" "${1}" }}'],
  ['regexReplaceAll named', '{{ regexReplaceAll "(?P<first>\\\\w+) (?P<last>\\\\w+)" "John Smith" "${last}, ${first}" }}'],
  ['regexSplit', '{{ regexSplit "z+" "pizza" -1 }} {{ regexSplit "," "a,b,c" 2 }} {{ regexSplit "" "abc" -1 }}'],
  ['regex flags', '{{ regexMatch "(?i)^hello" "HELLO" }} {{ regexFind "(?s)a.b" "a\\nb" }} {{ regexReplaceAll "\\\\s+" "a \\t b" "_" }}'],
  ['regex empty matches', '{{ regexReplaceAll "x*" "abc" "-" }} {{ regexSplit "x*" "axbc" -1 }}'],
  ['regexQuoteMeta', '{{ regexQuoteMeta "a.b*c[d]" }}'],
  ['regex invalid', '{{ regexFind "(" "x" }}'],
  // semver
  ['semver', '{{ (semver .Values.ver).Major }} {{ (semver .Values.ver).Minor }} {{ (semver .Values.ver).Patch }} {{ (semver .Values.ver).Prerelease }} {{ (semver .Values.ver).Metadata }} {{ semver "v1.2" }}'],
  ['semverCompare', '{{ semverCompare ">=1.2.0" "1.3.0" }} {{ semverCompare "^1.2" "2.0.0" }} {{ semverCompare "~1.2.3" "1.2.9" }} {{ semverCompare ">=1.20.0-0" "v1.29.3-gke.1" }} {{ semverCompare ">=1.20.0" "v1.29.3-gke.1" }}'],
  ['semverCompare ranges', '{{ semverCompare "1.2 - 1.4" "1.3.5" }} {{ semverCompare ">1.0 <2.0 || >3" "3.1.0" }} {{ semverCompare "1.x" "1.9.9" }} {{ semverCompare "*" "0.0.1" }} {{ semverCompare "!=1.2.3" "1.2.3" }}'],
  ['semver invalid', '{{ semver "not-a-version" }}'],
  ['semverCompare invalid', '{{ semverCompare "bogus!!" "1.0.0" }}'],
  // paths, dates, random
  ['path functions', '{{ base "/a/b.txt" }} {{ dir "/a/b.txt" }} {{ ext "x.tar.gz" }} {{ clean "a//b/../c/" }} {{ isAbs "/x" }}'],
  ['dates', '{{ now | date "2006-01-02" }} {{ date "Jan 2 15:04:05 2006 MST" now }} {{ dateInZone "2006-01-02T15:04:05Z07:00" now "UTC" }} {{ htmlDate now }} {{ unixEpoch now }} {{ now }}'],
  ['date from int', '{{ date "2006-01-02 15:04" 86400 }}'],
  ['dateModify', '{{ dateModify "1h30m" now | date "15:04" }}'],
  ['random deterministic', '{{ randAlphaNum 12 }} {{ randAlpha 5 }} {{ randNumeric 4 }} {{ randAscii 6 | len }} {{ uuidv4 | len }}'],
  ['shuffle', '{{ shuffle "abcdef" }}'],
  ['genCA structure', '{{ $ca := genCA "my-ca" 365 }}{{ $ca.Cert | b64enc | len }} {{ hasPrefix "-----BEGIN" $ca.Key }} {{ (genSelfSignedCert "x" nil nil 10).Cert | len }}'],
  ['genSignedCert', '{{ $ca := genCA "ca" 1 }}{{ $c := genSignedCert "svc" (list "10.0.0.1") (list "svc.local") 30 $ca }}{{ $c.Cert | len }}'],
  ['lookup', '{{ lookup "v1" "Secret" "ns" "name" }} {{ (lookup "v1" "Secret" "ns" "name").data }}'],
  ['getHostByName', '[{{ getHostByName "example.com" }}]'],
  // helm engine functions
  ['include', '{{ include "h.name" . }}', {}],
  ['include missing', '{{ include "nope" . }}'],
  ['include pipe nindent', 'a:{{ include "h.block" . | nindent 2 }}'],
  ['include recursion', '{{ include "h.rec" 0 }}'],
  ['tpl', '{{ tpl "{{ .Values.s | upper }}" . }} {{ tpl .Values.tplString . }}', {s: 'x', tplString: '{{ .Release.Name }}-{{ .Chart.Name }}'}],
  ['tpl with define', '{{ tpl "{{ define \\"inner\\" }}I{{ end }}{{ template \\"inner\\" }}" . }}'],
  ['tpl parse error', '{{ tpl "{{ .Values.s " . }}'],
  ['tpl exec error', '{{ tpl "{{ fail \\"inside\\" }}" . }}'],
  ['tpl include', '{{ tpl "{{ include \\"h.name\\" . }}" . }}'],
  ['tpl non-root dot', '{{ tpl "{{ .a }}" (dict "a" "A") }}'],
  ['required ok', '{{ required "need s" .Values.s }}'],
  ['required missing', '{{ required "s is required" .Values.nope }}'],
  ['required empty', '{{ required "e is required" .Values.e }}'],
  ['required zero ok', '{{ required "z" 0 }} {{ required "f" false }}'],
  ['fail', '{{ fail "stop here" }}'],
  ['fail in include', '{{ include "h.fail" . }}'],
  ['files get', '{{ .Files.Get "files/a.txt" }}|{{ .Files.Get "nope" }}|{{ .Files.GetBytes "files/a.txt" }}'],
  ['files glob', '{{ range $p, $_ := .Files.Glob "files/*.txt" }}{{ $p }} {{ end }}|{{ range $p, $_ := .Files.Glob "**.json" }}{{ $p }} {{ end }}'],
  ['files asconfig', '{{ (.Files.Glob "files/*.txt").AsConfig }}\n{{ (.Files.Glob "files/*").AsSecrets }}'],
  ['files lines', '{{ range .Files.Lines "files/a.txt" }}<{{ . }}>{{ end }}'],
  ['files map access', '{{ index .Files "files/a.txt" }}'],
  ['files excludes templates', '{{ .Files.Get "values.yaml" }}|{{ .Files.Get "Chart.yaml" }}|{{ .Files.Get "templates/_h.tpl" | len }}'],
]

const HELPERS = `{{- define "h.name" -}}
{{ .Chart.Name }}-{{ .Release.Name | trunc 63 | trimSuffix "-" }}
{{- end -}}
{{- define "h.block" -}}
name: {{ include "h.name" . }}
labels:
  {{- toYaml (dict "app" "x") | nindent 2 }}
{{- end -}}
{{- define "h.rec" -}}{{ include "h.rec" . }}{{- end -}}
{{- define "h.fail" -}}{{ fail "failed in helper" }}{{- end -}}
`

export const functionSnippets: Snippet[] = cases.map(([name, template, values]) => ({
  name,
  template,
  values: values ?? V,
  chartValues: 'fromChart: 1\nnested:\n  k: v\n',
  files: {'templates/_h.tpl': HELPERS, 'files/a.txt': 'one\ntwo\n', 'files/b.txt': 'three', 'files/c.json': '{"x": 1}', 'conf/d.json': '{}'},
}))
