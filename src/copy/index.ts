/** The one copy engine: every move of content in airgap goes through copy() or copyGraph(). */
export {copy, narrowIndex, type CopyResult} from './copy.js'
export {copyGraph, isManifestDescriptor, loadManifest} from './graph.js'
export {CopyError, type CopyErrorDetails, type CopyOp} from './errors.js'
export {MAX_BLOB_BYTES, MAX_GRAPH_DEPTH, checkChildren} from './limits.js'
export {CopyTracker, ManifestCache, type CopyTrackerOptions} from './tracker.js'
export {addStats, emptyStats, type CopyGraphOptions, type CopyHooks, type CopyOptions, type CopyStats} from './types.js'
