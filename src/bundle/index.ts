/**
 * The bundle tarball (format v1): one uncompressed ustar archive holding a standard OCI image
 * layout (`oci-layout`, `blobs/<alg>/<hex>`, `index.json`) plus `airgap/lock.json`,
 * `airgap/spec.yaml` and `airgap/signature.sigstore.json`. Stock tools read it directly
 * (`skopeo copy oci-archive:B.tar:REF …`).
 */
export {BundleReader} from './reader.js'
export {HashPool} from './hash-pool.js'
export type {BundleEntry, BundleReaderOptions, VerifyAllOptions} from './reader.js'
export {BundleWriter} from './writer.js'
export type {BundleWriterOptions, FinishInput} from './writer.js'
export {planBundle, planBundleSize} from './archive-plan.js'
export type {BundlePlan} from './archive-plan.js'
export {
  AIRGAP_FILES,
  INDEX_JSON,
  LOCK_JSON,
  MAX_METADATA_BYTES,
  OCI_LAYOUT,
  SIGNATURE,
  SPEC_YAML,
  blobEntryName,
  digestOfEntryName,
  buildIndexJson,
} from './layout.js'
export type {AirgapFile, IndexEntry} from './layout.js'
