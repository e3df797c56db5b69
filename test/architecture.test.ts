/**
 * The dependency rules of docs/ARCHITECTURE.md, enforced (in the spirit of go-containerregistry's
 * depcheck_test.go). It reads every import of `src/` and `commands/` with the TypeScript
 * compiler's own pre-processor (static, `export … from` and dynamic `import()` alike) and fails on
 * a rule broken, naming the file and the import. When a rule changes, change it here and in
 * docs/ARCHITECTURE.md together.
 */
import {readdirSync, readFileSync, statSync} from 'node:fs'
import {dirname, join, relative, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import ts from 'typescript'
import {describe, expect, it} from 'vitest'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * What each folder of `src/` may import from other folders of `src/` (`errors` is src/errors.ts).
 * Lowest layers first. A folder not listed here fails the test: a new folder gets a rule.
 */
const ALLOWED: Record<string, readonly string[]> = {
  errors: [],
  // Foundations every folder may use (ALWAYS): whole-file I/O helpers (atomic writes, user-named
  // input files) and JSON-document validation on ajv.
  files: ['errors'],
  validation: ['errors'],
  oci: ['errors'],
  // Kubernetes workload shapes (pod spec paths, container lists), no I/O.
  kubernetes: ['errors'],
  http: ['errors'],
  signing: ['errors'],
  content: ['oci', 'errors'],
  copy: ['content', 'oci', 'errors'],
  auth: ['http', 'oci', 'errors'],
  // Targets: the places content lives. They never know about each other or about the copy engine.
  registry: ['auth', 'http', 'content', 'oci', 'errors'],
  layout: ['content', 'oci', 'errors'],
  bundle: ['content', 'oci', 'errors'],
  // Domain modules.
  release: ['http', 'oci', 'errors'],
  mirror: ['bundle', 'release', 'oci', 'errors'],
  helm: ['http', 'content', 'oci', 'errors'],
  // Discovery walks values and renders the charts (render is pure too).
  discover: ['helm', 'render', 'kubernetes', 'oci', 'errors'],
  // The W&B v2 operator's server manifest: resolved through any content source, merged, its images listed.
  'server-manifest': ['content', 'release', 'oci', 'errors'],
  // The Helm-compatible renderer: Go text/template + Sprig + Helm's engine over loaded charts.
  render: ['helm', 'errors'],
  rewrite: ['mirror', 'release', 'kubernetes', 'oci', 'errors'],
  delta: ['bundle', 'content', 'copy', 'mirror', 'registry', 'release', 'oci', 'errors'],
  'image-signatures': ['auth', 'content', 'copy', 'registry', 'release', 'signing', 'oci', 'errors'],
  serve: ['bundle', 'layout', 'content', 'oci', 'errors'],
  demo: ['helm', 'content', 'oci', 'errors'],
  // Use cases wire the modules together; nothing below imports them.
  usecases: ['*'],
  // The command-line edge: flag parsing, output, progress. Nothing in src/ but commands imports it.
  cli: ['*'],
}
/** What every folder may import besides its row (the pure folders still may not import `files`). */
const ALWAYS = ['errors', 'files', 'validation']
/** commands/ may import only the command-line edge, the use cases and the error classes. */
const COMMANDS_ALLOWED = ['cli', 'usecases', 'errors']
/** Folders that do no I/O: no file system, no network, no child processes. */
const PURE = ['oci', 'kubernetes', 'discover', 'rewrite', 'render']
/** The one file of a pure folder allowed to read files (the CRD and file trees of `rewrite`). */
const PURE_EXCEPTIONS = new Set(['src/rewrite/io.ts'])
const IO_MODULES = /^(node:)?(fs|fs\/promises|net|tls|http|https|http2|dgram|child_process|worker_threads)$|^undici(\/|$)/

interface Import {
  file: string
  specifier: string
  /** Repository-relative path the specifier resolves to (relative specifiers only). */
  target?: string
}

function sourceFiles(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name)
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sourceFiles(path))
    else if (/\.ts$/.test(name) && !/\.(test|d)\.ts$/.test(name)) out.push(path)
  }
  return out
}

function importsOf(file: string): Import[] {
  const info = ts.preProcessFile(readFileSync(join(ROOT, file), 'utf8'), true, true)
  return info.importedFiles.map(({fileName: specifier}) =>
    specifier.startsWith('.') ? {file, specifier, target: relative(ROOT, resolve(ROOT, dirname(file), specifier))} : {file, specifier},
  )
}

/** `src/registry/client.ts` -> `registry`; `src/errors.ts` -> `errors`; outside src/: undefined. */
function folderOf(path: string): string | undefined {
  const parts = path.split('/')
  if (parts[0] !== 'src') return undefined
  return parts.length === 2 ? parts[1]!.replace(/\.(ts|js)$/, '') : parts[1]
}

const SRC = sourceFiles('src')
const COMMANDS = sourceFiles('commands')
const IMPORTS = [...SRC, ...COMMANDS].flatMap(importsOf)

describe('dependency rules (docs/ARCHITECTURE.md)', () => {
  it('reads the imports of every source file', () => {
    expect(SRC.length).toBeGreaterThan(100)
    expect(IMPORTS.filter((i) => i.target).length).toBeGreaterThan(500)
  })

  it('every folder of src/ has a rule', () => {
    const folders = new Set(SRC.map((f) => folderOf(f)!))
    expect([...folders].filter((f) => !(f in ALLOWED)).sort()).toEqual([])
  })

  it('each folder imports only the folders its rule allows', () => {
    const broken = IMPORTS.filter((i) => i.file.startsWith('src/') && i.target).flatMap((i) => {
      const from = folderOf(i.file)!
      const to = folderOf(i.target!)
      const allowed = ALLOWED[from] ?? []
      if (to === undefined) return [`${i.file}: imports ${i.specifier}, outside src/`]
      if (to === from || allowed.includes('*') || allowed.includes(to) || ALWAYS.includes(to)) return []
      return [`${i.file}: ${from} may not import ${to} (${i.specifier})`]
    })
    expect(broken).toEqual([])
  })

  it('nothing in src/ but the command-line edge imports cli/, and nothing below the use cases imports them', () => {
    const broken = IMPORTS.filter((i) => i.file.startsWith('src/') && i.target).filter((i) => {
      const from = folderOf(i.file)
      const to = folderOf(i.target!)
      return (to === 'cli' && from !== 'cli') || (to === 'usecases' && from !== 'usecases' && from !== 'cli')
    })
    expect(broken.map((i) => `${i.file}: ${i.specifier}`)).toEqual([])
  })

  it('there is no import cycle between folders', () => {
    const edges = new Map<string, Set<string>>()
    for (const i of IMPORTS) {
      const from = folderOf(i.file)
      const to = i.target ? folderOf(i.target) : undefined
      if (!from || !to || from === to) continue
      if (!edges.has(from)) edges.set(from, new Set())
      edges.get(from)!.add(to)
    }
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const visit = (node: string, path: string[]): void => {
      if (state.get(node) === 'done') return
      if (state.get(node) === 'open') {
        cycles.push([...path.slice(path.indexOf(node)), node].join(' -> '))
        return
      }
      state.set(node, 'open')
      for (const next of edges.get(node) ?? []) visit(next, [...path, node])
      state.set(node, 'done')
    }
    for (const node of edges.keys()) visit(node, [])
    expect(cycles).toEqual([])
  })

  it('commands/ import only the command-line edge, the use cases and the error classes', () => {
    const broken = IMPORTS.filter((i) => i.file.startsWith('commands/') && i.target?.startsWith('src/'))
      .filter((i) => !COMMANDS_ALLOWED.includes(folderOf(i.target!)!))
      .map((i) => `${i.file}: ${i.specifier}`)
    expect(broken).toEqual([])
  })

  it('only commands/ and src/cli/ import oclif', () => {
    const broken = IMPORTS.filter((i) => i.specifier.startsWith('@oclif/'))
      .filter((i) => !i.file.startsWith('commands/') && !i.file.startsWith('src/cli/'))
      .map((i) => `${i.file}: ${i.specifier}`)
    expect(broken).toEqual([])
  })

  it('core modules never write to the terminal (they report through hooks and return results)', () => {
    const broken = SRC.filter((f) => !f.startsWith('src/cli/')).flatMap((file) => {
      const text = readFileSync(join(ROOT, file), 'utf8')
      const hits = [...text.matchAll(/\b(console\.(log|error|warn|info|debug)|process\.(stdout|stderr)\.write)\b/g)]
      return hits.map((m) => `${file}: ${m[0]}`)
    })
    expect(broken).toEqual([])
  })

  it('the pure folders (oci, discover, rewrite but rewrite/io.ts) do no I/O', () => {
    const broken = IMPORTS.filter((i) => PURE.includes(folderOf(i.file) ?? '') && !PURE_EXCEPTIONS.has(i.file))
      .filter((i) => IO_MODULES.test(i.specifier) || (i.target !== undefined && folderOf(i.target) === 'files'))
      .map((i) => `${i.file}: ${i.specifier}`)
    expect(broken).toEqual([])
  })

  it('the copy engine never knows which targets it moves between', () => {
    const broken = IMPORTS.filter((i) => folderOf(i.file) === 'copy' && i.target)
      .filter((i) => ['registry', 'layout', 'bundle', 'http', 'auth'].includes(folderOf(i.target!)!))
      .map((i) => `${i.file}: ${i.specifier}`)
    expect(broken).toEqual([])
  })
})
