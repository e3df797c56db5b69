/** Failures of rendering: what failed, in which template file and line, and a hint. */
import {AirgapError, type AirgapErrorOptions} from '../../errors.js'

export class RenderError extends AirgapError {
  override readonly code: string = 'RENDER'
  /** Chart-relative template file (e.g. "wandb/templates/api.yaml") and line, when known. */
  readonly template?: string
  readonly line?: number

  constructor(message: string, options: AirgapErrorOptions & {template?: string; line?: number} = {}) {
    super(message, options)
    if (options.template !== undefined) this.template = options.template
    if (options.line !== undefined) this.line = options.line
  }
}
