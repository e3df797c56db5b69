/** `airgap serve`: a bundle or OCI layout folder as an OCI registry and a classic Helm repository. */
export {startServer, parseAddr, type RequestLog, type RunningServer, type ServeOptions} from './server.js'
export {Htpasswd} from './htpasswd.js'
export {Catalog, splitRefName} from './names.js'
export {buildIndexYaml, listCharts, chartFileName, HELM_PREFIX, type ChartEntry} from './helm.js'
export {serveStore, type ServeStore} from './store.js'
