/** Helm charts: load archives and folders, classic repositories, charts as OCI artifacts. */
export type {ChartDependency, ChartMetadata, LoadedChart} from './types.js'
export {buildChartArchive, readChartArchive, unsafePathReason, ARCHIVE_MTIME, DEFAULT_ARCHIVE_LIMITS} from './archive.js'
export type {ArchiveFiles, ArchiveLimits} from './archive.js'
export {
  chartFileName,
  chartFiles,
  chartLock,
  helmIgnore,
  loadChartArchive,
  loadChartDir,
  loadChartFiles,
  packageChartDir,
  parseChartYaml,
  readChartDir,
} from './load.js'
export type {ChartLock, LoadOptions, LockedDependency} from './load.js'
export {compareVersionsDesc, indexDigest, indexEntryFor, mergeIndex, parseRepoIndex, resolveIndexEntry} from './repo-index.js'
export type {IndexEntry, RepoIndex} from './repo-index.js'
export {HelmRepository, repositoryUrls} from './repository.js'
export type {DownloadedChart, HelmRepositoryOptions} from './repository.js'
export {
  MAX_CHART_BYTES,
  chartAnnotations,
  chartConfigJson,
  chartLayers,
  chartTag,
  chartToOciArtifact,
  listOciChartVersions,
  ociArtifactToChart,
  parseOciChartRef,
  pullOciChart,
  pushChartArtifact,
  goJson,
  versionFromTag,
} from './oci.js'
export type {ArtifactBlob, ChartArtifact, ChartArtifactOptions, PulledOciChart} from './oci.js'
export {fetchDependencies} from './dependencies.js'
export type {FetchDependenciesOptions, FetchDependenciesResult, FetchedDependency, OciChartRepository} from './dependencies.js'
