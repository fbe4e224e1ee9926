/**
 * The per-poll context: which task is being polled and which worker core
 * (time driver, I/O driver) polls it — Rust's `Context`, set by the
 * scheduler around every resume.
 *
 * Invariant: `current` is non-null exactly while a task body runs
 * synchronously inside the scheduler; operations created outside a task and
 * resumed inside one see the context of the task resuming them.
 *
 * @module
 */

import type { Waker } from "../task/waker.ts";
import type { TimeDriver } from "../time/time_driver.ts";
import type { IoDriver } from "../io/io_driver.ts";
import type { JoinHandle } from "../task/join_handle.ts";

/**
 * What a leaf operation may ask of the worker that polls it.
 *
 * @example
 * ```ts
 * import { Runtime } from "../../mod.ts";
 * import { type Core, currentCore } from "./context.ts";
 * import assert from "node:assert/strict";
 *
 * const io = await new Runtime().run(function* () {
 *   const core: Core = currentCore(); // the worker polling this task
 *   assert.ok(core.time.now() >= 0);
 *   return core.io;
 * });
 * assert.equal(io, null); // no socket was used, so no reactor was opened
 * ```
 */
export interface Core {
  /** This worker's timer wheel and clock. */
  readonly time: TimeDriver;
  /** This worker's reactor driver, or null until the first I/O op opens it. */
  readonly io: IoDriver | null;
  /** Whether this worker was shut down (spawning on it then throws). */
  readonly closed: boolean;
  /**
   * This worker's I/O driver, opened on first use.
   *
   * @returns the driver once open.
   * @throws {Error} (rejects) when I/O is disabled or the worker shut down meanwhile.
   */
  openIo(): Promise<IoDriver>;
  /**
   * Spawn a task for `iter` on this worker.
   *
   * @param iter the task's body, a started-or-not iterator.
   * @returns the task's join handle.
   * @throws {Error} when the worker was shut down.
   */
  spawn<T>(iter: Iterator<unknown, T, unknown>): JoinHandle<T>;
}

let currentTask: Waker | null = null;
let current: Core | null = null;

/**
 * The waker of the task being polled now.
 *
 * @example
 * ```ts
 * import { currentWaker } from "./context.ts";
 * import { run } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   const waker = currentWaker(); // inside a task poll only
 *   assert.equal(typeof waker.wake, "function");
 * });
 * assert.throws(() => currentWaker()); // outside one
 * ```
 */
export function currentWaker(): Waker {
  if (currentTask === null) {
    throw new Error(
      "an operation was resumed outside a task — run it with yield* inside spawn()/run(), or await it",
    );
  }
  return currentTask;
}

/**
 * The core (drivers) of the worker polling now.
 *
 * @example
 * ```ts
 * import { currentCore } from "./context.ts";
 * import { run, sleep } from "../../mod.ts";
 * import assert from "node:assert/strict";
 * const waited = await run(function* () {
 *   const t0 = currentCore().time.now();
 *   yield* sleep(5);
 *   return currentCore().time.now() - t0;
 * });
 * assert.ok(waited >= 5);
 * ```
 */
export function currentCore(): Core {
  if (current === null) {
    throw new Error("no runtime is running here — use run(), spawn() or await");
  }
  return current;
}

/**
 * The task being polled now (or polled last in the batch running now), or
 * null outside a batch.
 *
 * @returns its waker, or null.
 * @example
 * ```ts
 * import { tryCurrentWaker } from "./context.ts";
 * import assert from "node:assert/strict";
 * assert.equal(tryCurrentWaker(), null);
 * ```
 */
export function tryCurrentWaker(): Waker | null {
  return currentTask;
}

/**
 * The core of the worker polling now, or null outside any task poll.
 *
 * @example
 * ```ts
 * import { tryCurrentCore } from "./context.ts";
 * import assert from "node:assert/strict";
 * assert.equal(tryCurrentCore(), null);
 * ```
 */
export function tryCurrentCore(): Core | null {
  return current;
}

/**
 * Set the context for one poll; returns the previous task so polls can nest
 * (a runtime polled from inside another's task). Scheduler use only.
 *
 * @example
 * ```ts ignore
 * // Not run: enter/leave bracket a task poll inside the scheduler only.
 * const prev = enter(task, core);
 * try { task.resume(); } finally { leave(prev, prevCore); }
 * ```
 */
export function enter(task: Waker | null, core: Core | null): void {
  currentTask = task;
  current = core;
}
