/**
 * Helm-compatible rendering: Go text/template + Sprig + Helm's engine, in TypeScript.
 * `renderChart(chart, {values, release, capabilities})` renders like `helm template`;
 * `parseManifests` turns the output into Kubernetes objects.
 */
export {renderChart, DEFAULT_API_VERSIONS} from './engine/render.js'
export type {RenderOptions} from './engine/render.js'
export type {CapabilitiesOptions, ReleaseOptions} from './engine/objects.js'
export {RenderError} from './engine/errors.js'
export {parseManifests} from './engine/manifests.js'
export type {KubernetesObject} from './engine/manifests.js'
