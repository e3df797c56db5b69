/** Image discovery from Helm charts: values, annotations and template literals, with origins. */
export {discoverImages, groupFindings, specFindings} from './discover.js'
export type {DiscoverOptions, Finding, FindingSource, ImageGroup, ImageShape} from './types.js'
export {coalesce, evaluateCondition, evaluateTags, formatValuesPath} from './values.js'
export {chartTree} from './tree.js'
export type {ChartNode} from './tree.js'
export {isImageKey, resolveImage} from './shapes.js'
export {annotationImages, templateImages, IMAGE_ANNOTATIONS} from './literals.js'
