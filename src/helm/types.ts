/** Shared Helm chart types (contract used by other modules; keep additive). */

export interface ChartDependency { name: string; version?: string; repository?: string; alias?: string; condition?: string; tags?: string[]; enabled?: boolean }
export interface ChartMetadata { apiVersion: string; name: string; version: string; appVersion?: string; type?: string; annotations?: Record<string, string>; dependencies?: ChartDependency[]; [k: string]: unknown }
export interface LoadedChart {
  metadata: ChartMetadata
  values: Record<string, unknown>          // parsed values.yaml ({} when absent)
  templates: Map<string, string>           // "templates/deployment.yaml" -> text (also templates/_helpers.tpl etc.)
  subcharts: LoadedChart[]                 // charts/ entries (dirs and nested .tgz), sorted by name
  /** where the chart came from, for messages: "operator-wandb-0.43.8.tgz" */
  origin: string
}
