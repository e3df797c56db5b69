/**
 * A budget for one template execution (with everything it includes, `tpl` strings and nested
 * templates): a chart from upstream is untrusted input, and Go's text/template has no limit of its
 * own, so `{{ range until 1000000000 }}` would hang discovery or rewrite. The limits are far above
 * what real charts use (all of operator-wandb with every component on: about a million steps and a
 * few MB of output), and exceeding them is an ordinary template error, naming template and line.
 */

export const LIMITS = {
  /** Nodes walked (actions, text, branches, range iterations) in one top-level execution. */
  steps: 50_000_000,
  /** Characters written by one top-level execution, and the longest string one `repeat` makes. */
  outputChars: 128 * 1024 * 1024,
  /** Items of one list a range function (`until`, `untilStep`) makes. */
  listItems: 10_000_000,
}

let active = 0
let steps = 0
let output = 0

/** Run a top-level execution (nested ones share the budget of the outermost). */
export function withBudget<T>(run: () => T): T {
  if (active === 0) {
    steps = 0
    output = 0
  }
  active++
  try {
    return run()
  } finally {
    active--
  }
}

export const overSteps = (): string => `exceeded the budget of ${LIMITS.steps} steps in one template execution (a loop that never ends?)`
export const overOutput = (): string => `wrote more than ${LIMITS.outputChars} characters in one template execution`

/** One more step; true when over the budget. */
export function step(): boolean {
  return ++steps > LIMITS.steps
}

/** `n` more characters written; true when over the budget. */
export function wrote(n: number): boolean {
  output += n
  return output > LIMITS.outputChars
}
