/**
 * Property-based differential test: fast-check generates values (strings that need YAML quoting,
 * floats, big numbers, nulls, nested maps and lists) and templates (actions, pipelines, if /
 * with / range, trimming markers, variables, Sprig calls with right and wrong argument types),
 * and the TypeScript renderer must agree with Go on every one. The seed is fixed (override with
 * RENDER_PROPERTY_SEED) and printed by fast-check on failure, with the shrunk counterexample.
 */
import fc from 'fast-check'
import {afterAll, beforeAll, describe, it} from 'vitest'
import {RenderOracle, oracleUnavailable} from '../support/render-oracle.js'
import {agree, describeDifference, oracleRequest, renderSnippet, type Snippet} from './harness.js'

const unavailable = oracleUnavailable()
if (unavailable && process.env.CI === 'true') throw new Error(`the Go render oracle is required in CI: ${unavailable}`)

const SEED = Number(process.env.RENDER_PROPERTY_SEED ?? 20240102)
const RUNS = Number(process.env.RENDER_PROPERTY_RUNS ?? 800)

const KEYS = ['a', 'b', 'name', 'x-y', 'B', 'a10', 'a9', '1']

const scalarString = fc.oneof(
  fc.constantFrom('', 'true', 'yes', 'null', '~', '1', '1.5', '0x1F', 'a: b', '- x', '#c', ' lead', 'trail ', 'é', 'x"y', "it's", 'a\nb', 'a\nb\n', '<&>', '1e3', 'on', '2024-01-02'),
  fc.string({unit: fc.constantFrom('a', 'b', ' ', ':', '-', '#', '"', "'", '\n', '1', '.', 'é', '{', '\t'), maxLength: 12}),
)
const scalar = fc.oneof(
  scalarString,
  fc.integer({min: -1000, max: 1000}),
  fc.constantFrom(0.5, 1.5, -2.25, 1e6, 1e21, 123456789, 1e-7, 3.0, 0),
  fc.boolean(),
  fc.constant(null),
)
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof({depthSize: 'small', withCrossShrink: true}, scalar, fc.array(tie('node'), {maxLength: 3}), fc.dictionary(fc.constantFrom(...KEYS), tie('node'), {maxKeys: 3})),
})).node
/** Values with the keys templates use (a string-ish `a`, a map `b`, a list `name`) plus random extra keys. */
const values = fc
  .tuple(fc.oneof(scalarString, scalar), fc.dictionary(fc.constantFrom('a', 'name', 'B'), value, {maxKeys: 3}), fc.array(value, {maxLength: 3}), fc.dictionary(fc.constantFrom(...KEYS), value, {maxKeys: 3}))
  .map(([a, b, name, extra]) => ({...extra, a, b, name}))

const field = fc.oneof(
  {arbitrary: fc.constantFrom('a', 'b', 'name', 'B', 'a10', 'x-y').map((k) => (k.includes('-') ? `(index .Values "${k}")` : `.Values.${k}`)), weight: 4},
  {arbitrary: fc.constantFrom('.Values.b.a', '.Values.b.name', '.Values.b.B', '.Values.b.nope'), weight: 2},
  {arbitrary: fc.array(fc.constantFrom('a', 'b', 'name', 'nope'), {minLength: 2, maxLength: 3}).map((p) => `.Values.${p.join('.')}`), weight: 1},
)
const stringLiteral = fc.constantFrom('"s"', '"a b"', '""', '"true"', '"1.5"', '`raw`', '"x: y"', '"é"', '"a,b"')
const literal = fc.oneof(stringLiteral, fc.constantFrom('1', '0', '-3', '2.5', '1e3', 'true', 'false', "'c'"), fc.integer({min: -20, max: 20}).map(String))
/** Functions that take interface{} arguments (rarely fail on types). */
const ANY_UNARY = ['quote', 'squote', 'toYaml', 'toJson', 'empty', 'toString', 'int', 'float64', 'kindOf', 'typeOf', 'not', 'toStrings', 'int64', 'add1', 'deepCopy', 'toRawJson', 'default "d"', 'printf "%v"', 'printf "%s"', 'printf "%d"', 'printf "%q"', 'printf "%.2f"', 'printf "%5v|"', 'ternary "y" "n"', 'add 1', 'mul 2', 'list', 'print', 'html', 'js', 'urlquery', 'cat "x"', 'coalesce nil', 'join ","', 'sortAlpha', 'len', 'first', 'required "need it"']
/** Functions that take a string (their argument is made a string first). */
const STR_UNARY = ['upper', 'lower', 'trim', 'title', 'snakecase', 'camelcase', 'sha256sum', 'b64enc', 'trunc 3', 'indent 2', 'nindent 2', 'replace "a" "b"', 'contains "a"', 'hasPrefix "a"', 'regexFind "[0-9]+"', 'splitList ","', 'semverCompare ">1.0.0"', 'repeat 2', 'trimPrefix "a"', 'quote', 'abbrev 5', 'kebabcase', 'nospace']
const BINARY = ['eq', 'ne', 'lt', 'and', 'or', 'default', 'index', 'add', 'sub', 'dict "k"', 'list', 'print', 'printf "%v-%v"', 'pluck "a"', 'has', 'without', 'append', 'concat', 'coalesce', 'max', 'min', 'mod', 'cat', 'ternary "t"']

const expr: fc.Arbitrary<string> = fc.letrec<{e: string; str: string}>((tie) => ({
  e: fc.oneof(
    {depthSize: 'small', withCrossShrink: true},
    {arbitrary: field, weight: 4},
    {arbitrary: literal, weight: 2},
    // Not the root dot itself: Go prints the *Capabilities pointer inside it as an address.
    {arbitrary: fc.constantFrom('.Values', '$.Values', '.Release.Name', '.Chart.Name', '.Capabilities.KubeVersion.Minor', '.Release'), weight: 1},
    {arbitrary: fc.tuple(fc.constantFrom(...ANY_UNARY), tie('e')).map(([f, x]) => `(${f} ${x})`), weight: 3},
    {arbitrary: tie('str'), weight: 2},
    // Round trips through Helm's encoders (error texts of invalid JSON/YAML are not Go's: see the report).
    {arbitrary: fc.tuple(tie('e')).map(([x]) => `(fromYaml (toYaml (dict "k" ${x})))`), weight: 1},
    {arbitrary: fc.tuple(tie('e')).map(([x]) => `(fromJson (toJson (dict "k" ${x})))`), weight: 1},
    // Go iterates maps in random order: keys only sorted.
    {arbitrary: fc.tuple(tie('e')).map(([x]) => `(keys ${x} | sortAlpha)`), weight: 1},
    {arbitrary: fc.tuple(fc.constantFrom(...BINARY), tie('e'), tie('e')).map(([f, x, y]) => `(${f} ${x} ${y})`), weight: 1},
    {arbitrary: fc.tuple(tie('e'), fc.constantFrom(...ANY_UNARY)).map(([x, f]) => `(${x} | ${f})`), weight: 2},
  ),
  str: fc.oneof(
    {depthSize: 'small', withCrossShrink: true},
    stringLiteral,
    fc.tuple(tie('e')).map(([x]) => `(toString ${x})`),
    fc.tuple(tie('e')).map(([x]) => `(toYaml ${x})`),
    fc.tuple(fc.constantFrom(...STR_UNARY), tie('str')).map(([f, x]) => `(${f} ${x})`),
    fc.tuple(tie('str'), fc.constantFrom(...STR_UNARY)).map(([x, f]) => `(${x} | ${f})`),
  ),
})).e

const open = fc.constantFrom('{{ ', '{{- ')
const close = fc.constantFrom(' }}', ' -}}')
const text = fc.constantFrom('', 'x', ' ', '\n', '  \n', 'a: ', '\n- ')

const statement: fc.Arbitrary<string> = fc.letrec<{s: string}>((tie) => ({
  s: fc.oneof(
    {depthSize: 'small', withCrossShrink: true},
    fc.tuple(text, open, expr, close, text).map(([a, o, e, c, b]) => `${a}${o}${e}${c}${b}`),
    fc.tuple(expr, tie('s'), tie('s')).map(([e, a, b]) => `{{ if ${e} }}${a}{{ else }}${b}{{ end }}`),
    fc.tuple(expr, tie('s')).map(([e, a]) => `{{ with ${e} }}${a}{{ . }}{{ end }}`),
    fc.tuple(fc.oneof(fc.constantFrom('.Values.b', '.Values.name', '.Values', '(list 1 "x" nil)', '(until 3)', '(dict "z" 1 "a" 2)', '.Values.nope'), expr), tie('s')).map(([e, a]) => `{{ range $k, $v := ${e} }}{{ $k }}={{ $v }};${a}{{ else }}none{{ end }}`),
    fc.tuple(expr, expr).map(([e, f]) => `{{ $x := ${e} }}{{ $x = ${f} }}{{ $x }}`),
    fc.tuple(expr).map(([e]) => `{{ include "gen.helper" ${e} }}`),
    fc.tuple(expr).map(([e]) => `{{ tpl "{{ .Values.a }}-{{ . }}" (dict "Values" $.Values) }}{{ ${e} }}`),
  ),
})).s

const template = fc.array(statement, {minLength: 1, maxLength: 2}).map((parts) => parts.join(''))

const HELPER = '{{- define "gen.helper" -}}[{{ . }}|{{ toYaml . | trunc 20 }}]{{- end -}}'

describe.skipIf(unavailable !== undefined)('renderer agrees with Go on generated templates and values', () => {
  let oracle: RenderOracle
  beforeAll(() => {
    oracle = new RenderOracle()
  })
  afterAll(() => oracle.close())

  it(`${RUNS} generated cases (seed ${SEED})`, async () => {
    let failedInBoth = 0
    const errorKinds = new Map<string, number>()
    await fc.assert(
      fc.asyncProperty(template, values, async (tpl, vals) => {
        const s: Snippet = {name: 'generated', template: tpl, values: vals, files: {'templates/_gen.tpl': HELPER}}
        const [go, ts] = await Promise.all([oracle.render(oracleRequest(s)), renderSnippet(s)])
        if (!agree(ts, go)) throw new Error(describeDifference(`template ${JSON.stringify(tpl)} values ${JSON.stringify(vals)}`, ts, go))
        if (go.error !== undefined) {
          failedInBoth++
          const kind = go.error.replace(/^.*?: (error calling \w+: )?/s, '$1').replace(/"[^"]*"|\d+/g, '_').slice(0, 70)
          errorKinds.set(kind, (errorKinds.get(kind) ?? 0) + 1)
        }
      }),
      {seed: SEED, numRuns: RUNS, endOnFailure: false},
    )
    process.stderr.write(`[render oracle] generated: ${RUNS}/${RUNS} agree (${failedInBoth} fail in both), seed ${SEED}\n`)
    if (process.env.RENDER_PROPERTY_STATS === '1') for (const [k, n] of [...errorKinds].sort((a, b) => b[1] - a[1]).slice(0, 15)) process.stderr.write(`  ${n} ${k}\n`)
  }, 600_000)
})
