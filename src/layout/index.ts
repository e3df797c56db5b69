/** OCI image layout directories as a Target. */
export {OciLayout, INGEST_DIR, type OpenLayoutOptions} from './layout.js'
export {INDEX_FILE, LAYOUT_FILE, LAYOUT_VERSION, KeyedMutex, readIndexFile, type IndexDocument} from './index-file.js'
