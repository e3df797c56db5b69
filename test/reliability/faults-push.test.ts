/**
 * Fault matrix, upload side: the spawned `airgap push` pushes a signed bundle (pulled from the real
 * plain registry) into the same real registry through the fault proxy. Every run either completes
 * or fails with a one-line error and a documented exit code; a rerun without the fault completes;
 * then every image graph is read back from the registry itself (plain fetch, every node hashed) and
 * skopeo reads the same root digests: nothing corrupt is ever stored.
 */
import {readFile} from 'node:fs/promises'
import {join} from 'node:path'
import {afterAll, beforeAll, expect, it} from 'vitest'
import {describeWithServices, services} from '../support/services.js'
import {FaultProxy} from './fault-proxy.js'
import {FAULT_EXIT_CODES, PUSH_MATRIX, jsonError, recordVerifiedRun} from './matrix.js'
import {checkStoredGraph, cleanup, cli, keyPair, seed, skopeoDigest, smallImages, workDir, writeSpec} from './support.js'

interface Receipt {
  complete: boolean
  images: Array<{source: string; mirror: string; digest: string; mediaType: string; status: string}>
}

describeWithServices('fault matrix: airgap push through a fault-injecting proxy', () => {
  let dir: string
  let proxy: FaultProxy
  let bundle: string
  let pub: string
  let registry: string

  beforeAll(async () => {
    registry = services().registries.plain.host
    dir = await workDir('faults-push')
    const images = await smallImages(`fq-${process.pid}`, 48 * 1024)
    for (const i of images) await seed(registry, i.repo, i.g, i.tag)
    const spec = await writeSpec(dir, 'faults-push', images.map((i) => `${registry}/${i.repo}:${i.tag}`))
    const keys = await keyPair(dir)
    pub = keys.pub
    bundle = join(dir, 'bundle.tar')
    const r = await cli(['pull', spec, '-o', bundle, '--plain-http', registry, '--sign-key', keys.key, '--json'])
    expect(r.code, r.stdout + r.stderr).toBe(0)
    proxy = await FaultProxy.start(registry)
  })
  afterAll(async () => {
    await proxy?.close()
    await cleanup(dir)
  })

  function push(prefix: string, receipt: string): ReturnType<typeof cli> {
    return cli(
      ['push', bundle, '--key', pub, '--registry', `${proxy.host}/${prefix}`, '--plain-http', proxy.host, '--receipt', receipt, '--concurrency', '2', '--json'],
      {timeoutMs: 90_000},
    )
  }

  PUSH_MATRIX.forEach((row, n) => {
    it(`${row.name}: completes, or fails cleanly and the rerun completes; nothing corrupt stored`, async () => {
      const started = Date.now()
      const prefix = `m${process.pid}-${n}`
      const receiptFile = join(dir, `${prefix}.receipt.json`)
      proxy.clear()
      const rule = proxy.add(row.rule)
      const first = await push(prefix, receiptFile)
      expect(rule.hits, 'the fault was injected').toBeGreaterThan(0)
      const err = jsonError(first)
      let rerunExit: number | null | undefined
      if (first.code === 0) {
        expect(row.persistent, `a persistent fault cannot be survived: ${first.stdout.slice(0, 300)}`).not.toBe(true)
      } else {
        expect(FAULT_EXIT_CODES, first.stdout + first.stderr).toContain(first.code)
        if (first.code !== 6) {
          expect(err?.message, 'one clear error line').toBeTruthy()
          expect(err!.message).not.toMatch(/\n/)
          expect(err!.code).not.toBe('INTERNAL')
        }
        proxy.clear()
        const rerun = await push(prefix, receiptFile)
        rerunExit = rerun.code
        expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0)
      }
      const receipt = JSON.parse(await readFile(receiptFile, 'utf8')) as Receipt
      expect(receipt.complete).toBe(true)
      expect(receipt.images).toHaveLength(3)
      let nodes = 0
      for (const img of receipt.images) {
        expect(img.status).toMatch(/pushed|present|skipped/)
        const direct = img.mirror.replace(proxy.host, registry)
        const repo = direct.slice(registry.length + 1).replace(/[:@].*$/, '')
        nodes += await checkStoredGraph(registry, repo, img.digest, img.mediaType)
        expect(await skopeoDigest(direct)).toBe(img.digest)
      }
      expect(nodes).toBeGreaterThanOrEqual(10)
      await recordVerifiedRun('push', row, rule.hits, first, rerunExit, started)
    })
  })

  it('a mirror that answers HTTP 500 to every existence check: everything is sent, and each node is asked about once, not again by each step', async () => {
    const prefix = `h${process.pid}`
    const receiptFile = join(dir, `${prefix}.receipt.json`)
    proxy.clear()
    const byDigest = /\/(blobs|manifests)\/sha256:[0-9a-f]{64}$/
    const rule = proxy.add({method: 'HEAD', path: byDigest, times: 100_000, fault: {kind: 'status', status: 500}})
    const r = await push(prefix, receiptFile)
    expect(r.code, r.stdout + r.stderr).toBe(0)
    const stats = (JSON.parse(r.stdout) as {stats: {existenceUnanswered: number; blobsCopied: number}}).stats
    expect(stats.existenceUnanswered, 'checks the mirror answered with HTTP 500').toBeGreaterThan(0)
    expect(rule.hits).toBeGreaterThan(0)
    // The survey, the copy engine and the upload's own check each ask whether a node is there; after
    // the HTTP client's retries (1 + 3 attempts) end in a 500, the answer is kept for the run.
    const asked = new Map<string, number>()
    for (const e of proxy.log) if (e.method === 'HEAD' && byDigest.test(e.path)) asked.set(e.path, (asked.get(e.path) ?? 0) + 1)
    expect(asked.size, 'nodes asked about').toBeGreaterThanOrEqual(10)
    for (const [path, n] of asked) expect(n, `HEAD ${path}`).toBeLessThanOrEqual(4)
    // Every blob asked about went up (uploaded, or mounted from another repository), none twice.
    const blobs = [...asked.keys()].filter((p) => p.includes('/blobs/')).map((p) => /^\/v2\/(.+)\/blobs\/(sha256:[0-9a-f]{64})$/.exec(p)!.slice(1))
    expect(blobs.length).toBeGreaterThan(0)
    for (const [repo, digest] of blobs) {
      const into = proxy.log.filter((e) => e.path.startsWith(`/v2/${repo}/blobs/uploads/`))
      const uploads = into.filter((e) => e.method === 'PUT' && decodeURIComponent(e.path).includes(`digest=${digest}`)).length
      const mounts = into.filter((e) => e.method === 'POST' && decodeURIComponent(e.path).includes(`mount=${digest}`)).length
      expect(uploads, `uploads of ${digest} into ${repo}`).toBeLessThanOrEqual(1)
      expect(uploads + mounts, `${digest} sent to ${repo}`).toBeGreaterThanOrEqual(1)
    }
    const receipt = JSON.parse(await readFile(receiptFile, 'utf8')) as Receipt
    expect(receipt.complete).toBe(true)
    for (const img of receipt.images) {
      const direct = img.mirror.replace(proxy.host, registry)
      const repo = direct.slice(registry.length + 1).replace(/[:@].*$/, '')
      await checkStoredGraph(registry, repo, img.digest, img.mediaType)
    }
  })
})
