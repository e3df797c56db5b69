/** What `airgap rewrite` reports about YAML files it rewrote. */

/** One image reference rewritten in a YAML file. */
export interface Change {
  /** `spec.template.spec.containers[0].image` (for a values map: the `image` key). */
  path: string
  /** 0-based index of the YAML document in the file. */
  document: number
  from: string
  to: string
  /** 1-based line of the value in the input text. */
  line: number
}

/** An image reference found in a YAML file that is neither in the mirror map nor in the mirror. */
export interface Unresolved {
  path: string
  document: number
  ref: string
  line: number
  /** Why it could not be rewritten. */
  reason: string
}
