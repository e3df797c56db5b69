/**
 * MemoryTarget: a Map-backed Target. It is a test helper (engine, contract and unit tests) and a
 * reference implementation of the content contract: pushes are verified before they become
 * visible, fetches return verifying streams, tags resolve like a registry.
 */
import {Readable} from 'node:stream'
import {pipeline} from 'node:stream/promises'
import {NotFoundError, UsageError} from '../errors.js'
import {digestOf, isDigest} from '../oci/digest.js'
import {isValidTag, parseReference} from '../oci/reference.js'
import type {Descriptor} from '../oci/types.js'
import type {Located, Mounter, TagLister, Target} from './types.js'
import {Verification, verifier} from './verify.js'

interface Entry {
  readonly desc: Descriptor
  readonly bytes: Buffer
}

/** Several MemoryTargets of one pretend registry, so that mounts between them can be tested. */
export class MemoryRegistry {
  private readonly repositories = new Map<string, MemoryTarget>()

  constructor(readonly host = 'memory.invalid') {}

  /** The repository `name`, created on first use. */
  repository(name: string, options: Omit<MemoryTargetOptions, 'registry' | 'repository'> = {}): MemoryTarget {
    let target = this.repositories.get(name)
    if (target === undefined) {
      target = new MemoryTarget({...options, registry: this, repository: name})
      this.repositories.set(name, target)
    }
    return target
  }

  /** The repository `name` if it exists. */
  get(name: string): MemoryTarget | undefined {
    return this.repositories.get(name)
  }
}

export interface MemoryTargetOptions {
  /** Shown in messages; defaults to `memory` (or `memory <host>/<repository>` inside a registry). */
  location?: string
  /** Makes the target a Mounter (test helper for the engine's mount path); needs `registry`. */
  mountable?: boolean
  registry?: MemoryRegistry
  repository?: string
}

const CHUNK = 64 * 1024

function* slices(bytes: Buffer): Generator<Buffer> {
  for (let at = 0; at < bytes.byteLength; at += CHUNK) yield bytes.subarray(at, at + CHUNK)
}

/** A stream of `bytes` checked against `desc`, lazy so that errors reach the consumer. */
function verifiedStream(bytes: Buffer, desc: Descriptor, where: string): Readable {
  const check = new Verification(desc, where)
  return Readable.from(
    (function* () {
      for (const slice of slices(bytes)) {
        const err = check.update(slice)
        if (err) throw err
        yield slice
      }
      const err = check.finish()
      if (err) throw err
    })(),
    {objectMode: false},
  )
}

/**
 * In-memory Target (test helper). Counters: `pushCount` counts completed push() calls (also those
 * for content that already existed, so that tests can see redundant pushes), `pushedBytes` the
 * bytes those calls received, `mountCount` successful mounts.
 */
export class MemoryTarget implements Target, TagLister, Located {
  readonly location: string
  readonly registryHost?: string
  readonly repository?: string
  /** Present only when constructed with `{mountable: true}` (see isMounter). */
  readonly mount?: Mounter['mount']
  pushCount = 0
  pushedBytes = 0
  mountCount = 0

  private readonly registry: MemoryRegistry | undefined
  private readonly blobs = new Map<string, Entry>()
  private readonly tagMap = new Map<string, Descriptor>()

  constructor(options: MemoryTargetOptions = {}) {
    const registry = options.registry
    this.registry = registry
    if (registry !== undefined) this.registryHost = registry.host
    if (options.repository !== undefined) this.repository = options.repository
    this.location =
      options.location ?? (registry && options.repository ? `memory ${registry.host}/${options.repository}` : 'memory')
    if (options.mountable) this.mount = (desc, from, signal) => this.mountFrom(desc, from, signal)
  }

  async exists(desc: Descriptor, signal?: AbortSignal): Promise<boolean> {
    signal?.throwIfAborted()
    return this.blobs.has(desc.digest)
  }

  async fetch(desc: Descriptor, signal?: AbortSignal): Promise<Readable> {
    signal?.throwIfAborted()
    const entry = this.blobs.get(desc.digest)
    if (entry === undefined) throw this.notFound(desc.digest)
    return verifiedStream(entry.bytes, desc, `${desc.digest} in ${this.location}`)
  }

  async push(desc: Descriptor, body: Readable, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    const chunks: Buffer[] = []
    let received = 0
    await pipeline(
      body,
      verifier(desc, `${desc.digest} pushed to ${this.location}`),
      async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) {
          chunks.push(chunk)
          received += chunk.byteLength
        }
      },
      signal ? {signal} : {},
    )
    this.pushCount++
    this.pushedBytes += received
    if (!this.blobs.has(desc.digest)) this.blobs.set(desc.digest, {desc: plain(desc), bytes: Buffer.concat(chunks, received)})
  }

  async resolve(ref: string, signal?: AbortSignal): Promise<Descriptor> {
    signal?.throwIfAborted()
    if (isDigest(ref)) {
      const entry = this.blobs.get(ref)
      if (entry === undefined) throw this.notFound(ref)
      return entry.desc
    }
    const byName = this.tagMap.get(ref)
    if (byName !== undefined) return byName
    if (!isValidTag(ref)) {
      const parsed = parseReference(ref)
      if (parsed.digest !== undefined) return this.resolve(parsed.digest, signal)
      const byTag = parsed.tag === undefined ? undefined : this.tagMap.get(parsed.tag)
      if (byTag !== undefined) return byTag
    }
    throw this.notFound(ref)
  }

  async tag(desc: Descriptor, ref: string, signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted()
    if (!this.blobs.has(desc.digest)) {
      throw new NotFoundError(`cannot tag ${ref} in ${this.location}: ${desc.digest} has not been pushed`, {
        hint: 'push the manifest before tagging it',
      })
    }
    this.tagMap.set(tagKey(ref), plain(desc))
  }

  async *tags(signal?: AbortSignal): AsyncIterable<string> {
    for (const t of [...this.tagMap.keys()].sort()) {
      signal?.throwIfAborted()
      yield t
    }
  }

  /** Store `bytes` directly (no counters); returns their descriptor. Test set-up helper. */
  put(bytes: Uint8Array, mediaType: string, extra: Partial<Descriptor> = {}): Descriptor {
    const buf = Buffer.from(bytes)
    const desc: Descriptor = {...extra, mediaType, digest: digestOf(buf), size: buf.byteLength}
    this.blobs.set(desc.digest, {desc: plain(desc), bytes: buf})
    return desc
  }

  /** The stored bytes of `digest`, if any. */
  bytes(digest: string): Buffer | undefined {
    return this.blobs.get(digest)?.bytes
  }

  /** Stored digests, sorted. */
  digests(): string[] {
    return [...this.blobs.keys()].sort()
  }

  /** Remove stored content (tests of missing blobs). Returns whether it existed. */
  delete(digest: string): boolean {
    return this.blobs.delete(digest)
  }

  private async mountFrom(desc: Descriptor, fromRepository: string, signal?: AbortSignal): Promise<boolean> {
    signal?.throwIfAborted()
    const source = this.registry?.get(fromRepository)
    const entry = source?.blobs.get(desc.digest)
    if (entry === undefined) return false
    if (!this.blobs.has(desc.digest)) this.blobs.set(desc.digest, entry)
    this.mountCount++
    return true
  }

  private notFound(ref: string): NotFoundError {
    return new NotFoundError(`${ref} not found in ${this.location}`, {hint: 'check the tag or digest; list tags to see what exists'})
  }
}

/** The registry-style descriptor (mediaType, digest, size) a tag resolves to. */
function plain(desc: Descriptor): Descriptor {
  return {mediaType: desc.mediaType, digest: desc.digest, size: desc.size}
}

/** Tags are stored by tag; a full reference (`host/repo:tag`) is reduced to its tag. */
function tagKey(ref: string): string {
  if (isValidTag(ref)) return ref
  const parsed = parseReference(ref)
  if (parsed.tag === undefined) {
    throw new UsageError(`cannot tag with "${ref}": it has no tag`, {hint: 'give a tag such as 1.2.3 or host/repo:1.2.3'})
  }
  return parsed.tag
}
