/** A template execution failure, as Go words and locates it (ExecError). */

export class ExecFailure extends Error {
  constructor(
    message: string,
    /** Name of the file the failing node is in, line (1-based) and column (0-based). */
    readonly templateFile: string,
    readonly line: number,
    readonly column: number,
    /** The error message without Go's location prefix. */
    readonly detail: string,
  ) {
    super(message)
  }
}

