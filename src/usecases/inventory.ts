/**
 * takeInventory() (`airgap inventory`): what a mirror holds, for `airgap pull --since`.
 *
 * Walks the catalog (`/v2/_catalog`, paginated) for repositories under the prefix, lists each
 * one's tags, resolves every tag (HEAD), and walks the manifests (each fetched once, shared across
 * repositories through one tracker) to record every manifest and blob digest. Read-only towards the
 * mirror; the inventory is then written to a file atomically.
 */
import pLimit from 'p-limit'
import {planCopy} from '../copy/plan.js'
import {CopyTracker} from '../copy/tracker.js'
import {isManifestDescriptor} from '../copy/graph.js'
import {createInventory, serializeInventory, type MirrorInventory} from '../delta/inventory.js'
import {findCause, NotFoundError} from '../errors.js'
import {writeFileAtomic} from '../files/atomic-write.js'
import {formatMirrorRegistry, type MirrorRegistry} from '../mirror/mapping.js'
import type {RegistryRepository} from '../registry/index.js'
import {Session, type ConnectionOptions} from './session.js'

export interface InventoryOptions extends ConnectionOptions {
  /** Only repositories under the prefix are recorded. */
  registry: MirrorRegistry
  /** The inventory file to write. */
  output: string
  /** Requests in flight (default 8). */
  concurrency?: number
  signal?: AbortSignal
  /** Called after each repository is walked. */
  onRepository?(name: string, tags: number): void
}

export interface InventoryResult {
  /** The inventory file written. */
  path: string
  /** `HOST[:PORT][/PREFIX]`, as the inventory records it. */
  registry: string
  repositories: number
  tags: number
  manifests: number
  blobs: number
  seconds: number
}

/** Walk the mirror and write the inventory file; see the module comment. */
export async function takeInventory(opts: InventoryOptions): Promise<InventoryResult> {
  const started = performance.now()
  const inventory = await walkMirror(opts)
  await writeInventory(opts.output, inventory)
  return {
    path: opts.output,
    registry: inventory.registry,
    repositories: Object.keys(inventory.repositories).length,
    tags: Object.values(inventory.repositories).reduce((n, r) => n + Object.keys(r.tags).length, 0),
    manifests: inventory.manifests.length,
    blobs: inventory.blobs.length,
    seconds: Math.round(performance.now() - started) / 1000,
  }
}

/** Every repository under the prefix, its tags and every manifest and blob they reach. */
/** What the mirror holds under the prefix (no file written). */
export async function walkMirror(opts: Omit<InventoryOptions, 'output'>): Promise<MirrorInventory> {
  const registry = opts.registry
  const session = new Session(opts)
  try {
    const open = (name: string): RegistryRepository => session.repository(`${registry.host}/${name}`, 'destination').repository
    const client = open('library/inventory').client
    const names: string[] = []
    for await (const name of client.catalog(opts.signal)) {
      if (!registry.prefix || name === registry.prefix || name.startsWith(`${registry.prefix}/`)) names.push(name)
    }
    const tracker = new CopyTracker({concurrency: opts.concurrency ?? 8})
    const limit = pLimit(opts.concurrency ?? 8)
    const manifests = new Set<string>()
    const blobs = new Set<string>()
    const repositories: Record<string, Record<string, string>> = {}
    await Promise.all(
      names.map((name) =>
        limit(async () => {
          const repo = open(name)
          const tags: Record<string, string> = {}
          for await (const tag of repo.tags(opts.signal)) {
            const nodes = await walkTag(repo, tag, tracker, opts.signal)
            if (!nodes) continue
            tags[tag] = nodes[0]!.digest
            for (const n of nodes) (isManifestDescriptor(n) ? manifests : blobs).add(n.digest)
          }
          repositories[name] = tags
          opts.onRepository?.(name, Object.keys(tags).length)
        }),
      ),
    )
    return createInventory({registry: formatMirrorRegistry(registry), repositories, manifests, blobs})
  } finally {
    await session.close()
  }
}

/** Every node of the tag's graph (root first), or undefined when the tag vanished meanwhile. */
async function walkTag(repo: RegistryRepository, tag: string, tracker: CopyTracker, signal?: AbortSignal) {
  try {
    return (await planCopy(repo, tag, {tracker, image: `${repo.registryHost}/${repo.repository}:${tag}`, signal})).nodes
  } catch (err) {
    if (findCause(err, NotFoundError)) return undefined
    throw err
  }
}

/** Write the inventory atomically (src/files/atomic-write.ts). */
async function writeInventory(file: string, inventory: MirrorInventory): Promise<void> {
  await writeFileAtomic(file, serializeInventory(inventory), {mode: 0o644})
}
