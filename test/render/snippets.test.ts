/**
 * Differential tests: every snippet of the corpus (syntax, functions, engine) is rendered by the
 * TypeScript renderer and by Go (text/template + Sprig + Helm's engine re-implemented in the
 * oracle); the outputs must be identical, or both must fail. Expected output always comes from Go.
 */
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {RenderOracle, oracleUnavailable} from '../support/render-oracle.js'
import {agree, describeDifference, oracleRequest, renderSnippet, type Snippet} from './harness.js'
import {engineSnippets} from './snippets-engine.js'
import {functionSnippets} from './snippets-functions.js'
import {syntaxSnippets} from './snippets-syntax.js'

const unavailable = oracleUnavailable()
if (unavailable && process.env.CI === 'true') throw new Error(`the Go render oracle is required in CI: ${unavailable}`)
if (unavailable) process.stderr.write(`[render oracle] skipped: ${unavailable}\n`)

const corpus: [string, Snippet[]][] = [
  ['template syntax and builtins', syntaxSnippets],
  ['Sprig and Helm functions', functionSnippets],
  ['Helm engine over chart trees', engineSnippets],
]

describe.skipIf(unavailable !== undefined)('renderer agrees with Go on the snippet corpus', () => {
  let oracle: RenderOracle
  beforeAll(() => {
    oracle = new RenderOracle()
  })
  afterAll(() => oracle.close())

  for (const [group, snippets] of corpus) {
    it(`${group} (${snippets.length} cases)`, async () => {
      const go = await oracle.renderAll(snippets.map((s) => oracleRequest(s)))
      const differences: string[] = []
      let bothFailed = 0
      let sameMessage = 0
      for (let i = 0; i < snippets.length; i++) {
        const ts = await renderSnippet(snippets[i]!)
        if (!agree(ts, go[i]!)) differences.push(describeDifference(snippets[i]!.name, ts, go[i]!))
        else if (go[i]!.error !== undefined) {
          bothFailed++
          if (go[i]!.error === ts.error) sameMessage++
        }
      }
      process.stderr.write(`[render oracle] ${group}: ${snippets.length - differences.length}/${snippets.length} agree (${bothFailed} fail in both, ${sameMessage} with the same message)\n`)
      expect(differences.join('\n\n')).toBe('')
    })
  }
})
