/**
 * Hostile specs: every file in test/corpus/specs/ (each says `# expect-exit:` and
 * `# expect-error:` in its first lines) plus generated ones (enormous, binary, deeply nested) is
 * given to the spawned `airgap pull`: one precise error line naming the file/field, exit 3, no
 * bundle, nothing written outside the working folder, no network needed (validation comes first).
 */
import {readdirSync, readFileSync} from 'node:fs'
import {writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import {afterAll, beforeAll, describe, it} from 'vitest'
import {type CorpusCase, cleanup, recordCase, runCase, sandbox, type Sandbox} from './corpus.js'

const DIR = fileURLToPath(new URL('../corpus/specs/', import.meta.url))

interface SpecCase extends CorpusCase {
  file: string
  text?: string | Buffer
}

function fromCorpus(): SpecCase[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => {
      const text = readFileSync(join(DIR, file), 'utf8')
      const exit = /^# expect-exit: (\d+)$/m.exec(text)
      const error = /^# expect-error: (.+)$/m.exec(text)
      if (!exit || !error) throw new Error(`${file}: needs "# expect-exit:" and "# expect-error:" header lines`)
      return {group: 'spec', name: file, file: join(DIR, file), exit: Number(exit[1]), error: new RegExp(error[1]!)}
    })
}

const HEAD = 'apiVersion: airgap.dev/v1alpha1\nkind: ReleaseSpec\nmetadata:\n  name: generated\n'

/** Cases whose input is generated at run time (too big or binary to commit). */
function generated(): SpecCase[] {
  const images = Array.from({length: 60_000}, (_, i) => `    - registry.example.com/team/image-${i}:1.0.${i}`).join('\n')
  return [
    {group: 'spec', name: 'enormous document (3 MB)', file: 'enormous.yaml', text: `${HEAD}spec:\n  images:\n${images}\n`, exit: 3, error: /enormous\.yaml.*bytes, more than the limit/},
    {group: 'spec', name: 'binary garbage with NUL bytes', file: 'binary.yaml', text: Buffer.from([0x00, 0xff, 0xfe, 0x00, 0x1b, 0x5b, 0x32, 0x4a, 0x00, 0x01, 0x02, 0x80]), exit: 3, error: /binary\.yaml/},
    {group: 'spec', name: 'nesting 5000 levels deep', file: 'deep.yaml', text: `${HEAD}spec:\n  images: ${'['.repeat(5000)}${']'.repeat(5000)}\n`, exit: 3, error: /deep\.yaml/},
    {group: 'spec', name: 'a directory instead of a file', file: '.', exit: 3, error: /not a regular file/},
    {group: 'spec', name: 'missing file', file: 'no-such-spec.yaml', exit: 3, error: /no-such-spec\.yaml: cannot read spec file \(ENOENT\)/},
  ]
}

describe.concurrent('hostile specs (spawned airgap pull)', () => {
  let box: Sandbox
  beforeAll(async () => {
    box = await sandbox('corpus-specs')
  })
  afterAll(async () => cleanup(box.root))

  for (const c of [...fromCorpus(), ...generated()]) {
    it(`${c.name}: exit ${c.exit}, one error line matching ${c.error}`, async ({expect}) => {
      let file = c.file
      if (c.text !== undefined) {
        file = join(box.work, c.file)
        await writeFile(file, c.text)
      }
      const out = `out-${c.name.replace(/\W+/g, '-')}.tar`
      const r = await runCase(box, ['pull', file, '-o', out])
      expect(r.result.code, r.result.stderr).toBe(c.exit)
      expect(r.lines, r.result.stderr).toHaveLength(1)
      expect(r.lines[0]).toMatch(/^Error: /)
      expect(r.lines[0]).toMatch(c.error)
      expect(r.lines[0]!.length, 'the error line stays readable').toBeLessThan(2000)
      expect(r.escaped).toEqual([])
      const {existsSync} = await import('node:fs')
      expect(existsSync(join(box.work, out))).toBe(false)
      expect(existsSync(join(box.work, `${out}.partial`))).toBe(false)
      await recordCase(c, r)
    })
  }
})
