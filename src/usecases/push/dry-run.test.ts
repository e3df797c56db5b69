import {describe, expect, it} from 'vitest'
import {parseMirrorRegistry, planMirror} from '../../mirror/mapping.js'
import {MediaType, type Descriptor} from '../../oci/types.js'
import type {VerifyReport} from '../verify.js'
import {dryRunReport} from './dry-run.js'
import type {PushPlan} from './plan.js'

const d = (n: number, size: number, mediaType: string = MediaType.OciLayer): Descriptor => ({mediaType, digest: `sha256:${String(n).padStart(64, '0')}`, size})
const manifest = (n: number) => d(n, 500, MediaType.OciManifest)

describe('push --dry-run report', () => {
  const registry = parseMirrorRegistry('m.corp:5000/pre')
  const [appAt, toolAt] = planMirror(
    [
      {source: 'docker.io/acme/app:1', digest: manifest(1).digest},
      {source: 'quay.io/tool:2', digest: manifest(2).digest},
    ],
    registry,
    false,
    {maxNestedPaths: 2},
  )
  const shared = d(10, 1000)
  const appNodes = [manifest(1), d(11, 100, MediaType.OciConfig), shared, d(12, 4000)]
  const toolNodes = [manifest(2), d(21, 100, MediaType.OciConfig), shared]
  const lockImage = (source: string, nodes: Descriptor[]) => ({source, digest: nodes[0]!.digest, mediaType: MediaType.OciManifest, size: 500, platforms: ['linux/amd64'], bytes: nodes.reduce((n, x) => n + x.size, 0)})
  const plan: PushPlan = {
    registry,
    keepSourceHost: false,
    pathRules: {maxNestedPaths: 2},
    connection: {plainHttp: [], caFiles: []},
    images: [
      {image: lockImage('docker.io/acme/app:1', appNodes), placement: appAt!, mirror: 'absent', nodes: appNodes},
      {image: lockImage('quay.io/tool:2', toolNodes), placement: toolAt!, mirror: 'present', nodes: toolNodes},
    ],
    // what planPush makes: each blob of an image the mirror lacks, once, owned by the first image holding it
    uploads: [appNodes[1]!, shared, appNodes[3]!].map((blob) => ({blob, owner: 0})),
    hash: new Set(),
    charts: [],
    signatures: [],
  }

  it('asks the mirror for each planned blob in the repository it would go to, and sums what it lacks', async () => {
    const asked: string[] = []
    const report = await dryRunReport({
      bundle: 'b.tar',
      receiptPath: 'b.tar.receipt.json',
      contents: {authenticity: 'verified', signer: 'sha256:k'} as VerifyReport,
      plan,
      chartNodes: () => [],
      blobPresent: async (repository, blob) => {
        asked.push(`${repository}@${blob.digest.slice(-2)}`)
        return blob.digest === shared.digest
      },
    })
    expect(asked.sort()).toEqual(['m.corp:5000/pre/acme-app@10', 'm.corp:5000/pre/acme-app@11', 'm.corp:5000/pre/acme-app@12'])
    expect(report.images.map((i) => [i.mirror, i.renamed, i.mirrorHolds, i.send])).toEqual([
      ['m.corp:5000/pre/acme-app:1', true, 'absent', {blobs: 2, bytes: 4100}],
      ['m.corp:5000/pre/tool:2', false, 'present', {blobs: 0, bytes: 0}],
    ])
    // the absent image's manifest goes; the present one only gets its tag
    expect(report.send).toEqual({blobs: 2, bytes: 4100, manifests: 1, manifestBytes: 500, tags: 2})
    expect(report.alreadyThere).toEqual({blobs: 1, bytes: 1000})
    expect(report.registry).toBe('m.corp:5000/pre')
  })
})
