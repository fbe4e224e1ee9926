/**
 * `yieldNow()`: give other tasks a turn.
 *
 * Invariant: the task is re-queued at the back of the local queue (never
 * the LIFO slot), so every task already queued runs before it resumes.
 *
 * The operation is a tiny standalone iterator rather than a `Leaf`: it is
 * the hottest operation of cooperative loops, it never waits on a resource,
 * and it takes no coop budget (it always yields).
 *
 * @module
 */

import { currentWaker } from "./context.ts";
import { type Operation, toPromise } from "../operation.ts";

const SUSPEND: IteratorYieldResult<undefined> = Object.freeze({ done: false, value: undefined });
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * The operation `yieldNow()` returns: suspends once, then completes.
 *
 * @example
 * ```ts
 * import { run, yieldNow } from "../../mod.ts";
 * await run(function* () {
 *   yield* yieldNow();
 * });
 * ```
 */
export class YieldNow
  implements Operation<void>, Iterator<unknown, void, unknown>, PromiseLike<void> {
  #yielded = false;

  /**
   * The operation is its own iterator.
   *
   * @returns this operation.
   */
  [Symbol.iterator](): Iterator<unknown, void, unknown> {
    return this;
  }

  /**
   * First resume: mark the task notified (re-queued after this poll) and suspend.
   *
   * @returns `done: false` on the first resume, `done: true` on the second.
   */
  next(): IteratorResult<unknown, void> {
    if (this.#yielded) return DONE;
    this.#yielded = true;
    // While the task is RUNNING this only sets NOTIFIED: it goes to the back
    // of the queue when its poll ends.
    currentWaker().wake();
    return SUSPEND;
  }

  /**
   * Cancelled while suspended: nothing to undo.
   *
   * @returns `done: true`.
   */
  return(): IteratorResult<unknown, void> {
    this.#yielded = true;
    return DONE;
  }

  /**
   * Thrown into: rethrow.
   *
   * @param e the error to rethrow.
   * @returns never: it always throws.
   * @throws `e`.
   */
  throw(e?: unknown): IteratorResult<unknown, void> {
    this.#yielded = true;
    throw e;
  }

  /**
   * `await yieldNow()` outside a task.
   *
   * @param onfulfilled called once the other tasks had their turn.
   * @param onrejected called with the error, if any.
   * @returns a promise of what the called handler returns.
   */
  then<R1 = void, R2 = never>(
    onfulfilled?: ((value: void) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return toPromise(this).then(onfulfilled, onrejected);
  }
}

/**
 * Suspend the current task once and let the others run.
 *
 * @returns an operation that suspends once (also awaitable).
 * @example
 * ```ts
 * import { run, yieldNow } from "../../mod.ts";
 * await run(function* () {
 *   for (let i = 0; i < 3; i++) yield* yieldNow();
 * });
 * ```
 */
export function yieldNow(): YieldNow {
  return new YieldNow();
}
