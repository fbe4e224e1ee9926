/**
 * `time`: control of the current runtime's clock for tests, after Tokio's
 * `time::pause`/`resume`/`advance`. With the clock paused, time moves only
 * by `advance()` or — when every task is waiting — by the scheduler jumping
 * to the next timer's deadline, so timer tests run instantly and
 * deterministically.
 *
 * Invariant: these act on the clock of the worker polling the caller; they
 * throw outside a runtime.
 *
 * @module
 */

import { Leaf, type Operation, PENDING, type Poll } from "../runtime/operation.ts";
import { currentCore } from "../runtime/scheduler/context.ts";
import type { Waker } from "../runtime/task/waker.ts";
import { checkMs } from "./sleep.ts";

/** `time.advance(ms)`: move the clock, fire what is due, yield once. */
class Advance extends Leaf<void> {
  /** What a task suspended here waits on (the console's "waiting on"). */
  override get kind(): string {
    return "advance";
  }

  #ms: number;
  #moved: boolean;

  constructor(ms: number) {
    super();
    this.#ms = ms;
    this.#moved = false;
  }

  protected poll(waker: Waker): Poll<void> {
    if (this.#moved) return undefined;
    this.#moved = true;
    const driver = currentCore().time;
    driver.clock.advance(this.#ms);
    driver.process();
    waker.wake(); // requeue behind the tasks just woken
    return PENDING;
  }

  protected cancel(): void {}
}

/**
 * The clock controls. See the module doc.
 *
 * @example
 * ```ts
 * import { now, run, sleep, time } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t0 = Date.now();
 * const elapsed = await run(function* () {
 *   time.pause();
 *   const start = now();
 *   yield* time.advance(1000); // timers due within 1 s fire, then this returns
 *   yield* sleep(60_000); // auto-advance: returns at once in real time
 *   return now() - start;
 * });
 * assert.equal(elapsed, 61_000);
 * assert.ok(Date.now() - t0 < 30_000);
 * ```
 */
export interface TimeControl {
  /** Freeze the current runtime's clock (no-op if already paused). */
  pause(): void;
  /** Let the clock run again from where it stood (no-op if running). */
  resume(): void;
  /**
   * True when the current runtime's clock is paused.
   *
   * @returns true when paused.
   * @throws {Error} outside a runtime.
   */
  isPaused(): boolean;
  /**
   * Move the clock forward by `ms` (finite, `>= 0`), fire the timers now
   * due, and yield once so the tasks they woke run before this returns.
   *
   * @param ms how far to move the clock, in milliseconds.
   * @returns an operation (also awaitable) that finishes once the woken tasks ran.
   * @throws {RangeError} when `ms` is negative, NaN or infinite.
   * @throws {TypeError} when `ms` is not a number.
   */
  advance(ms: number): Operation<void> & PromiseLike<void>;
}

/**
 * Clock control for tests on the current runtime.
 *
 * @example
 * ```ts
 * import { run, time } from "../mod.ts";
 * import assert from "node:assert/strict";
 * await run(function* () {
 *   time.pause();
 *   assert.equal(time.isPaused(), true);
 *   yield* time.advance(10);
 *   time.resume();
 *   assert.equal(time.isPaused(), false);
 * });
 * ```
 */
export const time: TimeControl = Object.freeze({
  pause(): void {
    currentCore().time.clock.pause();
  },
  resume(): void {
    currentCore().time.clock.resume();
  },
  isPaused(): boolean {
    return currentCore().time.clock.isPaused;
  },
  advance(ms: number): Operation<void> & PromiseLike<void> {
    checkMs(ms, "time.advance");
    return new Advance(ms);
  },
});
