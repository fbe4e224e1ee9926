/**
 * `yieldNow()`: give other tasks a turn.
 *
 * Invariant: the task is re-queued at the back of the local queue (never
 * the LIFO slot), so every task already queued runs before it resumes.
 *
 * @module
 */

import { Leaf, PENDING, type Poll } from "./operation.ts";
import type { Waker } from "./waker.ts";

class YieldNow extends Leaf<void> {
  #yielded = false;
  protected poll(waker: Waker): Poll<void> {
    if (this.#yielded) return undefined;
    this.#yielded = true;
    waker.wake(); // while RUNNING this only marks NOTIFIED: re-queued after the poll
    return PENDING;
  }
  protected cancel(): void {}
}

/**
 * Suspend the current task once and let the others run.
 *
 * @example
 * ```ts
 * import { run, yieldNow } from "../mod.ts";
 * await run(function* () {
 *   for (let i = 0; i < 3; i++) yield* yieldNow();
 * });
 * ```
 */
export function yieldNow(): Leaf<void> {
  return new YieldNow();
}
