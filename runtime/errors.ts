/**
 * Error types a user can act on. Each says what happened and carries the
 * data needed to recover (the task's error, the value that could not be
 * sent, the errno of a failed system call).
 *
 * @module
 */

/**
 * The reason a task was cancelled (by `abort()`, a JoinSet, a `select` it
 * lost, a `timeout`, or runtime shutdown). It is never thrown into the task:
 * cancellation returns the task from the `yield*` it waits in, so its
 * `finally` blocks run and a `catch` sees nothing (cleanup goes in `finally`
 * or `using`, not in `catch`). It is found
 * - as the `cause` of the {@linkcode JoinError} (with `cancelled` true) that
 *   joining a cancelled task throws: `yield* handle` / `await handle`;
 * - as what `run()` and `rt.run()` reject with when their main task is cancelled;
 * - as the `reason` of the AbortSignal an async task body or a
 *   `call((signal) => …)` factory was given.
 *
 * @example
 * ```ts
 * import { CancelledError, JoinError, run, sleep, spawn } from "../mod.ts";
 * import assert from "node:assert/strict";
 *
 * let caught = false;
 * let cleaned = false;
 * await run(function* () {
 *   const h = spawn(function* () {
 *     try {
 *       yield* sleep(60_000);
 *     } catch {
 *       caught = true; // not reached: cancellation is not an exception in the task
 *     } finally {
 *       cleaned = true;
 *     }
 *   });
 *   yield* sleep(1);
 *   h.abort();
 *   try {
 *     yield* h;
 *   } catch (e) {
 *     assert.ok(e instanceof JoinError && e.cancelled);
 *     assert.ok(e.cause instanceof CancelledError);
 *   }
 * });
 * assert.equal(caught, false);
 * assert.equal(cleaned, true);
 * ```
 */
export class CancelledError extends Error {
  /**
   * Make one; `message` says what was cancelled.
   *
   * @param message says what was cancelled.
   */
  constructor(message?: string) {
    message ??= "the task was cancelled";
    super(message);
    this.name = "CancelledError";
  }
}

/**
 * Rejects a JoinHandle whose task threw. `cause` holds what the task threw;
 * `cancelled` says whether the task ended by cancellation instead.
 *
 * @example
 * ```ts
 * import { JoinError } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const e = new JoinError(7, new Error("boom"));
 * assert.equal(e.taskId, 7);
 * assert.equal(e.cancelled, false);
 * ```
 */
export class JoinError extends Error {
  /** The id of the task that failed. */
  readonly taskId: number;
  /** True when the task was cancelled rather than failing on its own. */
  readonly cancelled: boolean;
  /**
   * Make one for task `taskId` that failed with `cause`.
   *
   * @param taskId the id of the task that failed.
   * @param cause the error the task threw (undefined when cancelled).
   * @param cancelled true when the task was cancelled rather than failed.
   */
  constructor(taskId: number, cause: unknown, cancelled?: boolean) {
    cancelled ??= false;
    super(
      cancelled ? `task ${taskId} was cancelled` : `task ${taskId} failed: ${describe(cause)}`,
      { cause },
    );
    this.name = "JoinError";
    this.taskId = taskId;
    this.cancelled = cancelled;
  }
}

export { ClosedError } from "../ffi/errors.ts";

/**
 * Make the `TimeoutError` the web platform uses (a `DOMException` named
 * "TimeoutError"), so `e.name === "TimeoutError"` holds as for
 * `AbortSignal.timeout`.
 *
 * @param ms the timeout that elapsed, in milliseconds (said in the message).
 * @returns a `DOMException` named "TimeoutError".
 * @example
 * ```ts
 * import { timeoutError } from "../mod.ts";
 * import assert from "node:assert/strict";
 * assert.equal(timeoutError(5).name, "TimeoutError");
 * ```
 */
export function timeoutError(ms: number): DOMException {
  return new DOMException(`timed out after ${ms} ms`, "TimeoutError");
}

function describe(cause: unknown): string {
  if (cause instanceof Error) return cause.message;
  try {
    return String(cause);
  } catch {
    return "(unprintable)";
  }
}
