/**
 * Cooperative budget, after Tokio's `coop`: each task poll may complete at
 * most `budget` leaf operations; past that, leaves report "not ready" and
 * wake their task, which goes to the back of the run queue. So a loop over
 * always-ready operations still lets timers, I/O and other tasks run.
 *
 * Invariant: the budget is reset before every task poll and is unlimited
 * outside polls.
 *
 * @module
 */

let remaining = Infinity;

/**
 * Set the budget for the poll about to run. Scheduler use.
 *
 * @example
 * ```ts
 * import { resetBudget, consumeBudget } from "./coop.ts";
 * import assert from "node:assert/strict";
 * resetBudget(1);
 * assert.ok(consumeBudget());
 * assert.equal(consumeBudget(), false);
 * resetBudget(Infinity);
 * ```
 */
export function resetBudget(n: number): void {
  remaining = n;
}

/**
 * Spend one unit; false when the budget is used up (the caller must then
 * wake its task and suspend).
 *
 * @example
 * ```ts
 * import { consumeBudget } from "./coop.ts";
 * import assert from "node:assert/strict";
 * assert.equal(consumeBudget(), true); // unlimited outside polls
 * ```
 */
export function consumeBudget(): boolean {
  if (remaining <= 0) return false;
  remaining--;
  return true;
}
