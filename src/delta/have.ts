/**
 * The have-list: digests the mirror is known to hold, with the mirror repositories (paths inside
 * the mirror host) where each was seen when that is known. `airgap pull --since` leaves the
 * blobs on this list out of the bundle (manifests are always carried). Pure: no IO.
 */
export class HaveList {
  private readonly digests = new Map<string, Set<string>>()

  /** `origin` names the file the list came from, for messages. */
  constructor(readonly origin: string) {}

  /** Record `digest` (and, when known, one repository that holds it). */
  add(digest: string, repository?: string): void {
    let repos = this.digests.get(digest)
    if (!repos) this.digests.set(digest, (repos = new Set()))
    if (repository) repos.add(repository)
  }

  has(digest: string): boolean {
    return this.digests.has(digest)
  }

  /** Repositories known to hold `digest`, sorted (empty when unknown). */
  repositories(digest: string): string[] {
    return [...(this.digests.get(digest) ?? [])].sort()
  }

  get size(): number {
    return this.digests.size
  }
}
