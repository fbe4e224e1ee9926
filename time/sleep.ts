/**
 * `sleep`, `sleepUntil` and `now`: waiting for a point in time.
 *
 * A {@linkcode Sleep} is both the leaf operation a task yields on and the
 * timer entry linked into the wheel (it carries the intrusive fields), so a
 * pending sleep is one small object (~80 B) and arming it allocates nothing.
 *
 * Deadline: as in Tokio, computed when `sleep(ms)` is *called* if that
 * happens inside a runtime (a task poll) — `ceil(now + ms)`, never early;
 * a sleep made outside any runtime (e.g. `await sleep(5)` at top level)
 * resolves its deadline against the runtime's clock when first polled.
 *
 * Invariant: a sleep always suspends its task at least once, and completes
 * at the first timer `process()` at or after its deadline. `sleep(0)` (or a
 * deadline already past) therefore yields once and resumes at the
 * scheduler's next timer pass — it lets other tasks, timers and I/O run.
 *
 * @module
 */

import { noteSuspended, type Operation, toPromise } from "../runtime/operation.ts";
import { currentCore, currentWaker, tryCurrentCore } from "../runtime/scheduler/context.ts";
import { consumeBudget } from "../runtime/scheduler/coop.ts";
import type { Waker } from "../runtime/task/waker.ts";
import type { TimeDriver } from "../runtime/time/time_driver.ts";
import { FIRED, IDLE, type TimerEntry, UNRESOLVED } from "../runtime/time/wheel.ts";

/** Sleep state after it finished as an operation (returned or cancelled). */
const CONSUMED = -4;
const SUSPEND: IteratorYieldResult<undefined> = Object.freeze({ done: false, value: undefined });
const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * A pending wait: the operation returned by {@linkcode sleep} and
 * {@linkcode sleepUntil}, and the timer entry the wheel links. Its public
 * fields belong to the time driver; do not write them.
 *
 * @example
 * ```ts
 * import { now, run, sleep } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const waited = await run(function* () {
 *   const t0 = now();
 *   yield* sleep(100); // resumes 100 ms later
 *   return now() - t0;
 * });
 * assert.ok(waited >= 100);
 * ```
 */
export class Sleep
  implements TimerEntry, Operation<void>, Iterator<unknown, void, unknown>, PromiseLike<void> {
  /** Absolute deadline in ms on the driver's clock (a duration while UNRESOLVED). */
  deadline: number;
  /** Wheel link (driver-owned). */
  linkPrev: TimerEntry | null;
  /** Wheel link (driver-owned). */
  linkNext: TimerEntry | null;
  /**
   * Wheel position or state (driver-owned): >= 0 linked, IDLE/UNRESOLVED not
   * yet armed, FIRED due, CONSUMED finished as an operation.
   */
  pos: number;
  /** The task woken when this fires. */
  waker: Waker | null;
  /** The driver this is linked into while pending. */
  driver: TimeDriver | null;

  /**
   * Internal: use {@linkcode sleep} / {@linkcode sleepUntil}.
   *
   * @param deadline the deadline, or the duration in ms while `pos` is `UNRESOLVED`.
   * @param pos the wheel position marker (`UNRESOLVED` or `IDLE`).
   */
  constructor(deadline: number, pos: number) {
    this.deadline = deadline;
    this.linkPrev = null;
    this.linkNext = null;
    this.pos = pos;
    this.waker = null;
    this.driver = null;
  }

  /**
   * The sleep is its own iterator.
   *
   * @returns this sleep.
   */
  [Symbol.iterator](): Iterator<unknown, void, unknown> {
    return this;
  }

  /**
   * Resume: arm on first poll (suspend), keep the one registration while
   * pending, complete once fired. The same contract as a `Leaf`, written
   * out here so a pending sleep carries no extra state field (this is the
   * one leaf a million of which may be pending at once).
   *
   * @returns `done: false` while waiting, `done: true` once the deadline passed.
   * @throws {TypeError} when the sleep already finished.
   */
  next(): IteratorResult<unknown, void> {
    const pos = this.pos;
    if (pos === FIRED) {
      if (!consumeBudget()) {
        currentWaker().wake(); // cooperative yield: finish at the next poll
        return SUSPEND;
      }
      this.pos = CONSUMED;
      return DONE;
    }
    if (pos === CONSUMED) {
      throw new TypeError("a sleep was resumed after it finished");
    }
    const waker = currentWaker();
    if (pos >= 0) this.waker = waker; // re-polled while pending
    else arm(this, waker);
    noteSuspended(this);
    return SUSPEND;
  }

  /** What a task suspended here waits on (the console's "waiting on"). */
  get kind(): string {
    return "sleep";
  }

  /**
   * Cancel: unlink from the wheel if pending.
   *
   * @returns `done: true`.
   */
  return(): IteratorResult<unknown, void> {
    if (this.pos >= 0) disarm(this);
    this.waker = null;
    this.pos = CONSUMED;
    return DONE;
  }

  /**
   * Thrown into: cancel, then rethrow.
   *
   * @param e the error to rethrow.
   * @returns never: it always throws.
   * @throws `e`, after cancelling the timer.
   */
  throw(e?: unknown): IteratorResult<unknown, void> {
    this.return();
    throw e;
  }

  /**
   * `await sleep(ms)` outside a task.
   *
   * @param onfulfilled called once the time has passed.
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
 * `ceil(now + ms)`, except 0 ms which is due at once. Internal.
 *
 * @example
 * ```ts
 * import { deadlineAfter } from "./sleep.ts";
 * import assert from "node:assert/strict";
 *
 * assert.equal(deadlineAfter(100.2, 5), 106); // ceil(105.2): never early
 * assert.equal(deadlineAfter(100.7, 0), 100); // 0 ms is due at once
 * ```
 */
export function deadlineAfter(now: number, ms: number): number {
  return ms === 0 ? Math.floor(now) : Math.ceil(now + ms);
}

/**
 * Link `entry` into the current worker's wheel with `waker` (resolving a
 * relative deadline against its clock). Internal to time/.
 *
 * @example
 * ```ts
 * import { Runtime } from "../mod.ts";
 * import { currentWaker } from "../runtime/scheduler/context.ts";
 * import { arm, disarm, makeSleep } from "./sleep.ts";
 * import assert from "node:assert/strict";
 *
 * await new Runtime().run(function* () {
 *   const entry = makeSleep(60_000);
 *   arm(entry, currentWaker()); // linked into this worker's wheel
 *   assert.notEqual(entry.driver, null);
 *   disarm(entry); // and out again: nothing stays pending
 * });
 * ```
 */
export function arm(entry: Sleep, waker: Waker): void {
  const driver = currentCore().time;
  if (entry.pos === UNRESOLVED) entry.deadline = deadlineAfter(driver.now(), entry.deadline);
  entry.waker = waker;
  entry.driver = driver;
  driver.insert(entry);
}

/**
 * Unlink `entry` if pending and drop its waker. Internal to time/.
 *
 * @example
 * ```ts
 * import { Runtime } from "../mod.ts";
 * import { currentWaker } from "../runtime/scheduler/context.ts";
 * import { arm, disarm, makeSleep } from "./sleep.ts";
 * import assert from "node:assert/strict";
 *
 * await new Runtime().run(function* () {
 *   const entry = makeSleep(60_000);
 *   arm(entry, currentWaker());
 *   disarm(entry); // as when the sleeping task is cancelled
 *   assert.equal(entry.driver, null);
 *   assert.equal(entry.waker, null);
 * });
 * ```
 */
export function disarm(entry: Sleep): void {
  const driver = entry.driver;
  if (driver !== null) {
    driver.remove(entry);
    entry.driver = null;
  }
  entry.waker = null;
}

/**
 * Validate a duration argument. Internal to time/.
 *
 * @example
 * ```ts
 * import { checkMs } from "./sleep.ts";
 * import assert from "node:assert/strict";
 *
 * checkMs(10, "sleep");
 * assert.throws(() => checkMs(-1, "sleep"), RangeError);
 * assert.throws(() => checkMs(Number("x"), "timeout"), RangeError);
 * ```
 */
export function checkMs(ms: number, what: string): void {
  if (typeof ms !== "number") {
    throw new TypeError(`${what}: ms must be a number, got ${typeof ms}`);
  }
  if (!(ms >= 0) || ms === Infinity) {
    throw new RangeError(`${what}: ms must be a finite number >= 0, got ${ms}`);
  }
}

/**
 * A Sleep for `ms` from now (relative when made outside a runtime). Internal.
 *
 * @example
 * ```ts
 * import { Runtime } from "../mod.ts";
 * import { makeSleep, now } from "./sleep.ts";
 * import assert from "node:assert/strict";
 *
 * const waited = await new Runtime().run(function* () {
 *   const t0 = now();
 *   yield* makeSleep(5); // deadline ceil(now + 5) on this worker's clock
 *   return now() - t0;
 * });
 * assert.ok(waited >= 5);
 * ```
 */
export function makeSleep(ms: number): Sleep {
  const core = tryCurrentCore();
  if (core === null) return new Sleep(ms, UNRESOLVED);
  return new Sleep(deadlineAfter(core.time.now(), ms), IDLE);
}

/**
 * Wait `ms` milliseconds (finite, `>= 0`; fractions round up — never early).
 * The task suspends at least once: `sleep(0)` yields to other tasks and
 * resumes at the next timer pass. Cancelling the task unlinks the timer.
 *
 * @param ms how long to wait, in milliseconds.
 * @returns an operation (also awaitable) that finishes after `ms`.
 * @throws {RangeError} when `ms` is negative, NaN or infinite.
 * @throws {TypeError} when `ms` is not a number.
 * @example
 * ```ts
 * import { run, sleep } from "../mod.ts";
 * import assert from "node:assert/strict";
 * function* tick() {
 *   yield* sleep(10);
 *   return "tick";
 * }
 * assert.equal(await run(tick), "tick");
 * await sleep(1); // also awaitable outside tasks
 * assert.throws(() => sleep(-1), RangeError);
 * ```
 */
export function sleep(ms: number): Operation<void> & PromiseLike<void> {
  checkMs(ms, "sleep");
  return makeSleep(ms);
}

/**
 * Wait until `instant`, a value of {@linkcode now} on the same runtime
 * (rounded up to the ms). A past instant still yields once.
 *
 * @param instant the time to wait for, a value of `now()`.
 * @returns an operation (also awaitable) that finishes at `instant`.
 * @throws {RangeError} when `instant` is NaN or infinite.
 * @throws {TypeError} when `instant` is not a number.
 * @example
 * ```ts
 * import { now, run, sleepUntil } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const late = await run(function* () {
 *   const start = now();
 *   yield* sleepUntil(start + 50);
 *   return now() - (start + 50);
 * });
 * assert.ok(late >= 0);
 * ```
 */
export function sleepUntil(instant: number): Operation<void> & PromiseLike<void> {
  if (typeof instant !== "number") {
    throw new TypeError(`sleepUntil: instant must be a number, got ${typeof instant}`);
  }
  if (!Number.isFinite(instant)) {
    throw new RangeError(`sleepUntil: instant must be finite, got ${instant}`);
  }
  return new Sleep(Math.ceil(instant), IDLE);
}

/**
 * The current time in ms: the polling worker's clock (which may be paused)
 * inside a runtime, `performance.now()` outside one.
 *
 * @returns the current time in milliseconds.
 * @example
 * ```ts
 * import { now } from "../mod.ts";
 * import assert from "node:assert/strict";
 * const t0 = now();
 * assert.ok(now() >= t0);
 * ```
 */
export function now(): number {
  const core = tryCurrentCore();
  return core === null ? performance.now() : core.time.now();
}
