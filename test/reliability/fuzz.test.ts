/**
 * Property-based fuzzing (fast-check), each property bounded in runs and time for CI:
 * - references from structured generators (complements src/oci/reference.test.ts, which fuzzes
 *   strings): format∘parse round-trips the structure; Docker Hub shorthands normalise alike;
 *   single-character mutations of valid references only ever throw InvalidReferenceError;
 * - the spec loader: random YAML documents and mutated valid specs only ever throw SpecError;
 * - the bundle tar reader: a valid signed bundle mutated at random offsets (headers favoured) is
 *   either read with the very same content or refused with IntegrityError / UnsupportedError /
 *   UsageError; never another error, never a hang, never a file written.
 */
import {generateKeyPairSync} from 'node:crypto'
import {readFile, writeFile} from 'node:fs/promises'
import {join} from 'node:path'
import fc from 'fast-check'
import {stringify} from 'yaml'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {writeBundle} from '../../src/usecases/write-bundle.js'
import {MemoryTarget} from '../../src/content/memory.js'
import {IntegrityError, InvalidReferenceError, SpecError, UnsupportedError, UsageError} from '../../src/errors.js'
import {formatReference, parseReference, type Reference} from '../../src/oci/reference.js'
import {parseSpec} from '../../src/release/index.js'
import {BundleReader} from '../../src/bundle/index.js'
import {loadInto, makeImage, makeIndex} from '../support/images.js'
import {added, cleanup, snapshot, workDir} from './support.js'

const TIME = {interruptAfterTimeLimit: 4000, markInterruptAsFailure: false}

describe('fuzz: image references (structured)', () => {
  const alnum = fc.stringOf(fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'.split('')), {minLength: 1, maxLength: 8})
  const component = fc.tuple(alnum, fc.option(fc.tuple(fc.constantFrom('.', '_', '__', '-', '---'), alnum), {nil: undefined})).map(([a, rest]) => (rest ? `${a}${rest[0]}${rest[1]}` : a))
  const hostName = fc.oneof(
    fc.tuple(alnum, fc.constantFrom('.io', '.com', '.example.org', '.corp')).map(([a, b]) => `${a}${b}`),
    fc.constant('localhost'),
    fc.tuple(fc.integer({min: 1, max: 254}), fc.integer({min: 0, max: 255})).map(([a, b]) => `10.${a}.${b}.1`),
  )
  const registry = fc.tuple(hostName, fc.option(fc.integer({min: 1, max: 65535}), {nil: undefined})).map(([h, p]) => (p ? `${h}:${p}` : h))
  const tag = fc.tuple(fc.constantFrom(...'aZ0_'.split('')), fc.stringOf(fc.constantFrom(...'abcXYZ019_.-'.split('')), {maxLength: 30})).map(([a, b]) => `${a}${b}`)
  const digest = fc.hexaString({minLength: 64, maxLength: 64}).map((h) => `sha256:${h.toLowerCase()}`)
  const structured: fc.Arbitrary<Reference> = fc
    .record({registry, path: fc.array(component, {minLength: 1, maxLength: 5}), tag: fc.option(tag, {nil: undefined}), digest: fc.option(digest, {nil: undefined})})
    .filter((r) => r.tag !== undefined || r.digest !== undefined)
    .map((r) => ({registry: r.registry, repository: r.path.join('/'), ...(r.tag ? {tag: r.tag} : {}), ...(r.digest ? {digest: r.digest} : {})}))
    .filter((r) => formatReference(r).length < 255)

  it('parseReference(formatReference(r)) gives back the same structure', () => {
    fc.assert(
      fc.property(structured, (r) => {
        expect(parseReference(formatReference(r))).toEqual(r)
      }),
      {numRuns: 1000, ...TIME},
    )
  })

  it('Docker Hub shorthands normalise to the same reference as their long form', () => {
    fc.assert(
      fc.property(component, tag, (name, t) => {
        const long = parseReference(`docker.io/library/${name}:${t}`)
        expect(parseReference(`${name}:${t}`)).toEqual(long)
        expect(parseReference(`index.docker.io/library/${name}:${t}`)).toEqual(long)
      }),
      {numRuns: 500, ...TIME},
    )
  })

  it('one-character mutations of valid references parse or throw InvalidReferenceError only', () => {
    const mutation = fc.tuple(structured, fc.nat(), fc.constantFrom('insert', 'delete', 'replace'), fc.fullUnicode())
    fc.assert(
      fc.property(mutation, ([r, at, op, ch]) => {
        const s = formatReference(r)
        const i = at % (s.length + 1)
        const m = op === 'insert' ? s.slice(0, i) + ch + s.slice(i) : op === 'delete' ? s.slice(0, i) + s.slice(i + 1) : s.slice(0, i) + ch + s.slice(i + 1)
        try {
          const p = parseReference(m)
          expect(parseReference(formatReference(p))).toEqual(p)
        } catch (err) {
          expect(err).toBeInstanceOf(InvalidReferenceError)
        }
      }),
      {numRuns: 1000, ...TIME},
    )
  })
})

describe('fuzz: spec loader', () => {
  const VALID = `apiVersion: airgap.dev/v1alpha1
kind: ReleaseSpec
metadata:
  name: fuzz
  version: "1.0"
spec:
  platforms: [linux/amd64, linux/arm64]
  includeDisabled: false
  charts:
    - name: operator
      repo: https://charts.wandb.ai
      version: 1.4.8
      set: {image: {tag: "1.0"}}
    - oci: oci://registry.example.com/charts/app
      version: 2.0.0
  images:
    - busybox:1.36
    - ghcr.io/acme/tool@sha256:${'a'.repeat(64)}
  exclude: ["docker.io/library/mysql:*"]
`
  function onlySpecErrors(text: string): void {
    try {
      parseSpec(text, 'fuzz.yaml')
    } catch (err) {
      if (!(err instanceof SpecError)) throw new Error(`parseSpec threw ${(err as Error)?.constructor?.name}: ${(err as Error)?.message} for ${JSON.stringify(text.slice(0, 200))}`)
      expect((err as SpecError).message).toMatch(/fuzz\.yaml/)
    }
  }

  it('the unmutated spec parses (control)', () => {
    expect(parseSpec(VALID, 'fuzz.yaml').spec.images).toHaveLength(2)
  })

  it('random YAML documents: SpecError or a valid spec, never another error', () => {
    const doc = fc.oneof(
      fc.anything({maxDepth: 4}).map((v) => {
        try {
          return stringify(v) ?? ''
        } catch {
          return String(v)
        }
      }),
      fc.record({apiVersion: fc.oneof(fc.constant('airgap.dev/v1alpha1'), fc.anything()), kind: fc.oneof(fc.constant('ReleaseSpec'), fc.anything()), metadata: fc.anything({maxDepth: 2}), spec: fc.anything({maxDepth: 3})}).map((v) => stringify(v) ?? ''),
      fc.string({maxLength: 300}),
      fc.fullUnicodeString({maxLength: 200}),
    )
    fc.assert(fc.property(doc, onlySpecErrors), {numRuns: 600, ...TIME})
  })

  it('mutated valid specs (byte edits, line shuffles): SpecError or a valid spec only', () => {
    const edit = fc.tuple(fc.nat(), fc.nat({max: 20}), fc.oneof(fc.string({maxLength: 8}), fc.constantFrom('&a', '*a', '<<: *a', '\t', ':', '- ', '{', '[', '"', "'", '!!binary', '!!js/function', '\u0000', '\n  ', '%YAML 1.1\n---\n')))
    const mutated = fc.array(edit, {minLength: 1, maxLength: 4}).map((edits) => {
      let s = VALID
      for (const [at, del, ins] of edits) {
        const i = at % (s.length + 1)
        s = s.slice(0, i) + ins + s.slice(i + del)
      }
      return s
    })
    fc.assert(fc.property(mutated, onlySpecErrors), {numRuns: 800, ...TIME})
  })
})

describe('fuzz: bundle tar reader', () => {
  let dir: string
  let valid: Buffer
  let headers: number[]
  let expected: string[]

  beforeAll(async () => {
    dir = await workDir('fuzz-tar')
    const src = new MemoryTarget()
    const multi = await makeIndex({seed: 'fuzz-multi', sharedLayers: 1, layers: 1, fileSize: 2048, files: 1})
    const app = await makeImage({seed: 'fuzz-app', layers: 1, fileSize: 2048, files: 1})
    await loadInto(src, multi, 'v1')
    await loadInto(src, app, '1')
    const {privateKey, publicKey} = generateKeyPairSync('ec', {namedCurve: 'P-256'})
    const out = join(dir, 'valid.tar')
    await writeBundle({images: [{source: src, ref: 'v1', name: 'fuzz.example.com/multi:v1'}, {source: src, ref: '1', name: 'fuzz.example.com/app:1'}], out, epoch: 0, signKey: {privateKey, publicKey}})
    valid = await readFile(out)
    const reader = await BundleReader.open(out)
    expected = reader.entries().map((e) => `${e.name}:${e.size}`).sort()
    headers = reader.entries().map((e) => e.offset - 512)
    await reader.close()
  })
  afterAll(async () => cleanup(dir))

  async function readOrRefuse(bytes: Buffer, n: number): Promise<'read' | 'refused'> {
    const file = join(dir, `m-${n}.tar`)
    await writeFile(file, bytes)
    let reader: BundleReader | undefined
    try {
      reader = await BundleReader.open(file)
      await reader.verifyAllBlobs({workers: 0})
      await reader.verifyGraph()
      // a mutation that is read must not change what the bundle holds
      expect(reader.entries().map((e) => `${e.name}:${e.size}`).sort()).toEqual(expected)
      return 'read'
    } catch (err) {
      if (err instanceof IntegrityError || err instanceof UnsupportedError || err instanceof UsageError) return 'refused'
      throw new Error(`unexpected ${(err as Error)?.constructor?.name}: ${(err as Error)?.message}`)
    } finally {
      await reader?.close()
    }
  }

  it('random mutations are read unchanged or refused with IntegrityError/UnsupportedError/UsageError; no hang, no file written', async () => {
    const before = await snapshot(dir)
    let n = 0
    const outcomes = {read: 0, refused: 0}
    const mutation = fc.record({
      inHeader: fc.boolean(),
      which: fc.nat(),
      at: fc.nat(),
      op: fc.constantFrom('flip', 'set', 'truncate', 'insert', 'zero-block'),
      value: fc.integer({min: 0, max: 255}),
    })
    await fc.assert(
      fc.asyncProperty(mutation, async (m) => {
        const b = Buffer.from(valid)
        const at = m.inHeader ? headers[m.which % headers.length]! + (m.at % 512) : m.at % b.length
        let bytes: Buffer
        if (m.op === 'flip') bytes = (b[at] = b[at]! ^ (m.value || 1), b)
        else if (m.op === 'set') bytes = (b[at] = m.value, b)
        else if (m.op === 'truncate') bytes = b.subarray(0, at)
        else if (m.op === 'insert') bytes = Buffer.concat([b.subarray(0, at), Buffer.from([m.value]), b.subarray(at)])
        else bytes = Buffer.concat([b.subarray(0, at - (at % 512)), Buffer.alloc(512), b.subarray(at - (at % 512) + 512)])
        n += 1
        const outcome = await Promise.race([
          readOrRefuse(bytes, n),
          new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`hang: mutation ${JSON.stringify(m)} not decided in 5 s`)), 5000)),
        ])
        outcomes[outcome] += 1
      }),
      {numRuns: 400, ...TIME},
    )
    const after = await snapshot(dir)
    expect(added(before, after).filter((p) => !/^m-\d+\.tar$/.test(p))).toEqual([])
    expect(outcomes.refused).toBeGreaterThan(0)
    process.stdout.write(`tar fuzz: ${outcomes.read + outcomes.refused} mutations, ${outcomes.refused} refused, ${outcomes.read} read unchanged\n`)
  }, 30_000)
})
