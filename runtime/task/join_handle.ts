/**
 * JoinHandle: the spawner's view of a task — await or `yield*` it for the
 * task's value, `abort()` it to cancel the task.
 *
 * Invariant: joining never steals the output from another joiner (every
 * join of a finished task sees the same value or error), and a JoinHandle
 * that is never joined keeps nothing alive but the task's result.
 *
 * @module
 */

import type { Operation } from "../operation_type.ts";

/**
 * A handle to a spawned task. `yield* handle` (inside a task) or
 * `await handle` gives the task's value, or throws a `JoinError` whose
 * `cause` is what the task threw (and whose `cancelled` is true when it was
 * aborted).
 *
 * @example
 * ```ts
 * import { run, spawn } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const v = await run(function* () {
 *   const h = spawn(function* () {
 *     return 21 * 2;
 *   });
 *   return yield* h;
 * });
 * assert.equal(v, 42);
 * ```
 */
export interface JoinHandle<T> extends Operation<T>, PromiseLike<T> {
  /** The task's id, unique within the process. */
  readonly id: number;
  /**
   * Cancel the task: if idle it is cancelled at once (its `finally` blocks
   * run and the operation it waits in is cancelled); if running, when it
   * next suspends. Aborting a finished task does nothing.
   */
  abort(): void;
  /**
   * True once the task finished, by value, error or cancellation.
   *
   * @returns true once the task finished.
   */
  isFinished(): boolean;
  /**
   * Say that nobody will join this task: a failure is then reported at
   * once instead of being kept for a joiner.
   */
  detach(): void;
}
